//! `aimc explain`: provenance of every env var, secret and setting of a rendered object.

use assert_cmd::Command;
use std::path::Path;

fn explain(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .arg("explain")
        .args(args)
        .env_remove("ARGOCD_APP_NAMESPACE")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn inference_service_env_with_winning_and_shadowed_layers() {
    let (code, out, err) = explain(&[
        "InferenceService/ml-team/llama-private-a04542d9",
        &example("private-registries"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("AIMService ml-team/llama-private (ml-team/services.yaml:14:1)"),
        "{out}"
    );
    for want in [
        "AIM_ENGINE_ARGS={\"gpu-memory-utilization\":0.92,\"max-model-len\":4096}",
        "from AIMService/ml-team/llama-private (ml-team/services.yaml:29:7)",
        "shadows AIM_ENGINE_ARGS={\"gpu-memory-utilization\":0.92,\"max-model-len\":8192} from AIMRuntimeConfig/ml-team/default (ml-team/runtime-config.yaml:14:7)",
        "shadows AIM_ENGINE_ARGS={\"max-model-len\":8192} from AIMClusterRuntimeConfig/default (cluster/runtime-config.yaml:22:7)",
        "HF_TOKEN=<secret hf-token/token>",
        "registry-creds in ml-team: imagePullSecrets",
        "template: AIMServiceTemplate llama-8b-mi300x-latency — named",
        "mounted at /workspace/cache/meta-llama/Llama-3.1-8B-Instruct",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

#[test]
fn one_env_var_and_the_defects_that_applied() {
    let (code, out, _) = explain(&[
        "AIMService/web/storefront-assistant",
        &example("routing"),
        "--env",
        "AIM_CACHE_PATH",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("AIM_CACHE_PATH=/workspace/cache\n      from operator default"),
        "{out}"
    );
    assert!(
        !out.contains("VLLM_ENABLE_METRICS"),
        "only the asked variable: {out}"
    );
    assert!(
        out.contains("warning[MergeDefect]"),
        "the gateway merge defect of its namespace config: {out}"
    );
}

#[test]
fn download_job_env_and_uid() {
    let (code, out, err) = explain(&[
        "Job/nlp/hf---meta-llama-llama-3-1-8b-instruct-9a9da7d-download-fd8bbbc3",
        &example("hf-private"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("HF_TOKEN=<secret hf-token/token>\n      from AIMRuntimeConfig/nlp/default (platform.yaml:26:7)"), "{out}");
    assert!(
        out.contains("EXPECTED_SIZE_BYTES=16106127360\n      from operator default"),
        "{out}"
    );
    assert!(out.contains("stable substitute"), "{out}");
}

#[test]
fn literal_credentials_are_never_printed_and_unknown_objects_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = "apiVersion: aim.eai.amd.com/v1alpha1
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
spec:
  model: {name: m}
  env: [{name: HF_TOKEN, value: hf_LEAKME123}]
";
    std::fs::write(dir.path().join("a.yaml"), tree).expect("write");
    let d = dir.path().to_string_lossy().into_owned();
    let (code, out, err) = explain(&["AIMService/ns/s", &d]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("HF_TOKEN=<redacted>"), "{out}");
    assert!(!out.contains("LEAKME") && !err.contains("LEAKME"));
    let (code, _, err) = explain(&["InferenceService/ns/nope", &d]);
    assert_eq!(code, 1);
    assert!(err.contains("no rendered InferenceService"), "{err}");
}
