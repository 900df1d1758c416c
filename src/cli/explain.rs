//! `aimc explain` — SKELETON, replaced by the explain implementation.

use clap::Args;

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The object: KIND/NAMESPACE/NAME (or KIND/NAME for cluster objects).
    pub object: String,
}

pub fn run(_args: &ExplainArgs) -> u8 {
    eprintln!("aimc explain: not implemented yet");
    super::exit::USAGE_OR_IO
}
