//! The layout's one-way data flow, held by the sources themselves: a module may use only
//! those below it. `diag` is the bottom: every phase reports through it, so it imports none.

use std::path::Path;

fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(sources(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push((
                p.display().to_string(),
                std::fs::read_to_string(&p).expect("read"),
            ));
        }
    }
    out
}

/// `crate::<module>` paths a file names, other than its own module's.
fn uses_of(text: &str, own: &str) -> Vec<String> {
    text.match_indices("crate::")
        .map(|(i, _)| {
            text[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| m != own)
        .collect()
}

#[test]
fn diag_imports_nothing_of_aimc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/diag");
    for (file, text) in sources(&root) {
        let uses = uses_of(&text, "diag");
        assert!(
            uses.is_empty(),
            "{file} uses crate::{uses:?}: diag must stay below every phase"
        );
    }
}

#[test]
fn no_phase_imports_the_cli() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for module in [
        "load", "api", "resolve", "render", "emit", "check", "diag", "golden",
    ] {
        for (file, text) in sources(&src.join(module)) {
            assert!(
                !uses_of(&text, module).iter().any(|m| m == "cli"),
                "{file} imports the CLI"
            );
        }
    }
}
