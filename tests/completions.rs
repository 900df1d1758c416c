//! `aimc completions SHELL` and `aimc man` as a user runs them.

use assert_cmd::Command;

fn aimc(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("aimc")
        .expect("binary")
        .args(args)
        .output()
        .expect("runs")
}

#[test]
fn bash_completions_offer_render() {
    let out = aimc(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.contains("render"), "{text}");
    assert!(
        text.contains("complete -F _aimc"),
        "a bash completion script"
    );
}

#[test]
fn every_shell_clap_complete_knows() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = aimc(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        assert!(!out.stdout.is_empty(), "{shell}");
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = aimc(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}

#[test]
fn man_prints_roff_starting_with_the_title() {
    let out = aimc(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert!(text.starts_with(".TH"), "{text}");
    assert!(text.contains(".SH SUBCOMMANDS"));
}

#[test]
fn man_writes_every_page_into_a_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("man1");
    let out = aimc(&["man", "-o", out_dir.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    for page in ["aimc.1", "aimc-render.1", "aimc-diff.1", "aimc-man.1"] {
        let text = std::fs::read_to_string(out_dir.join(page)).expect(page);
        assert!(text.starts_with(".TH"), "{page}");
    }
}
