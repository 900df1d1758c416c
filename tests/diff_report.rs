//! `aimc diff --format markdown` as a pull-request comment: bounded by `--max-chars`
//! (GitHub's 65,536 characters by default), well-formed however it is cut, and saying what
//! was left out.

#[path = "../benches/gen/mod.rs"]
mod generator;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SERVICES: usize = 300;
/// Multi-byte in UTF-8 (2, 3 and 4 bytes), so a byte count or a byte cut would show.
const WIDE: &str = "ü€😀";

fn aimc_diff(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("aimc").expect("binary");
    cmd.arg("diff")
        .args(args)
        .env_remove("CI")
        .env_remove("ARGOCD_APP_NAMESPACE")
        .env_remove("ARGOCD_ENV_AIMC_STRICT")
        .env_remove("ARGOCD_ENV_AIMC_EMIT")
        .env_remove("ARGOCD_ENV_AIMC_GITOPS")
        .env_remove("KUBE_API_VERSIONS");
    cmd
}

/// Exit code, stdout (which must be UTF-8) and stderr.
fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    (
        out.status.code(),
        stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A generated tree of `SERVICES` AIMServices and its goldens, every InferenceService golden
/// edited with a multi-byte value: (tree, goldens). Made once per test process, below
/// cargo's scratch directory for integration tests, since rendering it takes a while.
fn many_changed_services() -> &'static (PathBuf, PathBuf) {
    static TREE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("diff_report");
        let _ = std::fs::remove_dir_all(&dir);
        let (tree, golden) = (dir.join("tree"), dir.join("golden"));
        for (rel, bytes) in generator::generate(SERVICES, 11) {
            let path = tree.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
        let (code, _, err) = run(&mut aimc_diff(&[
            "--update",
            "--golden",
            s(&golden),
            s(&tree),
        ]));
        assert_eq!(code, Some(0), "{err}");
        let mut edited = 0;
        for entry in walkdir::WalkDir::new(&golden) {
            let path = entry.expect("walk").into_path();
            let is_isvc = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("inferenceservice-"));
            if is_isvc {
                let text = std::fs::read_to_string(&path).expect("read");
                let changed = text.replacen("\nspec:\n", &format!("\nspec:\n  stale: {WIDE}\n"), 1);
                assert_ne!(text, changed);
                std::fs::write(&path, changed).expect("write");
                edited += 1;
            }
        }
        assert_eq!(edited, SERVICES);
        (tree, golden)
    })
}

/// The checks every report must pass, whatever was cut.
fn assert_well_formed(md: &str, max_chars: usize) {
    let chars = md.chars().count();
    assert!(chars <= max_chars, "{chars} characters > {max_chars}");
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "unbalanced <details>:\n{md}"
    );
    let fences = md.lines().filter(|l| l.starts_with("```")).count();
    assert_eq!(fences % 2, 0, "an open code fence:\n{md}");
}

/// `N` from "N more changed objects are not shown", if the report says so.
fn not_shown(md: &str) -> Option<usize> {
    let at = md.find(" more changed object")?;
    md[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[test]
fn hundreds_of_changes_fit_a_github_comment_whole_objects_at_a_time() {
    let (tree, golden) = many_changed_services();
    let base = ["--format", "markdown", "--golden", s(golden), s(tree)];
    let (code, full, err) = run(aimc_diff(&base).args(["--max-chars", "0"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        full.chars().count() > 65_536,
        "the test needs a long report"
    );
    assert_eq!(full.matches("<details>").count(), SERVICES);
    assert_eq!(not_shown(&full), None, "0 is no limit");
    assert!(!full.contains("to keep this report within"), "{full:.400}");

    // The default limit; where the CI job keeps the rest.
    let (code, md, err) =
        run(aimc_diff(&base).args(["--full-report-url", "https://ci.example/run/7"]));
    assert_eq!(code, Some(1), "{err}");
    assert_well_formed(&md, 65_536);
    assert!(
        md.len() > md.chars().count(),
        "characters are counted, not bytes"
    );
    // The table keeps every object; the diffs shown are the first ones, whole.
    assert_eq!(
        md.matches("| InferenceService |").count(),
        SERVICES,
        "{md:.2000}"
    );
    let shown = md.matches("<details>").count();
    assert!(shown > 0 && shown < SERVICES, "{shown} diffs shown");
    assert_eq!(not_shown(&md), Some(SERVICES - shown), "{md:.1000}");
    assert!(
        md.contains(&format!(
            "**{} more changed objects are not shown** to keep this report within 65536 characters.\n",
            SERVICES - shown
        )),
        "{md:.1000}"
    );
    assert!(
        md.contains(&format!(
            "see [the full report](https://ci.example/run/7) or run `aimc diff --golden {} {}` locally.",
            s(golden),
            s(tree)
        )),
        "{md:.1000}"
    );
    let first_block = |text: &str| {
        let start = text.find("<details>").expect("a diff");
        text[start..].to_owned()
    };
    let kept = first_block(&md);
    assert!(
        first_block(&full).starts_with(&kept),
        "the shown diffs are the full report's first ones"
    );
}

#[test]
fn small_limits_drop_diffs_then_table_rows_and_never_cut_a_character() {
    let (tree, golden) = many_changed_services();
    let base = ["--format", "markdown", "--golden", s(golden), s(tree)];
    let mut seen = (false, false);
    for max in [700, 4_001, 30_011] {
        let (code, md, err) = run(aimc_diff(&base).args(["--max-chars", &max.to_string()]));
        assert_eq!(code, Some(1), "{err}");
        assert_well_formed(&md, max);
        assert!(md.contains("**0 added, 300 changed, 0 removed**"), "{md}");
        let rows = md.matches("| InferenceService |").count();
        if rows < SERVICES {
            // The table alone is too long: no diffs, and the count of what is not listed.
            assert_eq!(md.matches("<details>").count(), 0, "{md}");
            assert!(
                md.contains(&format!(
                    "**{} more objects are not listed, and no diff is shown** to keep",
                    SERVICES - rows
                )),
                "{md}"
            );
            assert!(!md.contains("No differences"), "{md}");
            seen.0 = true;
        } else {
            seen.1 = true;
            assert_eq!(
                not_shown(&md),
                Some(SERVICES - md.matches("<details>").count()),
                "{md}"
            );
        }
    }
    assert_eq!(seen, (true, true), "both cuts are tried");
}

#[test]
fn a_diff_longer_than_the_limit_is_cut_at_a_line_inside_its_fence() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (tree, golden) = (tmp.path().join("tree"), tmp.path().join("golden"));
    std::fs::create_dir_all(&tree).expect("mkdir");
    let configmap = |lines: usize| {
        let data: String = (0..lines)
            .map(|i| format!("  k{i:04}: {WIDE} {i}\n"))
            .collect();
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: team\ndata:\n{data}")
    };
    std::fs::write(tree.join("cm.yaml"), configmap(1)).expect("write");
    let (code, _, err) = run(&mut aimc_diff(&[
        "--update",
        "--golden",
        s(&golden),
        s(&tree),
    ]));
    assert_eq!(code, Some(0), "{err}");
    std::fs::write(tree.join("cm.yaml"), configmap(2_000)).expect("write");
    let base = ["--format", "markdown", "--golden", s(&golden), s(&tree)];
    let (_, full, _) = run(aimc_diff(&base).args(["--max-chars", "0"]));
    let fenced = |md: &str| -> Vec<String> {
        md.split("```diff\n")
            .nth(1)
            .and_then(|rest| rest.split("\n```\n").next())
            .expect("a closed fence")
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let whole = fenced(&full);
    assert!(whole.len() > 2_000, "{full:.400}");
    for max in [1_000, 3_333, 10_007] {
        let (code, md, err) = run(aimc_diff(&base).args(["--max-chars", &max.to_string()]));
        assert_eq!(code, Some(1), "{err}");
        assert_well_formed(&md, max);
        assert_eq!(md.matches("<details>").count(), 1, "{md}");
        assert!(
            md.contains("**The diff of ConfigMap team/big is cut short** to keep this report"),
            "{md}"
        );
        // Whole lines from the diff's start, and how many more there are.
        let shown = fenced(&md);
        assert!(shown.len() > 3, "{md}");
        assert_eq!(shown[..], whole[..shown.len()], "{md}");
        assert!(
            md.contains(&format!(
                "\n```\n\n… {} more lines of this diff not shown.\n\n</details>",
                whole.len() - shown.len()
            )),
            "{md}"
        );
    }
}

#[test]
fn custom_templates_are_bounded_by_dropping_objects() {
    let (tree, golden) = many_changed_services();
    let dir = tempfile::tempdir().expect("tempdir");
    let tpl = dir.path().join("t.md.j2");
    // Older templates know nothing of the limit; they lose diffs all the same.
    std::fs::write(
        &tpl,
        "{% for o in objects if o.diff %}{{ o.diff }}{% endfor %}[{{ omitted }} left out]",
    )
    .expect("write");
    let args = |max: &str| {
        let mut cmd = aimc_diff(&[
            "--format",
            "markdown",
            "--template",
            s(&tpl),
            "--max-chars",
            max,
            "--golden",
            s(golden),
            s(tree),
        ]);
        run(&mut cmd)
    };
    let (code, out, err) = args("10000");
    assert_eq!(code, Some(1), "{err}");
    assert!(out.chars().count() <= 10_000);
    let shown = out.matches("--- golden/").count();
    assert!(shown > 0, "{out}");
    assert!(
        out.ends_with(&format!("[{} left out]", SERVICES - shown)),
        "{out}"
    );
}

#[test]
fn limits_only_shape_markdown_and_must_leave_room_for_the_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (tree, golden) = (tmp.path().join("tree"), tmp.path().join("golden"));
    std::fs::create_dir_all(&tree).expect("mkdir");
    std::fs::write(
        tree.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: team\n",
    )
    .expect("write");
    let (code, _, err) = run(&mut aimc_diff(&[
        "--update",
        "--golden",
        s(&golden),
        s(&tree),
    ]));
    assert_eq!(code, Some(0), "{err}");
    for flag in [["--max-chars", "10"], ["--full-report-url", "https://x"]] {
        let (code, _, err) = run(aimc_diff(&["--golden", s(&golden), s(&tree)]).args(flag));
        assert_eq!(code, Some(2));
        assert!(
            err.contains(&format!("{} needs --format markdown", flag[0])),
            "{err}"
        );
    }
    // What no cut can make fit is an error, not a broken comment.
    let tpl = tmp.path().join("t.md.j2");
    std::fs::write(&tpl, "a fixed text longer than the limit").expect("write");
    let (code, out, err) = run(&mut aimc_diff(&[
        "--format",
        "markdown",
        "--template",
        s(&tpl),
        "--max-chars",
        "10",
        "--golden",
        s(&golden),
        s(&tree),
    ]));
    assert_eq!(code, Some(2));
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("does not fit in 10 characters"), "{err}");
}
