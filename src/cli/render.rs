//! `aimc render`.

use super::exit;
use crate::diag::{self, Diagnostic, Diagnostics};
use crate::emit::{self, EmitMode, Format};
use crate::load::{self, LoadOptions};
use crate::render::{self, Ctx, Gitops};
use crate::resolve;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GitopsArg {
    Argocd,
    None,
}

/// The flags that decide what a render produces, shared by `render` and `diff` so both read
/// the same environment as the Argo CD plugin.
#[derive(Debug, Clone, Default, Args)]
pub struct RenderFlags {
    /// What to emit.
    #[arg(long, value_enum, env = "ARGOCD_ENV_AIMC_EMIT")]
    pub emit: Option<EmitMode>,
    /// GitOps adaptations: Argo CD sync waves, or the operator's objects exactly.
    #[arg(long, value_enum, env = "ARGOCD_ENV_AIMC_GITOPS")]
    pub gitops: Option<GitopsArg>,
    /// Namespace for namespaced objects that set none.
    #[arg(long, short = 'n', env = "ARGOCD_APP_NAMESPACE")]
    pub namespace: Option<String>,
    /// Treat warnings as errors.
    #[arg(long, env = "ARGOCD_ENV_AIMC_STRICT", value_parser = clap::builder::BoolishValueParser::new(), num_args = 0..=1, default_missing_value = "true")]
    pub strict: Option<bool>,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Directory to read (every *.yaml / *.yml below it).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub flags: RenderFlags,
    /// Write one file per object below this directory instead of a stream on stdout.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
}

/// The result of a render: diagnostics, and the objects when there was no error.
pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub objects: Option<Vec<serde_json::Value>>,
}

/// Loads, resolves and renders `args.dir`. `Err` is an I/O failure reading the tree.
pub fn render_dir(args: &RenderArgs) -> Result<Outcome, load::IoError> {
    render_tree(&args.dir, &args.flags)
}

/// Loads, resolves and renders `dir`. `Err` is an I/O failure reading the tree.
pub fn render_tree(dir: &std::path::Path, flags: &RenderFlags) -> Result<Outcome, load::IoError> {
    let opts = LoadOptions {
        default_namespace: flags.namespace.clone().filter(|n| !n.is_empty()),
    };
    let loaded = load::load_dir(dir, &opts)?;
    Ok(render_loaded(loaded, flags))
}

pub fn render_loaded(mut loaded: load::Loaded, args: &RenderFlags) -> Outcome {
    let mut diags: Diagnostics = std::mem::take(&mut loaded.diagnostics);
    if !diags.has_errors() {
        diags.extend(resolve::sources::expand(&mut loaded.index, &loaded.lock));
    }
    let config = loaded.config;
    let strict = args.strict.unwrap_or(false);
    let finish = |mut diags: Diagnostics, objects| {
        if strict {
            diags.escalate_warnings();
        }
        let objects = if diags.has_errors() { None } else { objects };
        Outcome {
            diagnostics: diags.finish(),
            objects,
        }
    };
    if diags.has_errors() {
        return finish(diags, None);
    }
    let mode = args
        .emit
        .or_else(|| {
            config
                .emit
                .as_deref()
                .and_then(|e| EmitMode::from_str(e, true).ok())
        })
        .unwrap_or_default();
    let gitops = match args.gitops.or_else(|| {
        config
            .gitops
            .as_deref()
            .and_then(|g| GitopsArg::from_str(g, true).ok())
    }) {
        Some(GitopsArg::None) => Gitops::None,
        _ => Gitops::Argocd,
    };
    let plan = resolve::resolve(&loaded.index, &config, &loaded.lock);
    let rendered = render::render(
        &plan,
        &loaded.lock,
        &Ctx {
            gitops,
            concrete: mode != EmitMode::Aim,
        },
    );
    diags.extend(plan.diagnostics.iter().cloned());
    drop(plan);
    let mut rendered = rendered;
    diags.extend(std::mem::take(&mut rendered.diagnostics));
    if mode == EmitMode::Aim {
        diags.relax_missing_facts();
    }
    if diags.has_errors() {
        return finish(diags, None);
    }
    let objects = emit::collect(loaded.index, rendered, mode);
    finish(diags, Some(objects))
}

pub fn run(args: &RenderArgs) -> u8 {
    let outcome = match render_dir(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("aimc: cannot read {e}");
            return exit::USAGE_OR_IO;
        }
    };
    let root = Some(args.dir.as_path());
    eprint!("{}", diag::render_text(&outcome.diagnostics, root));
    let Some(objects) = outcome.objects else {
        let n = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!("aimc: {n} error(s); nothing rendered");
        return exit::INPUT_ERROR;
    };
    let code = match &args.output {
        Some(dir) => write_layout(dir, &objects, args.format),
        None => write_stdout(&objects, args.format),
    };
    // The process exits next: freeing tens of thousands of JSON trees one by one would cost
    // more than rendering them.
    std::mem::forget(objects);
    code
}

fn write_stdout(objects: &[serde_json::Value], format: Format) -> u8 {
    let text = match emit::stream(objects, format) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("aimc: {e}");
            return exit::INPUT_ERROR;
        }
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => exit::OK,
        // A closed pipe (`aimc render | head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("aimc: cannot write output: {e}");
            exit::USAGE_OR_IO
        }
    }
}

fn write_layout(dir: &std::path::Path, objects: &[serde_json::Value], format: Format) -> u8 {
    let files = match emit::layout(objects, format) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("aimc: {e}");
            return exit::INPUT_ERROR;
        }
    };
    for (rel, text) in &files {
        let path = dir.join(rel);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        if let Err(e) = written {
            eprintln!("aimc: cannot write {}: {e}", path.display());
            return exit::USAGE_OR_IO;
        }
    }
    exit::OK
}
