//! Worked examples of cache-model.md that span the pipeline (§5.2, §5.4, §5.5, §3.5).

mod common;

use aimc::cli::render::RenderFlags;
use aimc::emit::EmitMode;
use common::render_ok as render;
use serde_json::Value;

fn of_kind<'a>(objs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objs.iter().filter(|o| o["kind"] == kind).collect()
}

fn env(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("env list")
        .iter()
        .map(|e| {
            format!(
                "{}={}",
                e["name"].as_str().unwrap_or(""),
                e["value"].as_str().unwrap_or("<valueFrom>")
            )
        })
        .collect()
}

/// [E env-propagation-to-cache]: template caching env (caching disabled, env still used),
/// then service env, into the service-created cache; the artifact name hashes that env.
#[test]
fn env_propagation_to_cache() {
    let files = [(
        "t.yaml",
        "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMModel
metadata: {name: test-model, namespace: default}
spec:
  image: ghcr.io/silogen/aim-dummy:0.1.10
  discovery: {createServiceTemplates: false}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMServiceTemplate
metadata: {name: test-template, namespace: default}
spec:
  modelName: test-model
  type: optimized
  caching:
    env:
      - {name: HF_TOKEN, value: template-token-value}
      - {name: HTTP_PROXY, value: 'http://template-proxy:8080'}
  modelSources:
    - {modelId: test-org/test-model, sourceUri: hf://test-org/test-model, size: 1Gi}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: test-env-propagation, namespace: default}
spec:
  model: {name: test-model}
  template: {name: test-template}
  env:
    - {name: HF_TOKEN, value: service-token-value}
    - {name: HTTPS_PROXY, value: 'https://proxy.example.com:8080'}
",
    )];
    let objs = render(&files, EmitMode::All);
    let caches = of_kind(&objs, "AIMTemplateCache");
    assert_eq!(caches.len(), 1);
    let c = caches[0];
    assert_eq!(c["metadata"]["name"], "test-template-1080a608");
    assert_eq!(c["spec"]["templateName"], "test-template");
    assert_eq!(c["spec"]["templateScope"], "Namespace");
    assert_eq!(c["spec"]["mode"], "Shared");
    assert_eq!(
        c["metadata"]["labels"]["aim.eai.amd.com/service.name"],
        "test-env-propagation"
    );
    assert_eq!(
        env(&c["spec"]["env"]),
        [
            "HF_TOKEN=service-token-value",
            "HTTP_PROXY=http://template-proxy:8080",
            "HTTPS_PROXY=https://proxy.example.com:8080"
        ]
    );
    let artifacts = of_kind(&objs, "AIMArtifact");
    assert_eq!(
        artifacts[0]["metadata"]["name"],
        "hf---test-org-test-model-b941b5c90b"
    );
    assert_eq!(
        artifacts[0]["metadata"]["labels"]["aim.eai.amd.com/template.index"],
        "0"
    );
    assert_eq!(
        artifacts[0]["metadata"]["labels"]["template-created"],
        "true"
    );
}

/// §5.5: the download Job's env is the nine defaults, then runtime-config env, then the
/// artifact env; overridden defaults keep their place. `--gitops none` keeps the TTL.
#[test]
fn download_job_env_and_shape() {
    let files = [
        (
            "rc.yaml",
            "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterRuntimeConfig
metadata: {name: default}
spec:
  env:
    - {name: STALL_TIMEOUT, value: '300'}
    - {name: HF_TOKEN, valueFrom: {secretKeyRef: {name: hf, key: token}}}
",
        ),
        (
            "t.yaml",
            "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata: {name: m}
spec:
  image: ghcr.io/amd/m:1
  discovery: {createServiceTemplates: false}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterServiceTemplate
metadata: {name: t}
spec:
  modelName: m
  type: optimized
  env:
    - {name: AIM_DOWNLOADER_PROTOCOL, value: 'XET,HTTP'}
  modelSources:
    - {modelId: org/m, sourceUri: hf://org/m, size: 1Gi, env: [{name: PROGRESS_INTERVAL, value: '10'}]}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {name: m}
",
        ),
    ];
    let objs = render(&files, EmitMode::Concrete);
    let jobs = of_kind(&objs, "Job");
    assert_eq!(jobs.len(), 1);
    let job = jobs[0];
    assert_eq!(job["spec"]["ttlSecondsAfterFinished"], 600);
    assert_eq!(job["spec"]["backoffLimit"], 2);
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let c = &pod["containers"][0];
    assert_eq!(c["args"][0], "hf://org/m");
    assert_eq!(c["image"], "ghcr.io/silogen/aim-artifact-downloader:0.2.0");
    assert_eq!(
        env(&c["env"]),
        [
            "AIM_DOWNLOADER_PROTOCOL=XET,HTTP",
            "TMPDIR=/tmp/",
            "HF_HOME=/tmp/.hf",
            "EXPECTED_SIZE_BYTES=1073741824",
            "MOUNT_PATH=/cache",
            &format!(
                "ARTIFACT_NAME={}",
                job["metadata"]["labels"]["aim.eai.amd.com/cache.name"]
                    .as_str()
                    .unwrap_or("")
            ),
            "ARTIFACT_NAMESPACE=ns",
            "STALL_TIMEOUT=300",
            "TARGET_DIR=/cache",
            "HF_TOKEN=<valueFrom>",
            "PROGRESS_INTERVAL=10",
        ]
    );
    let labels = &job["metadata"]["labels"];
    assert_eq!(labels["aim.eai.amd.com/component"], "download");
    assert_eq!(labels["aim.eai.amd.com/cache.type"], "artifact");
    assert_eq!(
        labels["app.kubernetes.io/managed-by"],
        "aim-artifact-controller"
    );
    let pvc = of_kind(&objs, "PersistentVolumeClaim")[0];
    assert_eq!(
        pvc["metadata"]["labels"]["aim.eai.amd.com/cache.type"],
        "template-cache"
    );
    assert_eq!(
        pvc["metadata"]["labels"]["aim.eai.amd.com/source-model"],
        "org_m"
    );
    assert_eq!(pvc["spec"]["accessModes"][0], "ReadWriteMany");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "2Gi");
}

/// offline.md GitOps adaptations: PVC and Job in wave -1, InferenceService 0, no Job TTL.
#[test]
fn argocd_waves() {
    let files = [(
        "t.yaml",
        "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata: {name: m}
spec: {image: 'ghcr.io/amd/m:1', discovery: {createServiceTemplates: false}}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterServiceTemplate
metadata: {name: t}
spec: {modelName: m, type: optimized, modelSources: [{modelId: org/m, sourceUri: hf://org/m, size: 1Gi}]}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec: {model: {name: m}}
",
    )];
    let objs = common::render_files(&files, &RenderFlags::default())
        .objects
        .expect("renders");
    let wave = |k: &str| {
        of_kind(&objs, k)[0]["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"].clone()
    };
    assert_eq!(wave("PersistentVolumeClaim"), "-1");
    assert_eq!(wave("Job"), "-1");
    assert_eq!(wave("InferenceService"), "0");
    assert!(of_kind(&objs, "Job")[0]["spec"]
        .get("ttlSecondsAfterFinished")
        .is_none());
}

/// §3.5 worked names and the static-filter path (no listing needed).
#[test]
fn model_source_static_filter() {
    let files = [(
        "src.yaml",
        "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModelSource
metadata: {name: amd}
spec:
  filters:
    - image: amdenterpriseai/aim-qwen-qwen3-32b:0.8.4
    - image: ghcr.io/silogen/aim-llama:1.0.0
",
    )];
    let objs = render(&files, EmitMode::All);
    let mut names: Vec<&str> = of_kind(&objs, "AIMClusterModel")
        .iter()
        .filter_map(|m| m["metadata"]["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "amdenterpriseai-aim-qwen-qwen3-32b-0-8-4-c3c81a",
            "silogen-aim-llama-1-0-0-201bdd"
        ]
    );
    let qwen = of_kind(&objs, "AIMClusterModel")
        .into_iter()
        .find(|m| m["metadata"]["name"] == "amdenterpriseai-aim-qwen-qwen3-32b-0-8-4-c3c81a")
        .expect("qwen");
    assert_eq!(
        qwen["spec"]["image"],
        "amdenterpriseai/aim-qwen-qwen3-32b:0.8.4"
    );
    assert_eq!(
        qwen["metadata"]["labels"]["aim.eai.amd.com/model-source"],
        "amd"
    );
    assert_eq!(
        qwen["metadata"]["annotations"]["aim.eai.amd.com/source-tag"],
        "0.8.4"
    );
}
