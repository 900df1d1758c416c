//! `aimc lock`: the one command that goes online (lock.md). It computes the lock in memory,
//! then writes it, or with `--check` compares it with the file (uv's `LockMode`).

use super::exit;
use crate::diag::{self, Diagnostic, Severity};
use crate::load::lock::{Lock, Need};
use crate::load::{self, LoadOptions, LOCK_FILE};
use crate::lock::cluster::{self, Export};
use crate::lock::run::{self, Kind, Refresh};
use crate::lock::Fetch;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct LockArgs {
    /// The tree whose `aim.lock.yaml` to fill.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Compute the lock and compare it with the file instead of writing it: exit 0 when
    /// current, 1 when stale (a unified diff on stderr), 2 on error.
    #[arg(long)]
    pub check: bool,
    /// No network: only `--from-cluster` and what the file already holds.
    #[arg(long)]
    pub offline: bool,
    /// A `kubectl get … -A -o yaml` List (`-` for stdin): discovery results, image metadata,
    /// sizes and UIDs, for exactly the objects the tree needs.
    #[arg(long, value_name = "FILE|-")]
    pub from_cluster: Option<PathBuf>,
    /// Fetch again what the file has: everything (`--refresh`), one kind
    /// (`--refresh=images`, `sizes`, `listings`) or one key (`--refresh=REF`: an image
    /// reference, a source URI, a model source's name). `--check` online refreshes everything.
    #[arg(long, value_name = "KIND|KEY", num_args = 0..=1, require_equals = true, default_missing_value = "all", conflicts_with = "offline")]
    pub refresh: Option<String>,
    /// A registry to reach over plain http (loopback hosts always may). Repeatable.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub insecure_registry: Vec<String>,
    /// The S3 endpoint to use instead of the sources' `AWS_ENDPOINT_URL` (often a
    /// cluster-internal `*.svc` address).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Parallel requests at most.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Seconds one request may take, retries not counted.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Namespace for namespaced objects that set none.
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Do not read files below this path (relative to DIR, or absolute; repeatable).
    #[arg(long, value_name = "PATH")]
    pub exclude: Vec<PathBuf>,
}

pub fn run(args: &LockArgs) -> u8 {
    match lock(args) {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            super::io::error(message);
            exit::USAGE_OR_IO
        }
        Err(Failure::Diagnostics(diags)) => {
            super::io::stderr(&diag::render_text(&diags, Some(&args.dir)));
            super::io::error("aim.lock.yaml was left as it was");
            exit::USAGE_OR_IO
        }
    }
}

enum Failure {
    Usage(String),
    Diagnostics(Vec<Diagnostic>),
}

fn lock(args: &LockArgs) -> Result<u8, Failure> {
    super::tree_dir(&args.dir).map_err(Failure::Usage)?;
    let load = LoadOptions {
        default_namespace: args.namespace.clone().filter(|n| !n.is_empty()),
        skip_foreign: false,
        exclude: args.exclude.clone(),
    };
    let (sources, read_diags) = load::read_sources(&args.dir, &load)
        .map_err(|e| Failure::Usage(format!("cannot read {e}")))?;
    if read_diags.iter().any(Diagnostic::is_error) {
        return Err(Failure::Diagnostics(read_diags));
    }
    let path = lock_path(&args.dir);
    let old_text = read_old(&path)?;
    let old = parse_old(&old_text)?;
    let export = read_export(args.from_cluster.as_deref())?;
    let client = client(args)?;
    let progress = |line: &str| super::io::stderr(&format!("aimc lock: {line}\n"));
    let opts = run::Options {
        load,
        fetch: client.as_deref(),
        export: export.as_ref(),
        refresh: refresh(args),
        strict: args.check && !args.offline,
        s3_endpoint: args.s3_endpoint.clone(),
        jobs: usize::from(args.jobs),
        progress: &progress,
    };
    let locked = run::lock(&sources, &old, &opts).map_err(Failure::Diagnostics)?;
    let mut diags: Vec<Diagnostic> = export
        .iter()
        .flat_map(|e| &e.skipped)
        .map(|why| {
            Diagnostic::warning("ExportSkipped", format!("not taken from the export: {why}"))
                .help("the rest of the export is used; a newer operator may write this status differently")
        })
        .collect();
    diags.extend(locked.diagnostics);
    diags.extend(
        locked
            .uncovered
            .iter()
            .map(|n| uncovered(n, &locked.discovery_hashes)),
    );
    let text = crate::lock::write::to_string(&locked.lock)
        .map_err(|e| Failure::Usage(format!("cannot serialise the lock: {e}")))?;
    let shown: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.severity != Severity::Info || args.check)
        .collect();
    super::io::stderr(&diag::render_text(&shown, Some(&args.dir)));
    // A tree that needs nothing from outside gets no lock file.
    let text = match (&old_text, locked.lock.is_empty()) {
        (None, true) => None,
        _ => Some(text),
    };
    if args.check {
        return Ok(check(&old_text, text.as_deref(), &locked.uncovered));
    }
    let Some(text) = text else {
        super::io::stderr(
            "aimc lock: the tree needs no facts from outside it: no aim.lock.yaml written\n",
        );
        return Ok(exit::OK);
    };
    if old_text.as_deref() == Some(text.as_str()) {
        super::io::stderr(&format!("aimc lock: {} is up to date\n", path.display()));
        return Ok(exit::OK);
    }
    write_atomic(&path, &text).map_err(|e| {
        Failure::Usage(format!(
            "cannot write {}: {e} (the old file is unchanged)",
            path.display()
        ))
    })?;
    super::io::stderr(&format!("aimc lock: wrote {}\n", path.display()));
    Ok(exit::OK)
}

/// `DIR/aim.lock.yaml`, or where it links to: the rename that replaces it must replace the
/// file, not the link.
fn lock_path(dir: &Path) -> PathBuf {
    let path = dir.join(LOCK_FILE);
    match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&path).unwrap_or(path),
        _ => path,
    }
}

fn read_old(path: &Path) -> Result<Option<String>, Failure> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Failure::Usage(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// The file as it is. A file aimc cannot read is an error, not an empty lock: rewriting it
/// would drop what the user wrote.
fn parse_old(text: &Option<String>) -> Result<Lock, Failure> {
    let Some(text) = text else {
        return Ok(Lock::default());
    };
    let mut diags = diag::Diagnostics::default();
    let lock = Lock::parse(Path::new(LOCK_FILE), text, &mut diags);
    if diags.has_errors() {
        return Err(Failure::Diagnostics(diags.finish()));
    }
    Ok(lock)
}

fn read_export(from: Option<&Path>) -> Result<Option<Export>, Failure> {
    let Some(from) = from else { return Ok(None) };
    let text = if from.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Failure::Usage(format!("cannot read the export on stdin: {e}")))?;
        s
    } else {
        std::fs::read_to_string(from)
            .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", from.display())))?
    };
    let name = if from.as_os_str() == "-" {
        Path::new("<stdin>")
    } else {
        from
    };
    cluster::parse(name, &text)
        .map(Some)
        .map_err(Failure::Diagnostics)
}

/// What to fetch again. An online `--check` asks whether the registries still agree with the
/// file, so it fetches everything again; it writes nothing either way.
fn refresh(args: &LockArgs) -> Refresh {
    match args.refresh.as_deref() {
        None if args.check && !args.offline => Refresh::All,
        None => Refresh::Nothing,
        Some("all") => Refresh::All,
        Some("images") => Refresh::Kind(Kind::Images),
        Some("sizes") => Refresh::Kind(Kind::Sizes),
        Some("listings") => Refresh::Kind(Kind::Listings),
        Some(key) => Refresh::Key(key.to_owned()),
    }
}

/// What a need nothing covered means for the user.
fn uncovered(
    need: &Need,
    hashes: &std::collections::BTreeMap<(Option<String>, String), String>,
) -> Diagnostic {
    match need {
        Need::Discovery { namespace, template } => Diagnostic::warning(
            "NeedsCluster",
            format!(
                "template {}{template} (specHash {}) needs its discovery result, which only a cluster has: discovery runs the image on a GPU node",
                namespace.as_deref().map(|n| format!("{n}/")).unwrap_or_default(),
                hashes
                    .get(&(namespace.clone(), template.clone()))
                    .map(String::as_str)
                    .unwrap_or("unknown")
            ),
        )
        .help("apply the tree, wait for the template to be Ready, then `kubectl get aimservicetemplates,aimclusterservicetemplates -A -o yaml | aimc lock --from-cluster -`"),
        Need::Size { uri, .. } if !uri.starts_with("s3://") && !uri.starts_with("hf://") => {
            Diagnostic::warning(
                "NeedsCluster",
                format!("{need} is not in aim.lock.yaml: aimc measures only s3:// and hf:// sources"),
            )
            .help("set size on the model source, or take it from a cluster with --from-cluster")
        }
        other => Diagnostic::warning(
            "NeedsCluster",
            format!("{other} is not in aim.lock.yaml and was not fetched"),
        )
        .help("run `aimc lock` online, or pass a cluster export with --from-cluster"),
    }
}

/// `--check`: 0 current, 1 stale (with a unified diff on stderr).
fn check(old: &Option<String>, new: Option<&str>, uncovered: &[Need]) -> u8 {
    let old = old.as_deref().unwrap_or("");
    let new = new.unwrap_or("");
    if old == new && uncovered.is_empty() {
        super::io::stderr("aimc lock --check: aim.lock.yaml is current\n");
        return exit::OK;
    }
    if old != new {
        let diff = similar::TextDiff::from_lines(old, new)
            .unified_diff()
            .context_radius(3)
            .header("aim.lock.yaml", "aim.lock.yaml (aimc lock)")
            .to_string();
        super::io::stderr(&diff);
    }
    if old != new {
        super::io::stderr("aimc lock --check: aim.lock.yaml is not current: run `aimc lock`\n");
    } else {
        super::io::stderr("aimc lock --check: aim.lock.yaml lacks facts only a cluster has (the warnings above): export them with --from-cluster\n");
    }
    exit::INPUT_ERROR
}

/// Temp file beside the target, then rename: a reader sees the old file or the new one. The
/// file keeps its permissions; a new one gets a checked-in file's 0644.
fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let permissions = match std::fs::metadata(path) {
        Ok(m) => Some(m.permissions()),
        Err(_) => new_file_permissions(),
    };
    if let Some(p) = permissions {
        tmp.as_file().set_permissions(p)?;
    }
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The network client, unless `--offline`.
fn client(args: &LockArgs) -> Result<Option<Box<dyn Fetch>>, Failure> {
    if args.offline {
        return Ok(None);
    }
    online_client(args)
}

#[cfg(feature = "online")]
fn online_client(args: &LockArgs) -> Result<Option<Box<dyn Fetch>>, Failure> {
    let mut opts = crate::lock::online::OnlineOptions::from_process_env();
    opts.insecure_registries = args.insecure_registry.clone();
    opts.s3_endpoint = args.s3_endpoint.clone();
    opts.timeout = std::time::Duration::from_secs(args.timeout);
    crate::lock::online::Online::new(opts)
        .map(|c| Some(Box::new(c) as Box<dyn Fetch>))
        .map_err(Failure::Usage)
}

#[cfg(not(feature = "online"))]
fn online_client(_: &LockArgs) -> Result<Option<Box<dyn Fetch>>, Failure> {
    Err(Failure::Usage(
        "this aimc is a render-only build (without the `online` feature): use `aimc lock --offline`".to_owned(),
    ))
}

#[cfg(unix)]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    Some(std::os::unix::fs::PermissionsExt::from_mode(0o644))
}

/// Elsewhere a temp file gets the platform's ordinary permissions already.
#[cfg(not(unix))]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    None
}
