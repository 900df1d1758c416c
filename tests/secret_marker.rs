//! Every example, with a Secret carrying a known marker: the marker appears in no diagnostic
//! and no error message of render or validate, and in rendered output only inside that
//! passed-through Secret.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const MARKER: &str = "MARKER-7f3a9c-DO-NOT-LEAK";

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(from).expect("below");
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir() && !p.ends_with("ci"))
        .collect();
    dirs.sort();
    dirs
}

fn aimc(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::cargo_bin("aimc")
        .expect("bin")
        .current_dir(cwd)
        .args(args)
        .env_remove("ARGOCD_APP_NAMESPACE")
        .env_remove("CI")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_secret_marker_never_leaks() {
    for ex in examples() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let repo = tmp.path().join("repo");
        copy_dir(&ex, &repo);
        let secret = format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: marker\n  namespace: marker-ns\nstringData:\n  token: {MARKER}\n  HF_TOKEN: {MARKER}\n"
        );
        std::fs::write(repo.join("zz-marker-secret.yaml"), secret).expect("write");
        // The same marker as a literal credential in an AIM object: validate must flag it
        // without printing it.
        let leaky = format!(
            "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMRuntimeConfig\nmetadata:\n  name: leaky\n  namespace: marker-ns\nspec:\n  env:\n    - name: HF_TOKEN\n      value: {MARKER}\n"
        );
        std::fs::write(repo.join("zz-leaky.yaml"), leaky).expect("write");

        let (code, out, err) = aimc(&["render", "."], &repo);
        assert_eq!(code, 0, "{}: {err}", ex.display());
        assert!(
            !err.contains(MARKER),
            "{}: render stderr leaks:\n{err}",
            ex.display()
        );
        // In the output, only inside the passed-through Secret.
        for doc in out.split("\n---\n") {
            if doc.contains(MARKER) {
                assert!(
                    doc.contains("kind: Secret") && doc.contains("name: marker"),
                    "{}: marker outside its Secret:\n{doc}",
                    ex.display()
                );
            }
        }
        for fmt in ["text", "json", "github", "sarif"] {
            let (code, out, err) = aimc(&["validate", ".", "--format", fmt], &repo);
            assert_eq!(
                code,
                1,
                "{}: the literal credential is an error",
                ex.display()
            );
            assert!(out.contains("LiteralCredential"), "{}", ex.display());
            assert!(
                !out.contains(MARKER) && !err.contains(MARKER),
                "{} ({fmt}) leaks:\n{out}{err}",
                ex.display()
            );
        }
    }
}
