//! `aimc validate`: inputs and output checked, reported in every CI format.

use assert_cmd::Command;
use std::path::Path;

fn validate(cwd: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .current_dir(cwd)
        .arg("validate")
        .args(args)
        .env_remove("ARGOCD_APP_NAMESPACE")
        .env_remove("ARGOCD_ENV_AIMC_STRICT")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    dir
}

const MODEL: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterModel
metadata: {name: m}
spec: {image: 'ghcr.io/amd/m:1', discovery: {createServiceTemplates: false}}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMClusterServiceTemplate
metadata: {name: t}
spec: {modelName: m, type: optimized, modelSources: [{modelId: org/m, sourceUri: hf://org/m, size: 1Gi}]}
";

const BROKEN: &str = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {name: nope}
";

#[test]
fn every_example_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for ex in [
        "private-registries",
        "hf-private",
        "catalog",
        "custom-model",
    ] {
        let (code, out) = validate(&root.join(ex), &[]);
        assert_eq!(code, 0, "{ex}: {out}");
    }
}

#[test]
fn named_files_report_only_themselves_and_skip_non_aim_yaml() {
    let dir = tree(&[("m.yaml", MODEL), ("apps/broken.yaml", BROKEN), ("other/values.yaml", "replicaCount: 2\n"), ("ok.yaml", "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata: {name: ok, namespace: ns}\nspec: {model: {name: m}}\n")]);
    let (code, out) = validate(dir.path(), &["ok.yaml", "other/values.yaml"]);
    assert_eq!(code, 0, "the broken file is not named: {out}");
    let (code, out) = validate(dir.path(), &["apps/broken.yaml"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("apps/broken.yaml:5:") && out.contains("error[ModelNotFound]"),
        "{out}"
    );
}

#[test]
fn ci_formats() {
    let dir = tree(&[("m.yaml", MODEL), ("apps/broken.yaml", BROKEN)]);
    let d = dir.path().to_string_lossy().into_owned();
    let (code, json) = validate(dir.path(), &[&d, "--format", "json"]);
    assert_eq!(code, 1);
    let first: serde_json::Value = serde_json::from_str(
        json.lines()
            .find(|l| l.contains("ModelNotFound"))
            .expect("json line"),
    )
    .expect("json");
    assert_eq!(
        (first["file"].as_str(), first["line"].as_u64()),
        (Some("apps/broken.yaml"), Some(5))
    );
    let (_, gh) = validate(dir.path(), &[&d, "--format", "github"]);
    assert!(
        gh.lines()
            .any(|l| l.starts_with("::error file=apps/broken.yaml,line=5,")),
        "{gh}"
    );
    let (_, sarif) = validate(dir.path(), &[&d, "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&sarif).expect("sarif json");
    assert_eq!(v["version"], "2.1.0");
    assert!(v["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .any(|r| r["ruleId"] == "ModelNotFound"));
}

#[test]
fn policy_literal_credentials_plain_secrets_and_registry_coverage() {
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {image: 'registry.example.com/aim/m:1'}
  template: {name: t}
  imagePullSecrets: [{name: dockerhub}]
  env:
    - name: HF_TOKEN
      value: hf_MARKER_LEAK
";
    let secret = "apiVersion: v1
kind: Secret
metadata:
  name: dockerhub
  namespace: ns
  annotations: {aimc.eai.amd.com/registries: docker.io}
stringData:
  password: MARKER_PASSWORD
";
    let dir = tree(&[("m.yaml", MODEL), ("s.yaml", svc), ("secret.yaml", secret)]);
    let d = dir.path().to_string_lossy().into_owned();
    let (code, out) = validate(dir.path(), &[&d]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "s.yaml:10:14: error[LiteralCredential]: HF_TOKEN is written as a literal value"
        ),
        "{out}"
    );
    assert!(out.contains("valueFrom"), "suggests secretKeyRef: {out}");
    assert!(
        out.contains("secret.yaml:1:1: warning[PlainSecret]"),
        "{out}"
    );
    assert!(out.contains("info[RegistryNotCovered]: image registry.example.com/aim/m:1 comes from registry.example.com"), "{out}");
    for fmt in ["text", "json", "github", "sarif"] {
        let (_, out) = validate(dir.path(), &[&d, "--format", fmt]);
        assert!(
            !out.contains("MARKER"),
            "{fmt} leaks a secret value:\n{out}"
        );
    }
}

#[test]
fn schema_and_cel_violations_are_reported_at_their_lines() {
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: s, namespace: ns}
spec:
  model: {name: m, image: 'ghcr.io/amd/m:1'}
  caching: {mode: Sometimes}
";
    let dir = tree(&[("m.yaml", MODEL), ("s.yaml", svc)]);
    let d = dir.path().to_string_lossy().into_owned();
    let (code, out) = validate(dir.path(), &[&d, "--inputs-only"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("s.yaml:6:") && out.contains("[SchemaViolation]"),
        "enum violation at caching.mode: {out}"
    );
    assert!(
        out.contains("s.yaml:5:") && out.contains("[CelViolation]"),
        "exactly one of name, image, custom: {out}"
    );
}

#[test]
fn secret_scope_is_checked_while_a_cluster_fact_is_missing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/guide-first-example");
    let (code, out) = validate(&dir, &["--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let diags: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let missing: Vec<(&str, &str)> = diags
        .iter()
        .filter(|d| d["code"] == "SecretNotFound")
        .filter_map(|d| {
            Some((
                d["message"].as_str()?.split('"').nth(1)?,
                d["file"].as_str()?,
            ))
        })
        .collect();
    for secret in ["my-registry-creds", "hf-credentials", "s3-credentials"] {
        assert!(
            missing.iter().any(|(s, _)| *s == secret),
            "{secret}: {diags:#?}"
        );
    }
    let hole = diags
        .iter()
        .find(|d| d["code"] == "NeedsImageMetadata")
        .expect("the missing fact");
    assert!(
        hole["message"].as_str().is_some_and(|m| m.contains(
            "the secrets of the template's env and of the download Jobs are not checked"
        )),
        "{hole}"
    );
}

/// Objects of the kinds aimc renders are checked when written in the tree too, schema and
/// CEL rules alike; kinds aimc has no schema for pass untouched.
#[test]
fn hand_written_routes_and_claims_are_checked_and_other_kinds_pass() {
    let route = "apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: extra
  namespace: ns
spec:
  parentRefs:
    - name: gw
  rules:
    - matches:
        - path:
            type: PathPrefix
            value: v1/chat
      backendRefs:
        - name: svc
          port: 8000
";
    let claim = "apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: weights, namespace: ns}
spec:
  accessModes: ReadWriteOnce
  resources: {requests: {storage: 10Gi}}
";
    let other = "apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: ns}
spec: {anything: [1, 2]}
";
    let dir = tree(&[
        ("m.yaml", MODEL),
        ("route.yaml", route),
        ("claim.yaml", claim),
        ("widget.yaml", other),
    ]);
    let d = dir.path().to_string_lossy().into_owned();
    let (code, out) = validate(dir.path(), &[&d, "--inputs-only"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("route.yaml:12:13: error[CelViolation]: HTTPRoute spec.rules[0].matches[0].path: value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']"),
        "{out}"
    );
    assert!(
        out.contains(
            "claim.yaml:5:16: error[SchemaViolation]: PersistentVolumeClaim spec.accessModes:"
        ),
        "{out}"
    );
    assert!(!out.contains("widget.yaml"), "{out}");

    // Named as pre-commit names them: the route-only and claim-only files are still checked.
    let (code, out) = validate(dir.path(), &["route.yaml", "claim.yaml", "widget.yaml"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("route.yaml:12:13: error[CelViolation]"),
        "{out}"
    );
    assert!(
        out.contains("claim.yaml:5:16: error[SchemaViolation]"),
        "{out}"
    );
    assert!(!out.contains("widget.yaml"), "{out}");
}
