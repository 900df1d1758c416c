//! Scope resolution: pure functions from the index to a plan of what each service renders.

pub mod cache;
pub mod duration;
pub mod env;
pub mod gpu;
pub mod labels;
pub mod model;
pub mod model_source;
pub mod runtime_config;
pub mod secrets;
pub mod sources;
pub mod template;
pub mod uid;

use crate::api::aim::ServiceSpec;
use crate::api::core::EnvVar;
use crate::api::{AimKind, AimSpec};
use crate::diag::{Diagnostic, Location};
use crate::load::yaml::Seg;
use crate::load::{Index, Lock, Object, ProjectConfig};
use env::{layer_entries, merge_env, EnvEntry, Layer, Origin};
use gpu::Inventory;
use model::{CreatedModel, ModelRef};
use runtime_config::MergedConfig;
use std::collections::BTreeMap;
use std::sync::Arc;
use template::{Catalog, Status, Template};

/// Everything resolved for one AIMService.
#[derive(Debug, Clone)]
pub struct ServicePlan<'a> {
    pub obj: &'a Object,
    pub spec: &'a ServiceSpec,
    pub namespace: &'a str,
    pub name: &'a str,
    pub config: Option<Arc<MergedConfig>>,
    pub model: Option<ModelRef<'a>>,
    /// The template and its offline status, when one resolved and is available.
    pub template: Option<(Arc<Template>, Status)>,
    /// The inference container's env, sorted, with provenance. Without a template (see
    /// `pending`) only the layers that do not depend on it: defaults, runtime config, service.
    pub env: Vec<EnvEntry>,
    /// The missing fact (a [`crate::diag::MISSING_FACTS`] code) that stopped template
    /// resolution: the checks that do not depend on it (secret scope) still run.
    pub pending: Option<&'static str>,
    /// The service's UID: its own, the lock file's, or a stable substitute.
    pub uid: uid::Uid,
}

/// The resolved repository.
pub struct Plan<'a> {
    pub services: Vec<ServicePlan<'a>>,
    /// Models the service controller creates, by (namespace, name).
    pub created_models: Vec<CreatedModel>,
    /// Templates that models generate (cache-model.md §2.4), by scope and name.
    pub generated_templates: Vec<Template>,
    /// Template caches, artifacts, and what each service mounts.
    pub caching: cache::CachingPlan,
    pub inventory: Option<Inventory>,
    pub diagnostics: Vec<Diagnostic>,
    /// Indices of `lock.discovery` entries taken from another spec of their template.
    pub stale_discovery: Vec<usize>,
    /// `(namespace, template)` → current spec hash, for the discovery results asked for
    /// (`aimc lock` only; empty otherwise).
    pub discovery_hashes: BTreeMap<(Option<String>, String), String>,
}

fn service_spec(obj: &Object) -> Option<&ServiceSpec> {
    match obj.aim.as_ref().map(|a| &a.spec) {
        Some(AimSpec::Service(s)) => Some(s),
        _ => None,
    }
}

fn at(obj: &Object, path: &[&str]) -> Option<Location> {
    Some(obj.loc_of(path))
}

/// GPU inventory from `v1` Node objects (offline.md "Cluster facts"); `None` when no node
/// carries an AMD GPU label.
pub fn inventory(index: &Index) -> Option<Inventory> {
    let labels: Vec<_> = index.of_kind("v1", "Node").map(Object::labels).collect();
    let inv = Inventory::from_nodes(labels.iter());
    (!inv.models.is_empty()).then_some(inv)
}

/// An info for every written AIM object whose controller is paused, saying what it does not
/// create. Runtime configs have no controller; templates keep whatever status they have.
fn paused(index: &Index) -> Vec<Diagnostic> {
    use AimKind::*;
    let mut out = Vec::new();
    for kind in [
        Service,
        Model,
        ClusterModel,
        ServiceTemplate,
        ClusterServiceTemplate,
        TemplateCache,
        Artifact,
        ClusterModelSource,
    ] {
        let what = match kind {
            Service => "renders none of its children (model, caches, InferenceService, HTTPRoute)",
            Model | ClusterModel => "generates no templates from its image metadata",
            ServiceTemplate | ClusterServiceTemplate => {
                "runs no discovery: aimc uses its spec and lock entry as if its status were current"
            }
            TemplateCache => "creates no artifacts",
            Artifact => "gets no PVC or download Job",
            ClusterModelSource => "creates no models",
            _ => continue,
        };
        for obj in index
            .aim_of_kind(kind, None)
            .filter(|o| o.is_paused() && !o.derived)
        {
            out.push(
                Diagnostic::info(
                    "ReconciliationPaused",
                    format!(
                        "{} has {}: \"true\": the operator does not reconcile it, so aimc {what}",
                        obj.key,
                        crate::api::RECONCILIATION_PAUSED
                    ),
                )
                .at(Some(obj.loc(&[
                    Seg::from("metadata"),
                    Seg::from("annotations"),
                    Seg::Key(crate::api::RECONCILIATION_PAUSED.to_owned()),
                ])))
                .help("remove the annotation (or set it to \"false\") to have it reconciled"),
            );
        }
    }
    out
}

pub fn resolve<'a>(index: &'a Index, config: &ProjectConfig, lock: &Lock) -> Plan<'a> {
    let mut diags = Vec::new();
    let inventory = inventory(index);
    if inventory.is_none() {
        diags.push(Diagnostic::info(
            "GpuInventoryUnknown",
            "no Node with an AMD GPU label in the tree: every GPU model is taken as present",
        ).help("export the cluster's nodes (kubectl get nodes -o yaml > cluster/nodes.yaml) to check GPU availability"));
    }

    // Pass 1: models, so templates of service-created models join the catalog. Image
    // services go last: in the steady state the custom models other services create exist
    // when an image service looks for a model with its image (service.md §4.2).
    diags.extend(paused(index));
    let services: Vec<(&Object, &ServiceSpec)> = index
        .reconciled_of_kind(AimKind::Service, None)
        .filter_map(|o| service_spec(o).map(|s| (o, s)))
        .collect();
    let uses_image = |s: &ServiceSpec| {
        s.model.name.as_deref().is_none_or(|n| n.trim().is_empty())
            && s.model
                .image
                .as_deref()
                .is_some_and(|i| !i.trim().is_empty())
    };
    let mut models: Vec<Option<Result<ModelRef, model::ModelError>>> = vec![None; services.len()];
    let mut created: BTreeMap<(String, String), CreatedModel> = BTreeMap::new();
    for image_phase in [false, true] {
        // Custom models by (namespace, image), so each image service looks at its own few.
        let mut custom: BTreeMap<(String, String), Vec<CreatedModel>> = BTreeMap::new();
        if image_phase {
            for c in created.values().filter(|c| c.custom) {
                custom
                    .entry((c.namespace.clone(), c.spec.image.clone()))
                    .or_default()
                    .push(c.clone());
            }
        }
        for (i, (obj, spec)) in services.iter().enumerate() {
            if uses_image(spec) != image_phase {
                continue;
            }
            let ns = obj.key.namespace.as_deref().unwrap_or_default();
            let image = spec.model.image.as_deref().unwrap_or("").trim();
            let same_image = custom
                .get(&(ns.to_owned(), image.to_owned()))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let m = model::resolve(index, ns, spec, same_image);
            if let Ok(ModelRef::Created(c)) = &m {
                created
                    .entry((c.namespace.clone(), c.name.clone()))
                    .or_insert_with(|| (**c).clone());
            }
            models[i] = Some(m);
        }
    }
    let models: Vec<Result<ModelRef, model::ModelError>> = models.into_iter().flatten().collect();
    let created: Vec<CreatedModel> = created.into_values().collect();
    let catalog = Catalog::build(index, &created, lock);
    for (t, loc) in &catalog.shadowed {
        diags.push(
            Diagnostic::warning(
                "TemplateShadowsGenerated",
                format!(
                    "this template has the name of one that {} generates; the written one is used",
                    t.generated_by.as_deref().unwrap_or("a model")
                ),
            )
            .at(Some(loc.location()))
            .help("the operator would apply the generated spec over it; rename one of them"),
        );
    }

    // Runtime configs are merged once per (namespace, name), not once per service.
    let mut configs: BTreeMap<(&str, &str), RcResult> = BTreeMap::new();
    for (obj, spec) in &services {
        let ns = obj.key.namespace.as_deref().unwrap_or_default();
        configs
            .entry((ns, spec.runtime_config_name()))
            .or_insert_with(|| {
                let mut warnings = Vec::new();
                let r = runtime_config::resolve(
                    index,
                    Some(ns),
                    spec.runtime_config_name(),
                    &mut warnings,
                );
                diags.extend(warnings);
                r.map(|c| c.map(Arc::new))
            });
    }
    let work: Vec<_> = services.into_iter().zip(models).collect();
    let resolved = crate::load::parallel_map(work, |((obj, spec), model)| {
        let ns = obj.key.namespace.as_deref().unwrap_or_default();
        let rc = configs
            .get(&(ns, spec.runtime_config_name()))
            .cloned()
            .unwrap_or(Ok(None));
        let mut d = Vec::new();
        let plan = resolve_service(
            index,
            &catalog,
            lock,
            inventory.as_ref(),
            obj,
            spec,
            rc,
            model,
            &mut d,
        );
        (plan, d)
    });
    let mut plans = Vec::with_capacity(resolved.len());
    for (plan, d) in resolved {
        plans.push(plan);
        diags.extend(d);
    }
    let stale_discovery = check_lock(index, lock, &catalog, &created, &mut diags);
    let memo: ConfigMemo = Default::default();
    let config_of = |ns: &str, name: &str| -> Option<Arc<MergedConfig>> {
        let key = (ns.to_owned(), name.to_owned());
        if let Some(c) = memo.borrow().get(&key) {
            return c.clone();
        }
        let mut ignored = Vec::new();
        let c = runtime_config::resolve(index, Some(ns), name, &mut ignored)
            .ok()
            .flatten()
            .map(Arc::new);
        memo.borrow_mut().insert(key, c.clone());
        c
    };
    let inputs = cache::Inputs {
        index,
        lock,
        catalog: &catalog,
        inventory: inventory.as_ref(),
        config: &config_of,
    };
    let caching = cache::plan(&inputs, &plans, &mut diags);
    secrets::check(index, config, &plans, &caching, &mut diags);
    let generated_templates = catalog.generated().cloned().collect();
    let discovery_hashes = discovery_hashes(index, lock, &catalog, &created);
    Plan {
        stale_discovery,
        discovery_hashes,
        services: plans,
        created_models: created,
        generated_templates,
        caching,
        inventory,
        diagnostics: diags,
    }
}

/// Lock-file discovery entries for templates that no longer exist or whose spec changed
/// since the entry was taken (cache-model.md §4.6 spec hash) are stale. Returns the indices
/// in `lock.discovery` of those taken from another spec (an entry whose template does not
/// exist may name one that facts still to come create; nothing needs it meanwhile).
fn check_lock(
    index: &Index,
    lock: &Lock,
    catalog: &Catalog,
    created: &[CreatedModel],
    diags: &mut Vec<Diagnostic>,
) -> Vec<usize> {
    let mut stale = Vec::new();
    for (i, d) in lock.discovery.iter().enumerate() {
        let (line, col) = lock.discovery_positions.get(i).copied().unwrap_or((1, 1));
        let at = Some(Location::new(crate::load::LOCK_FILE, line, col));
        let Some(t) = catalog.get(&template::Scope::of(d.namespace.as_deref()), &d.template) else {
            diags.push(
                Diagnostic::warning(
                    "StaleLockEntry",
                    format!(
                        "discovery entry for template {:?}, which does not exist",
                        d.template
                    ),
                )
                .at(at)
                .help("remove the entry, or fix its template name and namespace (`aimc lock` prunes it)"),
            );
            continue;
        };
        let Some(want) = &d.spec_hash else { continue };
        let Some(got) = template_spec_hash(index, t, created) else {
            continue;
        };
        if &got != want {
            stale.push(i);
            diags.push(
                Diagnostic::warning("StaleLockEntry", format!("discovery entry for template {:?} was taken from a different spec (specHash {want}, now {got})", d.template))
                    .at(at)
                    .help("re-export the template's discovery result from the cluster (`aimc lock --from-cluster`), or update specHash after checking it"),
            );
        }
    }
    stale
}

/// The discovery spec hash (cache-model.md §4.6) of a template as the tree now has it, or
/// `None` when its model's image is unknown.
fn template_spec_hash(index: &Index, t: &Template, created: &[CreatedModel]) -> Option<String> {
    use template::Scope;
    let image = match &t.scope {
        Scope::Namespace(ns) => index
            .aim(AimKind::Model, Some(ns), &t.spec.model_name)
            .and_then(model::model_spec)
            .map(|m| m.image.clone())
            .or_else(|| {
                created
                    .iter()
                    .find(|c| &c.namespace == ns && c.name == t.spec.model_name)
                    .map(|c| c.spec.image.clone())
            }),
        Scope::Cluster => index
            .aim(AimKind::ClusterModel, None, &t.spec.model_name)
            .and_then(model::model_spec)
            .map(|m| m.image.clone()),
    }?;
    let gpu = t.spec.hardware.as_ref().and_then(|h| h.gpu.as_ref());
    Some(crate::load::lock::spec_hash(
        &t.spec.model_name,
        &image,
        t.spec.metric.as_deref().unwrap_or(""),
        t.spec.precision.as_deref().unwrap_or(""),
        gpu.map(|g| g.model()).unwrap_or(""),
        gpu.map(|g| g.requests()).unwrap_or(0),
        t.spec.profile_id.as_deref().unwrap_or(""),
    ))
}

/// The current spec hash of every template whose discovery result the resolution asked
/// for: what a cluster export's `status.discovery.specHash` must match. Only computed while
/// the lock records its needs (`aimc lock`).
fn discovery_hashes(
    index: &Index,
    lock: &Lock,
    catalog: &Catalog,
    created: &[CreatedModel],
) -> BTreeMap<(Option<String>, String), String> {
    use crate::load::lock::Need;
    lock.ledger
        .needs()
        .into_iter()
        .filter_map(|n| match n {
            Need::Discovery {
                namespace,
                template,
            } => {
                let t = catalog.get(&template::Scope::of(namespace.as_deref()), &template)?;
                let hash = template_spec_hash(index, t, created)?;
                Some(((namespace, template), hash))
            }
            _ => None,
        })
        .collect()
}

/// A template whose non-default runtime config exists in neither scope is never Ready
/// (cache-model.md §1.3): the config's name, if so.
fn missing_template_config<'t>(index: &Index, t: &'t Template) -> Option<&'t str> {
    let name = t.spec.runtime_config_name.as_deref();
    let missing = match &t.scope {
        template::Scope::Namespace(ns) => cache::config_missing(index, ns, name),
        // A cluster template has no namespace to look in: only the cluster config counts.
        template::Scope::Cluster => cache::config_missing(index, "", name),
    };
    missing.then_some(name).flatten()
}

type RcResult = Result<Option<Arc<MergedConfig>>, String>;
type ConfigMemo = std::cell::RefCell<BTreeMap<(String, String), Option<Arc<MergedConfig>>>>;

#[allow(clippy::too_many_arguments)]
fn resolve_service<'a>(
    index: &Index,
    catalog: &Catalog,
    lock: &Lock,
    inventory: Option<&Inventory>,
    obj: &'a Object,
    spec: &'a ServiceSpec,
    rc: RcResult,
    model: Result<ModelRef<'a>, model::ModelError>,
    diags: &mut Vec<Diagnostic>,
) -> ServicePlan<'a> {
    let ns = obj.key.namespace.as_deref().unwrap_or_default();
    let name = obj.key.name.as_str();
    let mut plan = ServicePlan {
        obj,
        spec,
        namespace: ns,
        name,
        config: None,
        model: None,
        template: None,
        env: Vec::new(),
        pending: None,
        uid: uid::uid(
            lock,
            crate::api::AIM_API_VERSION,
            "AIMService",
            Some(ns),
            name,
            obj.aim.as_ref().and_then(|a| a.meta.uid.as_deref()),
        ),
    };

    let rc_name = spec.runtime_config_name();
    match rc {
        Ok(c) => plan.config = c,
        Err(msg) => {
            let code = if msg.starts_with("RuntimeConfig ") {
                "ConfigNotFound"
            } else {
                "EngineArgsMerge"
            };
            diags.push(
                Diagnostic::error(code, format!("{code}: {msg}"))
                    .at(at(obj, &["spec", "runtimeConfigName"]))
                    .help(format!("create AIMRuntimeConfig {rc_name:?} in namespace {ns} or AIMClusterRuntimeConfig {rc_name:?}, or remove runtimeConfigName")),
            );
        }
    }

    let model = match model {
        Ok(m) => m,
        Err(e) => {
            diags.push(
                Diagnostic::error(e.code, e.message)
                    .at(at(obj, e.path))
                    .help(match e.code {
                        "ModelNotFound" => {
                            "create the AIMModel or AIMClusterModel, or fix spec.model.name"
                        }
                        "MultipleModelsForImage" => {
                            "keep one model per image, or reference one by spec.model.name"
                        }
                        _ => "fix spec.model",
                    }),
            );
            return plan;
        }
    };

    if let ModelRef::Created(c) = &model {
        let what = match c.spec.model_sources.first() {
            Some(src) if c.custom => format!("Custom model will be created for {}", src.model_id),
            _ => format!("Model will be created for image {}", c.spec.image),
        };
        diags.push(
            Diagnostic::info(
                "ModelCreated",
                format!("{what}: AIMModel {}/{}", c.namespace, c.name),
            )
            .at(at(obj, &["spec", "model"]))
            .help("aimc renders it with --emit all; the operator creates it in the cluster"),
        );
    }
    let explicit = spec
        .template
        .as_ref()
        .and_then(|t| t.name.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let chosen = match explicit {
        Some(t) => template::explicit(catalog, ns, spec, t),
        None => template::select(catalog, ns, &model, spec, inventory, lock),
    };
    let help = |code: &str| {
        match code {
        "TemplateSelectionAmbiguous" => {
            "set spec.template.name, or spec.overrides to narrow the choice"
        }
        "NeedsGpuInventory" => "add the cluster's Node objects to the tree",
        "NeedsImageMetadata" => "run `aimc lock` (it reads the image's labels from the registry with your docker login), add spec.imageMetadata to the model, or name a template in spec.template.name",
        _ => "create the template, fix spec.template.name, or check the model's templates",
    }
    };
    if let (Ok(t), Some(_), Some(_)) = (&chosen, explicit, &spec.overrides) {
        if t.is_cluster() {
            diags.push(
                Diagnostic::warning(
                    "OverridesIgnored",
                    format!("spec.overrides are not applied to the cluster template {}: the operator uses it unchanged", t.name),
                )
                .at(at(obj, &["spec", "overrides"]))
                .help("name a namespaced template, or a cluster template that already has the wanted settings"),
            );
        }
    }
    let chosen = chosen.and_then(|t| {
        catalog
            .status(t, inventory, lock)
            .map(|st| (t, st.into_owned()))
            .map_err(|e| template::status_error(t, e))
    });
    match chosen {
        Err(e) if crate::diag::MISSING_FACTS.contains(&e.code) => {
            plan.pending = Some(e.code);
            let message = format!(
                "{}; until it is supplied, the secrets of the template's env and of the download Jobs are not checked (the service's pull secrets and runtime-config env are)",
                e.message
            );
            diags.push(Diagnostic::error(e.code, message).at(at(obj, e.path)).help(help(e.code)));
        }
        Err(e) => diags.push(Diagnostic::error(e.code, e.message).at(at(obj, e.path)).help(help(e.code))),
        Ok((t, st)) => match &st.available {
            Err(why) => diags.push(
                Diagnostic::error("TemplateNotAvailable", format!("{} {} is not available (no matching GPUs): {why}", t.kind().name(), t.name))
                    .at(at(obj, &["spec", "template", "name"]))
                    .help("choose a template for a GPU the cluster has, or add the Node objects that have it"),
            ),
            Ok(()) if st.model_sources.is_empty() => diags.push(
                Diagnostic::error(
                    "NoModelSources",
                    format!(
                        "{} {} has no model sources: the operator creates no template cache for it, so it never creates the InferenceService",
                        t.kind().name(),
                        t.name
                    ),
                )
                .at(t.location.as_ref().map(crate::load::SrcRef::location).or_else(|| at(obj, &["spec", "template"])))
                .help("list the model's weights in spec.modelSources, or check the template's discovery result in aim.lock.yaml"),
            ),
            Ok(()) => {
                if let Some(name) = missing_template_config(index, t) {
                    diags.push(
                        Diagnostic::error(
                            "ConfigNotFound",
                            format!("ConfigNotFound: RuntimeConfig {name} not found (runtimeConfigName of {} {}): the template never becomes Ready", t.kind().name(), t.name),
                        )
                        .at(t.location.as_ref().map(crate::load::SrcRef::location).or_else(|| at(obj, &["spec", "template"])))
                        .help(format!("create AIMRuntimeConfig or AIMClusterRuntimeConfig {name:?}, or remove the template's runtimeConfigName")),
                    );
                } else {
                    plan.template = Some((Arc::clone(t), st));
                }
            }
        },
    }
    let template = plan.template.as_ref().map(|(t, _)| &**t);
    if template.is_some() || plan.pending.is_some() {
        let mut errors = Vec::new();
        plan.env = inference_env(obj, spec, plan.config.as_deref(), template, &mut errors);
        for e in errors {
            diags.push(
                Diagnostic::error(
                    "EngineArgsMerge",
                    format!("AIM_ENGINE_ARGS cannot be merged: {e}"),
                )
                .at(at(obj, &[]))
                .help(
                    "the operator panics on this input; make every AIM_ENGINE_ARGS a JSON object",
                ),
            );
        }
    }
    plan.model = Some(model);
    plan
}

/// The inference container env (service.md §3.1), sorted stably by name; without the
/// template's layer when the template is not known.
pub fn inference_env(
    obj: &Object,
    spec: &ServiceSpec,
    rc: Option<&MergedConfig>,
    t: Option<&Template>,
    errors: &mut Vec<String>,
) -> Vec<EnvEntry> {
    let sys = |n: &str, v: &str| {
        EnvEntry::new(
            EnvVar::plain(n, v),
            Origin {
                layer: Layer::SystemDefault,
                location: None,
            },
        )
    };
    let mut env = vec![
        sys("AIM_CACHE_PATH", "/workspace/cache"),
        sys("VLLM_ENABLE_METRICS", "true"),
    ];
    if let Some(rc) = rc.filter(|rc| !rc.env.is_empty()) {
        env = merge_env(env, &rc.env, errors);
    }
    if let Some(t) = t {
        env = template_env(env, t, errors);
    }
    if !spec.env.is_empty() {
        let sl = Layer::Service(
            obj.key.namespace.as_deref().unwrap_or_default().into(),
            obj.key.name.as_str().into(),
        );
        let entries = layer_entries(&spec.env, &sl, |i| {
            Some(obj.src(&["spec".into(), "env".into(), Seg::Index(i)]))
        });
        env = merge_env(env, &entries, errors);
    }
    env.sort_by(|a, b| a.var.name.as_bytes().cmp(b.var.name.as_bytes()));
    env
}

/// The template's layer of the inference env: its profile, metric and precision, its env,
/// and the model id of its first source.
fn template_env(mut env: Vec<EnvEntry>, t: &Template, errors: &mut Vec<String>) -> Vec<EnvEntry> {
    let tl = Layer::Template(t.name.as_str().into());
    // Generated templates have no location; written ones point at the template object.
    let tloc = t.location.clone();
    let appended = |n: &str, v: &str| {
        EnvEntry::new(
            EnvVar::plain(n, v),
            Origin {
                layer: tl.clone(),
                location: tloc.clone(),
            },
        )
    };
    if let Some(p) = t.spec.profile_id.as_deref().filter(|p| !p.is_empty()) {
        env.push(appended("AIM_PROFILE_ID", p));
    }
    if let Some(m) = &t.spec.metric {
        env.push(appended("AIM_METRIC", m));
    }
    if let Some(p) = &t.spec.precision {
        env.push(appended("AIM_PRECISION", p));
    }
    if !t.spec.env.is_empty() {
        let entries = layer_entries(&t.spec.env, &tl, |_| tloc.clone());
        env = merge_env(env, &entries, errors);
    }
    if let Some(src) = t.spec.model_sources.first() {
        env.push(appended("AIM_MODEL_ID", &src.model_id));
    }
    env
}
