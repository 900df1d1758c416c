//! `aimc completions` and `aimc man` — SKELETON, replaced by the implementation.

use clap::Args;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for.
    pub shell: String,
}

pub fn run(_args: &CompletionsArgs) -> u8 {
    eprintln!("aimc completions: not implemented yet");
    super::exit::USAGE_OR_IO
}

pub fn man() -> u8 {
    eprintln!("aimc man: not implemented yet");
    super::exit::USAGE_OR_IO
}
