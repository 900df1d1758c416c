//! Templates: the repository's, those models generate (cache-model.md §2.5, §2.6), their
//! offline status (§4.5), explicit lookup and automatic selection (service.md §5).

use super::gpu::{self, Inventory};
use super::model::ModelRef;
use crate::api::aim::{HardwareRequirements, ModelSource, ModelSpec, ServiceSpec, TemplateSpec};
use crate::api::core::ResourceRequirements;
use crate::api::{AimKind, AimSpec};
use crate::load::lock::ProfileMetadata;
use crate::load::{Index, Object};
use crate::load::{Lock, SrcRef};
use crate::naming::{self, CustomTemplateKey};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Namespace(String),
    Cluster,
}

impl Scope {
    /// The scope a namespace names: `None` is the cluster's.
    pub fn of(namespace: Option<&str>) -> Scope {
        match namespace {
            Some(ns) => Scope::Namespace(ns.to_owned()),
            None => Scope::Cluster,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub scope: Scope,
    pub name: String,
    pub spec: TemplateSpec,
    pub labels: BTreeMap<String, String>,
    /// Where it is written, or `None` when a model generates it.
    pub location: Option<SrcRef>,
    /// The generating model, for generated templates.
    pub generated_by: Option<String>,
    /// The generating model's labels (its `aim.eai.amd.com/*` ones propagate to the template).
    pub parent_labels: BTreeMap<String, String>,
    /// `metadata.uid` when the template is written with one.
    pub uid: Option<String>,
}

impl Template {
    pub fn kind(&self) -> AimKind {
        match self.scope {
            Scope::Namespace(_) => AimKind::ServiceTemplate,
            Scope::Cluster => AimKind::ClusterServiceTemplate,
        }
    }
    pub fn is_cluster(&self) -> bool {
        self.scope == Scope::Cluster
    }
}

/// What the template controller would write into status: from the spec when it lists
/// `modelSources` (cache-model.md §4.5), else from the lock file's discovery entry (§4.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub available: Result<(), String>,
    /// Selection attributes (service.md §5.3): profile first, then spec.
    pub metric: String,
    pub precision: String,
    pub gpu_model: String,
    pub gpu_count: i32,
    pub profile_type: String,
    /// `status.profile.metadata.metric` / `precision`, for the InferenceService labels.
    pub profile_metric: String,
    pub profile_precision: String,
    /// `status.resolvedHardware.gpu`.
    pub gpu_requests: i32,
    pub gpu_resource: String,
    pub affinity: Option<Vec<&'static str>>,
    /// `status.modelSources`: what the template cache downloads.
    pub model_sources: Vec<ModelSource>,
}

/// Facts a template's status needs that the tree does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusError {
    /// `minVram` without Node objects.
    NeedsInventory,
    /// No `spec.modelSources` and no lock-file discovery entry.
    NeedsDiscovery,
}

/// Offline status of a template against the GPU inventory (`None` = unknown: all present).
pub fn status(
    t: &Template,
    inventory: Option<&Inventory>,
    lock: &Lock,
) -> Result<Status, StatusError> {
    let hw = t.spec.hardware.as_ref().and_then(|h| h.gpu.as_ref());
    let requests = hw.map(|g| g.requests()).unwrap_or(0);
    let model = hw.map(|g| g.model().trim()).unwrap_or("");
    let min_vram = hw
        .and_then(|g| g.min_vram.as_ref())
        .map(|q| q.value())
        .filter(|v| *v != 0);
    let requires_gpu = hw.is_some_and(|_| requests > 0 || !model.is_empty());
    let affinity = if requires_gpu {
        gpu::affinity_device_ids(
            requests,
            Some(model).filter(|m| !m.is_empty()),
            min_vram,
            inventory,
        )
        .map_err(|_| StatusError::NeedsInventory)?
    } else {
        None
    };
    let mut available = Ok(());
    if requires_gpu {
        if let Some(inv) = inventory {
            if let Some(v) = min_vram {
                if !inv
                    .models
                    .values()
                    .any(|vr| vr.is_some_and(|b| i128::from(b) >= i128::from(v)))
                {
                    available = Err(format!("no GPU in the cluster inventory has at least {v} bytes of VRAM (VRAMNotAvailable)"));
                }
            }
            if available.is_ok() {
                if model.is_empty() {
                    if inv.models.is_empty() {
                        available =
                            Err("the cluster inventory has no GPU (GPUNotAvailable)".into());
                    }
                } else if !inv.has_model(model) {
                    available = Err(format!(
                        "GPU model {model} is not in the cluster inventory (GPUNotAvailable)"
                    ));
                }
            }
        }
    }
    let spec_metric = t.spec.metric.clone().unwrap_or_default();
    let spec_precision = t.spec.precision.clone().unwrap_or_default();
    // (profile metadata, model sources, resolvedHardware gpu count)
    let (profile, model_sources, resolved_count) = if !t.spec.model_sources.is_empty() {
        let p = ProfileMetadata {
            metric: spec_metric.clone(),
            precision: spec_precision.clone(),
            gpu: model.to_owned(),
            gpu_count: requests,
            r#type: t.spec.r#type.clone().unwrap_or_default(),
            engine: String::new(),
        };
        (p, t.spec.model_sources.clone(), requests)
    } else {
        let ns = match &t.scope {
            Scope::Namespace(ns) => Some(ns.as_str()),
            Scope::Cluster => None,
        };
        match lock.discovery_for(ns, &t.name, available.is_ok()) {
            Some(d) => {
                let p = d.profile.metadata.clone();
                let count = p.gpu_count;
                (p, d.model_sources.clone(), count)
            }
            // The operator's GPU gate comes before discovery: a template whose GPU the
            // cluster lacks is NotAvailable and never runs a discovery Job, so no export
            // will ever hold its result. Selection drops it; nothing is planned for it.
            None if available.is_err() => (ProfileMetadata::default(), Vec::new(), requests),
            None => return Err(StatusError::NeedsDiscovery),
        }
    };
    let first = |a: &str, b: &str| {
        if a.is_empty() {
            b.to_owned()
        } else {
            a.to_owned()
        }
    };
    Ok(Status {
        available,
        metric: first(&profile.metric, &spec_metric),
        precision: first(&profile.precision, &spec_precision),
        gpu_model: first(model, profile.gpu.trim()),
        gpu_count: if requests > 0 {
            requests
        } else {
            profile.gpu_count.max(0)
        },
        profile_type: profile.r#type.clone(),
        profile_metric: profile.metric.clone(),
        profile_precision: profile.precision.clone(),
        gpu_requests: resolved_count,
        gpu_resource: hw.map(|g| g.resource_name().to_owned()).unwrap_or_default(),
        affinity,
        model_sources,
    })
}

/// Every template that exists in the steady state: written ones first, generated ones
/// where no written template has the same name.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Shared with the plans of the services that use them.
    templates: BTreeMap<(Scope, String), Arc<Template>>,
    /// model name → keys of its templates, so selection does not scan every template.
    by_model: BTreeMap<String, Vec<(Scope, String)>>,
    /// Generated templates whose name a written template already takes.
    pub shadowed: Vec<(Template, SrcRef)>,
    /// Each template's [`status`], computed on first use: selection compares every
    /// candidate of a model for each service that uses it. A catalog belongs to one
    /// resolution, whose inventory and lock do not change, and the status depends on
    /// nothing else (the lock needs it records are the same on every call).
    statuses: BTreeMap<(Scope, String), OnceLock<Result<Status, StatusError>>>,
}

impl Catalog {
    pub fn build(index: &Index, created: &[super::model::CreatedModel], lock: &Lock) -> Catalog {
        let mut cat = Catalog::default();
        for kind in [AimKind::ServiceTemplate, AimKind::ClusterServiceTemplate] {
            for obj in index.aim_of_kind(kind, None) {
                if let Some(t) = from_object(obj, kind) {
                    cat.templates
                        .insert((t.scope.clone(), t.name.clone()), Arc::new(t));
                }
            }
        }
        for kind in [AimKind::Model, AimKind::ClusterModel] {
            for obj in index.reconciled_of_kind(kind, None) {
                if let Some(AimSpec::Model(spec)) = obj.aim.as_ref().map(|a| &a.spec) {
                    let scope = match &obj.key.namespace {
                        Some(ns) => Scope::Namespace(ns.clone()),
                        None => Scope::Cluster,
                    };
                    for t in generated(&obj.key.name, scope, spec, &obj.labels(), lock) {
                        cat.add_generated(t);
                    }
                }
            }
        }
        for m in created {
            for t in generated(
                &m.name,
                Scope::Namespace(m.namespace.clone()),
                &m.spec,
                &BTreeMap::new(),
                lock,
            ) {
                cat.add_generated(t);
            }
        }
        for (key, t) in &cat.templates {
            cat.by_model
                .entry(t.spec.model_name.clone())
                .or_default()
                .push(key.clone());
            cat.statuses.insert(key.clone(), OnceLock::new());
        }
        cat
    }

    /// [`status`] of a template of this catalog, once per resolution (see `statuses`).
    pub fn status(
        &self,
        t: &Template,
        inventory: Option<&Inventory>,
        lock: &Lock,
    ) -> Result<Cow<'_, Status>, StatusError> {
        match self.statuses.get(&(t.scope.clone(), t.name.clone())) {
            Some(memo) => match memo.get_or_init(|| status(t, inventory, lock)) {
                Ok(st) => Ok(Cow::Borrowed(st)),
                Err(e) => Err(e.clone()),
            },
            None => status(t, inventory, lock).map(Cow::Owned),
        }
    }

    fn add_generated(&mut self, t: Template) {
        let key = (t.scope.clone(), t.name.clone());
        match self.templates.get(&key) {
            Some(existing) if existing.generated_by.is_none() => {
                if let Some(loc) = existing.location.clone() {
                    self.shadowed.push((t, loc));
                }
            }
            Some(_) => {}
            None => {
                self.templates.insert(key, Arc::new(t));
            }
        }
    }

    /// Every template, in (scope, name) order.
    pub fn all(&self) -> impl Iterator<Item = &Template> {
        self.templates.values().map(|t| &**t)
    }

    /// The templates models generate, in (scope, name) order.
    pub fn generated(&self) -> impl Iterator<Item = &Template> {
        self.templates
            .values()
            .map(|t| &**t)
            .filter(|t| t.generated_by.is_some())
    }

    pub fn get(&self, scope: &Scope, name: &str) -> Option<&Arc<Template>> {
        self.templates.get(&(scope.clone(), name.to_owned()))
    }

    /// Candidates for auto-selection: namespaced templates of `model` in `ns`, then cluster ones.
    pub fn for_model<'a>(
        &'a self,
        ns: &str,
        model: &str,
    ) -> impl Iterator<Item = &'a Arc<Template>> + 'a {
        let scope = Scope::Namespace(ns.to_owned());
        self.by_model
            .get(model)
            .into_iter()
            .flatten()
            .filter(move |(s, _)| *s == Scope::Cluster || *s == scope)
            .filter_map(|k| self.templates.get(k))
    }
}

fn from_object(obj: &Object, kind: AimKind) -> Option<Template> {
    let AimSpec::Template(spec) = &obj.aim.as_ref()?.spec else {
        return None;
    };
    Some(Template {
        scope: match kind {
            AimKind::ServiceTemplate => {
                Scope::Namespace(obj.key.namespace.clone().unwrap_or_default())
            }
            _ => Scope::Cluster,
        },
        name: obj.key.name.clone(),
        spec: (**spec).clone(),
        labels: obj.labels(),
        location: Some(obj.src(&[])),
        generated_by: None,
        parent_labels: BTreeMap::new(),
        uid: obj.aim.as_ref().and_then(|a| a.meta.uid.clone()),
    })
}

/// A model's image metadata: `spec.imageMetadata`, else the lock file's entry for its image.
pub fn image_metadata<'a>(
    spec: &'a ModelSpec,
    lock: &'a Lock,
    required: bool,
) -> Option<&'a crate::api::aim::ImageMetadata> {
    // §2.3: with extraction off nothing is read from the registry, so nothing from the lock.
    let extract = spec.discovery.as_ref().is_none_or(|d| d.extract_metadata);
    spec.image_metadata.as_ref().or_else(|| {
        if extract {
            lock.image(&spec.image, required)
        } else {
            None
        }
    })
}

/// The templates a model creates (cache-model.md §2.4).
pub fn generated(
    model_name: &str,
    scope: Scope,
    spec: &ModelSpec,
    model_labels: &BTreeMap<String, String>,
    lock: &Lock,
) -> Vec<Template> {
    if spec
        .discovery
        .as_ref()
        .is_some_and(|d| !d.create_service_templates)
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    if !spec.model_sources.is_empty() {
        out.extend(custom_templates(model_name, &scope, spec));
    } else {
        let Some(md) = image_metadata(spec, lock, false) else {
            return out;
        };
        for d in md.model.iter().flat_map(|m| &m.recommended_deployments) {
            let gpu_model = d.gpu_model.clone().unwrap_or_default();
            let count = d.gpu_count.unwrap_or(0);
            let Ok(name) = naming::deployment_template_name(
                model_name,
                &spec.image,
                &gpu_model,
                count,
                d.metric.as_deref().unwrap_or(""),
                d.precision.as_deref().unwrap_or(""),
            ) else {
                continue;
            };
            let hardware = (!gpu_model.is_empty() && count > 0).then(|| HardwareRequirements {
                gpu: Some(crate::api::aim::GpuRequirements {
                    requests: Some(count),
                    model: Some(gpu_model.clone()),
                    min_vram: None,
                    resource_name: Some("amd.com/gpu".into()),
                }),
                cpu: None,
            });
            out.push(Template {
                scope: scope.clone(),
                name,
                spec: TemplateSpec {
                    model_name: model_name.to_owned(),
                    metric: d.metric.clone().filter(|s| !s.is_empty()),
                    precision: d.precision.clone().filter(|s| !s.is_empty()),
                    profile_id: d.profile_id.clone().filter(|s| !s.is_empty()),
                    hardware,
                    image_pull_secrets: spec.image_pull_secrets.clone(),
                    service_account_name: spec.service_account_name.clone(),
                    ..Default::default()
                },
                labels: generated_labels(model_name, None),
                location: None,
                generated_by: Some(model_name.to_owned()),
                parent_labels: BTreeMap::new(),
                uid: None,
            });
        }
        if !spec.custom_templates.is_empty() {
            out.extend(custom_templates(model_name, &scope, spec));
        }
    }
    for t in &mut out {
        t.parent_labels = model_labels.clone();
    }
    out
}

fn generated_labels(model: &str, alias: Option<&str>) -> BTreeMap<String, String> {
    let mut l = BTreeMap::new();
    l.insert("aim.eai.amd.com/model".to_owned(), model.to_owned());
    l.insert(
        "aim.eai.amd.com/origin".to_owned(),
        "auto-generated".to_owned(),
    );
    if let Some(a) = alias {
        l.insert("aim.eai.amd.com/template.alias".to_owned(), a.to_owned());
    }
    l
}

/// `mergeHW` of cache-model.md §2.6.
fn merge_hw(
    base: Option<&HardwareRequirements>,
    entry: Option<&HardwareRequirements>,
) -> Option<HardwareRequirements> {
    match (base, entry) {
        (None, e) => e.cloned(),
        (b, None) => b.cloned(),
        (Some(b), Some(e)) => {
            let mut out = b.clone();
            if let Some(eg) = &e.gpu {
                match out.gpu.as_mut() {
                    None => out.gpu = Some(eg.clone()),
                    Some(g) => {
                        if eg.requests() != 0 {
                            g.requests = eg.requests;
                        }
                        if !eg.model().is_empty() {
                            g.model = eg.model.clone();
                        }
                        if !eg.resource_name().is_empty() {
                            g.resource_name = eg.resource_name.clone();
                        }
                    }
                }
            }
            if let Some(ec) = &e.cpu {
                match out.cpu.as_mut() {
                    None => out.cpu = Some(ec.clone()),
                    Some(c) => {
                        if !ec.requests.is_zero() {
                            c.requests = ec.requests.clone();
                        }
                        if ec.limits.as_ref().is_some_and(|l| !l.is_zero()) {
                            c.limits = ec.limits.clone();
                        }
                    }
                }
            }
            Some(out)
        }
    }
}

fn custom_templates(model_name: &str, scope: &Scope, spec: &ModelSpec) -> Vec<Template> {
    let base_hw = spec.custom.as_ref().and_then(|c| c.hardware.as_ref());
    let base_type = spec
        .custom
        .as_ref()
        .and_then(|c| c.r#type.clone())
        .filter(|t| !t.is_empty());
    let namespaced = matches!(scope, Scope::Namespace(_));
    let entries: Vec<Option<(usize, &crate::api::aim::CustomTemplate)>> =
        if spec.custom_templates.is_empty() {
            vec![None]
        } else {
            spec.custom_templates.iter().enumerate().map(Some).collect()
        };
    let mut out = Vec::new();
    for entry in entries {
        let (index, ct) = match entry {
            Some((i, ct)) => (i, Some(ct)),
            None => (0, None),
        };
        let key = ct.map(|ct| CustomTemplateKey {
            name: ct.name.as_deref(),
            profile: ct.profile.as_ref().map(|p| {
                (
                    p.precision.as_deref().unwrap_or(""),
                    p.metric.as_deref().unwrap_or(""),
                )
            }),
            gpu: ct
                .hardware
                .as_ref()
                .and_then(|h| h.gpu.as_ref())
                .map(|g| (g.requests(), g.model())),
        });
        let Ok(name) = naming::custom_template_name(model_name, key.as_ref(), index as i64) else {
            continue;
        };
        let hardware = merge_hw(base_hw, ct.and_then(|c| c.hardware.as_ref()));
        let ty = ct
            .and_then(|c| c.r#type.clone())
            .filter(|t| !t.is_empty())
            .or(base_type.clone())
            .unwrap_or_else(|| "unoptimized".into());
        let resources = hardware.as_ref().and_then(|h| h.cpu.as_ref()).map(|cpu| {
            let mut r = ResourceRequirements::default();
            r.requests.insert("cpu".into(), cpu.requests.clone());
            if let Some(l) = &cpu.limits {
                r.limits.insert("cpu".into(), l.clone());
            }
            r
        });
        let env = if !namespaced {
            Vec::new()
        } else if let Some(ct) = ct {
            // §2.6: a plain mergeEnv, no JSON keys.
            super::env::merge_env_plain(&spec.env, &ct.env)
        } else {
            spec.env.clone()
        };
        let profile = ct.and_then(|c| c.profile.as_ref());
        out.push(Template {
            scope: scope.clone(),
            name,
            spec: TemplateSpec {
                model_name: model_name.to_owned(),
                model_sources: spec.model_sources.clone(),
                image_pull_secrets: spec.image_pull_secrets.clone(),
                service_account_name: spec.service_account_name.clone(),
                r#type: Some(ty),
                hardware,
                resources,
                metric: profile
                    .and_then(|p| p.metric.clone())
                    .filter(|s| !s.is_empty()),
                precision: profile
                    .and_then(|p| p.precision.clone())
                    .filter(|s| !s.is_empty()),
                env,
                ..Default::default()
            },
            labels: generated_labels(model_name, ct.and_then(|c| c.name.as_deref())),
            location: None,
            generated_by: Some(model_name.to_owned()),
            parent_labels: BTreeMap::new(),
            uid: None,
        });
    }
    out
}

/// The error for a template whose status cannot be known offline; it names both fixes.
pub fn status_error(t: &Template, e: StatusError) -> TemplateError {
    let kind = match &t.scope {
        Scope::Namespace(_) => "aimservicetemplates",
        Scope::Cluster => "aimclusterservicetemplates",
    };
    match e {
        StatusError::NeedsInventory => TemplateError {
            code: "NeedsGpuInventory",
            message: format!("{} {} uses minVram: needs GPU inventory", t.kind().name(), t.name),
            path: &["spec", "template"],
        },
        StatusError::NeedsDiscovery => TemplateError {
            code: "NeedsDiscovery",
            message: format!(
                "{} {} has no spec.modelSources: needs discovery — add spec.modelSources to the template, or its discovery result to aim.lock.yaml (kubectl get {kind} -A -o yaml | aimc lock --from-cluster -)",
                t.kind().name(),
                t.name
            ),
            path: &["spec", "template"],
        },
    }
}

/// Why no template could be used; each maps to the operator's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub code: &'static str,
    pub message: String,
    pub path: &'static [&'static str],
}

/// Explicit `template.name` (service.md §5.1).
pub fn explicit<'c>(
    cat: &'c Catalog,
    ns: &str,
    svc: &ServiceSpec,
    name: &str,
) -> Result<&'c Arc<Template>, TemplateError> {
    let lookup = derived_lookup_name(name, svc);
    if let Some(t) = cat.get(&Scope::Namespace(ns.to_owned()), &lookup) {
        return Ok(t);
    }
    if let Some(t) = cat.get(&Scope::Cluster, name) {
        return Ok(t);
    }
    let mut message = format!("template \"{lookup}\" not found");
    if lookup != name && cat.get(&Scope::Namespace(ns.to_owned()), name).is_some() {
        message.push_str(&format!(
            " (the operator looks up the derived template of {name:?} for spec.overrides, which only exists after a namespaced template was resolved)"
        ));
    }
    Err(TemplateError {
        code: "TemplateNotFound",
        message,
        path: &["spec", "template", "name"],
    })
}

/// `DerivedTemplateName(T, svc.overrides)` (§6.6); `T` when there are no overrides.
pub fn derived_lookup_name(base: &str, svc: &ServiceSpec) -> String {
    let Some(o) = &svc.overrides else {
        return base.to_owned();
    };
    let gpu = o.hardware.as_ref().and_then(|h| h.gpu.as_ref());
    let gpu_model = gpu.map(|g| g.model()).filter(|m| !m.is_empty());
    let requests = gpu.map(|g| g.requests()).unwrap_or(0);
    naming::derived_template_name(
        base,
        gpu_model,
        requests,
        o.precision.as_deref().filter(|s| !s.is_empty()),
        o.metric.as_deref().filter(|s| !s.is_empty()),
    )
    .unwrap_or_else(|_| base.to_owned())
}

fn rank_type(t: &str) -> u32 {
    match t {
        "optimized" => 0,
        "preview" => 1,
        "unoptimized" => 2,
        _ => 1003,
    }
}
fn rank_metric(m: &str) -> u32 {
    match m {
        "latency" => 0,
        "throughput" => 1,
        _ => 1002,
    }
}
fn rank_precision(p: &str) -> u32 {
    match p {
        "fp4" => 0,
        "int4" => 1,
        "fp8" => 2,
        "int8" => 3,
        "fp16" => 4,
        "bf16" => 5,
        "fp32" => 6,
        _ => 1007,
    }
}

/// A model whose templates would come from its image's labels, which only a registry knows
/// (offline.md "Steady state"): no inline sources, no `spec.imageMetadata`, and discovery
/// not switched off.
pub fn needs_image_metadata(spec: &ModelSpec, lock: &Lock) -> bool {
    let discovery_on = spec
        .discovery
        .as_ref()
        .is_none_or(|d| d.extract_metadata && d.create_service_templates);
    spec.model_sources.is_empty() && discovery_on && image_metadata(spec, lock, true).is_none()
}

/// Automatic selection (§5.3). Returns the chosen template or why there is none.
pub fn select<'c>(
    cat: &'c Catalog,
    ns: &str,
    model: &ModelRef,
    svc: &ServiceSpec,
    inventory: Option<&Inventory>,
    lock: &Lock,
) -> Result<&'c Arc<Template>, TemplateError> {
    let fail = |code: &'static str, message: String| TemplateError {
        code,
        message,
        path: &["spec", "template"],
    };
    if needs_image_metadata(model.spec(), lock) {
        return Err(fail(
            "NeedsImageMetadata",
            format!(
                "{} {} needs image metadata: its templates come from the labels of image {}, which aimc cannot read offline",
                model.kind().name(),
                model.name(),
                model.spec().image
            ),
        ));
    }
    let candidates: Vec<&Arc<Template>> = cat.for_model(ns, model.name()).collect();
    if candidates.is_empty() {
        return Err(fail(
            "TemplateNotFound",
            format!(
                "No template found for service: no templates for model {}",
                model.name()
            ),
        ));
    }
    let mut with_status = Vec::new();
    let mut first_error = None;
    for t in candidates {
        // Selection compares every candidate's profile: each must be known. Every
        // candidate is looked at before the first failure is reported, so that one pass
        // names every missing fact (`aimc lock` fetches them together).
        match cat.status(t, inventory, lock) {
            Ok(st) => with_status.push((t, st)),
            Err(e) => {
                first_error.get_or_insert_with(|| status_error(t, e));
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    let total = with_status.len();
    let unavailable: Vec<String> = with_status
        .iter()
        .filter_map(|(t, s)| {
            s.available
                .as_ref()
                .err()
                .map(|e| format!("{}: {e}", t.name))
        })
        .collect();
    with_status.retain(|(_, s)| s.available.is_ok());
    if with_status.is_empty() {
        return Err(fail(
            "TemplateNotFound",
            format!(
                "No template found for service: none of the {total} template(s) is available ({})",
                unavailable.join("; ")
            ),
        ));
    }
    let allow_unoptimized = svc
        .template
        .as_ref()
        .and_then(|t| t.allow_unoptimized)
        .unwrap_or(false);
    let before = with_status.len();
    with_status.retain(|(_, s)| allow_unoptimized || s.profile_type == "optimized");
    if with_status.is_empty() && before > 0 {
        return Err(fail(
            "TemplateNotFound",
            format!("No template found for service: {before} unoptimized template(s) filtered out. Set spec.template.allowUnoptimized: true to allow them"),
        ));
    }
    if let Some(o) = &svc.overrides {
        let ogpu = o.hardware.as_ref().and_then(|h| h.gpu.as_ref());
        with_status.retain(|(_, s)| {
            if let Some(m) = o.metric.as_deref().filter(|m| !m.is_empty()) {
                if !m.eq_ignore_ascii_case(&s.metric) {
                    return false;
                }
            }
            if let Some(p) = o.precision.as_deref().filter(|p| !p.is_empty()) {
                if !p.eq_ignore_ascii_case(&s.precision) {
                    return false;
                }
            }
            if let Some(g) = ogpu {
                if !g.model().is_empty()
                    && !s.gpu_model.is_empty()
                    && gpu::normalize_gpu(g.model()) != gpu::normalize_gpu(&s.gpu_model)
                {
                    return false;
                }
                if g.requests() > 0 && s.gpu_count > 0 && g.requests() != s.gpu_count {
                    return false;
                }
            }
            true
        });
        if with_status.is_empty() {
            return Err(fail(
                "TemplateNotFound",
                "No template found for service: no template matches spec.overrides".into(),
            ));
        }
    }

    if with_status.iter().any(|(t, _)| !t.is_cluster()) {
        with_status.retain(|(t, _)| !t.is_cluster());
    }
    let score = |s: &Status| {
        (
            rank_type(&s.profile_type),
            gpu::gpu_rank(&s.gpu_model),
            rank_metric(&s.metric),
            rank_precision(&s.precision),
        )
    };
    let best = with_status.iter().map(|(_, s)| score(s)).min();
    let winners: Vec<&&Arc<Template>> = with_status
        .iter()
        .filter(|(_, s)| Some(score(s)) == best)
        .map(|(t, _)| t)
        .collect();
    match winners.as_slice() {
        [one] => Ok(one),
        many => Err(fail(
            "TemplateSelectionAmbiguous",
            format!(
                "No template found for service: multiple templates ({}) satisfy model {} equally: {}; name one in spec.template.name or narrow spec.overrides",
                many.len(),
                model.name(),
                many.iter().map(|t| t.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}
