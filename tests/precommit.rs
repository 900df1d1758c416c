//! The pre-commit hooks of .pre-commit-hooks.yaml: the manifest, and the validate hook's entry
//! run as pre-commit runs it (no file names, in the root of a user's repository).
//! .ci/precommit-smoke runs them through pre-commit itself.

use serde_json::Value;
mod common;

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
fn manifest_declares_the_hooks_as_rust() {
    let hooks = hooks();
    let ids: Vec<&str> = hooks.iter().filter_map(|h| h["id"].as_str()).collect();
    assert_eq!(ids, ["aimc-validate", "aimc-golden", "aimc-lock"]);
    // The lock check never goes online, and reads the whole tree.
    assert_eq!(hook("aimc-lock")["pass_filenames"], false);
    assert_eq!(
        entry("aimc-lock"),
        ["aimc", "lock", "--check", "--offline", "."]
    );
    for h in &hooks {
        for key in ["id", "name", "entry", "language"] {
            assert!(h[key].as_str().is_some_and(|s| !s.is_empty()), "{key}: {h}");
        }
        assert_eq!(h["language"], "rust");
        // 2.21.0 is the first pre-commit that bootstraps Rust where no cargo is on PATH.
        let min = h["minimum_pre_commit_version"]
            .as_str()
            .expect("minimum_pre_commit_version");
        let v: Vec<u32> = min.split('.').map(|p| p.parse().expect("number")).collect();
        assert!(v >= vec![2, 21, 0], "{min}");
    }
    // The golden check reads the whole tree: a runtime config change affects every service.
    assert_eq!(hook("aimc-golden")["pass_filenames"], false);
    assert_eq!(
        entry("aimc-golden"),
        ["aimc", "diff", "--golden", "golden", "."]
    );
    // The validate hook validates, and takes the changed files (pass_filenames defaults to true).
    assert_eq!(entry("aimc-validate")[..2], ["aimc", "validate"]);
    assert!(hook("aimc-validate")["pass_filenames"].is_null());
}

/// A user's repository: an AIM tree, its goldens, and YAML that is not AIM.
fn user_repo() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path();
    common::copy_tree(&root().join("examples/multi-tenant"), repo);
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

/// Runs a hook's entry as pre-commit does: its argv, then (unless `pass_filenames: false`)
/// every YAML file of the repository, relative to its root, in sorted order.
fn run_entry(id: &str, cwd: &Path) -> Output {
    let argv = entry(id);
    assert_eq!(argv[0], "aimc");
    let mut args: Vec<String> = argv[1..].to_vec();
    if hook(id)["pass_filenames"] != false {
        args.extend(yaml_files(cwd, cwd));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    aimc(cwd, &args)
}

fn yaml_files(root: &Path, dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(yaml_files(root, &p));
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(
                p.strip_prefix(root)
                    .expect("below")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    out
}

#[test]
fn validate_passes_on_a_repository_with_goldens_and_other_yaml() {
    let repo = user_repo();
    let out = run_entry("aimc-validate", repo.path());
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Foreign files and rendered goldens are not reported on.
    for quiet in ["docker-compose.yml", "mkdocs.yml", "chart/", "golden/"] {
        assert!(!report.contains(quiet), "{quiet}: {report}");
    }
}

#[test]
fn validate_fails_on_a_literal_credential() {
    let repo = user_repo();
    let path = repo.path().join("team-a.yaml");
    let text = std::fs::read_to_string(&path).expect("read");
    let leaked = text.replacen(
        "    - name: VLLM_LOGGING_LEVEL",
        "    - name: HF_TOKEN\n      value: hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345\n    - name: VLLM_LOGGING_LEVEL",
        1,
    );
    assert_ne!(
        leaked, text,
        "the sample has the env entry to put the token before"
    );
    std::fs::write(&path, leaked).expect("write");
    let out = run_entry("aimc-validate", repo.path());
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("team-a.yaml:21:14: error[LiteralCredential]"),
        "{report}"
    );
    assert!(
        !report.contains("hf_aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"),
        "{report}"
    );
}

#[test]
fn validate_fails_on_a_broken_aim_object() {
    let repo = user_repo();
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\n\
               metadata: {name: typo, namespace: team-a}\nspec:\n  model: {name: llama-3-1-70b}\n  replica: 2\n";
    std::fs::write(repo.path().join("typo.yaml"), svc).expect("write");
    let out = run_entry("aimc-validate", repo.path());
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(
        report.contains("typo.yaml:6:3: error[UnknownField]"),
        "{report}"
    );
}

/// `cargo install` of the hooks resolves without Cargo.lock: every crate that decides how the
/// output is spelled is pinned with `=`, at the version Cargo.lock (CI's build) has.
#[test]
fn output_shaping_crates_are_pinned_to_the_locked_versions() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).expect("Cargo.lock");
    for krate in [
        "serde-saphyr",
        "granit-parser",
        "serde_json",
        "zmij",
        "minijinja",
        "similar",
    ] {
        let line = manifest
            .lines()
            .find(|l| l.starts_with(&format!("{krate} = ")))
            .unwrap_or_else(|| panic!("{krate} is not a direct dependency"));
        let req = line
            .split_once("version = \"")
            .or_else(|| line.split_once(" = \""))
            .and_then(|(_, rest)| rest.split('"').next())
            .unwrap_or_else(|| panic!("no version in {line}"));
        let pinned = req
            .strip_prefix('=')
            .unwrap_or_else(|| panic!("{krate} is not pinned: {line}"));
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains(&format!("\nname = \"{krate}\"\n")))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"'))
            .unwrap_or_else(|| panic!("{krate} not in Cargo.lock"));
        assert_eq!(pinned, locked, "{krate}");
    }
}
