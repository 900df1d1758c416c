//! Every example renders to exactly its checked-in golden directory.
//!
//! `AIMC_UPDATE_GOLDEN=1 cargo test --test golden` rewrites the goldens (refused when `CI` is
//! set); a missing golden directory fails.

use aimc::cli::render::{
    render_dir, render_documents, render_loaded, GitopsArg, RenderArgs, RenderFlags,
};
use aimc::emit::{self, EmitMode, Format};
use aimc::load::{self, LoadOptions};
use std::path::{Path, PathBuf};

fn args(dir: &Path) -> RenderArgs {
    args_for(dir, EmitMode::Concrete)
}

fn args_for(dir: &Path, emit: EmitMode) -> RenderArgs {
    RenderArgs {
        dir: dir.to_path_buf(),
        flags: RenderFlags {
            emit: Some(emit),
            ..RenderFlags::default()
        },
        output: None,
        format: Format::Yaml,
    }
}

fn examples() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("examples/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "ci"))
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn examples_match_goldens() {
    let update = std::env::var_os("AIMC_UPDATE_GOLDEN").is_some_and(|v| v == "1");
    assert!(
        !(update && std::env::var_os("CI").is_some()),
        "refusing to update goldens when CI is set"
    );
    let golden_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("golden");
    let mut failures = Vec::new();
    let examples = examples();
    assert!(
        examples.len() >= 4,
        "expected the four examples, found {examples:?}"
    );
    for ex in examples {
        let name = ex
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 name")
            .to_owned();
        // Each example has a golden per output mode: golden/<example>/<mode>/ in the -o layout.
        for (mode, mode_name) in [(EmitMode::Concrete, "concrete"), (EmitMode::All, "all")] {
            // The path `aimc render` takes: objects serialised as they are rendered.
            let loaded = load::load_dir(&ex, &LoadOptions::default()).expect("example readable");
            let outcome = render_documents(loaded, &args_for(&ex, mode).flags, Format::Yaml);
            let errors: Vec<String> = outcome
                .diagnostics
                .iter()
                .filter(|d| d.is_error())
                .map(|d| d.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "example {name} has errors:\n{}",
                errors.join("\n")
            );
            let docs = outcome.objects.expect("objects when no errors");
            let actual: std::collections::BTreeMap<PathBuf, String> =
                emit::layout_docs(&docs, Format::Yaml)
                    .expect("layout")
                    .into_iter()
                    .map(|(p, t)| (p, t.to_owned()))
                    .collect();
            let dir = golden_root.join(&name).join(mode_name);
            if update {
                aimc::golden::replace_dir(&dir, &actual).expect("update goldens");
                continue;
            }
            if !dir.is_dir() {
                failures.push(format!("{name}: golden directory {} is missing (run AIMC_UPDATE_GOLDEN=1 cargo test --test golden)", dir.display()));
                continue;
            }
            let expected = aimc::golden::read_dir(&dir).expect("read goldens");
            if let Some(report) = aimc::golden::compare(&expected, &actual) {
                failures.push(format!("{name} ({mode_name}):\n{report}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "goldens differ:\n{}",
        failures.join("\n")
    );
}

/// `render`, `-o` and Argo CD serialise each object as it is rendered; `diff`, `validate` and
/// `explain` work on the JSON objects. Both must give the same bytes, in every mode.
#[test]
fn serialised_and_json_paths_agree() {
    for ex in examples() {
        for emit_mode in [EmitMode::Concrete, EmitMode::All, EmitMode::Aim] {
            for gitops in [GitopsArg::Argocd, GitopsArg::None] {
                for format in [Format::Yaml, Format::Json] {
                    let flags = RenderFlags {
                        emit: Some(emit_mode),
                        gitops: Some(gitops),
                        ..RenderFlags::default()
                    };
                    let load = || load::load_dir(&ex, &LoadOptions::default()).expect("readable");
                    let values = render_loaded(load(), &flags);
                    let docs = render_documents(load(), &flags, format);
                    let context = format!("{} {emit_mode:?} {gitops:?} {format:?}", ex.display());
                    assert_eq!(values.diagnostics, docs.diagnostics, "{context}");
                    let values = values.objects.expect("objects");
                    let docs = docs.objects.expect("documents");
                    let mut streamed = Vec::new();
                    emit::write_stream(&docs, format, &mut streamed).expect("write");
                    let expected = emit::stream(&values, format).expect("stream");
                    assert_eq!(
                        String::from_utf8(streamed).expect("utf-8"),
                        expected,
                        "{context}"
                    );
                }
            }
        }
    }
}

#[test]
fn output_does_not_depend_on_file_order_or_location() {
    for ex in examples() {
        let first = render_dir(&args(&ex)).expect("readable").objects;
        // Same files under different names and a different root: identical objects.
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut files = Vec::new();
        for entry in walk(&ex) {
            files.push(entry);
        }
        files.reverse();
        for (i, f) in files.iter().enumerate() {
            let text = std::fs::read(f).expect("read");
            let rel = f.strip_prefix(&ex).expect("under example");
            // Project files keep their names at the root; everything else is renamed.
            let target = if rel == Path::new("aimc.yaml") || rel == Path::new("aim.lock.yaml") {
                tmp.path().join(rel)
            } else {
                tmp.path().join(format!(
                    "z{:03}-{}",
                    files.len() - i,
                    rel.to_string_lossy().replace('/', "_")
                ))
            };
            std::fs::write(target, text).expect("write");
        }
        let second = render_dir(&args(tmp.path())).expect("readable").objects;
        assert_eq!(
            first,
            second,
            "{} renders differently when its files are renamed and reordered",
            ex.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
