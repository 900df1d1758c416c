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
    /// Markdown: at most N characters (Unicode scalar values); the diffs of the objects that
    /// do not fit are left out and counted. 0: no limit. [default: 65536, a GitHub comment]
    #[arg(long, value_name = "N")]
    pub max_chars: Option<usize>,
    /// Markdown: where the complete report is (a CI job's page), linked when objects are left
    /// out.
    #[arg(long, value_name = "URL")]
    pub full_report_url: Option<String>,
}

/// GitHub's limit on a comment body ("maximum is 65536 characters").
pub const DEFAULT_MAX_CHARS: usize = 65_536;

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
            super::io::error(format_args!("{message}"));
            Found::Error
        }
    };
    exit_code(found, args.detailed_exitcode)
}

/// `Ok(true)` when there are differences. Diagnostics are printed on the way; `Err` is the
/// final message.
fn execute(args: &DiffArgs) -> Result<bool, String> {
    super::tree_dir(&args.dir)?;
    if args.format == ReportFormat::Text {
        for (given, flag) in [
            (args.template.is_some(), "--template"),
            (args.max_chars.is_some(), "--max-chars"),
            (args.full_report_url.is_some(), "--full-report-url"),
        ] {
            if given {
                return Err(format!("{flag} needs --format markdown"));
            }
        }
    }
    let template = match &args.template {
        None => None,
        Some(file) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read template {}: {e}", file.display()))?,
        ),
    };
    let command = local_command(args);
    let report = Report {
        format: args.format,
        markdown: MarkdownOptions {
            template: template.as_deref().unwrap_or(MARKDOWN_TEMPLATE),
            max_chars: args.max_chars.unwrap_or(DEFAULT_MAX_CHARS),
            full_report_url: args.full_report_url.as_deref(),
            command: &command,
        },
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
            super::io::stderr(&diag::render_text(&diags, None));
            return Err(format!(
                "{} error(s) in the golden directory {}",
                diags.len(),
                golden.display()
            ));
        }
        if !diags.is_empty() {
            super::io::error(format_args!(
                "{} invalid document(s) in {} are replaced",
                diags.len(),
                golden.display()
            ));
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
        super::io::stderr(&format!(
            "aimc: updated {} ({} files)\n",
            golden.display(),
            files.len()
        ));
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
                super::io::stderr(&diag::render_text(&shown, None));
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
    super::io::stderr(&diag::render_text(&outcome.diagnostics, Some(dir)));
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
    markdown: MarkdownOptions<'a>,
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
            ReportFormat::Markdown => markdown(&self.markdown, cmp, reference, with_scope),
        }
    }
}

/// The command a reader runs to see what a truncated report left out.
fn local_command(args: &DiffArgs) -> String {
    let mut words = vec!["aimc".to_owned(), "diff".to_owned()];
    match (&args.golden, &args.base) {
        (Some(golden), _) => {
            words.push("--golden".to_owned());
            words.push(shell_quote(&golden.display().to_string()));
        }
        (None, Some(rev)) => {
            words.push("--base".to_owned());
            words.push(shell_quote(rev));
        }
        (None, None) => {}
    }
    if args.dir != Path::new(".") {
        words.push(shell_quote(&args.dir.display().to_string()));
    }
    words.join(" ")
}

/// POSIX single quotes where a word needs them (`HEAD~1` does not, `~x` would expand).
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && !word.starts_with('~')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:@%+=,^~".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// How the markdown report is rendered and bounded.
#[derive(Debug, Clone, Copy)]
pub struct MarkdownOptions<'a> {
    /// minijinja source.
    pub template: &'a str,
    /// Characters (Unicode scalar values) the output may hold; 0: no limit.
    pub max_chars: usize,
    pub full_report_url: Option<&'a str>,
    /// What to run locally for the whole report.
    pub command: &'a str,
}

/// The template's context; documented at the top of `diff_report.md.j2`.
#[derive(Serialize)]
struct MarkdownContext<'a> {
    against: &'static str,
    reference: &'a str,
    scope: Option<&'a str>,
    summary: &'a str,
    counts: Counts,
    objects: Vec<MarkdownObject<'a>>,
    omitted: usize,
    unlisted: usize,
    truncated: bool,
    max_chars: usize,
    full_report_url: Option<&'a str>,
    command: &'a str,
}

#[derive(Serialize, Clone, Copy)]
struct MarkdownObject<'a> {
    kind: &'a str,
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    namespace: &'a str,
    name: &'a str,
    change: &'static str,
    renamed_from: Option<&'a str>,
    path: &'a str,
    diff: Option<&'a str>,
    diff_cut: usize,
    fence: &'a str,
}

/// What of the report is shown: the first `rows` objects, the diffs of the first `diffs`
/// objects that have one, and, when `partial` is set, the first lines of the next diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut {
    rows: usize,
    diffs: usize,
    partial: Option<usize>,
}

/// Renders the markdown report (minijinja) within `opts.max_chars`. Whatever the template,
/// what is dropped are whole values aimc passes in, never bytes of the output: first the
/// diffs from the last object up, then (when the table alone is too long) table rows. When
/// not even the first diff fits, its first lines are shown. Every candidate is rendered and
/// counted, so the limit holds for any template; `Err` when nothing fits.
pub fn markdown(
    opts: &MarkdownOptions,
    cmp: &Comparison,
    reference: &str,
    with_scope: bool,
) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    // A typo in a custom template should fail the CI step, not post an empty comment.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    let template = env
        .template_from_str(opts.template)
        .map_err(|e| format!("markdown template: {e:#}"))?;
    let paths: Vec<String> = cmp
        .changes
        .iter()
        .map(|c| c.object.path.display().to_string())
        .collect();
    let fences: Vec<String> = cmp
        .changes
        .iter()
        .map(|c| fence(c.diff.as_deref().unwrap_or("")))
        .collect();
    let objects: Vec<MarkdownObject> = cmp
        .changes
        .iter()
        .zip(paths.iter().zip(&fences))
        .map(|(c, (path, fence))| MarkdownObject {
            kind: &c.object.key.kind,
            api_version: &c.object.key.api_version,
            namespace: &c.object.key.namespace,
            name: &c.object.key.name,
            change: c.kind.as_str(),
            renamed_from: c.renamed_from.as_ref().map(|s| s.key.name.as_str()),
            path,
            diff: c.diff.as_deref(),
            diff_cut: 0,
            fence,
        })
        .collect();
    let scope = with_scope.then(|| cmp.scope());
    let summary = cmp.summary();
    let report = Fitter {
        template,
        opts,
        against: if with_scope { "base" } else { "golden" },
        reference,
        scope: scope.as_deref(),
        summary: &summary,
        counts: cmp.counts(),
        diffable: objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.diff.is_some())
            .map(|(i, _)| i)
            .collect(),
        objects,
    };
    report.fit()
}

struct Fitter<'a> {
    template: minijinja::Template<'a, 'a>,
    opts: &'a MarkdownOptions<'a>,
    against: &'static str,
    reference: &'a str,
    scope: Option<&'a str>,
    summary: &'a str,
    counts: Counts,
    objects: Vec<MarkdownObject<'a>>,
    /// Indices into `objects` of those with a diff.
    diffable: Vec<usize>,
}

impl Fitter<'_> {
    fn fit(&self) -> Result<String, String> {
        let (n, d) = (self.objects.len(), self.diffable.len());
        let whole = self.render(Cut {
            rows: n,
            diffs: d,
            partial: None,
        })?;
        if self.fits(&whole) {
            return Ok(whole);
        }
        let diffs = |k| Cut {
            rows: n,
            diffs: k,
            partial: None,
        };
        if self.fits(&self.render(diffs(0))?) {
            let k = self.largest(0, d, diffs)?;
            if k > 0 {
                return self.render(diffs(k));
            }
            // Not one diff fits whole: as many of the first one's lines as do, if that is
            // more than its headers.
            let (first, lines) = self
                .diffable
                .first()
                .map_or((0, 0), |&i| (self.headers(i) + 1, self.lines(i).len()));
            let partial = |m| Cut {
                rows: n,
                diffs: 0,
                partial: (m > 0).then_some(m),
            };
            let m = if first < lines && self.fits(&self.render(partial(first))?) {
                self.largest(first, lines, partial)?
            } else {
                0
            };
            return self.render(partial(m));
        }
        let rows = |r| Cut {
            rows: r,
            diffs: 0,
            partial: None,
        };
        let bare = self.render(rows(0))?;
        if !self.fits(&bare) {
            return Err(format!(
                "the markdown report does not fit in {} characters even without objects ({} characters); raise --max-chars, or 0 for no limit",
                self.opts.max_chars,
                bare.chars().count()
            ));
        }
        let r = self.largest(0, n, rows)?;
        self.render(rows(r))
    }

    fn fits(&self, text: &str) -> bool {
        self.opts.max_chars == 0 || text.chars().nth(self.opts.max_chars).is_none()
    }

    /// The largest `k` in `[fits, too_many)` whose cut fits, given that `fits` does and
    /// `too_many` does not, as the output grows with what is shown. The search gallops up
    /// from `fits`, so with a limit much smaller than the report every candidate rendered
    /// stays near the limit's size.
    fn largest(
        &self,
        mut fits: usize,
        mut too_many: usize,
        cut: impl Fn(usize) -> Cut,
    ) -> Result<usize, String> {
        let mut step = 1;
        while fits + step < too_many {
            let probe = fits + step;
            if self.fits(&self.render(cut(probe))?) {
                fits = probe;
                step *= 2;
            } else {
                too_many = probe;
                break;
            }
        }
        while too_many - fits > 1 {
            let mid = fits + (too_many - fits) / 2;
            if self.fits(&self.render(cut(mid))?) {
                fits = mid;
            } else {
                too_many = mid;
            }
        }
        Ok(fits)
    }

    /// How many lines of object `i`'s diff are headers (`---`, `+++`, `@@`) before the first
    /// changed or context line: a diff cut there would show nothing.
    fn headers(&self, i: usize) -> usize {
        let diff = self.objects.get(i).and_then(|o| o.diff).unwrap_or("");
        diff.lines()
            .take_while(|l| l.starts_with("--- ") || l.starts_with("+++ ") || l.starts_with("@@"))
            .count()
    }

    /// The byte offset after each line of object `i`'s diff.
    fn lines(&self, i: usize) -> Vec<usize> {
        let diff = self.objects.get(i).and_then(|o| o.diff).unwrap_or("");
        diff.match_indices('\n').map(|(at, _)| at + 1).collect()
    }

    fn render(&self, cut: Cut) -> Result<String, String> {
        let shown = self.diffable.get(..cut.diffs).unwrap_or(&self.diffable);
        let cut_object = cut
            .partial
            .and_then(|m| self.diffable.get(cut.diffs).map(|&i| (i, m)));
        let mut objects: Vec<MarkdownObject> =
            self.objects.iter().take(cut.rows).copied().collect();
        let mut omitted = self.diffable.len() - shown.len();
        for &i in self.diffable.iter().skip(cut.diffs) {
            let Some(o) = objects.get_mut(i) else {
                continue;
            };
            match cut_object {
                Some((at, m)) if at == i => {
                    let ends = self.lines(i);
                    let end = ends.get(m.saturating_sub(1)).copied().unwrap_or(0);
                    o.diff = o.diff.map(|d| d.get(..end).unwrap_or(d));
                    o.diff_cut = ends.len().saturating_sub(m);
                    omitted -= 1;
                }
                _ => o.diff = None,
            }
        }
        let ctx = MarkdownContext {
            against: self.against,
            reference: self.reference,
            scope: self.scope,
            summary: self.summary,
            counts: self.counts,
            unlisted: self.objects.len() - objects.len(),
            objects,
            omitted,
            truncated: omitted > 0 || cut.rows < self.objects.len() || cut_object.is_some(),
            max_chars: self.opts.max_chars,
            full_report_url: self.opts.full_report_url,
            command: self.opts.command,
        };
        self.template
            .render(&ctx)
            .map_err(|e| format!("markdown template: {e:#}"))
    }
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

    fn comparison(diff_lines: &[usize]) -> Comparison {
        use crate::golden::diff::{Change, ChangeKind, ObjectKey, Side};
        let changes = diff_lines
            .iter()
            .enumerate()
            .map(|(i, &lines)| {
                let key = ObjectKey {
                    api_version: "v1".to_owned(),
                    kind: "ConfigMap".to_owned(),
                    namespace: "ns".to_owned(),
                    name: format!("cm-{i}"),
                };
                let mut diff = format!(
                    "--- golden/cm-{i}.yaml\n+++ rendered/cm-{i}.yaml\n@@ -1 +1,{lines} @@\n"
                );
                for l in 0..lines {
                    diff.push_str(&format!("+  k{l}: ü€😀\n"));
                }
                Change {
                    kind: ChangeKind::Changed,
                    object: Side {
                        key,
                        path: PathBuf::from(format!("ns/configmap-cm-{i}.yaml")),
                    },
                    renamed_from: None,
                    diff: Some(diff),
                }
            })
            .collect();
        Comparison { changes }
    }

    fn report(cmp: &Comparison, max_chars: usize) -> Result<String, String> {
        let opts = MarkdownOptions {
            template: MARKDOWN_TEMPLATE,
            max_chars,
            full_report_url: None,
            command: "aimc diff --base main",
        };
        markdown(&opts, cmp, "main", true)
    }

    #[test]
    fn every_limit_holds_and_keeps_the_markdown_balanced() {
        let cmp = comparison(&[40, 3, 1, 12]);
        let whole = report(&cmp, 0).expect("renders");
        let whole_chars = whole.chars().count();
        let bare = report(&comparison(&[]), 0)
            .expect("renders")
            .chars()
            .count();
        let mut cut_short = 0;
        for max in bare..=whole_chars + 1 {
            let Ok(md) = report(&cmp, max) else { continue };
            assert!(md.chars().count() <= max, "{max}:\n{md}");
            assert_eq!(
                md.matches("<details>").count(),
                md.matches("</details>").count()
            );
            assert_eq!(
                md.lines().filter(|l| l.starts_with("```")).count() % 2,
                0,
                "{md}"
            );
            if md.contains("is cut short") {
                cut_short += 1;
                // Cut at a line: the fence closes right after a whole diff line.
                assert!(md.contains("ü€😀\n```\n\n… "), "{md}");
            }
            if max >= whole_chars {
                assert_eq!(md, whole);
            }
        }
        assert!(cut_short > 0, "some limit cuts the first diff");
        // Table rows go last; a limit that cannot hold the heading is an error.
        let err = report(&cmp, 20).expect_err("too small");
        assert!(err.contains("does not fit in 20 characters"), "{err}");
    }

    #[test]
    fn empty_reports_say_no_differences() {
        let md = report(&comparison(&[]), DEFAULT_MAX_CHARS).expect("renders");
        assert!(md.ends_with("\nNo differences.\n"), "{md}");
        assert!(!md.contains("keep this report"), "{md}");
    }

    #[test]
    fn local_commands_are_quoted_for_a_shell() {
        assert_eq!(shell_quote("origin/main"), "origin/main");
        assert_eq!(shell_quote("HEAD~1"), "HEAD~1");
        assert_eq!(shell_quote("~1"), "'~1'");
        assert_eq!(shell_quote("my dir"), "'my dir'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn fences_outgrow_backtick_runs() {
        assert_eq!(fence("a: b\n"), "```");
        assert_eq!(fence("x: ```` y\n"), "`````");
    }
}
