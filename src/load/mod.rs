//! Reading a repository: walk the tree, split documents, parse with spans, index objects.

mod config;
mod index;
pub mod lock;
pub mod yaml;

pub use config::ProjectConfig;
pub use index::{AimObject, DocRef, Index, ObjKey, Object, SourceFile, SrcRef};
pub use lock::Lock;

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
    pub lock: Lock,
    pub diagnostics: Diagnostics,
}

/// Every `*.yaml`/`*.yml` below `root`, sorted, hidden directories skipped (offline.md "Inputs").
pub fn find_files(root: &Path) -> Result<(Vec<PathBuf>, Vec<Diagnostic>), IoError> {
    // The root itself must be readable: that is a usage error, not an input error.
    std::fs::read_dir(root).map_err(|error| IoError {
        path: root.to_path_buf(),
        error,
    })?;
    let mut files = Vec::new();
    let mut diags = Vec::new();
    // Symlinks are followed (a linked manifest is part of the tree); walkdir detects loops.
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                let what = if e.loop_ancestor().is_some() {
                    "symbolic link loop".to_owned()
                } else {
                    e.to_string()
                };
                diags.push(
                    Diagnostic::error(
                        "UnreadablePath",
                        format!("cannot read {}: {what}", rel.display()),
                    )
                    .at(Some(Location::new(&rel, 1, 1)))
                    .help("fix the permissions or the link, or move it out of the tree"),
                );
                continue;
            }
        };
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
    Ok((files, diags))
}

/// Loads a tree. An unreadable root is `Err`; everything else, unreadable files inside the
/// tree included, is a diagnostic.
pub fn load_dir(root: &Path, opts: &LoadOptions) -> Result<Loaded, IoError> {
    let (files, walk_diags) = find_files(root)?;
    let mut sources = Vec::new();
    let mut read_diags = Vec::new();
    for path in files {
        let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        match std::fs::read(&path) {
            Ok(bytes) => sources.push((rel, bytes)),
            Err(e) => read_diags.push(
                Diagnostic::error(
                    "UnreadablePath",
                    format!("cannot read {}: {e}", rel.display()),
                )
                .at(Some(Location::new(&rel, 1, 1)))
                .help("fix the file's permissions, or move it out of the tree"),
            ),
        }
    }
    let mut loaded = load_sources(sources, opts);
    loaded.diagnostics.extend(walk_diags);
    loaded.diagnostics.extend(read_diags);
    Ok(loaded)
}

/// Loads in-memory sources (relative path, bytes); the order they come in does not matter.
/// Files are parsed in parallel; the result does not depend on the thread count.
pub fn load_sources(mut sources: Vec<(PathBuf, Vec<u8>)>, opts: &LoadOptions) -> Loaded {
    sources.sort_by(|a, b| a.0.cmp(&b.0));
    let results = parallel_map(sources, |(rel, bytes)| load_file(rel, bytes, opts));
    let mut diags = Diagnostics::default();
    let mut config = ProjectConfig::default();
    let mut lock = Lock::default();
    let mut index = Index::default();
    for r in results {
        diags.extend(r.diagnostics);
        if let Some(c) = r.config {
            config = c;
        }
        if let Some(l) = r.lock {
            lock = l;
        }
        for o in r.objects {
            index.push(o);
        }
    }
    index.finish(&mut diags);
    Loaded {
        index,
        config,
        lock,
        diagnostics: diags,
    }
}

#[derive(Default)]
struct FileResult {
    objects: Vec<Object>,
    diagnostics: Vec<Diagnostic>,
    config: Option<ProjectConfig>,
    lock: Option<Lock>,
}

fn load_file(rel: PathBuf, bytes: Vec<u8>, opts: &LoadOptions) -> FileResult {
    let mut out = FileResult::default();
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let (line, col) = line_col(e.as_bytes(), e.utf8_error().valid_up_to());
            out.diagnostics.push(
                Diagnostic::error("InvalidUtf8", "file is not valid UTF-8")
                    .at(Some(Location::new(&rel, line, col)))
                    .help("YAML inputs must be UTF-8 text; remove binary files or rename them away from .yaml"),
            );
            return out;
        }
    };
    let text = match text.strip_prefix('\u{feff}') {
        Some(t) => t.to_owned(),
        None => text,
    };
    if rel == Path::new(CONFIG_FILE) {
        let mut diags = Diagnostics::default();
        out.config = Some(ProjectConfig::parse(&rel, &text, &mut diags));
        out.diagnostics.extend(diags);
        return out;
    }
    if rel == Path::new(LOCK_FILE) {
        let mut diags = Diagnostics::default();
        out.lock = Some(Lock::parse(&rel, &text, &mut diags));
        out.diagnostics.extend(diags);
        return out;
    }
    let docs = match yaml::parse_values(&text) {
        Ok(d) => d,
        Err(e) => {
            out.diagnostics.push(
                Diagnostic::error(e.code, e.message)
                    .at(Some(Location::new(&rel, e.line, e.col)))
                    .help(e.help),
            );
            return out;
        }
    };
    let source = SourceFile::new(rel, text);
    for (doc, (line, col, value)) in docs.into_iter().enumerate() {
        if value.is_null() {
            continue;
        }
        let d = DocRef {
            source: source.clone(),
            doc,
            line,
            col,
        };
        match index::build_object(d, value, opts) {
            Ok(o) => out.objects.push(o),
            Err(diag) => out.diagnostics.push(diag),
        }
    }
    out
}

/// Worker threads: `AIMC_THREADS` when set (tests use it to prove the output does not
/// depend on it), else the available cores.
pub fn thread_count() -> usize {
    std::env::var("AIMC_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Maps `f` over `items` on all available cores, keeping the input order.
pub fn parallel_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = thread_count().min(items.len().max(1));
    if threads <= 1 {
        return items.into_iter().map(f).collect();
    }
    let len = items.len();
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                        match next {
                            Some((i, item)) => mine.push((i, f(item))),
                            None => break mine,
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    debug_assert_eq!(results.len(), len);
    results.into_iter().map(|(_, r)| r).collect()
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
