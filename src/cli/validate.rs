//! `aimc validate [DIR | FILE...]`: the check a platform team puts in front of every merge.

use super::exit;
use crate::diag::report::{self, DiagFormat};
use crate::diag::{Diagnostic, Diagnostics};
use crate::load::{self, LoadOptions};
use crate::render::{self, Ctx, Gitops};
use crate::resolve;
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// A directory (the whole tree), or files: the tree below the current directory is still
    /// loaded for references, but only diagnostics in these files are reported, and files
    /// that hold no AIM object are ignored (what pre-commit passes).
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Check the inputs only, not the rendered output.
    #[arg(long)]
    pub inputs_only: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = DiagFormat::Text)]
    pub format: DiagFormat,
    /// Treat warnings as errors.
    #[arg(long, env = "ARGOCD_ENV_AIMC_STRICT", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub strict: Option<bool>,
    /// Namespace for namespaced objects that set none.
    #[arg(long, short = 'n', env = "ARGOCD_APP_NAMESPACE")]
    pub namespace: Option<String>,
}

/// The tree to load and, when files were named, which of them to report on.
fn scope(paths: &[PathBuf]) -> (PathBuf, Option<Vec<PathBuf>>) {
    match paths {
        [one] if one.is_dir() => (one.clone(), None),
        files => {
            let root = PathBuf::from(".");
            let rel = files
                .iter()
                .map(|f| f.strip_prefix("./").unwrap_or(f).to_path_buf())
                .collect();
            (root, Some(rel))
        }
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
        ..Default::default()
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
                |v, _| crate::check::output(&v),
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
    if args.strict.unwrap_or(false) {
        diags.escalate_warnings();
    }
    Ok(diags.finish())
}

pub fn run(args: &ValidateArgs) -> u8 {
    crate::process::leak_at_exit();
    let (root, only) = scope(&args.paths);
    let diags = match validate(&root, args, only.is_some()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("aimc: cannot read {e}");
            return exit::USAGE_OR_IO;
        }
    };
    let shown: Vec<Diagnostic> = match &only {
        None => diags,
        Some(files) => {
            // pre-commit passes every changed YAML file: those without AIM objects are not ours.
            let aim_files: Vec<&PathBuf> = files
                .iter()
                .filter(|f| {
                    std::fs::read_to_string(root.join(f))
                        .is_ok_and(|t| t.contains(crate::api::AIM_GROUP))
                })
                .collect();
            diags
                .into_iter()
                .filter(|d| {
                    d.location
                        .as_ref()
                        .is_some_and(|l| aim_files.iter().any(|f| **f == l.file))
                })
                .collect()
        }
    };
    let color = args.format == DiagFormat::Text && report::color_for(report::Stream::Stdout);
    let ctx = report::ReportContext::for_tree(&root, &shown);
    print!("{}", report::render(&shown, args.format, &ctx, color));
    if shown.iter().any(Diagnostic::is_error) {
        exit::INPUT_ERROR
    } else {
        exit::OK
    }
}
