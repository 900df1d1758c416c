//! Route path templates end to end: what the operator does with a template client-go rejects.

use assert_cmd::Command;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read example") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// `=~` is no client-go operator: the template fails to parse, so the operator falls back to
/// the default path, and aimc says so with client-go's parse error. The service has no `env`,
/// so only a parse-time rejection produces this message (evaluating would stop at `env`).
#[test]
fn a_regex_filter_falls_back_to_the_default_path() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("routing");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/routing"),
        &dir,
    );
    std::fs::write(
        dir.join("tilde.yaml"),
        "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata:\n  name: tilde\n  namespace: ml-team\nspec:\n  model:\n    name: qwen3-8b\n  routing:\n    pathTemplate: \"/x/{.spec.env[?(@.name=~'A')].value}\"\n",
    )
    .expect("write");
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .arg("render")
        .arg(&dir)
        .env_remove("ARGOCD_APP_NAMESPACE")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let expected = "tilde.yaml:10:19: warning[PathTemplateInvalid]: failed to evaluate route \
         template \".spec.env[?(@.name=~'A')].value\": invalid jsonpath expression: unrecognized \
         character in action: U+007E '~'; the operator silently falls back to the default path";
    assert!(stderr.contains(expected), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let route = stdout
        .split("\n---\n")
        .find(|d| d.contains("kind: HTTPRoute") && d.contains("name: tilde"))
        .unwrap_or_else(|| panic!("no HTTPRoute for tilde in:\n{stdout}"));
    assert!(route.contains("value: /ml-team/tilde"), "{route}");
    assert!(!route.contains("/x/"), "{route}");
}
