//! Broken and malicious inputs: each ends with a clean diagnostic and exit 1, quickly, with
//! nothing on stdout and no panic. Inputs are generated here, not checked in.

use assert_cmd::Command;
use std::path::Path;

fn render(dir: &Path) -> (i32, Vec<u8>, String) {
    render_with(dir, &[])
}

fn render_with(dir: &Path, env: &[(&str, &str)]) -> (i32, Vec<u8>, String) {
    let mut cmd = Command::cargo_bin("aimc").expect("bin");
    cmd.arg("render")
        .arg(dir)
        .env_remove("ARGOCD_APP_NAMESPACE")
        .timeout(std::time::Duration::from_secs(120));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The diagnostic line of `code`, which must read as a sentence: no `Debug` output of the
/// parser's types (the quoted source line below it may hold any brace).
fn sentence<'a>(stderr: &'a str, code: &str) -> &'a str {
    let line = stderr
        .lines()
        .find(|l| l.contains(&format!("[{code}]: ")))
        .unwrap_or_else(|| panic!("no {code} in:\n{stderr}"));
    let message = line.split_once("]: ").map_or(line, |(_, m)| m);
    for bad in ["{", "}", "Budget", "breached"] {
        assert!(!message.contains(bad), "{bad:?} in {message:?}");
    }
    message
}

fn tree(files: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }
    dir
}

/// Exit 1, empty stdout, the diagnostic code on stderr, no panic.
fn rejects(files: &[(&str, Vec<u8>)], code: &str) -> String {
    let dir = tree(files);
    let (status, stdout, stderr) = render(dir.path());
    assert_eq!(status, 1, "{code}: {stderr}");
    assert!(stdout.is_empty(), "{code}: stdout must stay empty");
    assert!(
        stderr.contains(&format!("[{code}]")),
        "expected {code} in:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn cm(extra: &str) -> Vec<u8> {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: ns}}\n{extra}")
        .into_bytes()
}

#[test]
fn alias_bomb() {
    let mut s = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\ndata:\n  a: &a [x,x,x,x,x,x,x,x,x]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        s.push_str(&format!(
            "  {}: &{} [{}]\n",
            w[1],
            w[1],
            vec![format!("*{}", w[0]); 9].join(",")
        ));
    }
    let stderr = rejects(&[("bomb.yaml", s.into_bytes())], "AliasBudget");
    let message = sentence(&stderr, "AliasBudget");
    assert!(
        message.starts_with("anchors and aliases expand the file to more than 250,")
            && message.ends_with("bytes: this looks like an alias bomb"),
        "{message}"
    );
}

#[test]
fn ten_thousand_levels_of_nesting() {
    let expected = "lists and maps nest more than 64 levels deep here, the limit";
    let deep = format!("data:\n  k: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let stderr = rejects(&[("deep.yaml", cm(&deep))], "YamlBudget");
    assert_eq!(sentence(&stderr, "YamlBudget"), expected);
    let deep_map = format!(
        "data:\n  k: {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    let stderr = rejects(&[("deepmap.yaml", cm(&deep_map))], "YamlBudget");
    assert_eq!(sentence(&stderr, "YamlBudget"), expected);
}

/// With several files, parsing runs on worker threads: the error path, which re-reads the file
/// as far as the nesting limit, must fit their stacks (a debug build's too).
#[test]
fn deep_nesting_on_a_worker_thread() {
    let deep_map = format!(
        "data:\n  k: {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    let dir = tree(&[("a.yaml", cm("")), ("deep.yaml", cm(&deep_map))]);
    let (status, stdout, stderr) = render_with(dir.path(), &[("AIMC_THREADS", "2")]);
    assert_eq!(status, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(
        sentence(&stderr, "YamlBudget"),
        "lists and maps nest more than 64 levels deep here, the limit"
    );
}

#[test]
fn a_hundred_megabyte_document() {
    let big = format!("data:\n  k: \"{}\"\n", "x".repeat(100 * 1024 * 1024));
    let stderr = rejects(&[("big.yaml", cm(&big))], "YamlBudget");
    assert_eq!(
        sentence(&stderr, "YamlBudget"),
        "the file's strings and other scalars add up to more than 64 MiB here, the limit per file"
    );
}

/// A generated bundle: budgets grow with the file, so the count of documents is no limit.
#[test]
fn fifty_thousand_tiny_documents_load() {
    let mut s = String::with_capacity(50_000 * 80);
    for i in 0..50_000 {
        s.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: ns}}\n"
        ));
    }
    let dir = tree(&[("many.yaml", s.into_bytes())]);
    let start = std::time::Instant::now();
    let (status, stdout, stderr) = render(dir.path());
    eprintln!("50,000 documents rendered in {:?}", start.elapsed());
    assert_eq!(status, 0, "{stderr}");
    let stdout = String::from_utf8_lossy(&stdout);
    assert_eq!(stdout.matches("kind: ConfigMap").count(), 50_000);
    assert!(stdout.contains("name: c49999"));
}

#[test]
fn invalid_utf8_and_binary_files() {
    rejects(
        &[("bad.yaml", b"apiVersion: v1\nkind: \xff\xfe\xfd\n".to_vec())],
        "InvalidUtf8",
    );
    let binary: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    rejects(&[("blob.yaml", binary)], "InvalidUtf8");
}

#[test]
fn duplicate_keys_and_tabs() {
    rejects(
        &[("dup.yaml", cm("data: {a: 1}\ndata: {b: 2}\n"))],
        "DuplicateKey",
    );
    rejects(
        &[(
            "tabs.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: c\n".to_vec(),
        )],
        "YamlSyntax",
    );
}

#[test]
fn yaml_1_1_booleans_in_string_fields() {
    let svc = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata: {name: s, namespace: ns}\nspec:\n  model: {name: m}\n  env: [{name: FLAG, value: on}]\n";
    rejects(&[("s.yaml", svc.as_bytes().to_vec())], "WrongType");
    let labels = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns, labels: {enabled: yes}}\n";
    rejects(&[("l.yaml", labels.as_bytes().to_vec())], "WrongType");
}

#[test]
fn a_secret_value_never_reaches_a_diagnostic() {
    // A syntax error on the very line that holds the value.
    let secret = b"apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: ns}\nstringData:\n  token: \"SUPERSECRET-MARKER\n".to_vec();
    let stderr = rejects(&[("secret.yaml", secret)], "YamlSyntax");
    assert!(!stderr.contains("SUPERSECRET"), "{stderr}");
    // A wrong type next to a literal credential.
    let svc = b"apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata: {name: s, namespace: ns}\nspec:\n  model: {name: m}\n  env: [{name: HF_TOKEN, value: SUPERSECRET-MARKER}, {name: X, value: {a: 1}}]\n".to_vec();
    let stderr = rejects(&[("svc.yaml", svc)], "WrongType");
    assert!(!stderr.contains("SUPERSECRET"), "{stderr}");
}

#[cfg(unix)]
fn link(target: impl AsRef<Path>, at: &Path) {
    std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
    std::os::unix::fs::symlink(target, at).expect("symlink");
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_skipped_with_a_warning() {
    let dir = tree(&[("a/ok.yaml", cm(""))]);
    link("..", &dir.path().join("a/loop"));
    link(".", &dir.path().join("a/here"));
    let (status, stdout, stderr) = render(dir.path());
    assert_eq!(status, 0, "{stderr}");
    assert!(!stderr.contains("[UnreadablePath]"), "{stderr}");
    for line in [
        "warning[SymlinkSkipped]: a/loop is a symbolic link to the tree's root, which contains the link: a loop, skipped",
        "warning[SymlinkSkipped]: a/here is a symbolic link to a/, which contains the link: a loop, skipped",
    ] {
        assert!(stderr.contains(line), "{line}\nnot in:\n{stderr}");
    }
    let stdout = String::from_utf8_lossy(&stdout);
    assert_eq!(stdout.matches("kind: ConfigMap").count(), 1, "{stdout}");
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_tree_is_not_followed() {
    let outside = tree(&[(
        "other.yaml",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: o, namespace: ns}\ndata: {k: OUTSIDE-MARKER}\n".to_vec(),
    )]);
    let dir = tree(&[("ok.yaml", cm(""))]);
    link(
        outside.path().join("other.yaml"),
        &dir.path().join("x.yaml"),
    );
    link(outside.path(), &dir.path().join("ext"));
    let (status, stdout, stderr) = render(dir.path());
    assert_eq!(status, 0, "{stderr}");
    // Neither rendered nor quoted under a diagnostic.
    assert!(!String::from_utf8_lossy(&stdout).contains("OUTSIDE-MARKER"));
    assert!(!stderr.contains("OUTSIDE-MARKER"), "{stderr}");
    let real = std::fs::canonicalize(outside.path()).expect("canonical");
    for line in [
        format!(
            "warning[SymlinkSkipped]: ext is a symbolic link to {}, outside the tree: skipped",
            real.display()
        ),
        format!(
            "warning[SymlinkSkipped]: x.yaml is a symbolic link to {}, outside the tree: skipped",
            real.join("other.yaml").display()
        ),
    ] {
        assert!(stderr.contains(&line), "{line}\nnot in:\n{stderr}");
    }
}

#[cfg(unix)]
#[test]
fn a_dangling_link_is_skipped_with_a_warning() {
    let dir = tree(&[("ok.yaml", cm(""))]);
    link("/nonexistent/aimc/x.yaml", &dir.path().join("gone.yaml"));
    link("y.yaml", &dir.path().join("x.yaml"));
    link("x.yaml", &dir.path().join("y.yaml"));
    // Not a name aimc reads: not worth a warning.
    link("missing.md", &dir.path().join("README.md"));
    let (status, _, stderr) = render(dir.path());
    assert_eq!(status, 0, "{stderr}");
    for line in [
        "warning[SymlinkSkipped]: gone.yaml is a symbolic link to /nonexistent/aimc/x.yaml, which does not exist: skipped",
        "warning[SymlinkSkipped]: x.yaml is a symbolic link to y.yaml, which cannot be resolved (",
        "warning[SymlinkSkipped]: y.yaml is a symbolic link to x.yaml, which cannot be resolved (",
    ] {
        assert!(stderr.contains(line), "{line}\nnot in:\n{stderr}");
    }
    assert!(!stderr.contains("README"), "{stderr}");
}

/// Reached by its own path and through links (a file link, a directory link), a file is read
/// once: no `DuplicateObject`, and it is named by its own path.
#[cfg(unix)]
#[test]
fn a_link_inside_the_tree_is_read_once() {
    let dir = tree(&[("base/cm.yaml", cm(""))]);
    link("../base/cm.yaml", &dir.path().join("overlay/cm.yaml"));
    link("base/cm.yaml", &dir.path().join("a-cm.yaml"));
    link("base", &dir.path().join("all"));
    let (status, stdout, stderr) = render(dir.path());
    assert_eq!(status, 0, "{stderr}");
    let stdout = String::from_utf8_lossy(&stdout);
    assert_eq!(stdout.matches("kind: ConfigMap").count(), 1, "{stdout}");
    assert!(!stderr.contains("[SymlinkSkipped]"), "{stderr}");

    // The same tree with a broken object: its error names the real file, not a link to it
    // (`a-bad.yaml` sorts first).
    let missing_name = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: ns}\n".to_vec();
    std::fs::write(dir.path().join("base/bad.yaml"), &missing_name).expect("write");
    link("base/bad.yaml", &dir.path().join("a-bad.yaml"));
    let (status, _, stderr) = render(dir.path());
    assert_eq!(status, 1, "{stderr}");
    assert!(!stderr.contains("[DuplicateObject]"), "{stderr}");
    assert_eq!(stderr.matches("[MissingField]").count(), 1, "{stderr}");
    assert!(stderr.contains("base/bad.yaml:"), "{stderr}");
    assert!(!stderr.contains("a-bad.yaml"), "{stderr}");

    // Reached only through a link (hidden directories are not walked): named by the link.
    let dir = tree(&[(".shared/bad.yaml", missing_name)]);
    link(".shared/bad.yaml", &dir.path().join("svc.yaml"));
    let (status, _, stderr) = render(dir.path());
    assert_eq!(status, 1, "{stderr}");
    assert!(
        stderr.contains("svc.yaml:") && stderr.contains("[MissingField]"),
        "{stderr}"
    );
    assert!(!stderr.contains(".shared"), "{stderr}");
}

/// A directory without read permission. Root reads every directory, so as root (CI here)
/// the same failure is produced with a path that is not a directory at all.
#[cfg(unix)]
#[test]
fn unreadable_directory() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let locked = dir.path().join("locked");
    std::fs::create_dir_all(&locked).expect("mkdir");
    std::fs::write(locked.join("x.yaml"), cm("")).expect("write");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let readable_anyway = std::fs::read_dir(&locked).is_ok();
    if readable_anyway {
        // Root: no permission stops it, but a path longer than PATH_MAX (4,096 bytes) cannot
        // be opened either. Built by relative steps, since no single call could name it.
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::remove_dir_all(&locked).expect("rm");
        let step = "d".repeat(200);
        let script = format!(
            "cd \"$1\" && for i in $(seq 25); do mkdir {step} && cd -P {step} || exit 1; done && echo 'a: 1' > x.yaml"
        );
        let built = std::process::Command::new("sh")
            .args(["-c", &script, "sh"])
            .arg(dir.path())
            .status()
            .expect("sh");
        assert!(built.success());
    }
    let (status, stdout, stderr) = render(dir.path());
    let _ = std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755));
    assert_eq!(status, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("[UnreadablePath]"), "{stderr}");
}
