//! The caching chain (cache-model.md §5): template caches, the artifacts they use, and which
//! artifacts each InferenceService mounts. Pure; PVCs and Jobs are rendered from this plan.

use super::env::merge_env_plain;
use super::labels;
use super::runtime_config::MergedConfig;
use super::template::{self, Catalog, Scope, Template};
use super::uid::{uid, Uid};
use super::ServicePlan;
use crate::api::aim::{ArtifactSpec, ModelSource, ServiceSpec, TemplateCacheSpec};
use crate::api::core::EnvVar;
use crate::api::quantity::Quantity;
use crate::api::{AimSpec, AIM_API_VERSION};
use crate::diag::Diagnostic;
use crate::load::lock::Endpoint;
use crate::load::{Index, Lock, Object, SrcRef};
use crate::naming::{self, HashInput};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const DOWNLOADER_IMAGE: &str = "ghcr.io/silogen/aim-artifact-downloader:0.2.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Shared,
    Dedicated,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Shared => "Shared",
            Mode::Dedicated => "Dedicated",
        }
    }
}

/// Service caching mode normalisation (§5.1): Dedicated and Never are Dedicated, everything
/// else (absent, Shared, Always, Auto, unknown) is Shared.
pub fn service_mode(svc: &ServiceSpec) -> Mode {
    match svc.caching.as_ref().and_then(|c| c.mode.as_deref()) {
        Some("Dedicated") | Some("Never") => Mode::Dedicated,
        _ => Mode::Shared,
    }
}

/// An owner reference; emitted only when the owner's UID is real.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub kind: &'static str,
    pub name: String,
    pub uid: Uid,
}

/// Who brings a template cache into being.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheOrigin {
    /// Created by these services (Shared caches are shared by name).
    Services(Vec<(String, String)>),
    /// Created by a namespaced template with `spec.caching.enabled`.
    Template(String),
    /// Written in the repository.
    Written(SrcRef),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
    pub name: String,
    pub namespace: String,
    pub spec: TemplateCacheSpec,
    pub mode: Mode,
    pub labels: BTreeMap<String, String>,
    pub owner: Option<Owner>,
    pub origin: CacheOrigin,
    pub uid: Uid,
    /// The template's `status.modelSources`, and the artifact chosen for each.
    pub sources: Vec<ModelSource>,
    pub artifacts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Artifact {
    pub name: String,
    pub namespace: String,
    pub spec: ArtifactSpec,
    pub labels: BTreeMap<String, String>,
    pub owner: Option<Owner>,
    pub uid: Uid,
    /// Written in the repository rather than created by a cache.
    pub written: Option<SrcRef>,
    /// The artifact's merged runtime config (storage class, headroom, env).
    pub config: Option<Arc<MergedConfig>>,
}

impl Artifact {
    /// `spec.size`, or the lock file's size for the source, when non-zero.
    pub fn effective_size(&self, lock: &Lock) -> Option<i64> {
        self.spec
            .size
            .as_ref()
            .map(Quantity::value)
            .filter(|v| *v != 0)
            .or_else(|| lock.size(&self.spec.source_uri, || self.s3_endpoint()))
    }

    /// The `AWS_ENDPOINT_URL` the operator's check-size Job would get for an `s3://` source.
    fn s3_endpoint(&self) -> Endpoint {
        if !self.spec.source_uri.starts_with("s3://") {
            return Endpoint::Default;
        }
        let env = download_env(self, None);
        match env.into_iter().rev().find(|e| e.name == "AWS_ENDPOINT_URL") {
            None => Endpoint::Default,
            Some(e) if e.value_from.is_some() => Endpoint::Unknown,
            Some(e) => match e.value.filter(|v| !v.is_empty()) {
                Some(url) => Endpoint::Url(url),
                None => Endpoint::Default,
            },
        }
    }
}

/// The download Job's env (§5.5): the nine operator defaults, then the artifact's runtime
/// config env, then the artifact env; overridden defaults keep their place.
pub fn download_env(a: &Artifact, effective_size: Option<i64>) -> Vec<EnvVar> {
    let size = effective_size.map(|s| s.to_string()).unwrap_or_default();
    let defaults = [
        ("AIM_DOWNLOADER_PROTOCOL", "XET,HF_TRANSFER"),
        ("TMPDIR", "/tmp/"),
        ("HF_HOME", "/tmp/.hf"),
        ("EXPECTED_SIZE_BYTES", size.as_str()),
        ("MOUNT_PATH", "/cache"),
        ("ARTIFACT_NAME", a.name.as_str()),
        ("ARTIFACT_NAMESPACE", a.namespace.as_str()),
        ("STALL_TIMEOUT", "120"),
        ("TARGET_DIR", "/cache"),
    ]
    .map(|(n, v)| EnvVar::plain(n, v));
    let rc_env = a
        .config
        .as_ref()
        .map(|c| c.spec.env.clone())
        .unwrap_or_default();
    merge_env_plain(&merge_env_plain(&defaults, &rc_env), &a.spec.env)
}

/// What a service's InferenceService mounts: (volume name, claim, mount path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub artifact: String,
    pub mount_path: String,
}

#[derive(Debug, Default)]
pub struct CachingPlan {
    pub caches: Vec<Cache>,
    pub artifacts: Vec<Artifact>,
    /// Per service (plan order): its cache and the artifacts it mounts.
    pub service_mounts: Vec<Option<(String, Vec<Mount>)>>,
}

/// `path.Join("/workspace/cache", modelId with every ".." removed)` (§5.7).
pub fn mount_path(model_id: &str, volume: &str) -> String {
    let without_dots = model_id.replace("..", "");
    let cleaned: Vec<&str> = without_dots
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    if cleaned.is_empty() {
        return format!("/workspace/cache/{volume}");
    }
    format!("/workspace/cache/{}", cleaned.join("/"))
}

/// Go JSON of an env list, as the operator hashes it (`null` when empty).
fn env_json(env: &[EnvVar]) -> HashInput {
    if env.is_empty() {
        return HashInput::Null;
    }
    let json = serde_json::to_string(env).unwrap_or_default();
    // encoding/json escapes these; serde_json does not.
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029");
    HashInput::Json(json)
}

/// `artifactName(cache, s)` (§5.4).
pub fn artifact_name(
    source_uri: &str,
    env: &[EnvVar],
    storage_class: &str,
    dedicated_cache: Option<&str>,
) -> String {
    let mut hash = vec![
        HashInput::Str(source_uri.to_owned()),
        env_json(env),
        HashInput::Str(storage_class.to_owned()),
    ];
    if let Some(c) = dedicated_cache {
        hash.push(HashInput::Str("dedicated".into()));
        hash.push(HashInput::Str(c.to_owned()));
    }
    let part = source_uri.replace('.', "-");
    naming::derived_name(&[part.as_str()], &hash, 10, 63).unwrap_or(part)
}

pub struct Inputs<'a, 'i> {
    pub index: &'i Index,
    pub lock: &'a Lock,
    pub catalog: &'a Catalog,
    pub inventory: Option<&'a super::gpu::Inventory>,
    /// Merged runtime config by (namespace, name).
    pub config: &'a dyn Fn(&str, &str) -> Option<Arc<MergedConfig>>,
}

pub fn plan(inp: &Inputs, services: &[ServicePlan], diags: &mut Vec<Diagnostic>) -> CachingPlan {
    let mut caches: BTreeMap<(String, String), Cache> = BTreeMap::new();
    let mut service_cache: Vec<Option<(String, String)>> = vec![None; services.len()];
    let mut conflicted = std::collections::BTreeSet::new();

    // Service-created caches (§5.2): each service's is worked out on all cores, then they
    // are merged in service order.
    let lock = inp.lock;
    let built = crate::load::parallel_map(services.iter().collect(), |sp| {
        let (t, st) = sp.template.as_ref()?;
        (!st.model_sources.is_empty())
            .then(|| service_cache_object(lock, sp, t, st.model_sources.clone()))
    });
    for (i, (sp, cache)) in services.iter().zip(built).enumerate() {
        let Some(cache) = cache else {
            continue;
        };
        let key = (cache.namespace.clone(), cache.name.clone());
        service_cache[i] = Some(key.clone());
        match caches.get_mut(&key) {
            Some(existing) => {
                if let CacheOrigin::Services(users) = &mut existing.origin {
                    users.push((sp.namespace.to_owned(), sp.name.to_owned()));
                }
                // Said once per cache, at the first service that disagrees.
                if existing.spec != cache.spec && conflicted.insert(key.clone()) {
                    diags.push(
                        Diagnostic::warning(
                            "SharedCacheConflict",
                            format!(
                                "services sharing AIMTemplateCache {} give it different specs (env, storage class or runtime config): in the cluster the last one applied wins; aimc keeps the first service's by name",
                                cache.name
                            ),
                        )
                        .at(Some(sp.obj.doc_loc()))
                        .help("give services of one template the same env, or use caching.mode: Dedicated"),
                    );
                }
            }
            None => {
                caches.insert(key, cache);
            }
        }
    }

    // Template-owned caches (§4.7).
    for t in inp.catalog.all() {
        let Scope::Namespace(ns) = &t.scope else {
            continue;
        };
        if !t.spec.caching.as_ref().is_some_and(|c| c.enabled) {
            continue;
        }
        // §4.7: cached when the spec lists sources, or once discovery found some; §4.3:
        // nothing is planned while the template's GPU is not available.
        let sources = match inp.catalog.status(t, inp.inventory, inp.lock) {
            Ok(st) if st.available.is_err() => continue,
            Ok(st) => st.model_sources.clone(),
            Err(template::StatusError::NeedsInventory) if !t.spec.model_sources.is_empty() => {
                t.spec.model_sources.clone()
            }
            Err(e) => {
                let e = template::status_error(t, e);
                diags.push(
                    Diagnostic::error(
                        e.code,
                        format!(
                            "{} (it has spec.caching.enabled, so it owns a template cache)",
                            e.message
                        ),
                    )
                    .at(t.location.as_ref().map(SrcRef::location))
                    .help("supply the template's model sources"),
                );
                continue;
            }
        };
        if sources.is_empty() || caches.contains_key(&(ns.clone(), t.name.clone())) {
            continue;
        }
        let template_config = (inp.config)(
            ns,
            t.spec
                .runtime_config_name
                .as_deref()
                .filter(|n| !n.is_empty())
                .unwrap_or("default"),
        );
        let lp = template_config
            .as_ref()
            .and_then(|c| c.spec.label_propagation.as_ref());
        let mut labels = BTreeMap::new();
        labels::stamp(
            &mut labels,
            &t.labels,
            lp.map(|l| (l.enabled, l.r#match.as_slice())),
            "aim-service-template-controller",
            ("aim.eai.amd.com/service-template.name", &t.name),
        );
        let spec = TemplateCacheSpec {
            template_name: t.name.clone(),
            template_scope: Some("Namespace".into()),
            env: t
                .spec
                .caching
                .as_ref()
                .map(|c| c.env.clone())
                .unwrap_or_default(),
            runtime_config_name: t.spec.runtime_config_name.clone().filter(|s| !s.is_empty()),
            // The CRD default, written out as the API server stores it.
            mode: Some("Shared".into()),
            ..Default::default()
        };
        let template_uid = uid(
            inp.lock,
            AIM_API_VERSION,
            "AIMServiceTemplate",
            Some(ns),
            &t.name,
            t.uid.as_deref(),
        );
        caches.insert(
            (ns.clone(), t.name.clone()),
            Cache {
                uid: uid(
                    inp.lock,
                    AIM_API_VERSION,
                    "AIMTemplateCache",
                    Some(ns),
                    &t.name,
                    None,
                ),
                name: t.name.clone(),
                namespace: ns.clone(),
                spec,
                mode: Mode::Shared,
                labels,
                owner: Some(Owner {
                    kind: "AIMServiceTemplate",
                    name: t.name.clone(),
                    uid: template_uid,
                }),
                origin: CacheOrigin::Template(t.name.clone()),
                sources,
                artifacts: Vec::new(),
            },
        );
    }

    // Caches written in the repository.
    for obj in inp
        .index
        .reconciled_of_kind(crate::api::AimKind::TemplateCache, None)
    {
        let Some(AimSpec::TemplateCache(spec)) = obj.aim.as_ref().map(|a| &a.spec) else {
            continue;
        };
        let ns = obj.key.namespace.clone().unwrap_or_default();
        if let Some(d) = missing_config(
            inp.index,
            obj,
            spec.runtime_config_name.as_deref(),
            "creates no artifacts",
        ) {
            diags.push(d);
            continue;
        }
        let Some(t) = written_cache_template(inp.catalog, &ns, spec) else {
            let scope = match spec.template_scope.as_deref() {
                Some("Cluster") => "an AIMClusterServiceTemplate".to_owned(),
                Some("Namespace") => format!("an AIMServiceTemplate in namespace {ns:?}"),
                _ => format!(
                    "an AIMServiceTemplate in namespace {ns:?} or an AIMClusterServiceTemplate"
                ),
            };
            // The operator never makes such a cache Ready, and its consumers wait on it.
            diags.push(
                Diagnostic::error(
                    "ReferenceNotFound",
                    format!(
                        "AIMTemplateCache {ns}/{} names template {:?}, which does not exist as {scope}: the operator never makes the cache Ready",
                        obj.key.name, spec.template_name
                    ),
                )
                .at(Some(obj.loc_of(&["spec", "templateName"])))
                .help("fix spec.templateName (or spec.templateScope), or add the template to the repository"),
            );
            continue;
        };
        let sources = match inp.catalog.status(t, inp.inventory, inp.lock) {
            Ok(st) => st.model_sources.clone(),
            Err(e) => {
                let e = template::status_error(t, e);
                diags.push(
                    Diagnostic::error(e.code, e.message)
                        .at(Some(obj.loc_of(&["spec", "templateName"])))
                        .help("supply the template's model sources"),
                );
                continue;
            }
        };
        let key = (ns.clone(), obj.key.name.clone());
        if caches.contains_key(&key) {
            diags.push(
                Diagnostic::warning("CacheNameCollision", format!("AIMTemplateCache {} is also what a service or template creates; the operator applies its own spec over this one", obj.key.name))
                    .at(Some(obj.loc(&[])))
                    .help("remove the written cache or rename it"),
            );
            continue;
        }
        let mode = if spec.mode.as_deref() == Some("Dedicated") {
            Mode::Dedicated
        } else {
            Mode::Shared
        };
        caches.insert(
            key,
            Cache {
                uid: uid(
                    inp.lock,
                    AIM_API_VERSION,
                    "AIMTemplateCache",
                    Some(&ns),
                    &obj.key.name,
                    obj.aim.as_ref().and_then(|a| a.meta.uid.as_deref()),
                ),
                name: obj.key.name.clone(),
                namespace: ns,
                spec: (**spec).clone(),
                mode,
                labels: obj.labels(),
                owner: None,
                origin: CacheOrigin::Written(obj.src(&[])),
                sources,
                artifacts: Vec::new(),
            },
        );
    }

    let artifacts = plan_artifacts(inp, &mut caches, diags);
    // Which cache each InferenceService mounts (service.md §7.7): a Dedicated service its own;
    // a Shared one the best of the Shared caches of its template in the namespace — all
    // Ready in the steady state, so the first the operator lists, by name.
    let mut shared_by_template: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for c in caches.values().filter(|c| c.mode == Mode::Shared) {
        shared_by_template
            .entry((c.namespace.as_str(), c.spec.template_name.as_str()))
            .or_default()
            .push(c.name.as_str());
    }
    let mut warned = std::collections::BTreeSet::new();
    let service_mounts = service_cache
        .into_iter()
        .map(|key| {
            let own = caches.get(&key?)?;
            let chosen = match own.mode {
                Mode::Dedicated => own,
                Mode::Shared => {
                    let names = shared_by_template.get(&(own.namespace.as_str(), own.spec.template_name.as_str()))?;
                    let first = names.iter().min()?;
                    if names.len() > 1 && warned.insert((own.namespace.clone(), own.spec.template_name.clone())) {
                        diags.push(
                            Diagnostic::warning(
                                "CacheChoiceAmbiguous",
                                format!(
                                    "{} Shared template caches of template {} in namespace {} could serve its services ({}); the operator mounts the first it lists, aimc takes {first}",
                                    names.len(),
                                    own.spec.template_name,
                                    own.namespace,
                                    names.join(", ")
                                ),
                            )
                            .help("keep one Shared cache per template and namespace (spec.caching.enabled on the template also creates one)"),
                        );
                    }
                    caches.get(&(own.namespace.clone(), (*first).to_owned()))?
                }
            };
            // The operator's status.artifacts is a map by artifact name: one mount each.
            let mut seen = std::collections::BTreeSet::new();
            let mounts = chosen
                .sources
                .iter()
                .zip(&chosen.artifacts)
                .filter(|(_, a)| seen.insert(a.as_str()))
                .map(|(s, a)| Mount { artifact: a.clone(), mount_path: mount_path(&s.model_id, &naming::rfc1123(a)) })
                .collect();
            Some((chosen.name.clone(), mounts))
        })
        .collect();
    CachingPlan {
        caches: caches.into_values().collect(),
        artifacts,
        service_mounts,
    }
}

fn written_cache_template<'c>(
    catalog: &'c Catalog,
    ns: &str,
    spec: &TemplateCacheSpec,
) -> Option<&'c Template> {
    let namespaced = || {
        catalog
            .get(&Scope::Namespace(ns.to_owned()), &spec.template_name)
            .map(|t| &**t)
    };
    let cluster = || {
        catalog
            .get(&Scope::Cluster, &spec.template_name)
            .map(|t| &**t)
    };
    match spec.template_scope.as_deref() {
        Some("Cluster") => cluster(),
        Some("Namespace") => namespaced(),
        _ => namespaced().or_else(cluster),
    }
}

fn service_cache_object(
    lock: &Lock,
    sp: &ServicePlan,
    t: &Template,
    sources: Vec<ModelSource>,
) -> Cache {
    let mode = service_mode(sp.spec);
    let svc_uid = uid(
        lock,
        AIM_API_VERSION,
        "AIMService",
        Some(sp.namespace),
        sp.name,
        sp.obj.aim.as_ref().and_then(|a| a.meta.uid.as_deref()),
    );
    let name = match mode {
        Mode::Shared => naming::shared_cache_name(&t.name, sp.namespace),
        Mode::Dedicated => naming::derived_name(
            &[&t.name, sp.name],
            &[HashInput::Str(svc_uid.value.clone())],
            8,
            63,
        ),
    }
    .unwrap_or_else(|_| t.name.clone());
    // §5.2: template env, then (namespaced templates) its caching env, then the service env.
    let caching_env = if t.is_cluster() {
        Vec::new()
    } else {
        t.spec
            .caching
            .as_ref()
            .map(|c| c.env.clone())
            .unwrap_or_default()
    };
    let env = merge_env_plain(&merge_env_plain(&t.spec.env, &caching_env), &sp.spec.env);
    let storage_class = match sp
        .spec
        .storage
        .as_ref()
        .and_then(|s| s.default_storage_class_name.clone())
    {
        Some(sc) => sc,
        None => sp
            .config
            .as_ref()
            .and_then(|c| c.spec.storage.as_ref())
            .and_then(|s| s.default_storage_class_name.clone())
            .unwrap_or_default(),
    };
    let mut labels = BTreeMap::new();
    labels.insert(
        "aim.eai.amd.com/service".to_owned(),
        naming::sanitize_label_value(sp.name),
    );
    let lp = sp
        .config
        .as_ref()
        .and_then(|c| c.spec.label_propagation.as_ref());
    labels::stamp(
        &mut labels,
        &sp.obj.labels(),
        lp.map(|l| (l.enabled, l.r#match.as_slice())),
        "aim-service-controller",
        ("aim.eai.amd.com/service.name", sp.name),
    );
    let spec = TemplateCacheSpec {
        template_name: t.name.clone(),
        template_scope: Some(
            if t.is_cluster() {
                "Cluster"
            } else {
                "Namespace"
            }
            .into(),
        ),
        storage_class_name: Some(storage_class).filter(|s| !s.is_empty()),
        runtime_config_name: sp
            .spec
            .runtime_config_name
            .clone()
            .filter(|s| !s.is_empty()),
        mode: Some(mode.as_str().into()),
        env,
        ..Default::default()
    };
    Cache {
        uid: uid(
            lock,
            AIM_API_VERSION,
            "AIMTemplateCache",
            Some(sp.namespace),
            &name,
            None,
        ),
        name,
        namespace: sp.namespace.to_owned(),
        spec,
        mode,
        labels,
        owner: (mode == Mode::Dedicated).then(|| Owner {
            kind: "AIMService",
            name: sp.name.to_owned(),
            uid: svc_uid,
        }),
        origin: CacheOrigin::Services(vec![(sp.namespace.to_owned(), sp.name.to_owned())]),
        sources,
        artifacts: Vec::new(),
    }
}

/// Whether a non-default runtime config name exists in neither scope (cache-model.md §1.3:
/// `ConfigNotFound` blocks every child of the object).
pub fn config_missing(index: &Index, namespace: &str, name: Option<&str>) -> bool {
    let Some(name) = name.filter(|n| !n.is_empty() && *n != "default") else {
        return false;
    };
    index
        .aim(crate::api::AimKind::RuntimeConfig, Some(namespace), name)
        .is_none()
        && index
            .aim(crate::api::AimKind::ClusterRuntimeConfig, None, name)
            .is_none()
}

/// `ConfigNotFound` for a written object whose runtime config is missing; `consequence`
/// says what the operator then does not create.
fn missing_config(
    index: &Index,
    obj: &Object,
    name: Option<&str>,
    consequence: &str,
) -> Option<Diagnostic> {
    let ns = obj.key.namespace.as_deref().unwrap_or_default();
    config_missing(index, ns, name).then(|| {
        Diagnostic::error(
            "ConfigNotFound",
            format!(
                "ConfigNotFound: RuntimeConfig {} not found: {} {} {consequence}",
                name.unwrap_or(""),
                obj.key.kind,
                obj.key.name
            ),
        )
        .at(Some(obj.loc_of(&["spec", "runtimeConfigName"])))
        .help("create the runtime config, or remove runtimeConfigName")
    })
}

fn written_artifacts(inp: &Inputs, diags: &mut Vec<Diagnostic>) -> Vec<Artifact> {
    let mut out = Vec::new();
    for obj in inp
        .index
        .reconciled_of_kind(crate::api::AimKind::Artifact, None)
    {
        let Some(AimSpec::Artifact(spec)) = obj.aim.as_ref().map(|a| &a.spec) else {
            continue;
        };
        let ns = obj.key.namespace.clone().unwrap_or_default();
        if let Some(d) = missing_config(
            inp.index,
            obj,
            spec.runtime_config_name.as_deref(),
            "gets no PVC or download Job",
        ) {
            diags.push(d);
            continue;
        }
        out.push(Artifact {
            uid: uid(
                inp.lock,
                AIM_API_VERSION,
                "AIMArtifact",
                Some(&ns),
                &obj.key.name,
                obj.aim.as_ref().and_then(|a| a.meta.uid.as_deref()),
            ),
            config: artifact_config(inp, &ns, spec),
            name: obj.key.name.clone(),
            namespace: ns,
            spec: (**spec).clone(),
            labels: obj.labels(),
            owner: owned(obj),
            written: Some(obj.src(&[])),
        });
    }
    out
}

/// A written object's controlling owner, as far as the repository says.
fn owned(obj: &Object) -> Option<Owner> {
    let refs = obj.value.pointer("/metadata/ownerReferences")?.as_array()?;
    let r = refs.first()?;
    Some(Owner {
        kind: "AIMTemplateCache",
        name: r.get("name")?.as_str()?.to_owned(),
        uid: Uid {
            value: r
                .get("uid")
                .and_then(|u| u.as_str())
                .unwrap_or_default()
                .to_owned(),
            real: true,
        },
    })
}

fn artifact_config(inp: &Inputs, ns: &str, spec: &ArtifactSpec) -> Option<Arc<MergedConfig>> {
    let name = spec
        .runtime_config_name
        .as_deref()
        .filter(|n| !n.is_empty())
        .unwrap_or("default");
    (inp.config)(ns, name)
}

/// Shared artifacts are reused by (namespace, source URI[, storage class]) on a first-come
/// basis; aimc takes caches in name order as the creation order and, when several existing
/// artifacts match, the lexicographically first (offline.md).
fn plan_artifacts(
    inp: &Inputs,
    caches: &mut BTreeMap<(String, String), Cache>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Artifact> {
    let mut artifacts = written_artifacts(inp, diags);
    // (namespace, source URI) → artifacts, so each lookup is not a scan of all artifacts.
    let mut by_uri: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for (i, a) in artifacts.iter().enumerate() {
        by_uri
            .entry((a.namespace.clone(), a.spec.source_uri.clone()))
            .or_default()
            .push(i);
    }
    for cache in caches.values_mut() {
        let mut missing_index = 0;
        let mut chosen = Vec::with_capacity(cache.sources.len());
        // Artifacts this cache creates become reusable for later caches only: the operator
        // computes the missing sources of one cache in one pass.
        let mut created_here: Vec<usize> = Vec::new();
        let mut seen_uris = std::collections::BTreeSet::new();
        for s in &cache.sources {
            let uri = s.source_uri.clone().unwrap_or_default();
            if !seen_uris.insert(uri.clone()) {
                diags.push(
                    Diagnostic::warning(
                        "DuplicateModelSource",
                        format!(
                            "template {} lists {uri} twice: one artifact, mounted once",
                            cache.spec.template_name
                        ),
                    )
                    .help("list each model source once"),
                );
            }
            let sc = cache.spec.storage_class_name.clone().unwrap_or_default();
            let sc_ok = |a: &Artifact| {
                sc.is_empty() || a.spec.storage_class_name.as_deref().unwrap_or("") == sc
            };
            let by_source = by_uri.get(&(cache.namespace.clone(), uri.clone()));
            let reusable: Vec<&Artifact> = by_source
                .into_iter()
                .flatten()
                .filter_map(|&i| artifacts.get(i))
                .filter(|a| sc_ok(a))
                .filter(|a| match cache.mode {
                    Mode::Shared => a.owner.is_none(),
                    // Owned by this very cache: its UID, not just its name.
                    Mode::Dedicated => a.owner.as_ref().is_some_and(|o| {
                        o.kind == "AIMTemplateCache" && o.uid.value == cache.uid.value
                    }),
                })
                .collect();
            let env = merge_env_plain(&cache.spec.env, &s.env);
            if let Some(first) = reusable.iter().min_by(|a, b| a.name.cmp(&b.name)) {
                if reusable.len() > 1 {
                    diags.push(
                        Diagnostic::warning(
                            "ArtifactReuseAmbiguous",
                            format!(
                                "AIMTemplateCache {} could reuse {} artifacts for {uri}; the operator takes the first it lists, aimc takes {}",
                                cache.name,
                                reusable.len(),
                                first.name
                            ),
                        )
                        .help("keep one artifact per source URI and storage class in a namespace"),
                    );
                }
                // The operator does not compare env when reusing: credentials this cache
                // would pass to the download do not reach it.
                if first.spec.env != env {
                    diags.push(
                        Diagnostic::warning(
                            "SharedArtifactEnv",
                            format!(
                                "AIMTemplateCache {} reuses AIMArtifact {} for {uri}, whose download env differs from this cache's; the artifact's env is used",
                                cache.name, first.name
                            ),
                        )
                        .help("give the caches of one source the same env, or put credentials in the runtime config"),
                    );
                }
                chosen.push(first.name.clone());
                continue;
            }
            let dedicated = (cache.mode == Mode::Dedicated).then_some(cache.name.as_str());
            let name = artifact_name(&uri, &env, &sc, dedicated);
            let mut labels = BTreeMap::new();
            labels.insert("template-created".to_owned(), "true".to_owned());
            labels.insert(
                "aim.eai.amd.com/template.name".to_owned(),
                cache.spec.template_name.clone(),
            );
            labels.insert(
                "aim.eai.amd.com/template.scope".to_owned(),
                cache.spec.template_scope.clone().unwrap_or_default(),
            );
            labels.insert(
                "aim.eai.amd.com/template.index".to_owned(),
                missing_index.to_string(),
            );
            labels.insert(
                "aim.eai.amd.com/template-cache.name".to_owned(),
                naming::sanitize_label_value(&cache.name),
            );
            let cache_config = (inp.config)(
                &cache.namespace,
                cache
                    .spec
                    .runtime_config_name
                    .as_deref()
                    .unwrap_or("default"),
            );
            let lp = cache_config
                .as_ref()
                .and_then(|c| c.spec.label_propagation.as_ref());
            labels::stamp(
                &mut labels,
                &cache.labels,
                lp.map(|l| (l.enabled, l.r#match.as_slice())),
                "aim-template-cache-controller",
                ("aim.eai.amd.com/template-cache.name", &cache.name),
            );
            let spec = ArtifactSpec {
                source_uri: uri,
                model_id: Some(s.model_id.clone()),
                env,
                size: Some(s.size.clone().unwrap_or_else(|| {
                    Quantity::from_int(0, crate::api::quantity::Format::DecimalSI)
                })),
                storage_class_name: Some(sc).filter(|s| !s.is_empty()),
                runtime_config_name: cache.spec.runtime_config_name.clone(),
                model_download_image: Some(DOWNLOADER_IMAGE.into()),
                ..Default::default()
            };
            created_here.push(artifacts.len());
            artifacts.push(Artifact {
                uid: uid(
                    inp.lock,
                    AIM_API_VERSION,
                    "AIMArtifact",
                    Some(&cache.namespace),
                    &name,
                    None,
                ),
                config: artifact_config(inp, &cache.namespace, &spec),
                name: name.clone(),
                namespace: cache.namespace.clone(),
                spec,
                labels,
                owner: dedicated.map(|c| Owner {
                    kind: "AIMTemplateCache",
                    name: c.to_owned(),
                    uid: cache.uid.clone(),
                }),
                written: None,
            });
            chosen.push(name);
            missing_index += 1;
        }
        for i in created_here {
            if let Some(a) = artifacts.get(i) {
                by_uri
                    .entry((a.namespace.clone(), a.spec.source_uri.clone()))
                    .or_default()
                    .push(i);
            }
        }
        cache.artifacts = chosen;
    }
    artifacts.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    artifacts.dedup_by(|a, b| a.namespace == b.namespace && a.name == b.name);
    artifacts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::{EnvVarSource, KeySelector};

    /// cache-model.md §5.4 artifact name vectors.
    #[test]
    fn artifact_names() {
        let token = [EnvVar::plain("HF_TOKEN", "my-token")];
        assert_eq!(
            artifact_name("hf://sshleifer/tiny-gpt2", &token, "", None),
            "hf---sshleifer-tiny-gpt2-8b6a4bfd16"
        );
        assert_eq!(
            artifact_name("hf://HuggingFaceTB/SmolLM-135M", &token, "", None),
            "hf---huggingfacetb-smollm-135m-58fde67862"
        );
        assert_eq!(
            artifact_name("hf://sshleifer/tiny-gpt2", &[], "", None),
            "hf---sshleifer-tiny-gpt2-fc6a9647bb"
        );
        assert_eq!(
            artifact_name("hf://Qwen/Qwen2-0.5B", &[], "", None),
            "hf---qwen-qwen2-0-5b-f71e8faae6"
        );
        assert_eq!(
            artifact_name("hf://Qwen/Qwen2-0.5B", &[], "longhorn", None),
            "hf---qwen-qwen2-0-5b-b78ec19d0e"
        );
        assert_eq!(
            artifact_name("hf://Qwen/Qwen2-0.5B", &[], "", Some("my-tc")),
            "hf---qwen-qwen2-0-5b-372e84ba0d"
        );
        let secret = [EnvVar {
            name: "HF_TOKEN".into(),
            value: None,
            value_from: Some(Box::new(EnvVarSource {
                secret_key_ref: Some(KeySelector {
                    name: "hf-creds".into(),
                    key: "token".into(),
                    optional: None,
                }),
                ..Default::default()
            })),
        }];
        assert_eq!(
            artifact_name("hf://meta-llama/Llama-3.1-8B-Instruct", &secret, "", None),
            "hf---meta-llama-llama-3-1-8b-instruct-a5c6dd7d14"
        );
        let s3 = [
            EnvVar::plain("AWS_ACCESS_KEY_ID", "minioadmin"),
            EnvVar::plain("AWS_SECRET_ACCESS_KEY", "minioadmin"),
            EnvVar::plain("AWS_ENDPOINT_URL", "http://minio:9000"),
        ];
        assert_eq!(
            artifact_name("s3://models/Qwen2-0.5B", &s3, "", None),
            "s3---models-qwen2-0-5b-e846d4fc4f"
        );
        assert_eq!(
            artifact_name(
                "hf://meta-llama/Llama-3.3-70B-Instruct-with-a-very-long-suffix-for-testing",
                &[],
                "",
                None
            ),
            "hf---meta-llama-llama-3-3-70b-instruct-with-a-very-l-19ab7aa229"
        );
        assert_eq!(
            artifact_name("hf://Qwen/Qwen3-32B", &[], "", None),
            "hf---qwen-qwen3-32b-c00b812b59"
        );
        assert_eq!(
            artifact_name(
                "hf://Qwen/Qwen3-32B",
                &[EnvVar::plain("HF_TOKEN", "x")],
                "",
                None
            ),
            "hf---qwen-qwen3-32b-fe9a71eebd"
        );
        assert_eq!(
            artifact_name(
                "hf://meta-llama/Llama-3.1-8B-Instruct",
                &[],
                "fast-nvme",
                None
            ),
            "hf---meta-llama-llama-3-1-8b-instruct-596848aa68"
        );
    }

    /// §5.2 cache names.
    #[test]
    fn cache_names() {
        assert_eq!(
            naming::shared_cache_name("llama-template", "my-namespace").unwrap(),
            "llama-template-783d2dc1"
        );
        assert_eq!(
            naming::shared_cache_name("test-template", "default").unwrap(),
            "test-template-1080a608"
        );
        let dedicated = |uid: &str| {
            naming::derived_name(
                &["llama-template", "my-svc"],
                &[HashInput::Str(uid.into())],
                8,
                63,
            )
            .unwrap()
        };
        assert_eq!(dedicated("service-uid-a"), "llama-template-my-svc-dc5ac241");
        assert_eq!(dedicated("service-uid-b"), "llama-template-my-svc-7ac737af");
    }

    #[test]
    fn mount_paths() {
        assert_eq!(
            mount_path("Qwen/Qwen2-0.5B", "v"),
            "/workspace/cache/Qwen/Qwen2-0.5B"
        );
        assert_eq!(mount_path("../../etc/x", "v"), "/workspace/cache/etc/x");
        assert_eq!(mount_path("..", "vol"), "/workspace/cache/vol");
    }

    #[test]
    fn modes() {
        let svc = |m: Option<&str>| ServiceSpec {
            caching: m.map(|m| crate::api::aim::ServiceCaching {
                mode: Some(m.into()),
            }),
            ..Default::default()
        };
        for (m, want) in [
            (None, Mode::Shared),
            (Some("Shared"), Mode::Shared),
            (Some("Always"), Mode::Shared),
            (Some("Auto"), Mode::Shared),
            (Some("Never"), Mode::Dedicated),
            (Some("Dedicated"), Mode::Dedicated),
        ] {
            assert_eq!(service_mode(&svc(m)), want, "{m:?}");
        }
    }
}
