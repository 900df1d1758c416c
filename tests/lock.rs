//! `aimc lock` without a network: the file's canonical form, `--check`, `--from-cluster`,
//! and a failed run leaving the old file byte for byte. The clients are tested against real
//! servers in tests/lock_rig.

mod common;

use assert_cmd::Command;
use std::path::Path;

fn aimc_lock(dir: &Path, args: &[&str], stdin: Option<&str>) -> (i32, String) {
    let mut cmd = Command::cargo_bin("aimc").expect("bin");
    cmd.arg("lock").arg(dir).args(args);
    // No keychain, proxy or cloud credential of the machine may leak into a test.
    for var in [
        "DOCKER_CONFIG",
        "REGISTRY_AUTH_FILE",
        "HTTPS_PROXY",
        "AWS_ACCESS_KEY_ID",
        "HF_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    if let Some(s) = stdin {
        cmd.write_stdin(s);
    }
    let out = cmd.output().expect("runs");
    assert!(
        out.stdout.is_empty(),
        "aimc lock writes only the file and stderr"
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn example(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
        dir.path(),
    );
    dir
}

fn lock_file(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("aim.lock.yaml")).expect("lock file")
}

/// Every example's lock file is what `aimc lock` writes: `--check --offline` passes on it.
#[test]
fn every_example_lock_file_is_current() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(&examples).expect("examples") {
        let dir = entry.expect("entry").path();
        if !dir.join("aim.lock.yaml").exists() {
            continue;
        }
        let (code, err) = aimc_lock(&dir, &["--check", "--offline"], None);
        assert_eq!(code, 0, "{}: {err}", dir.display());
    }
}

#[test]
fn the_file_is_canonical_and_a_second_run_changes_nothing() {
    let dir = example("multi-tenant");
    std::fs::write(
        dir.path().join("aim.lock.yaml"),
        lock_file(dir.path()).replace("lockVersion: 1\n", "# a comment\n"),
    )
    .expect("write");
    let (code, err) = aimc_lock(dir.path(), &["--offline"], None);
    assert_eq!(code, 0, "{err}");
    let first = lock_file(dir.path());
    assert!(first.starts_with("lockVersion: 1\n# written by aimc lock; hand edits to values are kept, comments are not\n"), "{first}");
    let (code, err) = aimc_lock(dir.path(), &["--offline"], None);
    assert_eq!(code, 0);
    assert!(err.contains("is up to date"), "{err}");
    assert_eq!(lock_file(dir.path()), first);
}

#[test]
fn check_reports_an_unused_entry_with_a_diff_and_lock_prunes_it() {
    let dir = example("multi-tenant");
    let before = lock_file(dir.path());
    let stale =
        format!("{before}uids:\n  AIMService/gone/old: 0b7e4f7a-0000-4000-8000-000000000000\n");
    std::fs::write(dir.path().join("aim.lock.yaml"), &stale).expect("write");
    let (code, err) = aimc_lock(dir.path(), &["--check", "--offline"], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("-  AIMService/gone/old: 0b7e4f7a"),
        "a unified diff: {err}"
    );
    assert_eq!(lock_file(dir.path()), stale, "--check writes nothing");
    let (code, _) = aimc_lock(dir.path(), &["--offline"], None);
    assert_eq!(code, 0);
    assert_eq!(lock_file(dir.path()), before);
}

const PRIVATE_IMAGE: &str = "apiVersion: v1
kind: Namespace
metadata: {name: ml-team}
---
apiVersion: aim.eai.amd.com/v1alpha1
kind: AIMService
metadata: {name: chat, namespace: ml-team}
spec:
  model: {image: registry.example.com/aim/chat:1.0.0}
";

#[test]
fn offline_a_missing_fact_is_reported_and_check_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s.yaml"), PRIVATE_IMAGE).expect("write");
    let (code, err) = aimc_lock(dir.path(), &["--check", "--offline"], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("registry.example.com/aim/chat:1.0.0"), "{err}");
    assert!(!dir.path().join("aim.lock.yaml").exists());
}

#[test]
fn a_tree_that_needs_nothing_gets_no_lock_file() {
    let dir = example("routing");
    let (code, err) = aimc_lock(dir.path(), &["--offline"], None);
    assert_eq!(code, 0, "{err}");
    assert!(!dir.path().join("aim.lock.yaml").exists());
    let (code, _) = aimc_lock(dir.path(), &["--check", "--offline"], None);
    assert_eq!(code, 0);
}

/// The image's labels and the templates they make, from a cluster export; the second export
/// was taken from another spec and is not used.
#[test]
fn from_cluster_takes_what_the_tree_needs_and_skips_a_stale_discovery() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s.yaml"), PRIVATE_IMAGE).expect("write");
    let export = |spec_hash: &str| {
        format!(
            "apiVersion: v1
kind: List
items:
- apiVersion: aim.eai.amd.com/v1alpha1
  kind: AIMModel
  metadata: {{name: m, namespace: ml-team, uid: 6a1e0c52-0000-4000-8000-000000000001}}
  spec: {{image: registry.example.com/aim/chat:1.0.0}}
  status:
    imageMetadata:
      model:
        canonicalName: example/chat
        recommendedDeployments: [{{gpuModel: MI300X, gpuCount: 1, metric: latency, precision: fp16}}]
- apiVersion: aim.eai.amd.com/v1alpha1
  kind: AIMService
  metadata: {{name: chat, namespace: ml-team, uid: 6a1e0c52-0000-4000-8000-000000000002}}
- apiVersion: aim.eai.amd.com/v1alpha1
  kind: AIMService
  metadata: {{name: not-in-the-tree, namespace: ml-team, uid: 6a1e0c52-0000-4000-8000-000000000003}}
- apiVersion: aim.eai.amd.com/v1alpha1
  kind: AIMServiceTemplate
  metadata: {{name: TEMPLATE, namespace: ml-team}}
  status:
    discovery: {{specHash: {spec_hash}}}
    modelSources: [{{modelId: example/chat, sourceUri: 'hf://example/chat', size: 14Gi}}]
    profile: {{metadata: {{engine: vllm, gpu: MI300X, gpuCount: 1, metric: latency, precision: fp16, type: optimized}}}}
"
        )
    };
    // First the model: its labels make the template whose name and hash the warning gives.
    let (code, err) = aimc_lock(
        dir.path(),
        &["--offline", "--from-cluster", "-"],
        Some(&export("0")),
    );
    assert_eq!(code, 0, "{err}");
    let lock = lock_file(dir.path());
    assert!(lock.contains("canonicalName: example/chat"), "{lock}");
    assert!(
        lock.contains("AIMService/ml-team/chat: 6a1e0c52-0000-4000-8000-000000000002"),
        "{lock}"
    );
    assert!(
        !lock.contains("not-in-the-tree"),
        "only what the tree needs: {lock}"
    );
    let (template, hash) = needs_cluster(&err);
    // An export of another spec is skipped with a warning.
    let stale = export("'0123456789abcdef'").replace("TEMPLATE", &template);
    let (code, err) = aimc_lock(
        dir.path(),
        &["--offline", "--from-cluster", "-"],
        Some(&stale),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("ExportSkipped").count(), 1, "said once: {err}");
    assert!(!lock_file(dir.path()).contains("discovery:"));
    // Unquoted, an all-digit hash is a YAML number, not the string the CRD holds.
    let digits = export("6678108191266389").replace("TEMPLATE", &template);
    let (code, err) = aimc_lock(
        dir.path(),
        &["--offline", "--from-cluster", "-"],
        Some(&digits),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("status.discovery.specHash is a number, not a string: quote it"),
        "{err}"
    );
    assert!(!lock_file(dir.path()).contains("discovery:"));
    // The matching one fills discovery; the tree then renders and the lock is current.
    let current = export(&format!("'{hash}'")).replace("TEMPLATE", &template);
    let (code, err) = aimc_lock(
        dir.path(),
        &["--offline", "--from-cluster", "-"],
        Some(&current),
    );
    assert_eq!(code, 0, "{err}");
    assert!(lock_file(dir.path()).contains(&format!("specHash: {hash}")));
    let (code, err) = aimc_lock(dir.path(), &["--check", "--offline"], None);
    assert_eq!(code, 0, "{err}");
    let render = Command::cargo_bin("aimc")
        .expect("bin")
        .arg("render")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(
        render.status.success(),
        "{}",
        String::from_utf8_lossy(&render.stderr)
    );
    assert!(String::from_utf8_lossy(&render.stdout).contains("kind: InferenceService"));
}

/// `template NS/NAME (specHash HASH)` from a NeedsCluster warning.
fn needs_cluster(stderr: &str) -> (String, String) {
    let line = stderr
        .lines()
        .find(|l| l.contains("NeedsCluster"))
        .unwrap_or_else(|| panic!("no NeedsCluster warning: {stderr}"));
    let rest = line.split("template ml-team/").nth(1).expect("template");
    let (name, rest) = rest.split_once(" (specHash ").expect("hash");
    let hash = rest.split_once(')').expect(")").0;
    (name.to_owned(), hash.to_owned())
}

#[test]
fn a_bad_export_is_an_error_and_the_file_stays_byte_for_byte() {
    let dir = example("multi-tenant");
    let before = std::fs::read(dir.path().join("aim.lock.yaml")).expect("read");
    for (export, expect) in [
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n", "is not a List"),
        ("apiVersion: v1\nkind: List\nitems:\n- apiVersion: aim.eai.amd.com/v1alpha1\n  kind: AIMModel\n  metadata: {name: m\n", "YamlSyntax"),
        ("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, metadata: {name: x}}\n", "without a kind"),
        ("apiVersion: v1\nkind: List\nitems: 5\n", "`items` is not a list"),
    ] {
        let (code, err) = aimc_lock(dir.path(), &["--offline", "--from-cluster", "-"], Some(export));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains(expect), "{expect}: {err}");
        assert!(err.contains("left as it was"), "{err}");
        assert_eq!(std::fs::read(dir.path().join("aim.lock.yaml")).expect("read"), before);
    }
}

#[test]
fn an_unreadable_lock_file_is_an_error_not_an_empty_lock() {
    let dir = example("multi-tenant");
    let bad = "lockVersion: 2\nimages: {}\n";
    std::fs::write(dir.path().join("aim.lock.yaml"), bad).expect("write");
    let (code, err) = aimc_lock(dir.path(), &["--offline"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("lockVersion 2"), "{err}");
    assert_eq!(lock_file(dir.path()), bad);
}

/// Nothing listens on port 9 of loopback: a fetch fails at once, and the old file stays.
#[test]
fn a_failed_fetch_leaves_the_old_file_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("s.yaml"),
        PRIVATE_IMAGE.replace("registry.example.com", "127.0.0.1:9"),
    )
    .expect("write");
    let old = "lockVersion: 1\n# hand-written\nuids:\n  AIMService/ml-team/chat: 6a1e0c52-0000-4000-8000-000000000002\n";
    std::fs::write(dir.path().join("aim.lock.yaml"), old).expect("write");
    let (code, err) = aimc_lock(dir.path(), &["--timeout", "5"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("127.0.0.1:9"), "names the registry: {err}");
    assert_eq!(lock_file(dir.path()), old);
}

#[test]
fn refresh_is_online_and_takes_its_value_with_an_equals_sign() {
    let dir = example("multi-tenant");
    let (code, err) = aimc_lock(dir.path(), &["--offline", "--refresh"], None);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--offline"), "{err}");
    // `--refresh DIR` must not read DIR as the key: the value needs `=`.
    let mut cmd = Command::cargo_bin("aimc").expect("bin");
    let out = cmd
        .args(["lock", "--offline", "--check", "--refresh"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

/// A status a newer operator writes differently costs that one fact, with a warning; the
/// rest of the export is used.
#[test]
fn an_unreadable_status_in_an_export_skips_that_fact_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("s.yaml"), PRIVATE_IMAGE).expect("write");
    let export = "apiVersion: v1
kind: List
items:
- apiVersion: aim.eai.amd.com/v1alpha1
  kind: AIMModel
  metadata: {name: m, namespace: ml-team}
  spec: {image: registry.example.com/aim/chat:1.0.0}
  status:
    imageMetadata: {model: {canonicalName: example/chat}, newerField: 1}
- apiVersion: aim.eai.amd.com/v1alpha1
  kind: AIMService
  metadata: {name: chat, namespace: ml-team, uid: 6a1e0c52-0000-4000-8000-000000000002}
";
    let (code, err) = aimc_lock(
        dir.path(),
        &["--offline", "--from-cluster", "-"],
        Some(export),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("ExportSkipped") && err.contains("newerField"),
        "{err}"
    );
    let lock = lock_file(dir.path());
    assert!(lock.contains("AIMService/ml-team/chat: 6a1e0c52"), "{lock}");
    assert!(!lock.contains("images:"), "{lock}");
}
