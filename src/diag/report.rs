//! Reporters over the one diagnostic model: text (with source snippets), JSON lines, GitHub
//! workflow commands and SARIF 2.1.0. Every format carries the same diagnostics.

use super::{Diagnostic, Severity};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DiagFormat {
    #[default]
    Text,
    Json,
    Github,
    Sarif,
}

/// Renders `diags` in `format`; file names are made relative to `root` when under it.
pub fn render(
    diags: &[Diagnostic],
    format: DiagFormat,
    root: Option<&Path>,
    color: bool,
) -> String {
    let rel = relative(diags, root);
    match format {
        DiagFormat::Text => text(&rel, root, color),
        DiagFormat::Json => json_lines(&rel),
        DiagFormat::Github => github(&rel),
        DiagFormat::Sarif => sarif(&rel),
    }
}

/// Whether colour suits stderr: a terminal, and `NO_COLOR` unset (no-color.org).
pub fn stderr_color() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn relative(diags: &[Diagnostic], root: Option<&Path>) -> Vec<Diagnostic> {
    diags
        .iter()
        .map(|d| {
            let mut d = d.clone();
            if let (Some(root), Some(loc)) = (root, d.location.as_mut()) {
                if let Ok(r) = loc.file.strip_prefix(root) {
                    loc.file = r.to_path_buf();
                }
            }
            d
        })
        .collect()
}

/// `path:line:col: severity[CODE]: message`, the source line with a caret, then the hint.
fn text(diags: &[Diagnostic], root: Option<&Path>, color: bool) -> String {
    let mut sources: HashMap<PathBuf, Option<Vec<String>>> = HashMap::new();
    let mut out = String::new();
    let paint = |code: &str, s: &str| {
        if color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    };
    for d in diags {
        if let Some(loc) = &d.location {
            let _ = write!(out, "{}: ", paint("1", &loc.to_string()));
        }
        let sev = match d.severity {
            Severity::Error => paint("1;31", "error"),
            Severity::Warning => paint("1;33", "warning"),
            Severity::Info => paint("1;36", "info"),
        };
        let _ = writeln!(out, "{sev}[{}]: {}", d.code, d.message);
        if let Some(loc) = &d.location {
            let path = root.map_or_else(|| loc.file.clone(), |r| r.join(&loc.file));
            // A file that holds a Secret could show a value on any line: no source from it.
            let lines = sources.entry(path.clone()).or_insert_with(|| {
                std::fs::read_to_string(&path)
                    .ok()
                    .filter(|t| !holds_secret(t))
                    .map(|t| t.lines().map(str::to_owned).collect())
            });
            let idx = (loc.line as usize).saturating_sub(1);
            let line = lines
                .as_ref()
                .and_then(|l| l.get(idx).map(|line| redact(l, idx, line)));
            if let Some(line) = line {
                let shown: String = line.chars().take(160).collect();
                let _ = writeln!(out, "{:>5} | {shown}", loc.line);
                let pad = " ".repeat((loc.col as usize).saturating_sub(1).min(160));
                let _ = writeln!(out, "      | {pad}{}", paint("1;32", "^"));
            }
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "  help: {help}");
        }
    }
    out
}

/// A literal credential (`value:` next to a credential-like env name) is cut from a source
/// line before it is shown.
fn redact(lines: &[String], idx: usize, line: &str) -> String {
    // The env entry this value belongs to: the nearest `name:` at or above it.
    let owner = (idx.saturating_sub(2)..=idx)
        .rev()
        .filter_map(|i| lines.get(i))
        .find(|l| l.contains("name:"));
    let credential = owner.is_some_and(|l| {
        l.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(crate::check::policy::is_credential_name)
    });
    match line.find("value:") {
        Some(i) if credential => format!("{} <redacted>", &line[..i + "value:".len()]),
        _ => line.to_owned(),
    }
}

fn holds_secret(text: &str) -> bool {
    text.lines().any(|l| {
        let l = l.trim();
        l.starts_with("kind:")
            && l.trim_start_matches("kind:")
                .trim()
                .trim_matches(['"', '\''])
                == "Secret"
    })
}

fn json_lines(diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let v = json!({
            "code": d.code,
            "severity": d.severity.as_str(),
            "message": d.message,
            "file": d.location.as_ref().map(|l| l.file.to_string_lossy().into_owned()),
            "line": d.location.as_ref().map(|l| l.line),
            "column": d.location.as_ref().map(|l| l.col),
            "help": d.help,
        });
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

/// Workflow-command escaping: data escapes `%`, CR, LF; properties also `:` and `,`.
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// GitHub shows at most 10 annotations per level and step: the first 10 of each, then a
/// summary of the rest.
fn github(diags: &[Diagnostic]) -> String {
    const SHOWN: usize = 10;
    let mut out = String::new();
    let mut seen: BTreeMap<Severity, usize> = BTreeMap::new();
    for d in diags {
        let n = seen.entry(d.severity).or_default();
        *n += 1;
        if *n > SHOWN {
            continue;
        }
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(l) = &d.location {
            props.push(format!("file={}", gh_prop(&l.file.to_string_lossy())));
            props.push(format!("line={}", l.line));
            props.push(format!("col={}", l.col));
        }
        props.push(format!("title={}", gh_prop(d.code)));
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        let _ = writeln!(out, "::{level} {}::{}", props.join(","), gh_data(&msg));
    }
    let hidden: Vec<String> = seen
        .iter()
        .filter(|(_, n)| **n > SHOWN)
        .map(|(s, n)| format!("{} more {}s", n - SHOWN, s.as_str()))
        .collect();
    if !hidden.is_empty() {
        let total: Vec<String> = seen
            .iter()
            .map(|(s, n)| format!("{n} {}(s)", s.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "::notice title=aimc::{} ({} not annotated: {})",
            gh_data(&total.join(", ")),
            hidden.len(),
            hidden.join(", ")
        );
    }
    out
}

fn sarif(diags: &[Diagnostic]) -> String {
    let mut rules: BTreeMap<&str, Value> = BTreeMap::new();
    for d in diags {
        rules.entry(d.code).or_insert_with(
            || json!({"id": d.code, "name": d.code, "shortDescription": {"text": d.code}}),
        );
    }
    let rule_index: BTreeMap<&str, usize> =
        rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let level = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "note",
            };
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str(" (help: ");
                text.push_str(h);
                text.push(')');
            }
            let mut r = json!({
                "ruleId": d.code,
                "ruleIndex": rule_index.get(d.code).copied().unwrap_or(0),
                "level": level,
                "message": {"text": text},
            });
            let file = d
                .location
                .as_ref()
                .map(|l| l.file.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            if let Some(l) = &d.location {
                r["locations"] = json!([{"physicalLocation": {
                    "artifactLocation": {"uri": file},
                    "region": {"startLine": l.line.max(1), "startColumn": l.col.max(1)},
                }}]);
            }
            // Stable across runs and line moves of unrelated code.
            let fp: String = Sha256::digest(format!("{}|{file}|{}", d.code, d.message).as_bytes())
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect();
            r["partialFingerprints"] = json!({"aimcDiagnostic/v1": fp});
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "aimc",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.into_values().collect::<Vec<_>>(),
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;

    fn sample() -> Vec<Diagnostic> {
        vec![
            Diagnostic::error(
                "ModelNotFound",
                "model \"x\" not found, 50% sure\nsecond line",
            )
            .at(Some(Location::new("/repo/apps/s.yaml", 7, 3)))
            .help("create it"),
            Diagnostic::warning("SecretNotFound", "secret \"a,b:c\" missing")
                .at(Some(Location::new("/repo/ns/a:b.yaml", 2, 1))),
            Diagnostic::info("GpuInventoryUnknown", "no nodes"),
        ]
    }

    #[test]
    fn every_format_carries_the_same_diagnostics() {
        let d = sample();
        let root = Path::new("/repo");
        let json = render(&d, DiagFormat::Json, Some(root), false);
        let parsed: Vec<Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let gh = render(&d, DiagFormat::Github, Some(root), false);
        let sarif: Value =
            serde_json::from_str(&render(&d, DiagFormat::Sarif, Some(root), false)).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        let text = render(&d, DiagFormat::Text, Some(root), false);
        assert_eq!(parsed.len(), 3);
        assert_eq!(results.len(), 3);
        assert_eq!(gh.lines().count(), 3);
        for (i, diag) in d.iter().enumerate() {
            assert_eq!(parsed[i]["code"], diag.code);
            assert_eq!(results[i]["ruleId"], diag.code);
            assert!(gh
                .lines()
                .nth(i)
                .unwrap()
                .contains(&format!("title={}", diag.code)));
            assert!(text.contains(&format!("[{}]", diag.code)));
        }
        assert_eq!(parsed[0]["file"], "apps/s.yaml");
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "apps/s.yaml"
        );
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            7
        );
        assert_eq!(results[1]["level"], "warning");
        assert_eq!(results[2]["level"], "note");
    }

    #[test]
    fn github_escaping() {
        let gh = render(
            &sample(),
            DiagFormat::Github,
            Some(Path::new("/repo")),
            false,
        );
        let first = gh.lines().next().unwrap();
        assert!(
            first.starts_with("::error file=apps/s.yaml,line=7,col=3,title=ModelNotFound::"),
            "{first}"
        );
        assert!(
            first.contains("50%25 sure%0Asecond line%0Ahelp: create it"),
            "{first}"
        );
        let second = gh.lines().nth(1).unwrap();
        assert!(second.contains("file=ns/a%3Ab.yaml"), "{second}");
        assert!(
            second.contains("::secret \"a,b:c\" missing"),
            "data keeps , and :: {second}"
        );
        assert!(gh
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("::notice title=GpuInventoryUnknown::"));
    }

    #[test]
    fn github_caps_each_level_at_ten() {
        let d: Vec<Diagnostic> = (0..13)
            .map(|i| Diagnostic::warning("W", format!("w{i}")))
            .collect();
        let gh = render(&d, DiagFormat::Github, None, false);
        assert_eq!(
            gh.lines().filter(|l| l.starts_with("::warning")).count(),
            10
        );
        let last = gh.lines().last().unwrap();
        assert!(
            last.starts_with("::notice title=aimc::13 warning(s)")
                && last.contains("3 more warnings"),
            "{last}"
        );
    }

    #[test]
    fn sarif_rules_and_fingerprints_are_stable() {
        let a = render(
            &sample(),
            DiagFormat::Sarif,
            Some(Path::new("/repo")),
            false,
        );
        assert_eq!(
            a,
            render(
                &sample(),
                DiagFormat::Sarif,
                Some(Path::new("/repo")),
                false
            )
        );
        let v: Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["version"], "2.1.0");
        let rules: Vec<&str> = v["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            rules,
            ["GpuInventoryUnknown", "ModelNotFound", "SecretNotFound"]
        );
        assert_eq!(v["runs"][0]["results"][0]["ruleIndex"], 1);
    }

    #[test]
    fn text_shows_the_line_with_a_caret() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.yaml"), "a: 1\nspec:\n  model: x\n").unwrap();
        let d = vec![Diagnostic::error("X", "bad")
            .at(Some(Location::new(dir.path().join("s.yaml"), 3, 10)))
            .help("fix")];
        let t = render(&d, DiagFormat::Text, Some(dir.path()), false);
        assert_eq!(
            t,
            "s.yaml:3:10: error[X]: bad\n    3 |   model: x\n      |          ^\n  help: fix\n"
        );
        let c = render(&d, DiagFormat::Text, Some(dir.path()), true);
        assert!(c.contains("\x1b[1;31merror\x1b[0m"));
    }

    #[test]
    fn literal_credentials_are_cut_from_source_lines() {
        let lines: Vec<String> = [
            "env:",
            "  - name: HF_TOKEN",
            "    value: hf_abc",
            "  - {name: API_KEY, value: k}",
            "  - name: MODE",
            "    value: fast",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(redact(&lines, 2, &lines[2]), "    value: <redacted>");
        assert_eq!(
            redact(&lines, 3, &lines[3]),
            "  - {name: API_KEY, value: <redacted>"
        );
        assert_eq!(redact(&lines, 5, &lines[5]), "    value: fast");
    }

    #[test]
    fn no_source_lines_from_files_that_hold_secrets() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("s.yaml"),
            "apiVersion: v1\nkind: Secret\nstringData:\n  token: TOPSECRET [\n",
        )
        .unwrap();
        let d = vec![
            Diagnostic::error("YamlSyntax", "unclosed").at(Some(Location::new(
                dir.path().join("s.yaml"),
                4,
                17,
            ))),
        ];
        let t = render(&d, DiagFormat::Text, Some(dir.path()), false);
        assert!(!t.contains("TOPSECRET"), "{t}");
        assert_eq!(t, "s.yaml:4:17: error[YamlSyntax]: unclosed\n");
    }
}
