//! How aimc is called from CI, Argo CD and pre-commit: paths, flags, env twins, closed pipes.

use assert_cmd::Command;
mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

/// Every env twin, so the caller's environment cannot leak into a test.
const TWINS: [&str; 6] = [
    "ARGOCD_APP_NAMESPACE",
    "ARGOCD_ENV_AIMC_STRICT",
    "ARGOCD_ENV_AIMC_EMIT",
    "ARGOCD_ENV_AIMC_GITOPS",
    "KUBE_API_VERSIONS",
    "KUBE_VERSION",
];

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn aimc(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::cargo_bin("aimc").expect("binary");
    cmd.current_dir(cwd).args(args);
    for t in TWINS {
        cmd.env_remove(t);
    }
    cmd.env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_missing_path_is_a_usage_error_for_every_command() {
    let here = examples();
    for args in [
        &["render", "no-such-dir"][..],
        &["validate", "no-such-dir"],
        &["validate", "multi-tenant/no-such-file.yaml"],
        &[
            "validate",
            "multi-tenant/platform.yaml",
            "multi-tenant/typo.yaml",
        ],
        &[
            "diff",
            "--golden",
            "../golden/multi-tenant/concrete",
            "no-such-dir",
        ],
        &["explain", "AIMService/team-a/x", "no-such-dir"],
    ] {
        let out = aimc(&here, args, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("does not exist"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn stdin_is_rejected_by_name() {
    for args in [
        &["render", "-"][..],
        &["validate", "-"],
        &["explain", "AIMService/a/b", "-"],
    ] {
        let out = aimc(&examples(), args, &[]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("`-` (a stream on stdin) is not supported"),
            "{args:?}: {stderr}"
        );
    }
    let out = aimc(&examples(), &["render", "multi-tenant/platform.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("is a file; aimc reads a directory tree"));
}

#[test]
fn strict_is_a_plain_flag_anywhere_on_the_line() {
    // multi-tenant has a SecretNotFound warning: --strict turns it into exit 1.
    let here = examples();
    for args in [
        &["render", "--strict", "multi-tenant"][..],
        &["render", "multi-tenant", "--strict"],
        &["validate", "--strict", "multi-tenant"],
        &[
            "diff",
            "--strict",
            "--golden",
            "../golden/multi-tenant/concrete",
            "multi-tenant",
        ],
    ] {
        let out = aimc(&here, args, &[]);
        let stderr = text(&out.stderr);
        let code = out.status.code();
        // diff reports render errors as exit 2 (an error, not differences).
        let want = if args[0] == "diff" { 2 } else { 1 };
        assert_eq!(code, Some(want), "{args:?}: {stderr}{}", text(&out.stdout));
        assert!(
            text(&out.stdout).contains("error[SecretNotFound]")
                || stderr.contains("error[SecretNotFound]"),
            "{args:?}: {stderr}"
        );
    }
    let out = aimc(&here, &["render", "multi-tenant", "--strict=true"], &[]);
    assert_eq!(out.status.code(), Some(2), "--strict takes no value");
}

#[test]
fn empty_env_twins_mean_the_default() {
    let here = examples();
    let plain = aimc(&here, &["render", "multi-tenant"], &[]);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    let empties = [
        ("ARGOCD_ENV_AIMC_EMIT", ""),
        ("ARGOCD_ENV_AIMC_STRICT", ""),
        ("ARGOCD_ENV_AIMC_GITOPS", ""),
        ("ARGOCD_APP_NAMESPACE", ""),
        ("KUBE_API_VERSIONS", ""),
        ("KUBE_VERSION", ""),
    ];
    let out = aimc(&here, &["render", "multi-tenant"], &empties);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(out.stdout, plain.stdout);
    let out = aimc(&here, &["validate", "multi-tenant"], &empties);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));

    // Set values still work, and the flag beats its twin.
    let strict = aimc(
        &here,
        &["render", "multi-tenant"],
        &[("ARGOCD_ENV_AIMC_STRICT", "true")],
    );
    assert_eq!(strict.status.code(), Some(1));
    let off = aimc(
        &here,
        &["render", "multi-tenant"],
        &[("ARGOCD_ENV_AIMC_STRICT", "false")],
    );
    assert_eq!(off.status.code(), Some(0));
    let aim = aimc(
        &here,
        &["render", "multi-tenant"],
        &[("ARGOCD_ENV_AIMC_EMIT", "aim")],
    );
    assert_ne!(aim.stdout, plain.stdout);
    let flag = aimc(
        &here,
        &["render", "multi-tenant", "--emit", "concrete"],
        &[("ARGOCD_ENV_AIMC_EMIT", "aim")],
    );
    assert_eq!(flag.stdout, plain.stdout);
}

/// Runs `args` with stdout a pipe whose reader is already closed.
fn into_closed_pipe(cwd: &Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("aimc"));
    cmd.current_dir(cwd).args(args).stdout(writer);
    for t in TWINS {
        cmd.env_remove(t);
    }
    cmd.output().expect("runs")
}

#[test]
fn a_closed_pipe_is_never_a_crash() {
    let here = examples();
    let golden = "../golden/multi-tenant/concrete";
    let mut cases: Vec<Vec<&str>> = vec![
        vec!["render", "multi-tenant"],
        vec!["render", "multi-tenant", "--format", "json"],
        vec!["render", "multi-tenant", "--emit", "all"],
        vec!["diff", "--golden", golden, "multi-tenant"],
        vec![
            "diff",
            "--golden",
            "../golden/routing/concrete",
            "multi-tenant",
        ],
        vec![
            "diff",
            "--golden",
            "../golden/routing/concrete",
            "multi-tenant",
            "--format",
            "markdown",
        ],
        vec!["explain", "AIMService/team-a/assistant", "multi-tenant"],
        vec!["completions", "bash"],
        vec!["man"],
        vec!["--help"],
    ];
    for format in ["text", "json", "github", "sarif"] {
        cases.push(vec!["validate", "multi-tenant", "--format", format]);
        cases.push(vec![
            "validate",
            "--strict",
            "multi-tenant",
            "--format",
            format,
        ]);
    }
    for args in &cases {
        let out = into_closed_pipe(&here, args);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        // The code is what the work decided, as if the reader had read everything.
        let normal = aimc(&here, args, &[]);
        assert_eq!(
            out.status.code(),
            normal.status.code(),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_closed_stderr_is_never_a_crash() {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    // multi-tenant warns (SecretNotFound): render writes diagnostics to stderr.
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("aimc"));
    cmd.current_dir(examples())
        .args(["render", "--strict", "multi-tenant"])
        .stderr(writer);
    for t in TWINS {
        cmd.env_remove(t);
    }
    let out = cmd.output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the strict render still fails, quietly"
    );
}

/// A monorepo as pre-commit sees it: one git repository, a project per cluster.
fn monorepo() -> tempfile::TempDir {
    let t = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(t.path().join(".git")).expect("git dir");
    common::copy_tree(
        &examples().join("private-registries"),
        &t.path().join("clusters/prod"),
    );
    common::copy_tree(
        &examples().join("multi-tenant"),
        &t.path().join("clusters/dev"),
    );
    std::fs::write(t.path().join(".pre-commit-config.yaml"), "repos: []\n").expect("write");
    t
}

/// JSON report lines, with every file path as given from the repository root.
fn json_report(out: &Output, prefix: &str) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("json line");
            if let Some(f) = v["file"].as_str() {
                v["file"] = format!("{prefix}{f}").into();
            }
            v
        })
        .collect()
}

#[test]
fn named_files_are_checked_within_their_own_project_root() {
    let repo = monorepo();
    let file = "clusters/prod/ml-team/services.yaml";
    let out = aimc(repo.path(), &["validate", "--format", "json", file], &[]);
    let by_file = json_report(&out, "");
    assert_eq!(out.status.code(), Some(0), "{by_file:#?}");
    assert!(
        !by_file
            .iter()
            .any(|d| d["code"] == "NeedsDiscovery" || d["code"] == "NeedsImageMetadata"),
        "clusters/prod/aim.lock.yaml applies: {by_file:#?}"
    );
    // The same as validating that root and keeping that file's diagnostics.
    let whole = aimc(
        repo.path(),
        &["validate", "--format", "json", "clusters/prod"],
        &[],
    );
    let expected: Vec<serde_json::Value> = json_report(&whole, "clusters/prod/")
        .into_iter()
        .filter(|d| d["file"] == file)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(by_file, expected);

    // A file of the other cluster, whose root is the repository: the prod project is not
    // read into it, and its warning is reported at the path pre-commit gave.
    let dev = "clusters/dev/platform.yaml";
    let out = aimc(
        repo.path(),
        &["validate", "--format", "json", dev, file],
        &[],
    );
    let both = json_report(&out, "");
    assert!(
        both.iter()
            .any(|d| d["file"] == dev && d["code"] == "SecretNotFound"),
        "{both:#?}"
    );
    assert!(
        !both.iter().any(|d| d["code"] == "DuplicateObject"),
        "{both:#?}"
    );
    assert!(
        both.iter().all(|d| d["file"] == dev || d["file"] == file),
        "{both:#?}"
    );
}

#[test]
fn help_documents_the_exit_codes() {
    for args in [
        &["--help"][..],
        &["render", "--help"],
        &["validate", "--help"],
        &["diff", "--help"],
        &["explain", "--help"],
    ] {
        let out = aimc(&examples(), args, &[]);
        assert_eq!(out.status.code(), Some(0));
        let help = text(&out.stdout);
        assert!(
            help.contains("Exit codes") && help.contains("2 ") && help.contains("1 "),
            "{args:?}: {help}"
        );
    }
}

#[test]
fn json_output_is_json_lines() {
    let here = examples();
    let yaml = aimc(&here, &["render", "multi-tenant", "--emit", "all"], &[]);
    let json = aimc(
        &here,
        &[
            "render",
            "multi-tenant",
            "--emit",
            "all",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(json.status.code(), Some(0));
    let docs = text(&yaml.stdout).matches("---\n").count();
    let lines: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
        .collect();
    assert_eq!(lines.len(), docs);
    assert!(lines.iter().all(|v| v.is_object() && v["kind"].is_string()));
    assert!(json.stdout.ends_with(b"}\n"));
}
