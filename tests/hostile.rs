//! Broken and malicious inputs: each ends with a clean diagnostic and exit 1, quickly, with
//! nothing on stdout and no panic. Inputs are generated here, not checked in.

use assert_cmd::Command;
use std::path::Path;

fn render(dir: &Path) -> (i32, Vec<u8>, String) {
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .arg("render")
        .arg(dir)
        .env_remove("ARGOCD_APP_NAMESPACE")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit 1, empty stdout, the diagnostic code on stderr, no panic.
fn rejects(files: &[(&str, Vec<u8>)], code: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }
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
    rejects(&[("bomb.yaml", s.into_bytes())], "AliasBudget");
}

#[test]
fn ten_thousand_levels_of_nesting() {
    let deep = format!("data:\n  k: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    rejects(&[("deep.yaml", cm(&deep))], "YamlBudget");
    let deep_map = format!(
        "data:\n  k: {}1{}\n",
        "{a: ".repeat(10_000),
        "}".repeat(10_000)
    );
    rejects(&[("deepmap.yaml", cm(&deep_map))], "YamlBudget");
}

#[test]
fn a_hundred_megabyte_document() {
    let big = format!("data:\n  k: \"{}\"\n", "x".repeat(100 * 1024 * 1024));
    rejects(&[("big.yaml", cm(&big))], "YamlBudget");
}

#[test]
fn a_hundred_thousand_tiny_documents() {
    let mut s = String::with_capacity(100_000 * 60);
    for i in 0..100_000 {
        s.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}, namespace: ns}}\n"
        ));
    }
    rejects(&[("many.yaml", s.into_bytes())], "YamlBudget");
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
#[test]
fn symlink_loops_and_dangling_links() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("a")).expect("mkdir");
    std::os::unix::fs::symlink("..", dir.path().join("a/loop")).expect("symlink");
    std::fs::write(dir.path().join("a/ok.yaml"), cm("")).expect("write");
    let (status, stdout, stderr) = render(dir.path());
    assert_eq!(status, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("[UnreadablePath]") && stderr.contains("symbolic link loop"),
        "{stderr}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    std::os::unix::fs::symlink("/nonexistent/aimc/x.yaml", dir.path().join("gone.yaml"))
        .expect("symlink");
    let (status, stdout, stderr) = render(dir.path());
    assert_eq!(status, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("[UnreadablePath]"), "{stderr}");
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
        // Root: a file where a directory is expected below the tree makes the same walk error.
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::remove_dir_all(&locked).expect("rm");
        std::fs::write(dir.path().join("dir.yaml"), cm("")).expect("write");
        std::os::unix::fs::symlink(dir.path().join("dir.yaml/x"), dir.path().join("sub.yaml"))
            .expect("symlink");
    }
    let (status, stdout, stderr) = render(dir.path());
    let _ = std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755));
    assert_eq!(status, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("[UnreadablePath]"), "{stderr}");
}
