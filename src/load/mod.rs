//! Reading a repository: walk the tree, split documents, parse with spans, index objects.

mod config;
mod index;
pub mod yaml;

pub use config::ProjectConfig;
pub use index::{AimObject, Index, ObjKey, Object};

use crate::diag::{Diagnostic, Diagnostics, Location};
use std::path::{Path, PathBuf};

/// Files at the root that configure aimc instead of describing cluster objects.
pub const CONFIG_FILE: &str = "aimc.yaml";
pub const LOCK_FILE: &str = "aim.lock.yaml";

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Namespace for namespaced objects that do not name one (`--namespace`, `ARGOCD_APP_NAMESPACE`).
    pub default_namespace: Option<String>,
}

/// A failure that is not about the inputs' content: the tree cannot be read at all.
#[derive(Debug)]
pub struct IoError {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl std::fmt::Display for IoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

pub struct Loaded {
    pub index: Index,
    pub config: ProjectConfig,
    pub diagnostics: Diagnostics,
}

/// Every `*.yaml`/`*.yml` below `root`, sorted, hidden directories skipped (offline.md "Inputs").
pub fn find_files(root: &Path) -> Result<Vec<PathBuf>, IoError> {
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| IoError {
            path: e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| root.to_path_buf()),
            error: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk error")),
        })?;
        let is_yaml = entry
            .path()
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yaml" || e == "yml");
        if is_yaml && entry.file_type().is_file() {
            files.push(entry.into_path());
        }
    }
    files.sort();
    Ok(files)
}

/// Loads a tree. I/O failures are `Err`; everything wrong with the content is a diagnostic.
pub fn load_dir(root: &Path, opts: &LoadOptions) -> Result<Loaded, IoError> {
    let mut sources = Vec::new();
    for path in find_files(root)? {
        let bytes = std::fs::read(&path).map_err(|error| IoError {
            path: path.clone(),
            error,
        })?;
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        sources.push((rel, bytes));
    }
    Ok(load_sources(sources, opts))
}

/// Loads in-memory sources (relative path, bytes); the order they come in does not matter.
pub fn load_sources(mut sources: Vec<(PathBuf, Vec<u8>)>, opts: &LoadOptions) -> Loaded {
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    let mut diags = Diagnostics::default();
    let mut config = ProjectConfig::default();
    let mut index = Index::default();
    for (rel, bytes) in sources {
        let Some(text) = decode(&rel, &bytes, &mut diags) else {
            continue;
        };
        if rel == Path::new(CONFIG_FILE) {
            config = ProjectConfig::parse(&rel, text, &mut diags);
            continue;
        }
        if rel == Path::new(LOCK_FILE) {
            diags.push(
                Diagnostic::warning(
                    "LockFileUnsupported",
                    "aim.lock.yaml is not read by this version of aimc",
                )
                .at(Some(Location::new(&rel, 1, 1)))
                .help("lock-file facts (discovery, sizes, UIDs) arrive with model caching support"),
            );
            continue;
        }
        for (doc, node) in parse_documents(&rel, text, &mut diags)
            .into_iter()
            .enumerate()
        {
            index.add_document(&rel, doc, node, opts, &mut diags);
        }
    }
    index.finish(&mut diags);
    Loaded {
        index,
        config,
        diagnostics: diags,
    }
}

fn decode<'a>(rel: &Path, bytes: &'a [u8], diags: &mut Diagnostics) -> Option<&'a str> {
    match std::str::from_utf8(bytes) {
        Ok(t) => Some(t.strip_prefix('\u{feff}').unwrap_or(t)),
        Err(e) => {
            let (line, col) = line_col(bytes, e.valid_up_to());
            diags.push(
                Diagnostic::error("InvalidUtf8", "file is not valid UTF-8")
                    .at(Some(Location::new(rel, line, col)))
                    .help("YAML inputs must be UTF-8 text; remove binary files or rename them away from .yaml"),
            );
            None
        }
    }
}

fn line_col(bytes: &[u8], offset: usize) -> (u32, u32) {
    let before = bytes.get(..offset).unwrap_or(bytes);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line as u32, col as u32)
}

/// Parses every document of a file; on a syntax error the whole file is rejected, so no
/// object of a half-read file can leak into the output.
pub fn parse_documents(rel: &Path, text: &str, diags: &mut Diagnostics) -> Vec<yaml::Node> {
    match yaml::parse_multi(text) {
        Ok(docs) => docs,
        Err(e) => {
            diags.push(
                Diagnostic::error(e.code, e.message)
                    .at(Some(Location::new(rel, e.line, e.col)))
                    .help(e.help),
            );
            Vec::new()
        }
    }
}
