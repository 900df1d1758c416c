//! `aimc explain KIND/NAMESPACE/NAME`: where everything in a rendered object came from.

use super::exit;
use crate::diag;
use crate::load::{self, LoadOptions};
use crate::resolve;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The object: KIND/NAMESPACE/NAME (or KIND/NAME), e.g. InferenceService/ml-team/chat-a04542d9
    /// or AIMService/ml-team/chat.
    pub object: String,
    /// Directory to read.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Only this env var.
    #[arg(long)]
    pub env: Option<String>,
    /// Namespace for namespaced objects that set none.
    #[arg(long, short = 'n', env = "ARGOCD_APP_NAMESPACE")]
    pub namespace: Option<String>,
}

pub fn run(args: &ExplainArgs) -> u8 {
    if let Err(e) = super::tree_dir(&args.dir) {
        super::io::error(e);
        return exit::USAGE_OR_IO;
    }
    let opts = LoadOptions {
        default_namespace: args.namespace.clone().filter(|n| !n.is_empty()),
        ..Default::default()
    };
    let mut loaded = match load::load_dir(&args.dir, &opts) {
        Ok(l) => l,
        Err(e) => {
            super::io::error(format_args!("cannot read {e}"));
            return exit::USAGE_OR_IO;
        }
    };
    let mut diags = std::mem::take(&mut loaded.diagnostics);
    if diags.has_errors() {
        super::io::stderr(&diag::render_text(&diags.finish(), Some(&args.dir)));
        return exit::INPUT_ERROR;
    }
    diags.extend(resolve::sources::expand(&mut loaded.index, &loaded.lock));
    let plan = resolve::resolve(&loaded.index, &loaded.config, &loaded.lock);
    diags.extend(plan.diagnostics.iter().cloned());
    let diags = diags.finish();
    match crate::explain::explain(
        &loaded.index,
        &loaded.config,
        &loaded.lock,
        &plan,
        &args.object,
        args.env.as_deref(),
        &diags,
    ) {
        Ok(report) => match super::io::stdout(report.as_bytes()) {
            Ok(()) => exit::OK,
            Err(e) => {
                super::io::error(format_args!("cannot write output: {e}"));
                exit::USAGE_OR_IO
            }
        },
        Err(why) => {
            super::io::stderr(&format!("aimc explain: {why}\n"));
            exit::INPUT_ERROR
        }
    }
}
