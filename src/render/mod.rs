//! Plan → Kubernetes objects: InferenceServices, HTTPRoutes and the derived AIM objects.

pub mod isvc;
pub mod object;
pub mod path;
pub mod route;
pub mod storage;

use crate::api::AIM_API_VERSION;
use crate::diag::Diagnostic;
use crate::load::{string_map, Lock};
use crate::naming;
use crate::resolve::cache::CachingPlan;
use crate::resolve::labels;
use crate::resolve::model::ModelRef;
use crate::resolve::template::{Scope, Template};
use crate::resolve::{Plan, ServicePlan};
use object::{Manifest, Metadata, Object, OwnerReference};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Gitops {
    #[default]
    Argocd,
    None,
}

/// Settings that shape rendered objects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx {
    pub gitops: Gitops,
    /// Concrete objects are wanted (not `--emit aim`): PVCs need sizes then.
    pub concrete: bool,
    /// The derived AIM objects are wanted (`--emit all`, validation); otherwise they are not
    /// built at all.
    pub derived: bool,
}

impl Ctx {
    /// The Argo CD sync wave of a kind (offline.md "Output").
    pub fn wave(&self, kind: &str) -> Option<&'static str> {
        if self.gitops != Gitops::Argocd {
            return None;
        }
        match kind {
            "PersistentVolumeClaim" | "Job" => Some("-1"),
            "InferenceService" => Some("0"),
            "HTTPRoute" => Some("1"),
            _ => None,
        }
    }
}

/// Objects rendered from the plan, plus the derived AIM objects (for `--emit all`), each as
/// the sink given to [`render_with`] made it.
#[derive(Debug)]
pub struct Rendered<T = Object> {
    pub concrete: Vec<T>,
    pub derived: Vec<T>,
    pub diagnostics: Vec<Diagnostic>,
}

impl<T> Default for Rendered<T> {
    fn default() -> Self {
        Rendered {
            concrete: Vec::new(),
            derived: Vec::new(),
            diagnostics: Vec::new(),
        }
    }
}

/// The owner reference, only when the service's real UID is known (offline.md).
pub(crate) fn owner_refs(plan: &ServicePlan) -> Vec<OwnerReference> {
    if !plan.uid.real {
        return Vec::new();
    }
    vec![OwnerReference {
        api_version: AIM_API_VERSION,
        kind: "AIMService",
        name: plan.name.to_owned(),
        uid: plan.uid.value.clone(),
        controller: true,
    }]
}

/// §9 for children of a service: its `aim.eai.amd.com/*` labels, propagated labels, then
/// the controller labels.
pub(crate) fn stamp_service_child(labels: &mut BTreeMap<String, String>, plan: &ServicePlan) {
    let lp = plan
        .config
        .as_ref()
        .and_then(|c| c.spec.label_propagation.as_ref());
    labels::stamp(
        labels,
        &plan.obj.labels(),
        lp.map(|l| (l.enabled, l.r#match.as_slice())),
        "aim-service-controller",
        ("aim.eai.amd.com/service.name", plan.name),
    );
}

/// Renders the plan and passes every object to `sink` (with whether it is a derived AIM
/// object) as soon as it is built, on the thread that built it. The plan is consumed: each
/// service's part is dropped once rendered, and a sink that serialises keeps only text, so
/// the objects of a whole monorepo never exist at once.
pub fn render_with<T: Send>(
    plan: Plan,
    lock: &Lock,
    ctx: &Ctx,
    sink: impl Fn(Object, bool) -> T + Sync,
) -> Rendered<T> {
    let mut out = Rendered::default();
    let derived = if ctx.derived {
        derived_objects(&plan)
            .into_iter()
            .map(|v| sink(v, true))
            .collect()
    } else {
        Vec::new()
    };
    let Plan {
        services, caching, ..
    } = plan;
    let CachingPlan {
        caches,
        artifacts,
        service_mounts,
    } = caching;
    // What a service needs of the artifacts it mounts, so that the artifacts themselves can
    // be rendered and freed first: their memory then serves the services' documents.
    let mut volumes_of: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
    for a in &artifacts {
        volumes_of.entry(a.namespace.clone()).or_default().insert(
            a.name.clone(),
            (naming::rfc1123(&a.name), storage::pvc_name(a)),
        );
    }
    crate::load::parallel_map(caches, drop);
    let artifact_pieces = crate::load::parallel_map(artifacts, |a| {
        let mut diags = Vec::new();
        let objects = if ctx.concrete {
            sink_all(storage::render_artifact(&a, lock, ctx, &mut diags), &sink)
        } else {
            Vec::new()
        };
        drop(a);
        (objects, diags)
    });
    // Services render independently; pieces are joined in plan order, so the result does not
    // depend on the thread count.
    let work: Vec<_> = services.into_iter().zip(service_mounts).collect();
    let pieces = crate::load::parallel_map(work, |(sp, mounts)| {
        let volumes: Vec<isvc::CacheVolume> = mounts
            .iter()
            .flat_map(|(_, m)| m)
            .filter_map(|m| {
                let (name, claim) = volumes_of.get(sp.namespace)?.get(&m.artifact)?;
                Some(isvc::CacheVolume {
                    name: name.clone(),
                    claim: claim.clone(),
                    mount_path: m.mount_path.clone(),
                })
            })
            .collect();
        let mut piece = Rendered::default();
        render_service(&sp, &volumes, ctx, &mut piece);
        drop(sp);
        let concrete = sink_all(piece.concrete, &sink);
        (concrete, piece.diagnostics)
    });
    // Service diagnostics first, then the artifacts', as a reader walks the tree.
    out.concrete.reserve_exact(
        pieces
            .iter()
            .chain(&artifact_pieces)
            .map(|(c, _)| c.len())
            .sum(),
    );
    for (concrete, diagnostics) in pieces.into_iter().chain(artifact_pieces) {
        out.concrete.extend(concrete);
        out.diagnostics.extend(diagnostics);
    }
    out.derived = derived;
    out
}

/// Each object through `sink`, into a vector of its own: `collect` would reuse the objects'
/// buffer in place, and every service would then keep room for its typed objects (about a
/// kilobyte each) beside the few bytes of what the sink made of them, until the end.
fn sink_all<T>(objects: Vec<Object>, sink: &impl Fn(Object, bool) -> T) -> Vec<T> {
    let mut out = Vec::with_capacity(objects.len());
    out.extend(objects.into_iter().map(|o| sink(o, false)));
    out
}

/// The AIM objects the operator's controllers would create: caches, artifacts, models,
/// generated and override-derived templates.
fn derived_objects(plan: &Plan) -> Vec<Object> {
    let mut derived: Vec<Object> = plan
        .caching
        .caches
        .iter()
        .filter_map(storage::cache_object)
        .collect();
    derived.extend(
        plan.caching
            .artifacts
            .iter()
            .filter_map(storage::artifact_object),
    );
    let mut created_labels: BTreeMap<(&str, &str), BTreeMap<String, String>> = BTreeMap::new();
    for m in &plan.created_models {
        let o = created_model(m, plan);
        created_labels.insert((&m.namespace, &m.name), o.metadata().labels.clone());
        derived.push(o);
    }
    for t in &plan.generated_templates {
        let created = match (&t.scope, &t.generated_by) {
            (Scope::Namespace(ns), Some(m)) => created_labels.get(&(ns.as_str(), m.as_str())),
            _ => None,
        };
        derived.push(generated_template(t, created.unwrap_or(&t.parent_labels)));
    }
    derived.extend(plan.services.iter().filter_map(derived_template));
    derived
}

fn template_object(
    kind: &'static str,
    name: &str,
    namespace: Option<&str>,
    labels: BTreeMap<String, String>,
    spec: crate::api::aim::TemplateSpec,
) -> Object {
    Object::Template(Box::new(Manifest {
        api_version: AIM_API_VERSION,
        kind,
        metadata: Metadata {
            name: name.to_owned(),
            namespace: namespace.map(str::to_owned),
            labels,
            ..Metadata::default()
        },
        spec,
    }))
}

/// A template a model generates, stamped by the model controller (cache-model.md §1.4).
/// `parent_labels`: the generating model's labels (for models a service creates, the labels
/// aimc stamps on them; the template's own record is empty then).
fn generated_template(t: &Template, parent_labels: &BTreeMap<String, String>) -> Object {
    let model = t.generated_by.as_deref().unwrap_or_default();
    let mut labels = t.labels.clone();
    let (managed_by, owner_key) = if t.is_cluster() {
        (
            "aim-cluster-model-controller",
            "aim.eai.amd.com/cluster-model.name",
        )
    } else {
        ("aim-model-controller", "aim.eai.amd.com/model.name")
    };
    // The model's runtime config could propagate more labels; aimc propagates the
    // `aim.eai.amd.com/*` ones, which always propagate.
    labels::stamp(
        &mut labels,
        parent_labels,
        None,
        managed_by,
        (owner_key, model),
    );
    let ns = match &t.scope {
        Scope::Namespace(ns) => Some(ns.as_str()),
        Scope::Cluster => None,
    };
    template_object(t.kind().name(), &t.name, ns, labels, t.spec.clone())
}

/// The derived template a service with `spec.overrides` creates over a namespaced template
/// (service.md §5.2). The InferenceService still uses the base template.
fn derived_template(sp: &ServicePlan) -> Option<Object> {
    let overrides = sp.spec.overrides.as_ref()?;
    let (t, _) = sp.template.as_ref()?;
    if t.is_cluster()
        || t.labels.get("aim.eai.amd.com/origin").map(String::as_str) == Some("derived")
    {
        return None;
    }
    let name = crate::resolve::template::derived_lookup_name(&t.name, sp.spec);
    if name == t.name {
        return None;
    }
    let mut spec = t.spec.clone();
    if spec.model_name.is_empty() {
        spec.model_name = sp
            .model
            .as_ref()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
    }
    spec.runtime_config_name = Some(
        sp.spec
            .runtime_config_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .or(spec
                .runtime_config_name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty()))
            .unwrap_or("default")
            .to_owned(),
    );
    if let Some(m) = overrides.metric.clone() {
        spec.metric = Some(m);
    }
    if let Some(p) = overrides.precision.clone() {
        spec.precision = Some(p);
    }
    if let Some(h) = overrides.hardware.clone() {
        spec.hardware = Some(h);
    }
    if !sp.spec.image_pull_secrets.is_empty() {
        spec.image_pull_secrets = sp.spec.image_pull_secrets.clone();
    }
    if let Some(r) = sp.spec.resources.clone() {
        spec.resources = Some(r);
    }
    let dedicated = matches!(
        sp.spec.caching.as_ref().and_then(|c| c.mode.as_deref()),
        Some("Dedicated") | Some("Never")
    );
    if !dedicated {
        spec.caching = Some(crate::api::aim::TemplateCaching {
            enabled: true,
            env: Vec::new(),
        });
    }
    let mut labels = BTreeMap::new();
    labels.insert(
        "app.kubernetes.io/managed-by".to_owned(),
        "aim-engine".to_owned(),
    );
    labels.insert("aim.eai.amd.com/origin".to_owned(), "derived".to_owned());
    stamp_service_child(&mut labels, sp);
    Some(template_object(
        "AIMServiceTemplate",
        &name,
        Some(sp.namespace),
        labels,
        spec,
    ))
}

fn render_service(sp: &ServicePlan, volumes: &[isvc::CacheVolume], ctx: &Ctx, out: &mut Rendered) {
    let diags = &mut out.diagnostics;
    // The operator fails the whole service (nothing applied) when the ISVC name cannot be made.
    let isvc_name = match naming::isvc_name(sp.name, sp.namespace) {
        Ok(n) => n,
        Err(e) => {
            diags.push(
                Diagnostic::error("NamespaceTooLong", e.to_string())
                    .at(Some(sp.obj.loc_of(&["metadata", "namespace"])))
                    .help("use a namespace of at most 42 characters: the InferenceService hostname must fit in 63"),
            );
            return;
        }
    };

    let r = route::routing(sp);
    if r.enabled {
        match r.gateway {
            None => diags.push(
                Diagnostic::error("GatewayNotConfigured", "Routing is enabled but no gatewayRef is configured in service or runtime config")
                    .at(Some(sp.obj.loc_of(&["spec", "routing"])))
                    .help("set spec.routing.gatewayRef on the service or routing.gatewayRef in its runtime config"),
            ),
            Some(gw) => {
                let path = route_path(sp, &r, diags);
                if let Some(v) = route::render(sp, &r, gw, &path, &isvc_name, ctx, diags) {
                    out.concrete.push(v);
                }
            }
        }
    }
    if sp
        .spec
        .routing
        .as_ref()
        .is_some_and(|r| !r.annotations.is_empty())
    {
        diags.push(
            Diagnostic::warning(
                "ServiceRouteAnnotationsIgnored",
                "spec.routing.annotations on an AIMService are ignored by the operator",
            )
            .at(Some(sp.obj.loc_of(&["spec", "routing", "annotations"])))
            .help("set routing.annotations in the runtime config instead"),
        );
    }

    let (Some((t, st)), Some(model)) = (&sp.template, &sp.model) else {
        return;
    };
    out.concrete.push(isvc::render(
        sp,
        t,
        st,
        &model.spec().image,
        &isvc_name,
        volumes,
        ctx,
    ));
    warn_pitfalls(sp, diags);
}

fn warn_pitfalls(sp: &ServicePlan, diags: &mut Vec<Diagnostic>) {
    let at = |p: &[&str]| Some(sp.obj.loc_of(p));
    if sp.name.len() > 63 {
        diags.push(Diagnostic::warning("ServiceNameTooLong", "service name longer than 63 characters: the aim.eai.amd.com/service.name label will be rejected").at(at(&["metadata", "name"])));
    }
    if sp.name.starts_with(|c: char| c.is_ascii_digit()) {
        diags.push(
            Diagnostic::warning(
                "ServiceNameStartsWithDigit",
                "KServe requires InferenceService names to start with a letter",
            )
            .at(at(&["metadata", "name"])),
        );
    }
    if let (Some(min), Some(max)) = (sp.spec.min_replicas, sp.spec.max_replicas) {
        if min > max {
            diags.push(
                Diagnostic::warning(
                    "MinReplicasAboveMax",
                    format!("minReplicas {min} > maxReplicas {max}: KServe rejects this"),
                )
                .at(at(&["spec", "minReplicas"])),
            );
        }
    }
    if sp.spec.replicas == Some(0)
        && sp.spec.min_replicas.is_none()
        && sp.spec.max_replicas.is_none()
        && sp.spec.auto_scaling.is_none()
    {
        diags.push(
            Diagnostic::warning(
                "ZeroReplicas",
                "replicas: 0 renders minReplicas: 0 with no maxReplicas",
            )
            .at(at(&["spec", "replicas"])),
        );
    }
}

/// §8.3 path selection, with the operator's silent fallback made visible.
fn route_path(sp: &ServicePlan, r: &route::Routing, diags: &mut Vec<Diagnostic>) -> String {
    let uid = sp.uid.real.then_some(sp.uid.value.as_str());
    let default = || match uid {
        Some(u) => path::default_path(sp.namespace, u),
        None => path::default_path(sp.namespace, sp.name),
    };
    let info_default = |diags: &mut Vec<Diagnostic>| {
        if uid.is_none() {
            diags.push(
                Diagnostic::info("DefaultRoutePath", format!("route path defaults to /{}/{} because the service UID is unknown offline", sp.namespace, sp.name))
                    .at(Some(sp.obj.loc_of(&["metadata", "name"])))
                    .help("the operator would use /<namespace>/<uid>; set routing.pathTemplate for a stable path"),
            );
        }
    };
    let tmpl = r.path_template.unwrap_or("");
    if tmpl.is_empty() {
        info_default(diags);
        return default();
    }
    let labels = sp.obj.labels();
    let annotations = string_map(sp.obj.value.pointer("/metadata/annotations"));
    match path::render_path(tmpl, &go_view(sp), &labels, &annotations) {
        Ok(p) => {
            // Fields only the API server fills in: offline they render as zero values.
            let unknown: Vec<&str> = ["uid", "generation", "creationTimestamp", "resourceVersion"]
                .into_iter()
                .filter(|f| {
                    tmpl.contains(&format!(".metadata.{f}"))
                        && sp.obj.value.pointer(&format!("/metadata/{f}")).is_none()
                        && !(*f == "uid" && sp.uid.real)
                })
                .collect();
            if !unknown.is_empty() {
                diags.push(
                    Diagnostic::warning(
                        "PathUsesUnknownField",
                        format!("the route path template reads metadata.{} which only the cluster knows; rendered {p:?} with its zero value", unknown.join(", metadata.")),
                    )
                    .at(Some(sp.obj.loc_of(&["metadata", "name"])))
                    .help("build the path from the name, namespace, labels or annotations"),
                );
            }
            p
        }
        Err(e) => {
            let from_service = sp
                .spec
                .routing
                .as_ref()
                .and_then(|r| r.path_template.as_ref())
                .is_some();
            let loc = if from_service {
                Some(sp.obj.loc_of(&["spec", "routing", "pathTemplate"]))
            } else {
                Some(sp.obj.loc_of(&["metadata", "name"]))
            };
            diags.push(
                Diagnostic::warning(
                    "PathTemplateInvalid",
                    format!("{e}; the operator silently falls back to the default path"),
                )
                .at(loc)
                .help(
                    "fix the path template; use .metadata.labels['key'] only as a whole expression",
                ),
            );
            info_default(diags);
            default()
        }
    }
}

/// The service as the operator's typed Go struct would present it to JSONPath: non-pointer
/// fields at their zero values, inlined fields unreachable, status as in the steady state.
fn go_view(sp: &ServicePlan) -> Value {
    let mut v = sp.obj.value.clone();
    let Some(root) = v.as_object_mut() else {
        return v;
    };
    let meta = root.entry("metadata").or_insert_with(|| json!({}));
    if let Some(m) = meta.as_object_mut() {
        for (k, d) in [
            ("generateName", json!("")),
            (
                "uid",
                json!(if sp.uid.real {
                    sp.uid.value.as_str()
                } else {
                    ""
                }),
            ),
            ("resourceVersion", json!("")),
            ("generation", json!(0)),
        ] {
            m.entry(k).or_insert(d);
        }
        m.entry("creationTimestamp")
            .or_insert(json!("0001-01-01 00:00:00 +0000 UTC"));
    }
    let spec = root.entry("spec").or_insert_with(|| json!({}));
    if let Some(s) = spec.as_object_mut() {
        // runtimeConfigName is inlined from RuntimeConfigRef: client-go cannot find it.
        s.remove("runtimeConfigName");
        let t = s.entry("template").or_insert_with(|| json!({}));
        if let Some(t) = t.as_object_mut() {
            t.entry("name").or_insert(json!(""));
            t.entry("allowUnoptimized").or_insert(json!(false));
        }
        s.entry("serviceAccountName").or_insert(json!(""));
    }
    let mut status = Map::new();
    status.insert("status".into(), json!("Running"));
    if let Some(m) = &sp.model {
        let mut r = Map::new();
        r.insert("kind".into(), m.kind().name().into());
        r.insert("name".into(), m.name().into());
        if let ModelRef::Existing { obj, .. } = m {
            if let Some(ns) = &obj.key.namespace {
                r.insert("namespace".into(), ns.clone().into());
            }
        } else {
            r.insert("namespace".into(), sp.namespace.into());
        }
        status.insert("resolvedModel".into(), Value::Object(r));
    }
    if let Some((t, _)) = &sp.template {
        let mut r = Map::new();
        r.insert("kind".into(), t.kind().name().into());
        r.insert("name".into(), t.name.clone().into());
        if !t.is_cluster() {
            r.insert("namespace".into(), sp.namespace.into());
        }
        status.insert("resolvedTemplate".into(), Value::Object(r));
    }
    root.insert("status".into(), Value::Object(status));
    v
}

/// The AIMModel the service controller creates (service.md §4.2/§4.3), unowned.
fn created_model(m: &crate::resolve::model::CreatedModel, plan: &Plan) -> Object {
    let owner = plan.services.iter().find(|s| matches!(&s.model, Some(ModelRef::Created(c)) if c.name == m.name && c.namespace == m.namespace));
    let mut labels = BTreeMap::new();
    labels.insert(
        "aim.eai.amd.com/origin".to_owned(),
        "auto-generated".to_owned(),
    );
    if m.custom {
        labels.insert("aim.eai.amd.com/custom-model".to_owned(), "true".to_owned());
        if let Some(o) = owner {
            labels.insert("aim.eai.amd.com/service".to_owned(), o.name.to_owned());
        }
    }
    if let Some(o) = owner {
        stamp_service_child(&mut labels, o);
    }
    Object::Model(Box::new(Manifest {
        api_version: AIM_API_VERSION,
        kind: "AIMModel",
        metadata: Metadata {
            name: m.name.clone(),
            namespace: Some(m.namespace.clone()),
            labels,
            ..Metadata::default()
        },
        spec: m.spec.clone(),
    }))
}
