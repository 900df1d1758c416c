//! `aimc validate [DIR | FILE...]`: the check a platform team puts in front of every merge.

use super::{exit, io};
use crate::diag::report::{self, DiagFormat};
use crate::diag::{Diagnostic, Diagnostics};
use crate::load::{self, LoadOptions};
use crate::render::{self, Ctx, Gitops};
use crate::resolve;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A directory (the whole tree), or files (what pre-commit passes): each file is checked
    /// within its own project root, the nearest directory above it holding `aimc.yaml`, else
    /// the git top level, with that root's `aim.lock.yaml`; only the diagnostics of the named
    /// files are reported, and files that hold no AIM object are ignored.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Check the inputs only, not the rendered output.
    #[arg(long)]
    pub inputs_only: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = DiagFormat::Text)]
    pub format: DiagFormat,
    /// Treat warnings as errors. A plain flag; its env twin takes true/false, yes/no, 1/0.
    #[arg(long, env = "ARGOCD_ENV_AIMC_STRICT", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub strict: bool,
    /// Namespace for namespaced objects that set none.
    #[arg(long, short = 'n', env = "ARGOCD_APP_NAMESPACE")]
    pub namespace: Option<String>,
    /// Leave out YAML files that mention no AIM apiVersion and are not Kubernetes objects,
    /// with an info each, instead of rejecting them (as `aimc render --skip-foreign`).
    #[arg(long)]
    pub skip_foreign: bool,
    /// Do not read files below this path (relative to the tree's root, or absolute;
    /// repeatable), as `aimc render --exclude`.
    #[arg(long, value_name = "PATH")]
    pub exclude: Vec<PathBuf>,
}

/// One tree to validate and, when files were named, which of its files to report on.
#[derive(Debug, PartialEq)]
struct Run {
    /// The tree's root, as it is shown (relative to the working directory when below it).
    root: PathBuf,
    /// Named files, relative to `root`.
    only: Option<Vec<PathBuf>>,
}

/// The runs a command line asks for: a directory is a tree of its own, files are grouped by
/// their project root. A path that does not exist, or `-`, is a usage error: a CI step with
/// a mistyped path must not pass having checked nothing.
fn runs(paths: &[PathBuf]) -> Result<Vec<Run>, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let mut runs: Vec<Run> = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            return Err(
                "`-` (a stream on stdin) is not supported: name a directory or files".to_owned(),
            );
        }
        let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{} does not exist", path.display()),
            _ => format!("cannot read {}: {e}", path.display()),
        })?;
        if meta.is_dir() {
            runs.push(Run {
                root: path.clone(),
                only: None,
            });
            continue;
        }
        let abs = cwd.join(path);
        let root_abs = load::project::root_of(&abs, &cwd);
        let rel = abs.strip_prefix(&root_abs).unwrap_or(&abs).to_path_buf();
        let root = shown(&root_abs, &cwd);
        match runs.iter_mut().find(|r| r.root == root && r.only.is_some()) {
            Some(Run {
                only: Some(files), ..
            }) => files.push(rel),
            _ => runs.push(Run {
                root,
                only: Some(vec![rel]),
            }),
        }
    }
    Ok(runs)
}

/// `abs` relative to `cwd` when below it (`.` for `cwd` itself), else as it is.
fn shown(abs: &Path, cwd: &Path) -> PathBuf {
    match abs.strip_prefix(cwd) {
        Ok(r) if r.as_os_str().is_empty() => PathBuf::from("."),
        Ok(r) => r.to_path_buf(),
        Err(_) => abs.to_path_buf(),
    }
}

/// Every diagnostic of a validation run, in order.
pub fn validate(
    root: &Path,
    args: &ValidateArgs,
    named: bool,
) -> Result<Vec<Diagnostic>, load::IoError> {
    let opts = LoadOptions {
        default_namespace: args.namespace.clone().filter(|n| !n.is_empty()),
        skip_foreign: args.skip_foreign,
        exclude: args.exclude.clone(),
    };
    let mut loaded = load::load_dir(root, &opts)?;
    let mut diags: Diagnostics = std::mem::take(&mut loaded.diagnostics);
    diags.extend(crate::check::all_inputs(&loaded.index));
    // Named files: problems elsewhere in the tree must not stop the check of these, so
    // resolution runs on whatever loaded (a full-tree run stops at the first broken file).
    if named || !diags.has_errors() {
        diags.extend(resolve::sources::expand(&mut loaded.index, &loaded.lock));
        let mut plan = resolve::resolve(&loaded.index, &loaded.config, &loaded.lock);
        diags.extend(std::mem::take(&mut plan.diagnostics));
        diags.extend(crate::check::policy::check(&loaded.index, &plan));
        if !args.inputs_only {
            // Each object is checked on the thread that renders it, then dropped.
            let rendered = render::render_with(
                plan,
                &loaded.lock,
                &Ctx {
                    gitops: Gitops::Argocd,
                    concrete: true,
                    derived: true,
                },
                |o, _| crate::check::output(&o),
            );
            diags.extend(rendered.diagnostics);
            for d in rendered.concrete.into_iter().chain(rendered.derived) {
                diags.extend(d);
            }
        } else {
            crate::process::dispose(plan);
            diags.relax_missing_facts();
        }
    }
    crate::process::dispose(loaded);
    if args.strict {
        diags.escalate_warnings();
    }
    Ok(diags.finish())
}

pub fn run(args: &ValidateArgs) -> u8 {
    crate::process::leak_at_exit();
    let runs = match runs(&args.paths) {
        Ok(r) => r,
        Err(e) => {
            io::error(e);
            return exit::USAGE_OR_IO;
        }
    };
    let many = runs.len() > 1;
    let mut shown = Vec::new();
    for run in &runs {
        let diags = match validate(&run.root, args, run.only.is_some()) {
            Ok(d) => d,
            Err(e) => {
                io::error(format_args!("cannot read {e}"));
                return exit::USAGE_OR_IO;
            }
        };
        let diags = match &run.only {
            None => diags,
            Some(files) => of_files(diags, &run.root, files),
        };
        // Several trees in one report: paths from the working directory.
        shown.extend(diags.into_iter().map(|d| match many || run.only.is_some() {
            true => rebase(d, &run.root),
            false => d,
        }));
    }
    let root = match (&runs[..], many) {
        ([one], false) if one.only.is_none() => one.root.clone(),
        _ => PathBuf::from("."),
    };
    let color = args.format == DiagFormat::Text && report::color_for(report::Stream::Stdout);
    let ctx = report::ReportContext::for_tree(&root, &shown, load::project::anchor_file);
    let text = report::render(&shown, args.format, &ctx, color);
    if let Err(e) = io::stdout(text.as_bytes()) {
        io::error(format_args!("cannot write the report: {e}"));
        return exit::USAGE_OR_IO;
    }
    if shown.iter().any(Diagnostic::is_error) {
        exit::INPUT_ERROR
    } else {
        exit::OK
    }
}

/// The diagnostics located in `files` (relative to `root`): all of them for files that hold
/// an AIM object, and schema and CEL violations for the others (a hand-written HTTPRoute or
/// PVC). pre-commit passes every changed YAML file; the rest of a file without AIM objects
/// (a CI config, a chart) is not ours.
fn of_files(diags: Vec<Diagnostic>, root: &Path, files: &[PathBuf]) -> Vec<Diagnostic> {
    let aim_files: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(root.join(f)).is_ok_and(|t| t.contains(crate::api::AIM_GROUP))
        })
        .collect();
    diags
        .into_iter()
        .filter(|d| {
            d.location.as_ref().is_some_and(|l| {
                aim_files.iter().any(|f| **f == l.file)
                    || (matches!(d.code, "SchemaViolation" | "CelViolation")
                        && files.contains(&l.file))
            })
        })
        .collect()
}

/// `d` with its file relative to the working directory instead of `root`.
fn rebase(mut d: Diagnostic, root: &Path) -> Diagnostic {
    if let Some(loc) = d.location.as_mut() {
        if root != Path::new(".") {
            loc.file = root.join(&loc.file);
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_paths_and_stdin_are_usage_errors() {
        let e = runs(&[PathBuf::from("/nonexistent/aimc-tree")]).unwrap_err();
        assert_eq!(e, "/nonexistent/aimc-tree does not exist");
        let e = runs(&[PathBuf::from("-")]).unwrap_err();
        assert!(e.contains("not supported"), "{e}");
    }
}
