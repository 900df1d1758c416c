//! Secret scope: every secret a rendered workload needs, the namespace it must live in, and
//! whether the repository (or aimc.yaml) shows it exists there.

use super::cache::{self, Artifact, CachingPlan};
use super::env::Layer;
use super::ServicePlan;
use crate::api::{AimKind, AimSpec};
use crate::diag::Diagnostic;
use crate::load::yaml::Seg;
use crate::load::SrcRef;
use crate::load::{Index, ProjectConfig};
use std::collections::BTreeSet;

/// One secret a workload needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretNeed {
    pub namespace: String,
    pub name: String,
    /// What needs it, e.g. `imagePullSecrets of InferenceService ml-team/chat`.
    pub usage: String,
    pub layer: String,
    pub location: Option<SrcRef>,
}

/// The secrets an InferenceService of `plan` needs.
pub fn needs(plan: &ServicePlan) -> Vec<SecretNeed> {
    let mut out = Vec::new();
    let ns = plan.namespace.to_owned();
    let svc_layer = Layer::Service(ns.as_str().into(), plan.name.into()).to_string();
    for (i, s) in plan.spec.image_pull_secrets.iter().enumerate() {
        out.push(SecretNeed {
            namespace: ns.clone(),
            name: s.name.clone(),
            usage: format!(
                "imagePullSecrets of the InferenceService for AIMService {}/{}",
                ns, plan.name
            ),
            layer: svc_layer.clone(),
            location: Some(plan.obj.src(&[
                "spec".into(),
                "imagePullSecrets".into(),
                Seg::Index(i),
                "name".into(),
            ])),
        });
    }
    for e in &plan.env {
        if let Some(r) = e
            .var
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
        {
            if r.optional == Some(true) {
                continue;
            }
            out.push(SecretNeed {
                namespace: ns.clone(),
                name: r.name.clone(),
                usage: format!(
                    "env {} of the InferenceService for AIMService {}/{}",
                    e.var.name, ns, plan.name
                ),
                layer: e.origin.layer.to_string(),
                location: e.origin.location.clone(),
            });
        }
    }
    out
}

/// The secrets the tree declares, by (namespace, name): `Secret`s, `SealedSecret`s (by
/// their template's name, else their own) and `ExternalSecret`s (by target name, else their own).
#[derive(Debug, Default)]
pub struct Declared(BTreeSet<(String, String)>);

impl Declared {
    pub fn from_index(index: &Index) -> Declared {
        let mut set = BTreeSet::new();
        for o in index.objects() {
            let Some(ns) = o.key.namespace.as_deref() else {
                continue;
            };
            let group = o.key.api_version.split('/').next().unwrap_or("");
            let name = match (group, o.key.kind.as_str()) {
                ("v1", "Secret") => Some(o.key.name.as_str()),
                ("bitnami.com", "SealedSecret") => Some(
                    o.value
                        .pointer("/spec/template/metadata/name")
                        .and_then(|v| v.as_str())
                        .unwrap_or(&o.key.name),
                ),
                ("external-secrets.io", "ExternalSecret") => Some(
                    o.value
                        .pointer("/spec/target/name")
                        .and_then(|v| v.as_str())
                        .filter(|s| !s.is_empty())
                        .unwrap_or(&o.key.name),
                ),
                _ => None,
            };
            if let Some(name) = name {
                set.insert((ns.to_owned(), name.to_owned()));
            }
        }
        Declared(set)
    }

    /// Whether `name` exists in `namespace`, in the tree or as an aimc.yaml external secret.
    pub fn contains(&self, config: &ProjectConfig, namespace: &str, name: &str) -> bool {
        config.is_external_secret(namespace, name)
            || self.0.contains(&(namespace.to_owned(), name.to_owned()))
    }
}

/// The secrets a download Job needs, in the artifact's namespace (cache-model.md §6).
pub fn artifact_needs(a: &Artifact) -> Vec<SecretNeed> {
    let mut out = Vec::new();
    let usage = |what: &str| {
        format!(
            "{what} of the download Job for AIMArtifact {}/{}",
            a.namespace, a.name
        )
    };
    for s in &a.spec.image_pull_secrets {
        out.push(SecretNeed {
            namespace: a.namespace.clone(),
            name: s.name.clone(),
            usage: usage("imagePullSecrets"),
            layer: format!("AIMArtifact/{}/{}", a.namespace, a.name),
            location: a.written.clone(),
        });
    }
    for e in cache::download_env(a, None) {
        if let Some(r) = e
            .value_from
            .as_ref()
            .and_then(|v| v.secret_key_ref.as_ref())
            .filter(|r| r.optional != Some(true))
        {
            // The artifact env wins over the runtime config's; point at whichever supplied it.
            let from_config = a
                .config
                .as_ref()
                .and_then(|c| c.env.iter().find(|x| x.var.name == e.name))
                .filter(|_| !a.spec.env.iter().any(|x| x.name == e.name));
            let (layer, location) = match from_config {
                Some(entry) => (
                    entry.origin.layer.to_string(),
                    entry.origin.location.clone(),
                ),
                None => (
                    format!(
                        "the env of AIMArtifact {}/{} (from its template cache)",
                        a.namespace, a.name
                    ),
                    a.written.clone(),
                ),
            };
            out.push(SecretNeed {
                namespace: a.namespace.clone(),
                name: r.name.clone(),
                usage: usage(&format!("env {}", e.name)),
                layer,
                location,
            });
        }
    }
    out
}

/// Pull secrets of cluster-scoped models and model sources, which the operator reads from
/// its own namespace (cache-model.md §1.2, §6).
/// Pull secrets the operator reads for models and model sources (cache-model.md §6): a
/// model's for metadata extraction and discovery, from its namespace or, cluster-scoped,
/// the operator namespace; a source's for registry listings. Templates' own pull secrets
/// are never read. A model that needs no registry access (metadata given, extraction off or
/// only inline sources) needs none.
fn model_pull_secret_needs(index: &Index, config: &ProjectConfig) -> Vec<SecretNeed> {
    let mut out = Vec::new();
    for kind in [
        AimKind::Model,
        AimKind::ClusterModel,
        AimKind::ClusterModelSource,
    ] {
        for obj in index.aim_of_kind(kind, None).filter(|o| !o.derived) {
            let secrets = match obj.aim.as_ref().map(|a| &a.spec) {
                Some(AimSpec::Model(m)) => {
                    let extracts = m.image_metadata.is_none()
                        && m.discovery.as_ref().is_none_or(|d| d.extract_metadata);
                    let discovers = m.model_sources.is_empty();
                    if !extracts && !discovers {
                        continue;
                    }
                    &m.image_pull_secrets
                }
                Some(AimSpec::ClusterModelSource(s)) => &s.image_pull_secrets,
                _ => continue,
            };
            let namespace = obj
                .key
                .namespace
                .clone()
                .unwrap_or_else(|| config.operator_namespace.clone());
            let whose = if obj.key.namespace.is_some() {
                "its namespace"
            } else {
                "the operator namespace"
            };
            for (i, s) in secrets.iter().enumerate() {
                out.push(SecretNeed {
                    namespace: namespace.clone(),
                    name: s.name.clone(),
                    usage: format!(
                        "imagePullSecrets of {} {} (read from {whose})",
                        kind.name(),
                        obj.key.name
                    ),
                    layer: format!("{}/{}", kind.name(), obj.key.name),
                    location: Some(obj.src(&[
                        "spec".into(),
                        "imagePullSecrets".into(),
                        Seg::Index(i),
                        "name".into(),
                    ])),
                });
            }
        }
    }
    out
}

pub fn check(
    index: &Index,
    config: &ProjectConfig,
    plans: &[ServicePlan],
    caching: &CachingPlan,
    diags: &mut Vec<Diagnostic>,
) {
    let declared = Declared::from_index(index);
    let missing = |need: &SecretNeed| {
        !need.name.is_empty() && !declared.contains(config, &need.namespace, &need.name)
    };
    // Needs are worked out on all cores (each carries its messages), in a fixed order.
    // A plan stopped by a missing fact still has its pull secrets and the env of the layers
    // above the template: the guide's first troubleshooting cause must not wait for a lock.
    let service_plans: Vec<&ServicePlan> = plans
        .iter()
        .filter(|p| p.template.is_some() || p.pending.is_some())
        .collect();
    let mut all: Vec<SecretNeed> = crate::load::parallel_map(service_plans, |p| {
        needs(p)
            .into_iter()
            .filter(|n| missing(n))
            .collect::<Vec<_>>()
    })
    .into_iter()
    .flatten()
    .collect();
    all.extend(
        crate::load::parallel_map(caching.artifacts.iter().collect(), |a| {
            artifact_needs(a)
                .into_iter()
                .filter(|n| missing(n))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten(),
    );
    all.extend(
        model_pull_secret_needs(index, config)
            .into_iter()
            .filter(|n| missing(n)),
    );
    for need in all {
        diags.push(
            Diagnostic::warning(
                "SecretNotFound",
                format!(
                    "secret {:?} must exist in namespace {:?} ({}, from {}), but the repository does not declare it",
                    need.name, need.namespace, need.usage, need.layer
                ),
            )
            .at(need.location.as_ref().map(SrcRef::location))
            .help(format!(
                "add a Secret, SealedSecret or ExternalSecret named {:?} in namespace {:?}, or list it under externalSecrets in aimc.yaml",
                need.name, need.namespace
            )),
        );
    }
}
