//! Command-line definitions; one module per subcommand.

pub mod render;

use clap::{Parser, Subcommand};

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
}
