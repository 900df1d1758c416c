//! The pre-commit hooks of .pre-commit-hooks.yaml: the manifest, and the validate hook's entry
//! run as pre-commit runs it (no file names, in the root of a user's repository).
//! .ci/precommit-smoke runs them through pre-commit itself.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn hooks() -> Vec<Value> {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect("read");
    serde_saphyr::from_str(&text).expect("YAML")
}

fn hook(id: &str) -> Value {
    hooks()
        .into_iter()
        .find(|h| h["id"] == id)
        .unwrap_or_else(|| panic!("no hook {id}"))
}

fn entry(id: &str) -> Vec<String> {
    let h = hook(id);
    h["entry"]
        .as_str()
        .expect("entry")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn manifest_declares_both_hooks_as_rust_without_file_names() {
    let hooks = hooks();
    let ids: Vec<&str> = hooks.iter().filter_map(|h| h["id"].as_str()).collect();
    assert_eq!(ids, ["aimc-validate", "aimc-golden"]);
    for h in &hooks {
        for key in ["id", "name", "entry", "language"] {
            assert!(h[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {h}");
        }
        assert_eq!(h["language"], "rust");
        // A runtime config change affects every service: the hooks read the whole tree.
        assert_eq!(h["pass_filenames"], false);
    }
    assert_eq!(
        entry("aimc-golden"),
        ["aimc", "diff", "--golden", "golden", "."]
    );
    assert_eq!(
        entry("aimc-validate")[..4],
        ["aimc", "render", "--emit", "aim"]
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// A user's repository: an AIM tree, its goldens, and YAML that is not AIM.
fn user_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path();
    copy_tree(&root().join("examples/multi-tenant"), repo);
    let rendered = aimc(repo, &["render", ".", "-o", "golden"]);
    assert_eq!(rendered.status.code(), Some(0));
    let files = [
        ("docker-compose.yml", "services:\n  web: {image: nginx}\n"),
        ("mkdocs.yml", "site_name: platform\nnav: [index.md]\n"),
        (
            "chart/templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
        ),
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: x\nversion: 0.1.0\n",
        ),
        (
            "overlays/kustomization.yaml",
            "resources: [../platform.yaml]\n",
        ),
    ];
    for (rel, text) in files {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
    tmp
}

fn aimc(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aimc"))
        .args(args)
        .current_dir(cwd)
        .env_clear()
        .stdin(Stdio::null())
        .output()
        .expect("runs")
}

fn run_entry(id: &str, cwd: &Path) -> Output {
    let argv = entry(id);
    assert_eq!(argv[0], "aimc");
    let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
    aimc(cwd, &args)
}

#[test]
fn validate_passes_on_a_repository_with_goldens_and_other_yaml() {
    let repo = user_repo();
    let out = run_entry("aimc-validate", repo.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for skipped in ["docker-compose.yml", "mkdocs.yml", "chart/Chart.yaml"] {
        assert!(
            stderr.contains(&format!("{skipped}:1:1: info[ForeignFileSkipped]")),
            "{skipped}: {stderr}"
        );
    }
    // The same repository without the hook's options: goldens and foreign files are errors.
    let plain = aimc(repo.path(), &["render", "--emit", "aim"]);
    assert_eq!(plain.status.code(), Some(1));
    let plain = String::from_utf8_lossy(&plain.stderr);
    assert!(plain.contains("error[DuplicateObject]"), "{plain}");
    assert!(
        plain.contains("docker-compose.yml:1:1: error[MissingField]"),
        "{plain}"
    );
}

#[test]
fn validate_fails_on_a_broken_aim_object() {
    let repo = user_repo();
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\n\
               metadata: {name: typo, namespace: team-a}\nspec:\n  model: {name: llama-3-1-70b}\n  replica: 2\n";
    std::fs::write(repo.path().join("typo.yaml"), svc).expect("write");
    let out = run_entry("aimc-validate", repo.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("typo.yaml:6:3: error[UnknownField]"),
        "{stderr}"
    );
}
