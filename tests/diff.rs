//! `aimc diff`: exit codes, reports, golden updates and the pull-request view, end to end.

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `aimc diff` with the environment of a developer's shell, not of CI or Argo CD.
fn aimc_diff(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("aimc").expect("binary");
    cmd.arg("diff")
        .args(args)
        .env_remove("CI")
        .env_remove("ARGOCD_APP_NAMESPACE")
        .env_remove("ARGOCD_ENV_AIMC_STRICT")
        .env_remove("ARGOCD_ENV_AIMC_EMIT")
        .env_remove("ARGOCD_ENV_AIMC_GITOPS");
    cmd
}

fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out: Output = cmd.output().expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let target = to.join(entry.path().strip_prefix(from).expect("under from"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A temporary copy of an example and its concrete goldens: (tempdir, example, goldens).
fn example_copy(name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (ex, golden) = (tmp.path().join("example"), tmp.path().join("golden"));
    copy_dir(&root().join("examples").join(name), &ex);
    copy_dir(&root().join("golden").join(name).join("concrete"), &golden);
    (tmp, ex, golden)
}

/// The first file of `kind` (lower-case, as in the `-o` layout) in a golden directory.
fn golden_file(golden: &Path, kind: &str) -> PathBuf {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(golden)
        .into_iter()
        .map(|e| e.expect("walk").into_path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{kind}-")))
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .next()
        .expect("a golden file of that kind")
}

/// Makes the goldens differ from the example in each way: one changed InferenceService, one
/// HTTPRoute missing (added), one stale object (removed), one file under another name (no
/// difference). Returns the changed file's path relative to the golden directory.
fn perturb(golden: &Path) -> String {
    let isvc = golden_file(golden, "inferenceservice");
    let text = std::fs::read_to_string(&isvc).expect("read");
    let changed = text.replacen("\nspec:\n", "\nspec:\n  stale: true\n", 1);
    assert_ne!(text, changed, "the golden has a spec");
    std::fs::write(&isvc, changed).expect("write");
    std::fs::remove_file(golden_file(golden, "httproute")).expect("remove");
    std::fs::write(
        golden.join("_cluster/configmap-stale.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stale\n  namespace: ml-team\ndata: {a: b}\n",
    )
    .expect("write");
    let pvc = golden_file(golden, "persistentvolumeclaim");
    std::fs::rename(&pvc, pvc.with_file_name("renamed-file.yaml")).expect("rename");
    isvc.strip_prefix(golden)
        .expect("under golden")
        .display()
        .to_string()
}

#[test]
fn no_differences_exit_0() {
    let ex = root().join("examples/routing");
    let golden = root().join("golden/routing/concrete");
    let (code, out, err) = run(&mut aimc_diff(&["--golden", s(&golden), s(&ex)]));
    assert_eq!(code, Some(0), "stderr:\n{err}");
    assert_eq!(out, "0 added, 0 changed, 0 removed\n");
    // --emit all against the `all` goldens: the render flags are honoured.
    let golden = root().join("golden/routing/all");
    let (code, _, err) = run(&mut aimc_diff(&[
        "--golden",
        s(&golden),
        "--emit",
        "all",
        s(&ex),
    ]));
    assert_eq!(code, Some(0), "stderr:\n{err}");
}

#[test]
fn differences_exit_1_with_a_unified_diff_per_object() {
    let (_tmp, ex, golden) = example_copy("routing");
    let changed = perturb(&golden);
    let (code, out, err) = run(&mut aimc_diff(&["--golden", s(&golden), s(&ex)]));
    assert_eq!(code, Some(1), "stderr:\n{err}");
    assert!(
        out.starts_with("1 added, 1 changed, 1 removed\n"),
        "summary first:\n{out}"
    );
    assert!(
        out.contains(&format!("--- golden/{changed}\n+++ rendered/{changed}\n")),
        "{out}"
    );
    assert!(out.contains("\n-  stale: true\n"), "{out}");
    assert!(out.contains("added    HTTPRoute "), "{out}");
    assert!(out.contains("removed  ConfigMap ml-team/stale\n"), "{out}");
    assert!(
        !out.contains("PersistentVolumeClaim"),
        "file names are not identities:\n{out}"
    );
}

#[test]
fn detailed_exitcode_is_terraform_style() {
    let (_tmp, ex, golden) = example_copy("routing");
    let args = |g: &Path| {
        vec![
            "--detailed-exitcode".to_owned(),
            "--golden".to_owned(),
            s(g).to_owned(),
            s(&ex).to_owned(),
        ]
    };
    let code = |a: Vec<String>| run(aimc_diff(&[]).args(a)).0;
    assert_eq!(code(args(&golden)), Some(0));
    perturb(&golden);
    assert_eq!(code(args(&golden)), Some(2), "differences");
    assert_eq!(code(args(&golden.join("missing"))), Some(1), "error");
    let (c, _, _) = run(&mut aimc_diff(&["--detailed-exitcode", "--bogus"]));
    assert_eq!(c, Some(1), "a usage error is an error, not a difference");
}

#[test]
fn a_missing_golden_directory_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let ex = root().join("examples/routing");
    let missing = tmp.path().join("golden");
    let (code, out, err) = run(&mut aimc_diff(&["--golden", s(&missing), s(&ex)]));
    assert_eq!(code, Some(2));
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("does not exist"), "{err}");
    assert!(!missing.exists());
}

#[test]
fn invalid_goldens_are_reported_at_their_position() {
    let (_tmp, ex, golden) = example_copy("routing");
    std::fs::write(golden.join("_cluster/broken.yaml"), "a: [\n").expect("write");
    let (code, _, err) = run(&mut aimc_diff(&["--golden", s(&golden), s(&ex)]));
    assert_eq!(code, Some(2));
    assert!(
        err.contains("_cluster/broken.yaml:1:") && err.contains("error[YamlSyntax]"),
        "{err}"
    );
}

#[test]
fn render_errors_exit_2_with_diagnostics() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("bad.yaml"), "kind: [\n").expect("write");
    let golden = root().join("golden/routing/concrete");
    let (code, out, err) = run(&mut aimc_diff(&["--golden", s(&golden), s(tmp.path())]));
    assert_eq!(code, Some(2));
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("bad.yaml:1:") && err.contains("error[YamlSyntax]"),
        "{err}"
    );
}

#[test]
fn update_is_refused_under_ci() {
    let (_tmp, ex, golden) = example_copy("routing");
    perturb(&golden);
    let before = aimc::golden::read_dir(&golden).expect("read");
    let (code, _, err) =
        run(aimc_diff(&["--update", "--golden", s(&golden), s(&ex)]).env("CI", "1"));
    assert_eq!(code, Some(2));
    assert!(err.contains("refusing"), "{err}");
    assert_eq!(aimc::golden::read_dir(&golden).expect("read"), before);
}

#[test]
fn update_rewrites_the_goldens_exactly() {
    let (tmp, ex, golden) = example_copy("routing");
    perturb(&golden);
    let (code, out, err) = run(&mut aimc_diff(&[
        "--update",
        "--golden",
        s(&golden),
        s(&ex),
    ]));
    assert_eq!(code, Some(0), "stderr:\n{err}");
    assert!(out.starts_with("1 added, 1 changed, 1 removed\n"), "{out}");
    // Stale and misnamed files are gone; the result is what `render -o` writes.
    assert_eq!(
        aimc::golden::read_dir(&golden).expect("read"),
        aimc::golden::read_dir(&root().join("golden/routing/concrete")).expect("read")
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).expect("list").collect();
    assert_eq!(left.len(), 2, "no temporary siblings left: {left:?}");
    let (code, _, _) = run(&mut aimc_diff(&["--golden", s(&golden), s(&ex)]));
    assert_eq!(code, Some(0));
    // A golden directory that does not exist yet is created.
    let fresh = tmp.path().join("fresh");
    let (code, _, err) = run(&mut aimc_diff(&["--update", "--golden", s(&fresh), s(&ex)]));
    assert_eq!(code, Some(0), "stderr:\n{err}");
    assert_eq!(
        aimc::golden::read_dir(&fresh).expect("read"),
        aimc::golden::read_dir(&golden).expect("read")
    );
}

const SECRET_TREE: &str = "apiVersion: v1
kind: Namespace
metadata:
  name: team
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: team
type: Opaque
data:
  token: VALUE
stringData:
  password: hunter2
";

#[test]
fn markdown_reports_a_table_and_details_and_redacts_secrets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (tree, golden) = (tmp.path().join("tree"), tmp.path().join("golden"));
    std::fs::create_dir_all(&tree).expect("mkdir");
    let write = |value: &str| {
        std::fs::write(
            tree.join("secret.yaml"),
            SECRET_TREE.replace("VALUE", value),
        )
        .expect("write")
    };
    write("b2xkLXNlY3JldA==");
    let (code, _, err) = run(&mut aimc_diff(&[
        "--update",
        "--golden",
        s(&golden),
        s(&tree),
    ]));
    assert_eq!(code, Some(0), "stderr:\n{err}");
    write("bmV3LXNlY3JldA==");
    let args = ["--format", "markdown", "--golden", s(&golden), s(&tree)];
    let (code, md, err) = run(&mut aimc_diff(&args));
    assert_eq!(code, Some(1), "stderr:\n{err}");
    assert!(
        md.contains("| Kind | Namespace | Name | Change |\n|---|---|---|---|\n| Secret | team | creds | changed |\n"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>Secret team/creds</summary>\n\n```diff\n--- golden/team/secret-creds.yaml"),
        "{md}"
    );
    assert!(
        md.contains("-  token: <redacted>\n+  token: <redacted, changed>\n"),
        "{md}"
    );
    assert!(md.contains("\n   password: <redacted>\n"), "{md}");
    let (_, text, _) = run(&mut aimc_diff(&["--golden", s(&golden), s(&tree)]));
    for out in [&md, &text] {
        for secret in ["b2xkLXNlY3JldA==", "bmV3LXNlY3JldA==", "hunter2"] {
            assert!(!out.contains(secret), "{secret} leaked:\n{out}");
        }
    }
}

#[test]
fn a_template_file_replaces_the_markdown_report() {
    let (_tmp, ex, golden) = example_copy("routing");
    perturb(&golden);
    let dir = tempfile::tempdir().expect("tempdir");
    let tpl = dir.path().join("t.md.j2");
    std::fs::write(
        &tpl,
        "{{ counts.changed }} changed:{% for o in objects %} {{ o.change }}={{ o.kind }}{% endfor %}",
    )
    .expect("write");
    let (code, out, err) = run(&mut aimc_diff(&[
        "--format",
        "markdown",
        "--template",
        s(&tpl),
        "--golden",
        s(&golden),
        s(&ex),
    ]));
    assert_eq!(code, Some(1), "stderr:\n{err}");
    assert!(out.starts_with("1 changed: "), "{out}");
    assert!(out.contains("removed=ConfigMap"), "{out}");
    // Undefined names are errors, so a broken template fails the step instead of posting junk.
    std::fs::write(&tpl, "{{ summry }}").expect("write");
    let (code, out, err) = run(&mut aimc_diff(&[
        "--format",
        "markdown",
        "--template",
        s(&tpl),
        "--golden",
        s(&golden),
        s(&ex),
    ]));
    assert_eq!(code, Some(2));
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("template"), "{err}");
    // A template only shapes markdown.
    let (code, _, err) = run(&mut aimc_diff(&[
        "--template",
        s(&tpl),
        "--golden",
        s(&golden),
        s(&ex),
    ]));
    assert_eq!(code, Some(2));
    assert!(err.contains("--format markdown"), "{err}");
}

fn git(repo: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_output(repo: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `aimc diff --base REV DIR` run in `cwd`; git never looks above `ceiling`.
fn base_diff(ceiling: &Path, cwd: &Path, rev: &str, dir: &str) -> (Option<i32>, String, String) {
    run(aimc_diff(&["--base", rev, dir])
        .current_dir(cwd)
        .env("GIT_CEILING_DIRECTORIES", ceiling)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1"))
}

#[test]
fn base_revision_diff_summarises_the_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    let deploy = repo.join("deploy");
    copy_dir(&root().join("examples/multi-tenant"), &deploy);
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "base"]);
    // The cluster runtime config's log level reaches team-b's service and download Job.
    let platform = deploy.join("platform.yaml");
    let text = std::fs::read_to_string(&platform).expect("read");
    let changed = text.replace("value: WARNING", "value: DEBUG");
    assert_ne!(text, changed);
    std::fs::write(&platform, changed).expect("write");
    git(&repo, &["commit", "-q", "-a", "-m", "debug logging"]);

    let (code, out, err) = base_diff(tmp.path(), &repo, "HEAD~1", "deploy");
    assert_eq!(code, Some(1), "stderr:\n{err}");
    assert!(
        out.starts_with(
            "this change alters 1 InferenceService and 1 Job in 1 namespace\n0 added, 2 changed, 0 removed\n"
        ),
        "{out}"
    );
    assert!(out.contains("--- base/team-b/inferenceservice-"), "{out}");
    assert!(
        out.contains("-        value: WARNING\n+        value: DEBUG\n"),
        "{out}"
    );

    // The working tree, uncommitted edits included, against a revision; from inside it.
    std::fs::write(&platform, text).expect("write");
    let (code, out, _) = base_diff(tmp.path(), &deploy, "HEAD", ".");
    assert_eq!(code, Some(1));
    assert!(out.contains("+        value: WARNING\n"), "{out}");
    let (code, out, _) = base_diff(tmp.path(), &deploy, "HEAD~1", ".");
    assert_eq!(
        (code, out.lines().next()),
        (Some(0), Some("this change alters no objects"))
    );

    // A directory the base does not have: everything is added.
    copy_dir(&deploy, &repo.join("new"));
    let (code, out, _) = base_diff(tmp.path(), &repo, "HEAD", "new");
    assert_eq!(code, Some(1));
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("11 added, 0 changed, 0 removed")),
        "{out}"
    );

    // The user's work tree and git metadata are left as they were.
    assert_eq!(
        git_output(&repo, &["status", "--porcelain"]),
        " M deploy/platform.yaml\n?? new/\n"
    );
    assert_eq!(git_output(&repo, &["worktree", "list"]).lines().count(), 1);
}

#[test]
fn base_revision_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    std::fs::write(repo.join("bad.yaml"), "a: [\n").expect("write");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "broken"]);
    std::fs::remove_file(repo.join("bad.yaml")).expect("remove");
    // The base does not render: its diagnostics point into the revision, git style.
    let (code, out, err) = base_diff(tmp.path(), &repo, "HEAD", ".");
    assert_eq!(code, Some(2), "{out}");
    assert!(
        err.contains("HEAD:bad.yaml:1:") && err.contains("error[YamlSyntax]"),
        "{err}"
    );
    let (code, _, err) = base_diff(tmp.path(), &repo, "no-such-rev", ".");
    assert_eq!(code, Some(2));
    assert!(err.contains("unknown revision no-such-rev"), "{err}");
    // Outside a git repository.
    let plain = tmp.path().join("plain");
    std::fs::create_dir_all(&plain).expect("mkdir");
    let (code, _, err) = base_diff(tmp.path(), &plain, "HEAD", ".");
    assert_eq!(code, Some(2));
    assert!(err.contains("not in a git work tree"), "{err}");
}

/// The pre-commit hook's layout: goldens inside the rendered tree are output, not input.
#[test]
fn goldens_inside_the_tree_are_not_read_as_input() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    copy_dir(&root().join("examples").join("hf-private"), &repo);
    copy_dir(
        &root().join("golden").join("hf-private").join("concrete"),
        &repo.join("golden"),
    );
    let (code, out, err) = run(aimc_diff(&["--golden", "golden", "."]).current_dir(&repo));
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("0 added, 0 changed, 0 removed"), "{out}");
}
