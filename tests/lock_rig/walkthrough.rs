//! `aimc lock` as a user runs it, against the rig: the Private Registries guide's first
//! example from nothing to a rendered InferenceService, a catalog listed through a token
//! registry, and sizes from S3 and the Hub.

use super::rig;
use assert_cmd::Command;
use std::path::Path;

/// `aimc ARGS` with only the environment given (no HOME keychain, proxy or credential of
/// the machine): (exit code, stdout, stderr).
fn aimc(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::cargo_bin("aimc").expect("bin");
    cmd.env_clear()
        .env("HOME", "/nonexistent/aimc-lock-rig-home")
        .envs(env.iter().copied())
        .args(args);
    if let Some(s) = stdin {
        cmd.write_stdin(s);
    }
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write");
}

fn lock_file(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("aim.lock.yaml")).expect("aim.lock.yaml")
}

fn private_service(image: &str) -> String {
    format!(
        "apiVersion: v1
kind: Namespace
metadata: {{name: ml-team}}
---
apiVersion: v1
kind: Secret
metadata: {{name: registry-creds, namespace: ml-team}}
type: kubernetes.io/dockerconfigjson
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {{name: llama-private, namespace: ml-team}}
spec:
  model: {{image: {image}}}
  imagePullSecrets: [{{name: registry-creds}}]
"
    )
}

/// Each `template ml-team/NAME (specHash HASH)` that `aimc lock` says needs a cluster, as
/// the `kubectl get aimservicetemplates -A -o yaml` of a cluster where discovery ran.
fn export_for(stderr: &str) -> String {
    let mut items = String::new();
    for line in stderr.lines().filter(|l| l.contains("[NeedsCluster]")) {
        let rest = line.split("template ml-team/").nth(1).expect("template");
        let (name, rest) = rest.split_once(" (specHash ").expect("hash");
        let hash = rest.split_once(')').expect(")").0;
        // The name spells the deployment: <count>x-<gpu>-<lat|thr>-<precision>-<hash>.
        let parts: Vec<&str> = name.rsplitn(5, '-').collect();
        let (precision, metric, gpu) = (parts[1], parts[2], parts[3].to_uppercase());
        let count: String = parts[4]
            .rsplit('-')
            .next()
            .expect("count")
            .trim_end_matches('x')
            .to_owned();
        let metric = if metric == "lat" {
            "latency"
        } else {
            "throughput"
        };
        items.push_str(&format!(
            "- apiVersion: aim.eai.amd.com/v1alpha1
  kind: AIMServiceTemplate
  metadata: {{name: {name}, namespace: ml-team, uid: 3f1c2b4a-0000-4000-8000-00000000000{count}}}
  status:
    status: Ready
    discovery: {{specHash: '{hash}'}}
    modelSources: [{{modelId: meta-llama/Llama-3.1-8B-Instruct, sourceUri: 'hf://meta-llama/Llama-3.1-8B-Instruct', size: 15Gi}}]
    profile:
      metadata: {{engine: vllm, gpu: {gpu}, gpuCount: {count}, metric: {metric}, precision: {precision}, type: optimized}}
"
        ));
    }
    format!("apiVersion: v1\nkind: List\nitems:\n{items}")
}

/// The walk-through of the README: a private image and its pull secret, `aimc lock` with the
/// user's docker login, the discovery export, and `aimc render`.
#[test]
fn private_image_from_nothing_to_an_inference_service() {
    let Some(rig) = rig::rig() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let image = rig.img("LLAMA_0_8_5", "REF_A");
    write(dir.path(), "services.yaml", &private_service(image));
    let tree = dir.path().to_str().expect("utf-8 path");
    let login = [("DOCKER_CONFIG", rig.get("RIG_DOCKER_CONFIG"))];

    let (code, _, err) = aimc(&["render", tree], &[], None);
    assert_eq!(code, 1);
    assert!(err.contains("NeedsImageMetadata"), "{err}");

    let (code, out, err) = aimc(&["lock", tree], &login, None);
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    let lock = lock_file(dir.path());
    assert!(
        lock.contains(&format!(
            "digest: {}",
            rig.img("LLAMA_0_8_5", "AMD64_DIGEST")
        )),
        "{lock}"
    );
    assert!(
        lock.contains("canonicalName: meta-llama/Llama-3.1-8B-Instruct"),
        "{lock}"
    );
    assert_eq!(
        err.matches("[NeedsCluster]").count(),
        3,
        "one per recommended deployment: {err}"
    );

    let export = export_for(&err);
    let (code, _, err) = aimc(
        &["lock", tree, "--from-cluster", "-"],
        &login,
        Some(&export),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("NeedsCluster"), "{err}");

    let (code, out, err) = aimc(&["render", tree], &[], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("kind: InferenceService"), "{out}");
    assert!(out.contains(image), "the service runs the image: {out}");
    let (code, _, err) = aimc(&["lock", tree, "--check", "--offline"], &[], None);
    assert_eq!(code, 0, "{err}");
    // Online, the registry still agrees.
    let (code, _, err) = aimc(&["lock", tree, "--check"], &login, None);
    assert_eq!(code, 0, "{err}");
}

/// A wrong password fails with the credential's file named and its value nowhere, and the
/// lock file as it was.
#[test]
fn a_wrong_password_names_the_file_not_the_password() {
    let Some(rig) = rig::rig() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "services.yaml",
        &private_service(rig.img("LLAMA_0_8_5", "REF_A")),
    );
    let old = "lockVersion: 1\n# by hand\n";
    write(dir.path(), "aim.lock.yaml", old);
    let config = dir.path().join("docker");
    std::fs::create_dir(&config).expect("mkdir");
    let password = "not-the-rig-password-5b1e";
    let auth = base64_encode(&format!("{}:{password}", rig.get("RIG_REGISTRY_A_USER")));
    write(
        &config,
        "config.json",
        &format!(
            "{{\"auths\":{{\"{}\":{{\"auth\":\"{auth}\"}}}}}}",
            rig.get("RIG_REGISTRY_A_HOST")
        ),
    );
    let (code, out, err) = aimc(
        &["lock", dir.path().to_str().expect("utf-8")],
        &[("DOCKER_CONFIG", config.to_str().expect("utf-8"))],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains(&config.join("config.json").display().to_string()),
        "{err}"
    );
    assert!(!err.contains(password) && !err.contains(&auth), "{err}");
    assert_eq!(lock_file(dir.path()), old);
}

fn base64_encode(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A wildcard model source on the token registry: the catalog, each repository's tags in
/// registry order, then every listed image's labels. A malformed image does not fail the
/// lock (the catalog renders without it), it is a warning.
#[test]
fn a_wildcard_catalog_through_a_token_registry() {
    let Some(rig) = rig::rig() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "catalog.yaml",
        &format!(
            "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModelSource
metadata: {{name: rig-catalog}}
spec:
  registry: {}
  filters:
    - image: amdenterpriseai/aim-meta-llama-*
    - image: amdenterpriseai/aim-malformed-deployments
  maxModels: 20
",
            rig.get("RIG_REGISTRY_B_HOST")
        ),
    );
    let tree = dir.path().to_str().expect("utf-8");
    let (code, _, err) = aimc(
        &["lock", tree],
        &[("DOCKER_CONFIG", rig.get("RIG_DOCKER_CONFIG"))],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let lock = lock_file(dir.path());
    let tags: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.trim().strip_prefix("tag: "))
        .map(|t| t.trim_matches('"'))
        .collect();
    let llama: Vec<&str> = rig
        .get("RIG_LLAMA_TAGS_REGISTRY_ORDER")
        .split(',')
        .collect();
    assert_eq!(
        &tags[..llama.len()],
        llama.as_slice(),
        "registry order: {lock}"
    );
    assert!(
        lock.contains(rig.img("LLAMA_0_10_0", "AMD64_DIGEST")),
        "{lock}"
    );
    assert!(
        err.contains("LockFetchFailed") && err.contains("recommended deployments"),
        "{err}"
    );
    assert!(
        !lock.contains("aim-malformed-deployments:0.8.5\":"),
        "no entry for it: {lock}"
    );
}

/// Sizes: an S3 prefix through `--s3-endpoint` (the tree's endpoint is cluster-internal),
/// with the sibling prefix reported, and a gated Hub repo with the token.
#[test]
fn sizes_from_s3_and_the_hub() {
    let Some(rig) = rig::rig() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "artifacts.yaml",
        &format!(
            "apiVersion: v1
kind: Namespace
metadata: {{name: ml-team}}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMArtifact
metadata: {{name: from-s3, namespace: ml-team}}
spec:
  sourceUri: {}
  env:
    - {{name: AWS_ENDPOINT_URL, value: 'http://minio.storage.svc.cluster.local:9000'}}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMArtifact
metadata: {{name: from-hf, namespace: ml-team}}
spec:
  sourceUri: hf://{}
",
            rig.get("RIG_S3_URI_LLAMA"),
            rig.get("RIG_HF_GATED_REPO")
        ),
    );
    let tree = dir.path().to_str().expect("utf-8");
    let env = [
        ("AWS_ACCESS_KEY_ID", rig.get("RIG_AWS_ACCESS_KEY_ID")),
        (
            "AWS_SECRET_ACCESS_KEY",
            rig.get("RIG_AWS_SECRET_ACCESS_KEY"),
        ),
        ("AWS_REGION", rig.get("RIG_S3_REGION")),
        ("HF_ENDPOINT", rig.get("RIG_HF_ENDPOINT")),
    ];
    // Without HF_TOKEN the gated repo fails, naming the variable.
    let args = ["lock", tree, "--s3-endpoint", rig.get("RIG_S3_ENDPOINT")];
    let (code, _, err) = aimc(&args, &env, None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("HF_TOKEN"), "{err}");
    assert!(!dir.path().join("aim.lock.yaml").exists());
    let mut with_token = env.to_vec();
    with_token.push(("HF_TOKEN", rig.get("RIG_HF_TOKEN")));
    let (code, _, err) = aimc(&args, &with_token, None);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains(rig.get("RIG_HF_TOKEN"))
            && !err.contains(rig.get("RIG_AWS_SECRET_ACCESS_KEY"))
    );
    assert!(err.contains("SiblingPrefix"), "{err}");
    let lock = lock_file(dir.path());
    for (uri, size) in [
        (
            rig.get("RIG_S3_URI_LLAMA").to_owned(),
            rig.get("RIG_S3_SIZE_LLAMA"),
        ),
        (
            format!("hf://{}", rig.get("RIG_HF_GATED_REPO")),
            rig.get("RIG_HF_SIZE_META_LLAMA_LLAMA_3_1_8B_INSTRUCT"),
        ),
    ] {
        assert!(
            lock.contains(&format!("\"{uri}\": {size}")),
            "{uri}: {lock}"
        );
    }
}
