//! The README as CommonMark: closed fences, one outline, and its offline commands run as
//! written. A fence left open swallows every section after it on GitHub.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};
mod common;

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// Fenced code blocks: (info string, body, source text of the whole block).
fn fences(md: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, String, usize)> = None;
    for (event, range) in Parser::new(md).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                open = Some((info.to_string(), String::new(), range.start));
            }
            Event::Text(t) => {
                if let Some((_, body, _)) = open.as_mut() {
                    body.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((info, body, start)) = open.take() {
                    out.push((info, body, md[start..range.end].to_owned()));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_code_fence_is_closed() {
    let md = readme();
    for (info, body, _) in fences(&md) {
        // A fence line inside a block's body is a fence that was meant to close it: the
        // block runs on and the text after it renders as code.
        let stray = body.lines().find(|l| l.trim_start().starts_with("```"));
        assert!(
            stray.is_none(),
            "a ```{info} block swallows the fence {stray:?}: an earlier fence is not closed"
        );
    }
    for (_, _, source) in fences(&md) {
        let opening = source.lines().next().unwrap_or("");
        let marker: String = opening
            .trim_start()
            .chars()
            .take_while(|c| *c == '`' || *c == '~')
            .collect();
        let closing = source.trim_end().lines().last().unwrap_or("").trim();
        assert!(
            source.lines().count() >= 2
                && closing.starts_with(&marker)
                && closing.chars().all(|c| c == marker.as_bytes()[0] as char),
            "a fence opened with `{opening}` is never closed: it runs to {:?}",
            source.lines().last()
        );
    }
}

#[test]
fn headings_form_one_outline() {
    let md = readme();
    let mut headings: Vec<(HeadingLevel, String)> = Vec::new();
    let mut current: Option<(HeadingLevel, String)> = None;
    for event in Parser::new(&md) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => current = Some((level, String::new())),
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, text)) = current.as_mut() {
                    text.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => headings.extend(current.take()),
            _ => {}
        }
    }
    assert_eq!(
        headings.first().map(|h| h.0),
        Some(HeadingLevel::H1),
        "{headings:?}"
    );
    assert_eq!(
        headings.iter().filter(|h| h.0 == HeadingLevel::H1).count(),
        1,
        "one title: {headings:?}"
    );
    for pair in headings.windows(2) {
        let (a, b) = (pair[0].0 as usize, pair[1].0 as usize);
        assert!(b <= a + 1, "{:?} jumps to {:?}", pair[0], pair[1]);
    }
    let mut h2: Vec<&str> = headings
        .iter()
        .filter(|h| h.0 == HeadingLevel::H2)
        .map(|h| h.1.as_str())
        .collect();
    for needed in [
        "Usage",
        "Validate",
        "Explain",
        "Diffs",
        "Argo CD, pre-commit and CI",
        "Layout",
    ] {
        assert!(h2.contains(&needed), "no section {needed}: {h2:?}");
    }
    let n = h2.len();
    h2.sort();
    h2.dedup();
    assert_eq!(h2.len(), n, "a section title is used twice");
}

#[test]
fn stale_claims_are_gone() {
    let md = readme();
    for stale in [
        "until aimc has a `validate` command",
        "until aimc writes SARIF",
        "SARIF not available",
        "--diagnostics-format",
        "renders on every push",
        "cheaper than discovery",
        "other files in OUTDIR are left alone",
    ] {
        assert!(!md.contains(stale), "README still says {stale:?}");
    }
    let smoke = std::fs::read_to_string(root().join(".ci/precommit-smoke")).expect("smoke");
    assert!(
        !smoke.contains("has_diff"),
        "the dead --golden branch of the smoke test"
    );
}

/// A command in a `sh` block runs offline when it calls only aimc (or `cargo run --`).
fn offline_commands(md: &str) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for (info, body, _) in fences(md) {
        if info.trim() != "sh" {
            continue;
        }
        for line in body.lines() {
            let line = line.trim();
            let (cmd, comment) = line.split_once(" #").unwrap_or((line, ""));
            let cmd = cmd.trim().replace("cargo run --release -- ", "aimc ");
            let online = [
                "gh ", "docker", "kubectl", "helm ", "git ", "--base", "cargo ", "curl", "| ",
            ]
            .iter()
            .any(|w| cmd.contains(w));
            // `aimc lock` goes online unless told not to.
            let online = online || (cmd.starts_with("aimc lock") && !cmd.contains("--offline"));
            if !cmd.starts_with("aimc ") || online {
                continue;
            }
            // `# exits N` after a command states its expected code.
            let code = comment
                .split("exits ")
                .nth(1)
                .map(|c| {
                    c.chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                })
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            out.push((cmd, code));
        }
    }
    out
}

#[test]
fn offline_shell_examples_run_as_written() {
    let md = readme();
    let commands = offline_commands(&md);
    assert!(commands.len() >= 3, "{commands:?}");
    // The repository's examples and goldens in a scratch copy: examples write (`-o`).
    let scratch = tempfile::tempdir().expect("tempdir");
    for dir in ["examples", "golden"] {
        common::copy_tree(&root().join(dir), &scratch.path().join(dir));
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_aimc"))
        .parent()
        .expect("bin dir");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (cmd, want) in commands {
        let out = Command::new("bash")
            .args(["-c", &cmd])
            .current_dir(scratch.path())
            .env("PATH", &path)
            .env_remove("CI")
            .output()
            .expect("bash");
        assert_eq!(
            out.status.code(),
            Some(want),
            "README: `{cmd}`\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
