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
///
/// Symbolic links are followed only within the tree: a link that leaves it, dangles, or
/// points at a directory holding the link itself (a loop) is skipped with a `SymlinkSkipped`
/// warning. A file reached both by its own path and through links is listed once, by its own
/// path (the one a fix is made in, and stable when links come and go); a file reached only
/// through links (say in a hidden directory) by the first link in sorted order.
pub fn find_files_except(
    root: &Path,
    exclude: &[PathBuf],
) -> Result<(Vec<PathBuf>, Vec<Diagnostic>), IoError> {
    // The root itself must be readable: that is a usage error, not an input error.
    std::fs::read_dir(root).map_err(|error| IoError {
        path: root.to_path_buf(),
        error,
    })?;
    let real_root = std::fs::canonicalize(root).map_err(|error| IoError {
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
    let mut walk = Walk {
        root,
        real_root: &real_root,
        exclude: &exclude,
        files: std::collections::BTreeMap::new(),
        visited: std::collections::HashSet::new(),
        links: std::collections::BTreeSet::new(),
        diags: Vec::new(),
        skipped: Vec::new(),
    };
    walk.visited.insert(real_root.clone());
    walk.dir(root, &real_root);
    // Links last, so every file and directory reachable without them has its own name first.
    while let Some(link) = walk.links.pop_first() {
        walk.link(&link);
    }
    let mut files: Vec<PathBuf> = walk.files.into_values().collect();
    files.sort();
    let mut diags = walk.diags;
    for (dir, why) in walk.skipped {
        let rel = dir.strip_prefix(root).unwrap_or(&dir);
        diags.push(why.diagnostic(rel));
    }
    Ok((files, diags))
}

/// The state of one tree walk: symbolic links are collected while walking and followed after.
struct Walk<'a> {
    root: &'a Path,
    /// `root` with every link resolved: where "inside the tree" ends.
    real_root: &'a Path,
    exclude: &'a [PathBuf],
    /// Real path → the path the file is read and reported by.
    files: std::collections::BTreeMap<PathBuf, PathBuf>,
    /// Real paths of the directories walked: none is walked twice, which also keeps links
    /// between sibling directories from multiplying the walk.
    visited: std::collections::HashSet<PathBuf>,
    links: std::collections::BTreeSet<PathBuf>,
    diags: Vec<Diagnostic>,
    skipped: Vec<(PathBuf, NotInput)>,
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e == "yaml" || e == "yml")
}

impl Walk<'_> {
    fn rel<'p>(&self, path: &'p Path) -> &'p Path {
        path.strip_prefix(self.root).unwrap_or(path)
    }

    fn excluded(&self, path: &Path, real: &Path) -> bool {
        // A link is no way around `--exclude`: the real path is checked too.
        let real_rel = real.strip_prefix(self.real_root).ok();
        self.exclude.iter().any(|x| {
            if x.is_absolute() {
                path.starts_with(x) || real.starts_with(x)
            } else {
                self.rel(path).starts_with(x) || real_rel.is_some_and(|r| r.starts_with(x))
            }
        })
    }

    /// Walks `start`, whose links are all resolved in `real`, without following links below it.
    fn dir(&mut self, start: &Path, real: &Path) {
        let mut visited = std::mem::take(&mut self.visited);
        let mut skipped = Vec::new();
        let walker = walkdir::WalkDir::new(start)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if e.depth() == 0 {
                    return true;
                }
                let path = e.path();
                let real_path = real.join(path.strip_prefix(start).unwrap_or(path));
                if e.file_name().to_string_lossy().starts_with('.')
                    || self.excluded(path, &real_path)
                {
                    return false;
                }
                if !e.file_type().is_dir() {
                    return true;
                }
                if let Some(why) = not_input(path) {
                    skipped.push((path.to_path_buf(), why));
                    return false;
                }
                visited.insert(real_path)
            });
        let mut found = Vec::new();
        let mut links = Vec::new();
        let mut diags = Vec::new();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().unwrap_or(start);
                    let rel = path.strip_prefix(self.root).unwrap_or(path).to_path_buf();
                    diags.push(
                        Diagnostic::error(
                            "UnreadablePath",
                            format!("cannot read {}: {e}", rel.display()),
                        )
                        .at(Some(Location::new(&rel, 1, 1)))
                        .help("fix the permissions, or move it out of the tree"),
                    );
                    continue;
                }
            };
            if entry.depth() > 0 && entry.path_is_symlink() {
                links.push(entry.into_path());
            } else if entry.file_type().is_file() && is_yaml(entry.path()) {
                let path = entry.into_path();
                let real_path = real.join(path.strip_prefix(start).unwrap_or(&path));
                found.push((real_path, path));
            }
        }
        self.visited = visited;
        self.skipped.extend(skipped);
        self.diags.extend(diags);
        self.links.extend(links);
        for (real_path, path) in found {
            self.files.entry(real_path).or_insert(path);
        }
    }

    /// Follows one link found by [`Walk::dir`]: a file is listed (once), a directory walked
    /// (once), anything that leaves the tree or does not resolve skipped with a warning.
    fn link(&mut self, link: &Path) {
        let rel = self.rel(link).to_path_buf();
        let target = std::fs::read_link(link)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        // No location: the report quotes the file at a location, and that is what was not read.
        let skip = |message: String, help: &str| {
            Diagnostic::warning("SymlinkSkipped", message).help(help.to_owned())
        };
        let real = match std::fs::canonicalize(link) {
            Ok(r) => r,
            Err(e) => {
                // Only a link the walk would read is worth a word; a dangling `README` is not.
                if is_yaml(link) {
                    let why = if e.kind() == std::io::ErrorKind::NotFound {
                        "which does not exist".to_owned()
                    } else {
                        format!("which cannot be resolved ({e})")
                    };
                    self.diags.push(skip(
                        format!(
                            "{} is a symbolic link to {target}, {why}: skipped",
                            rel.display()
                        ),
                        "fix the link or remove it",
                    ));
                }
                return;
            }
        };
        let is_dir = real.is_dir();
        if !real.starts_with(self.real_root) {
            if is_yaml(link) || is_dir {
                self.diags.push(skip(
                    format!(
                        "{} is a symbolic link to {}, outside the tree: skipped",
                        rel.display(),
                        real.display()
                    ),
                    "aimc reads only the tree it is given: copy the file into it, or run aimc on a directory that holds both",
                ));
            }
            return;
        }
        if self.excluded(link, &real) {
            return;
        }
        if !is_dir {
            if is_yaml(link) && real.is_file() {
                self.files.entry(real).or_insert_with(|| link.to_path_buf());
            }
            return;
        }
        let holder = link
            .parent()
            .and_then(|p| std::fs::canonicalize(p).ok())
            .unwrap_or_else(|| self.real_root.to_path_buf());
        if holder.starts_with(&real) {
            let dir = match real.strip_prefix(self.real_root) {
                Ok(r) if r.as_os_str().is_empty() => "the tree's root".to_owned(),
                Ok(r) => format!("{}/", r.display()),
                Err(_) => real.display().to_string(),
            };
            self.diags.push(skip(
                format!(
                    "{} is a symbolic link to {dir}, which contains the link: a loop, skipped",
                    rel.display()
                ),
                "remove the link; the directory it points to is read already",
            ));
            return;
        }
        // Already walked by its own path (or another link): its files are listed once.
        if self.visited.contains(&real) {
            return;
        }
        if let Some(why) = not_input(&real) {
            self.skipped.push((link.to_path_buf(), why));
            return;
        }
        self.visited.insert(real.clone());
        self.dir(link, &real);
    }
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
    let (sources, diags) = read_sources(root, opts)?;
    let mut loaded = load_sources(sources, opts);
    loaded.diagnostics.extend(diags);
    Ok(loaded)
}

/// A tree's files read into memory: (path relative to the tree, bytes).
pub type Sources = Vec<(PathBuf, Vec<u8>)>;

/// Every input file of the tree as (relative path, bytes), with the walk's and the reads'
/// diagnostics: what [`load_sources`] takes, for callers that load one tree several times.
pub fn read_sources(
    root: &Path,
    opts: &LoadOptions,
) -> Result<(Sources, Vec<Diagnostic>), IoError> {
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
    let mut diags = walk_diags;
    diags.extend(read_diags);
    Ok((sources, diags))
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

const WORKER_STACK: usize = 8 << 20;

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
                // The main thread's 8 MiB rather than std's 2 MiB: the YAML span tree recurses
                // once per nesting level, about 33 KiB a level in a debug build, and the parser
                // allows 64 levels.
                std::thread::Builder::new()
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(scope, || {
                        let mut mine = Vec::new();
                        loop {
                            let next = queue.lock().map(|mut q| q.next()).unwrap_or(None);
                            match next {
                                Some((i, item)) => mine.push((i, f(item))),
                                None => break mine,
                            }
                        }
                    })
                    .unwrap_or_else(|e| panic!("cannot start a worker thread: {e}"))
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

    #[cfg(unix)]
    #[test]
    fn a_link_is_no_way_around_exclude() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("golden/v2")).expect("mkdir");
        std::fs::write(dir.path().join("golden/v2/x.yaml"), NS).expect("write");
        std::os::unix::fs::symlink("golden/v2", dir.path().join("current")).expect("symlink");
        std::os::unix::fs::symlink("golden/v2/x.yaml", dir.path().join("x.yaml")).expect("symlink");
        let (files, diags) =
            find_files_except(dir.path(), &[PathBuf::from("golden")]).expect("walk");
        assert!(files.is_empty(), "{files:?}");
        assert!(diags.is_empty());
    }

    /// Two links to the same directory at every level would make 2^n paths; each directory is
    /// walked once, under the first link that reaches it.
    #[cfg(unix)]
    #[test]
    fn links_do_not_multiply_the_walk() {
        let dir = tempfile::tempdir().expect("tempdir");
        let levels = 24;
        for i in 0..levels {
            let d = dir.path().join(format!(".chain/d{i}"));
            std::fs::create_dir_all(&d).expect("mkdir");
            std::fs::write(d.join("x.yaml"), NS).expect("write");
            for l in ["l1", "l2"] {
                std::os::unix::fs::symlink(format!("../d{}", i + 1), d.join(l)).expect("symlink");
            }
        }
        std::fs::create_dir_all(dir.path().join(format!(".chain/d{levels}"))).expect("mkdir");
        std::os::unix::fs::symlink(".chain/d0", dir.path().join("entry")).expect("symlink");
        let (files, diags) = find_files(dir.path()).expect("walk");
        assert_eq!(files.len(), levels, "{files:?}");
        assert!(diags.is_empty(), "{diags:?}");
        let deepest = dir
            .path()
            .join("entry")
            .join("l1/".repeat(levels - 1))
            .join("x.yaml");
        assert!(files.contains(&deepest), "{files:?}");
    }
}
