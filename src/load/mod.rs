//! Reading a repository: walk the tree, split documents, parse with spans, index objects.

mod config;
mod index;
pub mod lock;
pub mod project;
pub mod yaml;

pub use config::ProjectConfig;
pub(crate) use index::string_map;
pub use index::{AimObject, DocRef, Index, ObjKey, Object, SourceFile, SrcRef};
pub use lock::Lock;

use crate::diag::{Diagnostic, Diagnostics, Location};
use std::path::{Path, PathBuf};

/// Files at the root that configure aimc instead of describing cluster objects.
pub const CONFIG_FILE: &str = "aimc.yaml";
pub const LOCK_FILE: &str = "aim.lock.yaml";
/// The file `aimc render -o` and `aimc diff --update` write into every directory they own:
/// such a directory is output, replaced whole on the next run and never read back as input.
pub const OUTPUT_MARKER: &str = ".aimc-output";

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Namespace for namespaced objects that do not name one (`--namespace`, `ARGOCD_APP_NAMESPACE`).
    pub default_namespace: Option<String>,
    /// `--skip-foreign`: leave out whole files that mention no AIM apiVersion and are not all
    /// Kubernetes objects, with an info each, instead of rejecting them.
    pub skip_foreign: bool,
    /// `--exclude`: paths relative to the root whose files are not read.
    pub exclude: Vec<PathBuf>,
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
    find_files_except(root, &[])
}

/// [`find_files`] without the files below `exclude` (relative to `root`, or absolute).
pub fn find_files_except(
    root: &Path,
    exclude: &[PathBuf],
) -> Result<(Vec<PathBuf>, Vec<Diagnostic>), IoError> {
    // The root itself must be readable: that is a usage error, not an input error.
    std::fs::read_dir(root).map_err(|error| IoError {
        path: root.to_path_buf(),
        error,
    })?;
    // `./golden` and `golden/` name the same directory as the walk's `golden`.
    let exclude: Vec<PathBuf> = exclude
        .iter()
        .map(|p| {
            p.components()
                .filter(|c| !matches!(c, std::path::Component::CurDir))
                .collect()
        })
        .filter(|p: &PathBuf| !p.as_os_str().is_empty())
        .collect();
    let excluded = |path: &Path| {
        exclude.iter().any(|x| {
            if x.is_absolute() {
                path.starts_with(x)
            } else {
                path.strip_prefix(root).is_ok_and(|rel| rel.starts_with(x))
            }
        })
    };
    let mut files = Vec::new();
    let mut diags = Vec::new();
    let mut skipped = Vec::new();
    // Symlinks are followed (a linked manifest is part of the tree); walkdir detects loops.
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            if e.file_name().to_string_lossy().starts_with('.') || excluded(e.path()) {
                return false;
            }
            match e
                .file_type()
                .is_dir()
                .then(|| not_input(e.path()))
                .flatten()
            {
                Some(why) => {
                    skipped.push((e.path().to_path_buf(), why));
                    false
                }
                None => true,
            }
        });
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
    for (dir, why) in skipped {
        let rel = dir.strip_prefix(root).unwrap_or(&dir);
        diags.push(why.diagnostic(rel));
    }
    Ok((files, diags))
}

/// Why a directory inside the tree is not part of it.
#[derive(Debug, Clone, Copy)]
enum NotInput {
    /// It holds aimc's rendered output.
    Output,
    /// It holds an `aimc.yaml` or `aim.lock.yaml` (the file named) of its own: another project.
    NestedProject(&'static str),
}

fn not_input(dir: &Path) -> Option<NotInput> {
    if dir.join(OUTPUT_MARKER).exists() {
        Some(NotInput::Output)
    } else if dir.join(CONFIG_FILE).is_file() {
        Some(NotInput::NestedProject(CONFIG_FILE))
    } else if dir.join(LOCK_FILE).is_file() {
        Some(NotInput::NestedProject(LOCK_FILE))
    } else {
        None
    }
}

impl NotInput {
    fn diagnostic(self, rel: &Path) -> Diagnostic {
        let d = rel.display();
        let (marker, diag) = match self {
            NotInput::Output => (
                OUTPUT_MARKER,
                Diagnostic::info(
                    "OutputDirSkipped",
                    format!("{d}/ holds aimc's rendered output ({OUTPUT_MARKER}): not read as input"),
                )
                .help(format!(
                    "rendered output is never read back; delete {d}/{OUTPUT_MARKER} if the directory holds sources"
                )),
            ),
            NotInput::NestedProject(file) => (
                file,
                Diagnostic::info(
                    "NestedProjectSkipped",
                    format!("{d}/ has its own {file}: a separate project, not read as part of this one"),
                )
                .help(format!("check it on its own: aimc validate {d}")),
            ),
        };
        diag.at(Some(Location::new(rel.join(marker), 1, 1)))
    }
}

/// Loads a tree. An unreadable root is `Err`; everything else, unreadable files inside the
/// tree included, is a diagnostic.
pub fn load_dir(root: &Path, opts: &LoadOptions) -> Result<Loaded, IoError> {
    let (files, walk_diags) = find_files_except(root, &opts.exclude)?;
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
    let is_settings = rel == Path::new(CONFIG_FILE) || rel == Path::new(LOCK_FILE);
    let maybe_foreign = opts.skip_foreign
        && !is_settings
        && !bytes
            .windows(crate::api::AIM_GROUP.len())
            .any(|w| w == crate::api::AIM_GROUP.as_bytes());
    let out = load_objects(rel.clone(), bytes, opts);
    if !maybe_foreign {
        return out;
    }
    // Only the code of the first problem: the file is not the user's AIM tree, and its
    // contents (a CI config, Helm values) may hold anything.
    let Some(first) = out.diagnostics.iter().find(|d| d.is_error()) else {
        return out;
    };
    let skipped = Diagnostic::info(
        "ForeignFileSkipped",
        format!(
            "skipped: no AIM object and not Kubernetes objects ({})",
            first.code
        ),
    )
    .at(Some(Location::new(&rel, 1, 1)))
    .help("--skip-foreign leaves such files out; without it they are errors");
    FileResult {
        diagnostics: vec![skipped],
        ..FileResult::default()
    }
}

fn load_objects(rel: PathBuf, bytes: Vec<u8>, opts: &LoadOptions) -> FileResult {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(files: &[(&str, &str)], skip_foreign: bool) -> Loaded {
        let sources = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.as_bytes().to_vec()))
            .collect();
        let opts = LoadOptions {
            skip_foreign,
            ..LoadOptions::default()
        };
        load_sources(sources, &opts)
    }

    fn codes(l: &Loaded) -> Vec<(String, &'static str)> {
        l.diagnostics
            .iter()
            .map(|d| {
                let file = d.location.as_ref().map(|l| l.file.display().to_string());
                (file.unwrap_or_default(), d.code)
            })
            .collect()
    }

    const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";
    const COMPOSE: &str = "services:\n  web: {image: nginx}\n";
    const TEMPLATE: &str = "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n";
    const KUSTOMIZATION: &str =
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n";
    const BAD_AIM: &str = "apiVersion: aim.eai.amd.com/v1alpha1\nkind: AIMService\nmetadata: {name: s, namespace: a}\nspec: {replica: 1}\n";

    #[test]
    fn foreign_files_are_skipped_with_an_info_each() {
        let files = [
            ("compose.yaml", COMPOSE),
            ("chart/templates/d.yaml", TEMPLATE),
            ("kustomization.yaml", KUSTOMIZATION),
            ("ns.yaml", NS),
        ];
        let l = load(&files, true);
        assert!(!l.diagnostics.has_errors(), "{:?}", codes(&l));
        let skipped: Vec<String> = codes(&l)
            .into_iter()
            .filter(|(_, c)| *c == "ForeignFileSkipped")
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            skipped,
            [
                "chart/templates/d.yaml",
                "compose.yaml",
                "kustomization.yaml"
            ]
        );
        // Kubernetes objects are still read (they declare secrets and namespaces).
        assert_eq!(l.index.objects().len(), 1);
        // Without the option the same files are errors.
        assert!(load(&files, false).diagnostics.has_errors());
    }

    #[test]
    fn a_file_with_an_aim_object_is_never_skipped() {
        let l = load(&[("svc.yaml", BAD_AIM)], true);
        assert!(l.diagnostics.has_errors(), "{:?}", codes(&l));
        assert!(!codes(&l).iter().any(|(_, c)| *c == "ForeignFileSkipped"));
    }

    #[test]
    fn a_file_is_skipped_whole_not_document_by_document() {
        let mixed = format!("{NS}---\n{COMPOSE}");
        let l = load(&[("mixed.yaml", &mixed)], true);
        assert_eq!(codes(&l), [("mixed.yaml".to_owned(), "ForeignFileSkipped")]);
        assert_eq!(l.index.objects().len(), 0);
    }

    #[test]
    fn settings_files_keep_their_errors() {
        let l = load(&[(CONFIG_FILE, "bogus: 1\n")], true);
        assert!(l.diagnostics.has_errors(), "{:?}", codes(&l));
    }

    #[test]
    fn excluded_paths_are_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        for rel in ["golden/a/x.yaml", "goldenish/y.yaml", "src/z.yaml"] {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, NS).expect("write");
        }
        let rel = |files: Vec<PathBuf>| -> Vec<String> {
            files
                .iter()
                .map(|f| {
                    f.strip_prefix(dir.path())
                        .expect("below")
                        .display()
                        .to_string()
                })
                .collect()
        };
        for exclude in ["golden", "./golden", "golden/"] {
            let files = find_files_except(dir.path(), &[PathBuf::from(exclude)])
                .expect("walk")
                .0;
            assert_eq!(rel(files), ["goldenish/y.yaml", "src/z.yaml"], "{exclude}");
        }
        let absolute = find_files_except(dir.path(), &[dir.path().join("golden")]);
        assert_eq!(
            rel(absolute.expect("walk").0),
            ["goldenish/y.yaml", "src/z.yaml"]
        );
        let all = find_files_except(dir.path(), &[PathBuf::from("."), PathBuf::new()]);
        assert_eq!(rel(all.expect("walk").0).len(), 3, "`.` excludes nothing");
    }
}
