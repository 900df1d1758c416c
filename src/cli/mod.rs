//! Command-line definitions; one module per subcommand.

pub mod completions;
pub mod diff;
pub mod explain;
pub mod render;
pub mod validate;

use clap::{Parser, Subcommand};

pub use diff::usage_error_code;

/// Exit codes that mean something (ripgrep style).
pub mod exit {
    /// Rendered (warnings may have been printed).
    pub const OK: u8 = 0;
    /// The inputs have errors; diagnostics on stderr, nothing on stdout.
    pub const INPUT_ERROR: u8 = 1;
    /// Usage or I/O error.
    pub const USAGE_OR_IO: u8 = 2;
}

#[derive(Debug, Parser)]
#[command(
    name = "aimc",
    version,
    about = "Offline compiler for AMD Inference Microservices (AIM) resources"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the Kubernetes objects the AIM operator would create for a tree of AIM resources.
    Render(render::RenderArgs),
    /// Validate the inputs and the rendered output; report in text, JSON, GitHub or SARIF.
    Validate(validate::ValidateArgs),
    /// Compare the rendered objects with a golden directory or with a git revision.
    Diff(diff::DiffArgs),
    /// Explain where every env var, secret and setting of a rendered object came from.
    Explain(explain::ExplainArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff), or write every page with -o.
    Man(completions::ManArgs),
}

impl Command {
    /// Runs the subcommand; the exit code follows [`exit`].
    pub fn run(&self) -> u8 {
        match self {
            Command::Render(a) => render::run(a),
            Command::Validate(a) => validate::run(a),
            Command::Diff(a) => diff::run(a),
            Command::Explain(a) => explain::run(a),
            Command::Completions(a) => completions::run(a),
            Command::Man(a) => completions::man(a),
        }
    }
}
