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
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .with_extension("expected");
    if std::env::var_os("AIMC_UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        assert!(
            std::env::var_os("CI").is_none(),
            "refusing to update goldens when CI is set"
        );
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join(name), got).expect("write");
        return;
    }
    // A missing expectation reads as none, which the comparison reports as "added".
    let mut expected = aimc::golden::read_dir(&dir).unwrap_or_default();
    expected.retain(|p, _| p == Path::new(name));
    let actual = BTreeMap::from([(PathBuf::from(name), got.to_owned())]);
    if let Some(report) = aimc::golden::compare(&expected, &actual) {
        panic!(
            "{} differs (AIMC_UPDATE_GOLDEN=1 rewrites it):\n{report}",
            dir.display()
        );
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
