//! `aimc completions SHELL` and `aimc man`: generated from the clap definitions, so they
//! cannot drift from the parser.

use super::{exit, Cli};
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write aimc.1 and one page per subcommand (aimc-render.1, …), which aimc.1 refers to,
    /// into this directory instead of printing aimc.1.
    #[arg(long, short = 'o')]
    pub output: Option<PathBuf>,
}

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> Vec<u8> {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "aimc", &mut out);
    out
}

/// The man page of aimc (roff).
pub fn man_page() -> Vec<u8> {
    render_page(Cli::command())
}

/// Every page: aimc.1 and `aimc-<subcommand>.1`, as (file name, roff).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building names the subcommands `aimc-render` etc., as the main page refers to them.
    cmd.build();
    let source = format!("aimc {}", cmd.get_version().unwrap_or_default());
    let mut pages = vec![(format!("{}.1", cmd.get_name()), render_page(cmd.clone()))];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_display_name().unwrap_or_else(|| sub.get_name());
        let page = render_man(clap_mangen::Man::new(sub.clone()).source(source.clone()));
        pages.push((format!("{name}.1"), page));
    }
    pages
}

fn render_page(cmd: clap::Command) -> Vec<u8> {
    render_man(clap_mangen::Man::new(cmd))
}

fn render_man(man: clap_mangen::Man) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render(&mut out);
    lead_with_title(out)
}

/// clap_mangen opens with roff's apostrophe preamble (`.ie \n(.g .ds Aq …`); `file`, lexgrog
/// (mandb, whatis) and packaging linters recognise a man page by its leading `.TH`. The
/// preamble only defines `\*(Aq`, so it may follow the title as long as it precedes the text.
fn lead_with_title(page: Vec<u8>) -> Vec<u8> {
    let text = match String::from_utf8(page) {
        Ok(t) => t,
        Err(e) => return e.into_bytes(),
    };
    let Some(start) = text.find("\n.TH ").map(|i| i + 1) else {
        return text.into_bytes();
    };
    let end = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    let mut out = String::with_capacity(text.len() + 1);
    out.push_str(&text[start..end]);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&text[..start]);
    out.push_str(&text[end..]);
    out.into_bytes()
}

pub fn run(args: &CompletionsArgs) -> u8 {
    write_stdout(&completions(args.shell))
}

pub fn man(args: &ManArgs) -> u8 {
    match &args.output {
        None => write_stdout(&man_page()),
        Some(dir) => write_pages(dir),
    }
}

fn write_pages(dir: &Path) -> u8 {
    if let Err(e) = std::fs::create_dir_all(dir) {
        super::io::error(format_args!("cannot create {}: {e}", dir.display()));
        return exit::USAGE_OR_IO;
    }
    for (name, page) in man_pages() {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, page) {
            super::io::error(format_args!("cannot write {}: {e}", path.display()));
            return exit::USAGE_OR_IO;
        }
    }
    exit::OK
}

fn write_stdout(bytes: &[u8]) -> u8 {
    match super::io::stdout(bytes) {
        Ok(()) => exit::OK,
        Err(e) => {
            super::io::error(format_args!("cannot write output: {e}"));
            exit::USAGE_OR_IO
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_moves_before_the_preamble_and_nothing_is_lost() {
        let page = b".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.TH aimc 1\n.SH NAME\n".to_vec();
        let out = String::from_utf8(lead_with_title(page)).expect("utf-8");
        assert_eq!(
            out,
            ".TH aimc 1\n.ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n.SH NAME\n"
        );
    }

    #[test]
    fn every_shell_completes_every_subcommand() {
        for shell in [
            Shell::Bash,
            Shell::Zsh,
            Shell::Fish,
            Shell::PowerShell,
            Shell::Elvish,
        ] {
            let text = String::from_utf8(completions(shell)).expect("utf-8");
            for sub in ["render", "diff", "explain", "completions", "man"] {
                assert!(text.contains(sub), "{shell}: no {sub}");
            }
        }
    }

    #[test]
    fn man_page_documents_the_subcommands() {
        let text = String::from_utf8(man_page()).expect("utf-8");
        assert!(text.starts_with(".TH aimc 1"), "{text}");
        assert_eq!(text.matches("\n.TH ").count(), 0, "one title");
        assert!(text.contains("render"));
        assert!(text.contains(".ds Aq"), "preamble kept");
    }

    #[test]
    fn every_page_the_main_page_refers_to_exists() {
        let pages = man_pages();
        let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
        let main = String::from_utf8(pages[0].1.clone()).expect("utf-8");
        for sub in ["render", "diff", "explain", "completions", "man"] {
            assert!(main.contains(&format!("aimc\\-{sub}(1)")), "{main}");
            assert!(
                names.contains(&format!("aimc-{sub}.1").as_str()),
                "{names:?}"
            );
        }
        let render = &pages
            .iter()
            .find(|(n, _)| n == "aimc-render.1")
            .expect("render page")
            .1;
        let render = String::from_utf8_lossy(render);
        assert!(render.starts_with(".TH aimc-render 1  \"aimc "), "{render}");
        assert!(
            render.contains("ARGOCD_ENV_AIMC_EMIT"),
            "env twins documented"
        );
    }
}
