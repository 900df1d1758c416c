//! Helpers shared by the integration tests that render in-memory trees.
#![allow(dead_code)] // each test crate uses its own subset

use aimc::cli::render::{render_loaded, GitopsArg, Outcome, RenderFlags};
use aimc::emit::EmitMode;
use aimc::load::{load_sources, LoadOptions};
use serde_json::Value;
use std::path::PathBuf;

/// Renders `(path, text)` files with `flags`, as `aimc render` would a tree holding them.
pub fn render_files(files: &[(&str, &str)], flags: &RenderFlags) -> Outcome {
    let sources = files
        .iter()
        .map(|(p, t)| (PathBuf::from(p), t.as_bytes().to_vec()))
        .collect();
    render_loaded(load_sources(sources, &LoadOptions::default()), flags)
}

/// The operator's objects exactly (`--gitops none`) for `emit`; fails the test on any error.
pub fn render_ok(files: &[(&str, &str)], emit: EmitMode) -> Vec<Value> {
    let flags = RenderFlags {
        emit: Some(emit),
        gitops: Some(GitopsArg::None),
        ..RenderFlags::default()
    };
    let outcome = render_files(files, &flags);
    let errors: Vec<String> = outcome
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.to_string())
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    outcome.objects.expect("objects")
}

/// Copies the directory tree `from` to `to` (created), files and subdirectories.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
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
