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

/// Where a report's paths are relative to, and where a diagnostic without a location goes.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    /// The tree's directory as given; locations are relative to it (and `text` and `json`
    /// show them so).
    pub root: Option<PathBuf>,
    /// The absolute directory `github` and `sarif` paths are relative to: the repository.
    /// `None`: they are relative to `root` too.
    pub repo_root: Option<PathBuf>,
    /// The `root`-relative file that `github` and `sarif` attach a diagnostic without a
    /// location to; `None`: the tree's directory.
    pub fallback: Option<PathBuf>,
}

impl ReportContext {
    /// Paths relative to `root`, nothing else known: enough for `text` and `json`.
    pub fn tree(root: Option<&Path>) -> Self {
        ReportContext {
            root: root.map(Path::to_path_buf),
            ..Self::default()
        }
    }

    /// For a report on the tree at `root`: the repository is the git work tree holding it
    /// (a `.git` directory or file above it), else the current directory when the tree is
    /// below it, else the tree itself. `fallback` names the `root`-relative file a diagnostic
    /// without a location is attached to; it is asked only when some diagnostic has none.
    pub fn for_tree(
        root: &Path,
        diags: &[Diagnostic],
        fallback: impl FnOnce(&Path) -> Option<PathBuf>,
    ) -> Self {
        let cwd = std::env::current_dir().ok();
        let tree = absolute(root, cwd.as_deref());
        let repo_root = tree
            .as_deref()
            .map(|t| repository_root(t, cwd.as_deref(), |d| d.join(".git").exists()));
        let fallback = if diags.iter().any(|d| d.location.is_none()) {
            fallback(root)
        } else {
            None
        };
        ReportContext {
            root: Some(root.to_path_buf()),
            repo_root,
            fallback,
        }
    }

    /// `file` (relative to `root`, as locations are) relative to the repository when it is
    /// inside it, else absolute; no `.` or `..` left either way.
    fn repo_path(&self, file: &Path, cwd: Option<&Path>) -> PathBuf {
        let Some(repo) = &self.repo_root else {
            return file.to_path_buf();
        };
        let full = match &self.root {
            Some(root) if file.is_relative() => root.join(file),
            _ => file.to_path_buf(),
        };
        match absolute(&full, cwd) {
            Some(abs) => abs.strip_prefix(repo).map(Path::to_path_buf).unwrap_or(abs),
            None => full,
        }
    }

    /// Where `github` and `sarif` put `d`: its location, else the fallback file (line 1),
    /// else the tree's directory.
    fn place(&self, d: &Diagnostic, cwd: Option<&Path>) -> Place {
        match (&d.location, &self.fallback) {
            (Some(l), _) => Place {
                path: self.repo_path(&l.file, cwd),
                line: l.line.max(1),
                col: Some(l.col.max(1)),
                dir: false,
            },
            (None, Some(f)) => Place {
                path: self.repo_path(f, cwd),
                line: 1,
                col: None,
                dir: false,
            },
            (None, None) => Place {
                path: self.repo_path(Path::new(""), cwd),
                line: 1,
                col: None,
                dir: true,
            },
        }
    }
}

struct Place {
    path: PathBuf,
    line: u32,
    col: Option<u32>,
    dir: bool,
}

impl Place {
    /// The path's bytes with `/` separators; a directory ends in `/` (`./` for the
    /// repository itself).
    fn slashed_bytes(&self) -> Vec<u8> {
        use std::path::Component;
        let mut out: Vec<u8> = Vec::new();
        for c in self.path.components() {
            match c {
                Component::RootDir => {}
                other => {
                    if !out.is_empty() && !out.ends_with(b"/") {
                        out.push(b'/');
                    }
                    out.extend_from_slice(other.as_os_str().as_encoded_bytes());
                }
            }
        }
        if self.path.has_root() {
            out.insert(0, b'/');
        }
        if self.dir {
            if out.is_empty() {
                out.push(b'.');
            }
            if !out.ends_with(b"/") {
                out.push(b'/');
            }
        }
        out
    }

    fn slashed(&self) -> String {
        String::from_utf8_lossy(&self.slashed_bytes()).into_owned()
    }
}

/// `path` made absolute against `cwd` and with `.` and `..` resolved lexically, so it can
/// be compared with the repository root (the tree's own spelling may be `./x/../y`).
fn absolute(path: &Path, cwd: Option<&Path>) -> Option<PathBuf> {
    use std::path::Component;
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        cwd?.join(path)
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

/// The git work tree holding `tree` (a `.git` directory, or the `.git` file of a worktree
/// or submodule), found without running git; else `cwd` when `tree` is below it; else
/// `tree` itself, so paths never climb out with `..`.
fn repository_root(tree: &Path, cwd: Option<&Path>, has_git: impl Fn(&Path) -> bool) -> PathBuf {
    if let Some(top) = tree.ancestors().find(|d| has_git(d)) {
        return top.to_path_buf();
    }
    match cwd {
        Some(c) if tree.starts_with(c) => c.to_path_buf(),
        _ => tree.to_path_buf(),
    }
}

/// Renders `diags` in `format`. File names are relative to `ctx.root` (when under it) in
/// `text` and `json`, and relative to `ctx.repo_root` in `github` and `sarif`.
pub fn render(
    diags: &[Diagnostic],
    format: DiagFormat,
    ctx: &ReportContext,
    color: bool,
) -> String {
    let root = ctx.root.as_deref();
    let rel = relative(diags, root);
    match format {
        DiagFormat::Text => text(&rel, root, color),
        DiagFormat::Json => json_lines(&rel),
        DiagFormat::Github => github(&rel, ctx),
        DiagFormat::Sarif => sarif(&rel, ctx),
    }
}

/// The stream a report is written to: colour follows that stream, not another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Whether to colour what is written to `stream`, from the environment and whether the
/// stream is a terminal (see [`color_decision`]).
pub fn color_for(stream: Stream) -> bool {
    use std::io::IsTerminal;
    let is_terminal = match stream {
        Stream::Stdout => std::io::stdout().is_terminal(),
        Stream::Stderr => std::io::stderr().is_terminal(),
    };
    color_decision(
        is_terminal,
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("CLICOLOR_FORCE").as_deref(),
        std::env::var_os("TERM").as_deref(),
    )
}

/// Colour or not. `NO_COLOR` (non-empty) wins over everything: it is the user's opt-out
/// (no-color.org), and a forced-colour setting inherited from CI must not override it.
/// Then `CLICOLOR_FORCE` (non-empty, not `0`) turns colour on even off a terminal
/// (bixense.com/clicolors); then `TERM=dumb` turns it off; else colour on a terminal.
pub fn color_decision(
    is_terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    clicolor_force: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
) -> bool {
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if clicolor_force.is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    if term.is_some_and(|t| t == "dumb") {
        return false;
    }
    is_terminal
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
            .any(super::credential::is_credential_name)
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
/// summary that counts diagnostics (all of them, and those not annotated).
fn github(diags: &[Diagnostic], ctx: &ReportContext) -> String {
    const SHOWN: usize = 10;
    let mut out = String::new();
    let mut seen: BTreeMap<Severity, usize> = BTreeMap::new();
    let cwd = std::env::current_dir().ok();
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
        let place = ctx.place(d, cwd.as_deref());
        let mut props = vec![
            format!("file={}", gh_prop(&place.slashed())),
            format!("line={}", place.line),
        ];
        if let Some(col) = place.col {
            props.push(format!("col={col}"));
        }
        props.push(format!("title={}", gh_prop(d.code)));
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        let _ = writeln!(out, "::{level} {}::{}", props.join(","), gh_data(&msg));
    }
    let counts = |n: &dyn Fn(usize) -> usize| -> Vec<String> {
        seen.iter()
            .filter(|(_, c)| n(**c) > 0)
            .map(|(s, c)| {
                format!(
                    "{} {}{}",
                    n(*c),
                    s.as_str(),
                    if n(*c) == 1 { "" } else { "s" }
                )
            })
            .collect()
    };
    let hidden: usize = seen.values().map(|n| n.saturating_sub(SHOWN)).sum();
    if hidden > 0 {
        let _ = writeln!(
            out,
            "::notice title=aimc::{}",
            gh_data(&format!(
                "{} diagnostics ({}); {hidden} not annotated ({})",
                diags.len(),
                counts(&|c| c).join(", "),
                counts(&|c| c.saturating_sub(SHOWN)).join(", "),
            ))
        );
    }
    out
}

/// SARIF's `uriBaseId` for the repository root; `run.originalUriBaseIds` says where it is.
pub const SRCROOT: &str = "SRCROOT";

/// Percent-encodes a path for a URI: every byte but RFC 3986's unreserved characters and
/// `/` is escaped, so `:` in a first segment cannot read as a scheme and spaces, `#`, `%`,
/// `?` and non-ASCII (as UTF-8 bytes) are safe. Ten lines do not warrant the
/// `percent-encoding` crate, which would need the same character set spelled out.
fn encode_path(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `file:///…/` for an absolute directory (the trailing slash makes it a base).
fn dir_uri(dir: &Path) -> String {
    let place = Place {
        path: dir.to_path_buf(),
        line: 1,
        col: None,
        dir: true,
    };
    let p = encode_path(&place.slashed_bytes());
    if p.starts_with('/') {
        format!("file://{p}")
    } else {
        format!("file:///{p}")
    }
}

/// A stable link to the README's diagnostic table, when the build knows the repository
/// (`repository` in Cargo.toml). SARIF's `helpUri` must be an absolute URI (SARIF 3.49.12,
/// schema `format: uri`): without a known home, no link is better than a made-up one;
/// `help` carries the description either way.
fn help_uri() -> Option<String> {
    let repo = env!("CARGO_PKG_REPOSITORY").trim_end_matches('/');
    (!repo.is_empty()).then(|| format!("{repo}#usage"))
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule(code: &'static str, seen_as: Severity) -> Value {
    let info = super::codes::lookup(code);
    let short = info.map_or(code, |i| i.short);
    let full = info.map_or_else(|| code.to_owned(), |i| i.full());
    let level = sarif_level(info.map_or(seen_as, |i| i.severity));
    let plain = full.replace('`', "");
    let table = "aimc's README lists every diagnostic code in its Usage section.";
    let mut r = json!({
        "id": code,
        "name": code,
        "shortDescription": {"text": short},
        "fullDescription": {"text": plain, "markdown": full},
        "help": {
            "text": format!("{plain}\n\n{table}"),
            "markdown": format!("{full}\n\n{table}"),
        },
        "defaultConfiguration": {"level": level},
    });
    if let Some(uri) = help_uri() {
        r["helpUri"] = json!(uri);
    }
    r
}

fn sarif(diags: &[Diagnostic], ctx: &ReportContext) -> String {
    let mut rules: BTreeMap<&'static str, Value> = BTreeMap::new();
    for d in diags {
        rules
            .entry(d.code)
            .or_insert_with(|| rule(d.code, d.severity));
    }
    let rule_index: BTreeMap<&str, usize> =
        rules.keys().enumerate().map(|(i, k)| (*k, i)).collect();
    let cwd = std::env::current_dir().ok();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str(" (help: ");
                text.push_str(h);
                text.push(')');
            }
            let place = ctx.place(d, cwd.as_deref());
            let path = place.slashed_bytes();
            let uri = encode_path(&path);
            let artifact = if place.path.has_root() {
                // Outside the repository root (a file named by an absolute path): no base.
                json!({"uri": format!("file://{uri}")})
            } else {
                json!({"uri": uri, "uriBaseId": SRCROOT})
            };
            let mut region = json!({"startLine": place.line});
            if let Some(col) = place.col {
                region["startColumn"] = json!(col);
            }
            // Stable across runs and line moves; v2: the path is the repository-relative one.
            let fp: String = Sha256::digest(format!("{}|{uri}|{}", d.code, d.message).as_bytes())
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect();
            json!({
                "ruleId": d.code,
                "ruleIndex": rule_index.get(d.code).copied().unwrap_or(0),
                "level": sarif_level(d.severity),
                "message": {"text": text},
                "locations": [{"physicalLocation": {
                    "artifactLocation": artifact,
                    "region": region,
                }}],
                "partialFingerprints": {"aimcDiagnostic/v2": fp},
            })
        })
        .collect();
    let mut driver = json!({
        "name": "aimc",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules.into_values().collect::<Vec<_>>(),
    });
    let repo = env!("CARGO_PKG_REPOSITORY");
    if !repo.is_empty() {
        driver["informationUri"] = json!(repo);
    }
    let mut run = json!({
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let Some(repo) = &ctx.repo_root {
        run["originalUriBaseIds"] = json!({SRCROOT: {"uri": dir_uri(repo)}});
    }
    let doc = json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
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

    /// The tree `/repo` is its own repository: what the old `root` argument meant.
    fn at_repo() -> ReportContext {
        ReportContext {
            root: Some(PathBuf::from("/repo")),
            repo_root: Some(PathBuf::from("/repo")),
            fallback: None,
        }
    }

    #[test]
    fn every_format_carries_the_same_diagnostics() {
        let d = sample();
        let root = &at_repo();
        let json = render(&d, DiagFormat::Json, root, false);
        let parsed: Vec<Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let gh = render(&d, DiagFormat::Github, root, false);
        let sarif: Value =
            serde_json::from_str(&render(&d, DiagFormat::Sarif, root, false)).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        let text = render(&d, DiagFormat::Text, root, false);
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
        let gh = render(&sample(), DiagFormat::Github, &at_repo(), false);
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
        // No location and no fallback file: the tree's directory, here the repository.
        assert!(
            gh.lines()
                .nth(2)
                .unwrap()
                .starts_with("::notice file=./,line=1,title=GpuInventoryUnknown::"),
            "{gh}"
        );
    }

    #[test]
    fn github_caps_each_level_at_ten() {
        let d: Vec<Diagnostic> = (0..13)
            .map(|i| Diagnostic::warning("W", format!("w{i}")))
            .collect();
        let gh = render(&d, DiagFormat::Github, &ReportContext::default(), false);
        assert_eq!(
            gh.lines().filter(|l| l.starts_with("::warning")).count(),
            10
        );
        assert_eq!(
            gh.lines().last().unwrap(),
            "::notice title=aimc::13 diagnostics (13 warnings); 3 not annotated (3 warnings)"
        );
    }

    #[test]
    fn github_summary_counts_diagnostics_not_severities() {
        let many = |n: usize, sev: Severity| {
            (0..n).map(move |i| Diagnostic::new(sev, "X", format!("m{i}")))
        };
        let d: Vec<Diagnostic> = many(3000, Severity::Error).collect();
        let gh = render(&d, DiagFormat::Github, &ReportContext::default(), false);
        assert_eq!(gh.lines().count(), 11);
        assert_eq!(
            gh.lines().last().unwrap(),
            "::notice title=aimc::3000 diagnostics (3000 errors); 2990 not annotated (2990 errors)"
        );
        let d: Vec<Diagnostic> = many(13, Severity::Error)
            .chain(many(11, Severity::Warning))
            .chain(many(2, Severity::Info))
            .collect();
        let gh = render(&d, DiagFormat::Github, &ReportContext::default(), false);
        assert_eq!(gh.lines().count(), 23);
        assert_eq!(
            gh.lines().last().unwrap(),
            "::notice title=aimc::26 diagnostics (13 errors, 11 warnings, 2 infos); 4 not annotated (3 errors, 1 warning)"
        );
        let d: Vec<Diagnostic> = many(10, Severity::Error).collect();
        let gh = render(&d, DiagFormat::Github, &ReportContext::default(), false);
        assert!(
            !gh.contains("title=aimc"),
            "all annotated, no summary: {gh}"
        );
    }

    /// A tree below the repository root, with an `aimc.yaml` as the fallback file.
    fn in_subtree() -> ReportContext {
        ReportContext {
            root: Some(PathBuf::from("/repo/clusters/prod #1")),
            repo_root: Some(PathBuf::from("/repo")),
            fallback: Some(PathBuf::from("aimc.yaml")),
        }
    }

    fn subtree_sample() -> Vec<Diagnostic> {
        vec![
            Diagnostic::error("ModelNotFound", "missing").at(Some(Location::new(
                "/repo/clusters/prod #1/team a/s.yaml",
                7,
                3,
            ))),
            Diagnostic::info("GpuInventoryUnknown", "no nodes"),
        ]
    }

    #[test]
    fn github_paths_are_repository_relative_with_the_fallback_file() {
        let gh = render(&subtree_sample(), DiagFormat::Github, &in_subtree(), false);
        assert_eq!(
            gh,
            "::error file=clusters/prod #1/team a/s.yaml,line=7,col=3,title=ModelNotFound::missing\n\
             ::notice file=clusters/prod #1/aimc.yaml,line=1,title=GpuInventoryUnknown::no nodes\n"
        );
    }

    #[test]
    fn sarif_locations_are_repository_relative_encoded_uris() {
        let v: Value = serde_json::from_str(&render(
            &subtree_sample(),
            DiagFormat::Sarif,
            &in_subtree(),
            false,
        ))
        .unwrap();
        let run = &v["runs"][0];
        assert_eq!(
            run["originalUriBaseIds"],
            json!({"SRCROOT": {"uri": "file:///repo/"}})
        );
        let locations: Vec<&Value> = run["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["locations"])
            .collect();
        assert_eq!(
            locations,
            [
                &json!([{"physicalLocation": {
                    "artifactLocation": {"uri": "clusters/prod%20%231/team%20a/s.yaml", "uriBaseId": "SRCROOT"},
                    "region": {"startLine": 7, "startColumn": 3},
                }}]),
                &json!([{"physicalLocation": {
                    "artifactLocation": {"uri": "clusters/prod%20%231/aimc.yaml", "uriBaseId": "SRCROOT"},
                    "region": {"startLine": 1},
                }}]),
            ]
        );
        // Without a file to fall back on, the tree's directory.
        let ctx = ReportContext {
            fallback: None,
            ..in_subtree()
        };
        let v: Value =
            serde_json::from_str(&render(&subtree_sample(), DiagFormat::Sarif, &ctx, false))
                .unwrap();
        assert_eq!(
            v["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]
                ["uri"],
            "clusters/prod%20%231/"
        );
    }

    #[test]
    fn sarif_rules_carry_their_descriptions_and_level() {
        let v: Value = serde_json::from_str(&render(
            &subtree_sample(),
            DiagFormat::Sarif,
            &in_subtree(),
            false,
        ))
        .unwrap();
        let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        let gpu = &rules[0];
        assert_eq!(gpu["id"], "GpuInventoryUnknown");
        assert_eq!(
            gpu["shortDescription"]["text"],
            "No Node objects: every GPU is taken as present"
        );
        assert!(gpu["fullDescription"]["text"]
            .as_str()
            .unwrap()
            .starts_with(
                "No Node objects: every GPU is taken as present. What aimc had to assume offline"
            ));
        assert_eq!(gpu["defaultConfiguration"]["level"], "note");
        assert!(gpu["help"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        let model = &rules[1];
        assert_eq!(
            model["fullDescription"]["markdown"],
            "No model for the service. The operator's model-resolution failures (service.md §4)."
        );
        assert_eq!(model["defaultConfiguration"]["level"], "error");
        // helpUri only when the build knows where the README lives.
        assert_eq!(
            gpu.get("helpUri").is_some(),
            !env!("CARGO_PKG_REPOSITORY").is_empty()
        );
    }

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(
            encode_path(b"team #1/my svc.yaml"),
            "team%20%231/my%20svc.yaml"
        );
        assert_eq!(encode_path("ä/ü.yaml".as_bytes()), "%C3%A4/%C3%BC.yaml");
        assert_eq!(encode_path(b"a:b.yaml"), "a%3Ab.yaml");
        assert_eq!(encode_path(b"50%?.yaml"), "50%25%3F.yaml");
        assert_eq!(encode_path(b"a-b_c.d~e/f"), "a-b_c.d~e/f");
        assert_eq!(dir_uri(Path::new("/tmp/a b")), "file:///tmp/a%20b/");
        assert_eq!(dir_uri(Path::new("/")), "file:///");
    }

    #[test]
    fn the_repository_is_the_git_work_tree_else_the_cwd_else_the_tree() {
        let git = |top: &'static str| move |d: &Path| d == Path::new(top);
        let tree = Path::new("/w/repo/clusters/prod");
        assert_eq!(
            repository_root(tree, Some(Path::new("/elsewhere")), git("/w/repo")),
            Path::new("/w/repo")
        );
        assert_eq!(
            repository_root(tree, Some(Path::new("/w")), git("/nowhere")),
            Path::new("/w")
        );
        assert_eq!(
            repository_root(tree, Some(Path::new("/elsewhere")), git("/nowhere")),
            tree
        );
        assert_eq!(
            absolute(Path::new("./a/../b/./c"), Some(Path::new("/cwd"))),
            Some(PathBuf::from("/cwd/b/c"))
        );
    }

    #[test]
    fn for_tree_finds_git_and_asks_for_the_fallback_only_when_needed() {
        let top = tempfile::tempdir().unwrap();
        let tree = top.path().join("t");
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::write(top.path().join(".git"), "gitdir: elsewhere\n").unwrap();
        let nowhere = vec![Diagnostic::info("GpuInventoryUnknown", "no nodes")];
        let ctx = ReportContext::for_tree(&tree, &nowhere, |_| Some(PathBuf::from("aimc.yaml")));
        assert_eq!(ctx.repo_root.as_deref(), Some(top.path()));
        assert_eq!(ctx.fallback.as_deref(), Some(Path::new("aimc.yaml")));
        let placed = vec![Diagnostic::error("X", "x").at(Some(Location::new("b.yaml", 1, 1)))];
        let ctx = ReportContext::for_tree(&tree, &placed, |_| panic!("the tree is not walked"));
        assert_eq!(ctx.fallback, None);
    }

    #[test]
    fn json_lines_keep_a_missing_location_null() {
        let out = render(&subtree_sample(), DiagFormat::Json, &in_subtree(), false);
        let second: Value = serde_json::from_str(out.lines().nth(1).unwrap()).unwrap();
        assert_eq!(second["code"], "GpuInventoryUnknown");
        assert_eq!(
            (&second["file"], &second["line"], &second["column"]),
            (&Value::Null, &Value::Null, &Value::Null)
        );
        let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
        assert_eq!(
            first["file"], "team a/s.yaml",
            "JSON stays relative to the tree"
        );
    }

    #[test]
    fn colour_follows_no_color_then_clicolor_force_then_term_then_the_terminal() {
        use std::ffi::OsStr;
        let s = |v: &'static str| Some(OsStr::new(v));
        // (is_terminal, NO_COLOR, CLICOLOR_FORCE, TERM) -> colour
        let cases = [
            ((true, None, None, s("xterm")), true),
            ((false, None, None, s("xterm")), false),
            ((true, None, None, None), true),
            ((true, s("1"), None, s("xterm")), false),
            ((true, s(""), None, s("xterm")), true),
            ((false, None, s("1"), None), true),
            ((false, None, s("0"), None), false),
            ((false, None, s(""), None), false),
            ((true, None, None, s("dumb")), false),
            ((false, None, s("1"), s("dumb")), true),
            ((false, s("1"), s("1"), None), false),
            ((true, s("1"), s("1"), s("xterm")), false),
        ];
        for ((tty, no, force, term), want) in cases {
            assert_eq!(
                color_decision(tty, no, force, term),
                want,
                "tty={tty} NO_COLOR={no:?} CLICOLOR_FORCE={force:?} TERM={term:?}"
            );
        }
    }

    #[test]
    fn sarif_rules_and_fingerprints_are_stable() {
        let a = render(&sample(), DiagFormat::Sarif, &at_repo(), false);
        assert_eq!(a, render(&sample(), DiagFormat::Sarif, &at_repo(), false));
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
        let t = render(
            &d,
            DiagFormat::Text,
            &ReportContext::tree(Some(dir.path())),
            false,
        );
        assert_eq!(
            t,
            "s.yaml:3:10: error[X]: bad\n    3 |   model: x\n      |          ^\n  help: fix\n"
        );
        let c = render(
            &d,
            DiagFormat::Text,
            &ReportContext::tree(Some(dir.path())),
            true,
        );
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
        let t = render(
            &d,
            DiagFormat::Text,
            &ReportContext::tree(Some(dir.path())),
            false,
        );
        assert!(!t.contains("TOPSECRET"), "{t}");
        assert_eq!(t, "s.yaml:4:17: error[YamlSyntax]: unclosed\n");
    }
}
