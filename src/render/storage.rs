//! Artifact PVCs and download Jobs (cache-model.md §5.5), and the derived caching objects.

use super::object::{
    Container, JobSpec, Manifest, Metadata, Object, OwnerReference, PodMetadata, PodSpec,
    PodTemplate, PvcSpec, SecurityContext, Storage, StorageRequest, Volume, VolumeMount,
};
use super::{Ctx, Gitops};
use crate::api::quantity::{Format, Quantity};
use crate::api::AIM_API_VERSION;
use crate::diag::Diagnostic;
use crate::load::{Lock, SrcRef};
use crate::naming::{self, HashInput};
use crate::resolve::cache::{self, Artifact, Cache, CacheOrigin, Owner};
use crate::resolve::labels;
use std::collections::BTreeMap;

const GIB: i64 = 1 << 30;

/// `derivedName([artifactName, suffix], [artifact UID])`.
fn child_name(a: &Artifact, suffix: &str) -> String {
    naming::derived_name(
        &[&a.name, suffix],
        &[HashInput::Str(a.uid.value.clone())],
        8,
        63,
    )
    .unwrap_or_else(|_| format!("{}-{suffix}", a.name))
}

pub fn pvc_name(a: &Artifact) -> String {
    child_name(a, "cache")
}

pub fn download_job_name(a: &Artifact) -> String {
    child_name(a, "download")
}

/// PVC size (§5.5): the size plus headroom, computed in IEEE doubles and truncated as the
/// operator does, rounded up to whole GiB; binary-SI canonical form.
pub fn pvc_size(effective_bytes: i64, headroom_percent: i32) -> String {
    let with_headroom =
        (effective_bytes as f64 * (1.0 + f64::from(headroom_percent) / 100.0)) as i64;
    let gib = with_headroom.saturating_add(GIB - 1) / GIB;
    Quantity::from_int(gib.max(1).saturating_mul(GIB), Format::BinarySI).canonical()
}

fn headroom(a: &Artifact) -> i32 {
    let rc = a.config.as_ref().map(|c| &c.spec);
    rc.and_then(|r| r.storage.as_ref().and_then(|s| s.pvc_headroom_percent))
        .or(rc.and_then(|r| r.pvc_headroom_percent))
        .unwrap_or(10)
}

fn storage_class(a: &Artifact) -> Option<String> {
    let rc = a.config.as_ref().map(|c| &c.spec);
    a.spec
        .storage_class_name
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            rc.and_then(|r| r.storage.as_ref())
                .and_then(|s| s.default_storage_class_name.clone())
                .filter(|s| !s.is_empty())
        })
        .or_else(|| {
            rc.and_then(|r| r.default_storage_class_name.clone())
                .filter(|s| !s.is_empty())
        })
}

fn owner_refs(owner: &Owner) -> Vec<OwnerReference> {
    if !owner.uid.real {
        return Vec::new();
    }
    vec![OwnerReference {
        api_version: AIM_API_VERSION,
        kind: owner.kind,
        name: owner.name.clone(),
        uid: owner.uid.value.clone(),
        controller: true,
    }]
}

fn metadata(
    name: &str,
    namespace: &str,
    labels: BTreeMap<String, String>,
    owner: Option<&Owner>,
    wave: Option<&str>,
) -> Metadata {
    Metadata {
        name: name.to_owned(),
        namespace: Some(namespace.to_owned()),
        labels,
        annotations: wave
            .map(|w| BTreeMap::from([("argocd.argoproj.io/sync-wave".to_owned(), w.to_owned())])),
        owner_references: owner.map(owner_refs).unwrap_or_default(),
    }
}

/// The artifact's `aim.eai.amd.com/*` labels flow to its children (§1.4); its runtime
/// config may propagate more.
fn stamp_artifact_child(
    l: &mut BTreeMap<String, String>,
    a: &Artifact,
) -> BTreeMap<String, String> {
    let before = l.clone();
    let lp = a
        .config
        .as_ref()
        .and_then(|c| c.spec.label_propagation.as_ref());
    labels::stamp(
        l,
        &a.labels,
        lp.map(|p| (p.enabled, p.r#match.as_slice())),
        "aim-artifact-controller",
        ("aim.eai.amd.com/artifact.name", &a.name),
    );
    // What propagation added, for the Job's pod template.
    l.iter()
        .filter(|(k, _)| !before.contains_key(*k) && k.as_str() != "app.kubernetes.io/managed-by")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The PVC and download Job of one artifact, or the error that its size is unknown.
pub fn render_artifact(
    a: &Artifact,
    lock: &Lock,
    ctx: &Ctx,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Object> {
    let Some(size) = a.effective_size(lock) else {
        diags.push(
            Diagnostic::error(
                "UnknownSize",
                format!(
                    "AIMArtifact {}/{} ({}) has unknown size: the operator would run a check-size Job, which aimc cannot",
                    a.namespace, a.name, a.spec.source_uri
                ),
            )
            .at(a.written.as_ref().map(SrcRef::location))
            .help(format!(
                "set size on the model source, or run `aimc lock` to measure {} (or take it from a cluster: kubectl get aimartifact {} -n {} -o yaml | aimc lock --from-cluster -)",
                a.spec.source_uri, a.name, a.namespace
            )),
        );
        return Vec::new();
    };
    let wave = ctx.wave("PersistentVolumeClaim");
    let owner = Owner {
        kind: "AIMArtifact",
        name: a.name.clone(),
        uid: a.uid.clone(),
    };
    let pvc = pvc_name(a);

    let mut pvc_labels = BTreeMap::new();
    pvc_labels.insert("aim.eai.amd.com/cache.name".to_owned(), a.name.clone());
    if a.labels.get("template-created").map(String::as_str) == Some("true") {
        pvc_labels.insert(
            "aim.eai.amd.com/cache.type".to_owned(),
            "template-cache".to_owned(),
        );
    }
    let source = a
        .spec
        .source_uri
        .split_once("://")
        .map_or(a.spec.source_uri.as_str(), |(_, rest)| rest);
    pvc_labels.insert(
        "aim.eai.amd.com/source-model".to_owned(),
        naming::sanitize_label_value(source),
    );
    stamp_artifact_child(&mut pvc_labels, a);
    let pvc_obj = Object::PersistentVolumeClaim(Manifest {
        api_version: "v1",
        kind: "PersistentVolumeClaim",
        metadata: metadata(&pvc, &a.namespace, pvc_labels, Some(&owner), wave),
        spec: PvcSpec {
            access_modes: vec!["ReadWriteMany"],
            resources: StorageRequest {
                requests: Storage {
                    storage: pvc_size(size, headroom(a)),
                },
            },
            storage_class_name: storage_class(a),
        },
    });

    let mut job_labels = BTreeMap::new();
    job_labels.insert("aim.eai.amd.com/cache.name".to_owned(), a.name.clone());
    job_labels.insert(
        "aim.eai.amd.com/cache.type".to_owned(),
        "artifact".to_owned(),
    );
    job_labels.insert(
        "aim.eai.amd.com/component".to_owned(),
        "download".to_owned(),
    );
    let mut pod_labels = job_labels.clone();
    let propagated = stamp_artifact_child(&mut job_labels, a);
    for (k, v) in propagated {
        pod_labels.entry(k).or_insert(v);
    }
    let image = a
        .spec
        .model_download_image
        .clone()
        .filter(|i| !i.is_empty())
        .unwrap_or_else(|| cache::DOWNLOADER_IMAGE.into());
    let env = cache::download_env(a, Some(size));
    // The Job runs as 1000:1000 in both contexts; the pod's also holds the volume's group.
    let user = |non_root: Option<bool>, fs_group: Option<i64>| SecurityContext {
        run_as_user: 1000,
        run_as_group: 1000,
        run_as_non_root: non_root,
        fs_group,
    };
    let container = Container {
        name: "model-download",
        image,
        args: vec![a.spec.source_uri.clone()],
        env,
        volume_mounts: vec![VolumeMount {
            name: "cache".into(),
            mount_path: "/cache".into(),
        }],
        image_pull_policy: Some("IfNotPresent"),
        security_context: Some(user(None, None)),
        ..Container::default()
    };
    let pod = PodSpec {
        volumes: vec![Volume::claim("cache".into(), pvc)],
        containers: vec![container],
        restart_policy: "Never",
        security_context: user(Some(true), Some(1000)),
        image_pull_secrets: a.spec.image_pull_secrets.clone(),
    };
    let job = Object::Job(Manifest {
        api_version: "batch/v1",
        kind: "Job",
        metadata: metadata(
            &download_job_name(a),
            &a.namespace,
            job_labels,
            Some(&owner),
            ctx.wave("Job"),
        ),
        spec: JobSpec {
            backoff_limit: 2,
            template: PodTemplate {
                metadata: PodMetadata { labels: pod_labels },
                spec: pod,
            },
            // A TTL-deleted Job shows as Missing in Argo CD and keeps the app OutOfSync
            // (offline.md).
            ttl_seconds_after_finished: (ctx.gitops == Gitops::None).then_some(600),
        },
    });
    vec![pvc_obj, job]
}

/// A template cache aimc derives (service- or template-created), as an AIM object.
pub fn cache_object(c: &Cache) -> Option<Object> {
    if matches!(c.origin, CacheOrigin::Written(_)) {
        return None;
    }
    Some(Object::TemplateCache(Box::new(Manifest {
        api_version: AIM_API_VERSION,
        kind: "AIMTemplateCache",
        metadata: metadata(
            &c.name,
            &c.namespace,
            c.labels.clone(),
            c.owner.as_ref(),
            None,
        ),
        spec: c.spec.clone(),
    })))
}

/// An artifact a cache creates, as an AIM object.
pub fn artifact_object(a: &Artifact) -> Option<Object> {
    if a.written.is_some() {
        return None;
    }
    Some(Object::Artifact(Box::new(Manifest {
        api_version: AIM_API_VERSION,
        kind: "AIMArtifact",
        metadata: metadata(
            &a.name,
            &a.namespace,
            a.labels.clone(),
            a.owner.as_ref(),
            None,
        ),
        spec: a.spec.clone(),
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> i64 {
        s.parse::<Quantity>().map(|q| q.value()).unwrap_or(-1)
    }

    /// cache-model.md §5.5 size vectors (10 % unless noted).
    #[test]
    fn pvc_sizes() {
        for (size, h, want) in [
            ("100Mi", 10, "1Gi"),
            ("10Mi", 10, "1Gi"),
            ("2Gi", 10, "3Gi"),
            ("4Gi", 10, "5Gi"),
            ("5Gi", 10, "6Gi"),
            ("2.2Gi", 10, "3Gi"),
            ("1.2Gi", 10, "2Gi"),
            ("500M", 10, "1Gi"),
            ("10Gi", 10, "11Gi"),
            ("10Gi", 0, "10Gi"),
            ("10Gi", 50, "15Gi"),
            ("16Gi", 10, "18Gi"),
            ("100Gi", 15, "115Gi"),
            ("1", 10, "1Gi"),
            ("9094593249", 10, "10Gi"),
            ("10.5Gi", 0, "11Gi"),
            ("1024Gi", 0, "1Ti"),
        ] {
            assert_eq!(pvc_size(q(size), h,), want, "{size} at {h}%");
        }
    }

    #[test]
    fn child_names_hash_the_artifact_uid() {
        let a = Artifact {
            name: "hf---sshleifer-tiny-gpt2-8b6a4bfd16".into(),
            namespace: "ns".into(),
            spec: Default::default(),
            labels: BTreeMap::new(),
            owner: None,
            uid: crate::resolve::uid::Uid {
                value: "0b9ec3a4-6c43-4d8e-9a3f-2f2f1b7f0c11".into(),
                real: true,
            },
            written: None,
            config: None,
        };
        assert_eq!(
            pvc_name(&a),
            "hf---sshleifer-tiny-gpt2-8b6a4bfd16-cache-077b9aeb"
        );
        assert_eq!(
            download_job_name(&a),
            "hf---sshleifer-tiny-gpt2-8b6a4bfd16-download-077b9aeb"
        );
        let b = Artifact {
            name: "basic-lifecycle-hf".into(),
            ..a.clone()
        };
        assert_eq!(pvc_name(&b), "basic-lifecycle-hf-cache-077b9aeb");
        let c = Artifact {
            name: "hf---qwen-qwen3-32b-c00b812b59".into(),
            uid: crate::resolve::uid::Uid {
                value: "3c7f4a52-9d2e-4a51-8b57-0f6c2d8e9a10".into(),
                real: true,
            },
            ..a.clone()
        };
        assert_eq!(
            pvc_name(&c),
            "hf---qwen-qwen3-32b-c00b812b59-cache-8d051949"
        );
        assert_eq!(
            download_job_name(&c),
            "hf---qwen-qwen3-32b-c00b812b59-download-8d051949"
        );
        let long = Artifact {
            name: "hf---meta-llama-llama-3-3-70b-instruct-with-a-very-l-19ab7aa229".into(),
            ..c.clone()
        };
        assert_eq!(
            child_name(&long, "check-size"),
            "hf---meta-llama-llama-3-3-70b-instruct-with-check-size-8d051949"
        );
    }
}
