//! Command-line definitions; one module per subcommand.

pub mod completions;
pub mod diff;
pub mod explain;
pub mod io;
pub mod lock;
pub mod render;
pub mod validate;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;

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

/// The exit codes, as `--help` shows them.
const EXIT_CODES: &str = "Exit codes:
  render, validate, explain:
    0  done (warnings may have been printed)
    1  the inputs have errors (diagnostics; render prints nothing on stdout)
    2  usage or I/O error (a bad flag, a path that does not exist, an unwritable output)
  diff:
    0  no differences   1  differences   2  error
  lock:
    0  written or up to date   1  (--check) not current   2  error, the file untouched
    with --detailed-exitcode: 0 no differences, 2 differences, 1 error
A closed stdout pipe is not an error: the code is what the work decided.";

#[derive(Debug, Parser)]
#[command(
    name = "aimc",
    version,
    about = "Offline compiler for AMD Inference Microservices (AIM) resources",
    after_help = EXIT_CODES,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render the Kubernetes objects the AIM operator would create for a tree of AIM resources.
    #[command(
        after_help = "Exit codes: 0 rendered (warnings may have been printed), 1 the inputs have errors (nothing on stdout), 2 usage or I/O error."
    )]
    Render(render::RenderArgs),
    /// Validate the inputs and the rendered output; report in text, JSON, GitHub or SARIF.
    #[command(
        after_help = "Exit codes: 0 no errors (warnings may have been reported), 1 errors, 2 usage or I/O error (a path that does not exist)."
    )]
    Validate(validate::ValidateArgs),
    /// Compare the rendered objects with a golden directory or with a git revision.
    #[command(
        after_help = "Exit codes (as kubectl diff): 0 no differences, 1 differences, 2 error. With --detailed-exitcode (as terraform): 0, 2 differences, 1 error."
    )]
    Diff(diff::DiffArgs),
    /// Explain where every env var, secret and setting of a rendered object came from.
    #[command(
        after_help = "Exit codes: 0 explained, 1 the inputs have errors or the object is not rendered, 2 usage or I/O error."
    )]
    Explain(explain::ExplainArgs),
    /// Fill aim.lock.yaml with the facts the tree needs from registries, buckets, the Hub
    /// and a cluster export: the one command that goes online.
    #[command(
        after_help = "Exit codes: 0 written or up to date (with --check: current), 1 (--check) not current, 2 error (aim.lock.yaml is left as it was)."
    )]
    Lock(lock::LockArgs),
    /// Print shell completions.
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff), or write every page with -o.
    Man(completions::ManArgs),
}

/// The tree a command reads must be a directory that exists: a CI step with a mistyped path
/// must fail, not pass having checked nothing. `-` is named: aimc reads trees, not streams.
pub fn tree_dir(dir: &std::path::Path) -> Result<(), String> {
    if dir.as_os_str() == "-" {
        return Err(
            "`-` (a stream on stdin) is not supported: name the tree's directory".to_owned(),
        );
    }
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "{} is a file; aimc reads a directory tree (to check single files: aimc validate FILE...)",
            dir.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("{} does not exist", dir.display()))
        }
        Err(e) => Err(format!("cannot read {}: {e}", dir.display())),
    }
}

impl Cli {
    /// Parses the process's arguments and environment. An env twin set to the empty string
    /// counts as unset: Argo CD passes an Application's `plugin.env` entry with an empty value
    /// (`ARGOCD_ENV_AIMC_EMIT=`) as is, and a sync must not fail on what means "the default".
    pub fn parse_env() -> Result<Self, clap::Error> {
        Self::parse_env_from(std::env::args_os())
    }

    /// [`Cli::parse_env`] over given arguments (the environment is still the process's: clap
    /// reads it while the command is built).
    pub fn parse_env_from(args: impl IntoIterator<Item = OsString>) -> Result<Self, clap::Error> {
        let cmd = unset_empty_env(Cli::command());
        Cli::from_arg_matches(&cmd.try_get_matches_from(args)?)
    }
}

/// Drops the env twin of every argument whose variable is set but empty, in every subcommand.
fn unset_empty_env(mut cmd: clap::Command) -> clap::Command {
    let empty: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|a| {
            a.get_env()
                .and_then(std::env::var_os)
                .is_some_and(|v| v.is_empty())
        })
        .map(|a| a.get_id().clone())
        .collect();
    for id in empty {
        cmd = cmd.mut_arg(id, |a| a.env(None::<&str>));
    }
    let subs: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in subs {
        cmd = cmd.mut_subcommand(name, unset_empty_env);
    }
    cmd
}

impl Command {
    /// Runs the subcommand; the exit code follows [`exit`].
    pub fn run(&self) -> u8 {
        match self {
            Command::Render(a) => render::run(a),
            Command::Validate(a) => validate::run(a),
            Command::Diff(a) => diff::run(a),
            Command::Explain(a) => explain::run(a),
            Command::Lock(a) => lock::run(a),
            Command::Completions(a) => completions::run(a),
            Command::Man(a) => completions::man(a),
        }
    }
}
