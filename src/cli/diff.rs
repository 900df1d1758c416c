//! `aimc diff` — SKELETON, replaced by the diff implementation.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Directory to render (default `.`).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

pub fn run(_args: &DiffArgs) -> u8 {
    eprintln!("aimc diff: not implemented yet");
    super::exit::USAGE_OR_IO
}
