//! Every optional field of every object aimc renders, written as the operator's objects have
//! them: one tree (tests/fixtures/every-output-field) whose services, artifacts and derived
//! objects set each field at least once, rendered in each format and GitOps mode and compared
//! byte for byte with its checked-in expectation.
//!
//! The expectations were written by the JSON-tree renderer that the typed output objects
//! (src/render/object.rs) replaced, so they pin the typed writer to the old bytes.
//! `AIMC_UPDATE_GOLDEN=1 cargo test --test output_fields` rewrites them (refused when `CI` is
//! set); a missing one fails.

use assert_cmd::Command;
use std::path::Path;

const FIXTURE: &str = "tests/fixtures/every-output-field";

/// Fields the fixture exists to cover; a change to the tree that loses one fails here.
const FIELDS: &[&str] = &[
    "autoScaling:",
    "serverAddress:",
    "metricNames:",
    "query:",
    "operationOverTime:",
    "averageUtilization:",
    "serviceAccountName:",
    "imagePullSecrets:",
    "ownerReferences:",
    "timeouts:",
    "storageClassName:",
    "aim.eai.amd.com/origin: derived",
    "kind: AIMTemplateCache",
    "kind: AIMArtifact",
    "minReplicas: 0",
];

fn render(args: &[&str]) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .current_dir(root)
        .args(["render", FIXTURE, "--emit", "all"])
        .args(args)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn expect(name: &str, got: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .with_extension("expected")
        .join(name);
    if std::env::var_os("AIMC_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        assert!(
            std::env::var_os("CI").is_none(),
            "refusing to update goldens when CI is set"
        );
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, got).expect("write");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (AIMC_UPDATE_GOLDEN=1 writes it)", path.display()));
    if want != got {
        let diff = similar::TextDiff::from_lines(want.as_str(), got)
            .unified_diff()
            .header("expected", "rendered")
            .to_string();
        panic!("{} differs:\n{diff}", path.display());
    }
}

#[test]
fn yaml_with_argo_cd_waves() {
    let out = render(&[]);
    for f in FIELDS {
        assert!(out.contains(f), "the fixture no longer renders {f}");
    }
    expect("argocd.yaml", &out);
}

#[test]
fn yaml_as_the_operator_writes_it() {
    let out = render(&["--gitops", "none"]);
    assert!(out.contains("ttlSecondsAfterFinished: 600"), "{out}");
    expect("operator.yaml", &out);
}

#[test]
fn json_lines() {
    let out = render(&["--format", "json"]);
    assert!(out.lines().all(|l| l.starts_with('{')), "{out}");
    expect("argocd.jsonl", &out);
}
