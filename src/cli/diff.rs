//! `aimc diff`: the rendered objects against a golden directory (`--golden`) or against the
//! same tree at a git revision (`--base`, the pull-request view).

use super::render::{render_tree, RenderFlags};
use crate::diag::{self, Diagnostic, Location};
use crate::emit::{self, Format};
use crate::golden::{
    self,
    diff::{self as objects, Comparison, Counts, Labels, Objects},
};
use clap::{ArgGroup, Args, ValueEnum};
use serde::Serialize;
use serde_json::Value;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The built-in markdown report (`--format markdown`).
pub const MARKDOWN_TEMPLATE: &str = include_str!("diff_report.md.j2");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ReportFormat {
    /// Summary, one line per object, unified diffs.
    #[default]
    Text,
    /// A pull-request comment: summary table and a collapsed diff per object.
    Markdown,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("against").required(true).args(["golden", "base"])))]
pub struct DiffArgs {
    /// Directory to render.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Compare with this golden directory (the `render -o` layout).
    #[arg(long, value_name = "DIR")]
    pub golden: Option<PathBuf>,
    /// Compare with DIR as of this git revision.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    #[command(flatten)]
    pub flags: RenderFlags,
    /// Rewrite the golden directory with the rendered objects (refused when CI is set).
    #[arg(long, requires = "golden")]
    pub update: bool,
    /// Exit 2 on differences and 1 on errors, instead of 1 and 2.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// Markdown template (minijinja) replacing the built-in one.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,
}

/// What a diff found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Same,
    Differences,
    Error,
}

/// kubectl diff's codes (0 / 1 differences / 2 error), or with `--detailed-exitcode`
/// terraform's (0 / 2 differences / 1 error).
pub fn exit_code(found: Found, detailed: bool) -> u8 {
    match (found, detailed) {
        (Found::Same, _) => 0,
        (Found::Differences, false) | (Found::Error, true) => 1,
        (Found::Differences, true) | (Found::Error, false) => 2,
    }
}

/// The exit code of a command line clap rejects: a script that asked for
/// `--detailed-exitcode` reads 2 as "differences", so a typo must not exit 2.
pub fn usage_error_code(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args: Vec<OsString> = args.into_iter().skip(1).collect();
    let diff = args.first().is_some_and(|a| a == "diff");
    let detailed = args.iter().any(|a| a == "--detailed-exitcode");
    if diff && detailed {
        exit_code(Found::Error, true)
    } else {
        super::exit::USAGE_OR_IO
    }
}

pub fn run(args: &DiffArgs) -> u8 {
    let found = match execute(args) {
        Ok(true) => Found::Differences,
        Ok(false) => Found::Same,
        Err(message) => {
            eprintln!("aimc: {message}");
            Found::Error
        }
    };
    exit_code(found, args.detailed_exitcode)
}

/// `Ok(true)` when there are differences. Diagnostics are printed on the way; `Err` is the
/// final message.
fn execute(args: &DiffArgs) -> Result<bool, String> {
    super::tree_dir(&args.dir)?;
    let template = match (&args.template, args.format) {
        (None, _) => None,
        (Some(file), ReportFormat::Markdown) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read template {}: {e}", file.display()))?,
        ),
        (Some(_), ReportFormat::Text) => {
            return Err("--template needs --format markdown".to_owned())
        }
    };
    let report = Report {
        format: args.format,
        template: template.as_deref().unwrap_or(MARKDOWN_TEMPLATE),
    };
    match (&args.golden, &args.base) {
        (Some(golden), _) => against_golden(args, golden, &report),
        (None, Some(rev)) => against_base(args, rev, &report),
        // Unreachable: clap's `against` group requires one of the two.
        (None, None) => Err("give --golden DIR or --base REV".to_owned()),
    }
}

fn against_golden(args: &DiffArgs, golden: &Path, report: &Report) -> Result<bool, String> {
    if args.update && std::env::var_os("CI").is_some() {
        return Err(format!(
            "refusing to update {} when CI is set; run `aimc diff --update` locally and commit the result",
            golden.display()
        ));
    }
    if !args.update && !golden.is_dir() {
        return Err(format!(
            "golden directory {} does not exist; create it with `aimc diff --update --golden {}`",
            golden.display(),
            golden.display()
        ));
    }
    // Goldens kept inside the rendered tree are output, not input.
    let mut flags = args.flags.clone();
    if let (Ok(g), Ok(d)) = (
        std::fs::canonicalize(golden),
        std::fs::canonicalize(&args.dir),
    ) {
        if let Ok(rel) = g.strip_prefix(&d) {
            if !rel.as_os_str().is_empty() {
                flags.exclude.push(rel.to_path_buf());
            }
        }
    }
    let rendered = render(&args.dir, &flags)?;
    let files = emit::layout(&rendered, Format::Yaml).map_err(|e| e.to_string())?;
    let new = objects::from_rendered(rendered);
    let old = if golden.is_dir() {
        let files = golden::read_dir(golden)
            .map_err(|e| format!("cannot read {}: {e}", golden.display()))?;
        let (old, diags) = objects::parse_files(&files, golden);
        // Broken goldens (a merge conflict, say) are what an update repairs.
        if !diags.is_empty() && !args.update {
            eprint!("{}", diag::render_text(&diags, None));
            return Err(format!(
                "{} error(s) in the golden directory {}",
                diags.len(),
                golden.display()
            ));
        }
        if !diags.is_empty() {
            eprintln!(
                "aimc: {} invalid document(s) in {} are replaced",
                diags.len(),
                golden.display()
            );
        }
        old
    } else {
        Objects::new()
    };
    let labels = Labels {
        old: "golden",
        new: "rendered",
    };
    let cmp = objects::compare(&old, &new, labels).map_err(|e| e.to_string())?;
    print(&report.render(&cmp, &golden.display().to_string(), false)?)?;
    if args.update {
        golden::replace_dir(golden, &files)
            .map_err(|e| format!("cannot update {}: {e}", golden.display()))?;
        eprintln!("aimc: updated {} ({} files)", golden.display(), files.len());
        return Ok(false);
    }
    Ok(!cmp.is_empty())
}

fn against_base(args: &DiffArgs, rev: &str, report: &Report) -> Result<bool, String> {
    if !args.dir.is_dir() {
        return Err(format!("{} is not a directory", args.dir.display()));
    }
    let located = git(
        &args.dir,
        &["rev-parse", "--show-toplevel", "--show-prefix"],
    )
    .map_err(|e| format!("{} is not in a git work tree: {e}", args.dir.display()))?;
    let mut lines = located.lines();
    let top = PathBuf::from(lines.next().unwrap_or(""));
    let prefix = lines.next().unwrap_or("").trim_end_matches('/').to_owned();
    let commit = git(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{rev}^{{commit}}"),
        ],
    )
    .map_err(|_| format!("unknown revision {rev}"))?;
    let commit = commit.trim();

    // Without the directory at the base, every object is new (a pull request that adds it).
    let at_base = git(&top, &["cat-file", "-t", &format!("{commit}:{prefix}")])
        .is_ok_and(|t| t.trim() == "tree");
    let old = if at_base {
        let tmp = tempfile::Builder::new()
            .prefix("aimc-base-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        extract(&top, commit, &prefix, tmp.path())?;
        let root = tmp.path().join(&prefix);
        let outcome = render_tree(&root, &args.flags).map_err(|e| format!("cannot read {e}"))?;
        match outcome.objects {
            Some(o) => o,
            None => {
                // The old tree's warnings are not this change's business; its errors are.
                let shown = base_locations(outcome.diagnostics, &root, rev, &prefix);
                eprint!("{}", diag::render_text(&shown, None));
                return Err(format!(
                    "the tree at {rev} does not render; nothing to compare"
                ));
            }
        }
    } else {
        Vec::new()
    };
    let new = render(&args.dir, &args.flags)?;
    let labels = Labels {
        old: "base",
        new: "rendered",
    };
    let cmp = objects::compare(
        &objects::from_rendered(old),
        &objects::from_rendered(new),
        labels,
    )
    .map_err(|e| e.to_string())?;
    print(&report.render(&cmp, rev, true)?)?;
    Ok(!cmp.is_empty())
}

/// Writes `REV`'s `prefix` below `into` with `git archive | tar`, so the user's work tree and
/// index are never touched. Files marked `export-ignore` in `.gitattributes` are left out, as
/// they are from any archive of the repository.
fn extract(top: &Path, commit: &str, prefix: &str, into: &Path) -> Result<(), String> {
    let mut archive = Command::new("git");
    // A directory named like a glob (`team[1]`) archives only itself.
    archive
        .arg("--literal-pathspecs")
        .arg("-C")
        .arg(top)
        .args(["archive", "--format=tar", commit]);
    if !prefix.is_empty() {
        archive.args(["--", prefix]);
    }
    let mut archive = archive
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let tar_in = archive
        .stdout
        .take()
        .map(Stdio::from)
        .ok_or("git archive has no output")?;
    let untar = Command::new("tar")
        .args(["-x", "-f", "-", "-C"])
        .arg(into)
        .stdin(tar_in)
        .stderr(Stdio::piped())
        .output();
    let archived = archive
        .wait_with_output()
        .map_err(|e| format!("git archive: {e}"))?;
    if !archived.status.success() {
        return Err(format!(
            "git archive {commit}: {}",
            String::from_utf8_lossy(&archived.stderr).trim()
        ));
    }
    let untar = untar.map_err(|e| format!("cannot run tar: {e}"))?;
    if !untar.status.success() {
        return Err(format!(
            "tar: {}",
            String::from_utf8_lossy(&untar.stderr).trim()
        ));
    }
    Ok(())
}

/// Runs git in `dir`; stdout on success, stderr as the error.
fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        String::from_utf8(out.stdout).map_err(|e| e.to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// The base tree's diagnostics located as `REV:path/from/repo/root`, git's notation, since
/// the temporary directory means nothing to the reader.
fn base_locations(diags: Vec<Diagnostic>, root: &Path, rev: &str, prefix: &str) -> Vec<Diagnostic> {
    diags
        .into_iter()
        .map(|mut d| {
            if let Some(loc) = d.location.as_mut() {
                let rel = loc.file.strip_prefix(root).unwrap_or(&loc.file);
                let path = Path::new(prefix).join(rel);
                *loc = Location::new(format!("{rev}:{}", path.display()), loc.line, loc.col);
            }
            d
        })
        .collect()
}

/// Renders `dir`, printing its diagnostics; `Err` when it has errors.
fn render(dir: &Path, flags: &RenderFlags) -> Result<Vec<Value>, String> {
    let outcome = render_tree(dir, flags).map_err(|e| format!("cannot read {e}"))?;
    eprint!("{}", diag::render_text(&outcome.diagnostics, Some(dir)));
    outcome.objects.ok_or_else(|| {
        let n = outcome.diagnostics.iter().filter(|d| d.is_error()).count();
        format!("{n} error(s); nothing to compare")
    })
}

fn print(text: &str) -> Result<(), String> {
    super::io::stdout(text.as_bytes()).map_err(|e| format!("cannot write output: {e}"))
}

struct Report<'a> {
    format: ReportFormat,
    template: &'a str,
}

impl Report<'_> {
    /// `reference` is the golden directory or the base revision; `with_scope` adds the
    /// "this change alters …" line of the pull-request view.
    fn render(
        &self,
        cmp: &Comparison,
        reference: &str,
        with_scope: bool,
    ) -> Result<String, String> {
        match self.format {
            ReportFormat::Text => Ok(cmp.text(with_scope)),
            ReportFormat::Markdown => markdown(self.template, cmp, reference, with_scope),
        }
    }
}

/// The template's context; documented at the top of `diff_report.md.j2`.
#[derive(Serialize)]
struct MarkdownContext<'a> {
    against: &'static str,
    reference: &'a str,
    scope: Option<String>,
    summary: String,
    counts: Counts,
    objects: Vec<MarkdownObject<'a>>,
}

#[derive(Serialize)]
struct MarkdownObject<'a> {
    kind: &'a str,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    namespace: &'a str,
    name: &'a str,
    change: &'static str,
    renamed_from: Option<&'a str>,
    path: String,
    diff: Option<&'a str>,
    fence: String,
}

/// Renders the markdown report with `template` (minijinja).
pub fn markdown(
    template: &str,
    cmp: &Comparison,
    reference: &str,
    with_scope: bool,
) -> Result<String, String> {
    let ctx = MarkdownContext {
        against: if with_scope { "base" } else { "golden" },
        reference,
        scope: with_scope.then(|| cmp.scope()),
        summary: cmp.summary(),
        counts: cmp.counts(),
        objects: cmp
            .changes
            .iter()
            .map(|c| MarkdownObject {
                kind: &c.object.key.kind,
                api_version: &c.object.key.api_version,
                namespace: &c.object.key.namespace,
                name: &c.object.key.name,
                change: c.kind.as_str(),
                renamed_from: c.renamed_from.as_ref().map(|s| s.key.name.as_str()),
                path: c.object.path.display().to_string(),
                diff: c.diff.as_deref(),
                fence: fence(c.diff.as_deref().unwrap_or("")),
            })
            .collect(),
    };
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // A typo in a custom template should fail the CI step, not post an empty comment.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.template_from_str(template)
        .and_then(|t| t.render(&ctx))
        .map_err(|e| format!("markdown template: {e:#}"))
}

/// A code fence longer than any backtick run in `text`, so a value holding ``` cannot end
/// the diff block early.
fn fence(text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_kubectl_and_terraform() {
        let all = [Found::Same, Found::Differences, Found::Error];
        assert_eq!(all.map(|f| exit_code(f, false)), [0, 1, 2]);
        assert_eq!(all.map(|f| exit_code(f, true)), [0, 2, 1]);
    }

    #[test]
    fn usage_errors_of_detailed_diffs_exit_1() {
        let args = |a: &[&str]| a.iter().map(OsString::from).collect::<Vec<_>>();
        assert_eq!(
            usage_error_code(args(&["aimc", "diff", "--detailed-exitcode", "--bogus"])),
            1
        );
        assert_eq!(usage_error_code(args(&["aimc", "diff", "--bogus"])), 2);
        assert_eq!(
            usage_error_code(args(&["aimc", "render", "--detailed-exitcode"])),
            2
        );
    }

    #[test]
    fn fences_outgrow_backtick_runs() {
        assert_eq!(fence("a: b\n"), "```");
        assert_eq!(fence("x: ```` y\n"), "`````");
    }
}
