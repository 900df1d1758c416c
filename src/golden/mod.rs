//! Golden directories: comparison with unified diffs, and atomic replacement.
//! [`diff`] compares by object identity, for `aimc diff`.

pub mod diff;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Reads every file under `dir` as (relative path → text).
pub fn read_dir(dir: &Path) -> io::Result<BTreeMap<PathBuf, String>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            e.into_io_error()
                .unwrap_or_else(|| io::Error::other("walk error"))
        })?;
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap_or(entry.path())
                .to_path_buf();
            out.insert(rel, std::fs::read_to_string(entry.path())?);
        }
    }
    Ok(out)
}

/// A human-readable report of every difference; `None` when equal.
pub fn compare(
    expected: &BTreeMap<PathBuf, String>,
    actual: &BTreeMap<PathBuf, String>,
) -> Option<String> {
    let mut report = String::new();
    for (path, want) in expected {
        match actual.get(path) {
            None => report.push_str(&format!(
                "removed: {} (golden exists, not rendered)\n",
                path.display()
            )),
            Some(got) if got != want => {
                let name = path.display().to_string();
                let diff = similar::TextDiff::from_lines(want.as_str(), got.as_str());
                report.push_str(&format!("changed: {name}\n"));
                report.push_str(
                    &diff
                        .unified_diff()
                        .context_radius(3)
                        .header(&format!("golden/{name}"), &format!("rendered/{name}"))
                        .to_string(),
                );
            }
            Some(_) => {}
        }
    }
    for (path, got) in actual {
        if !expected.contains_key(path) {
            report.push_str(&format!(
                "added: {} (rendered, no golden)\n",
                path.display()
            ));
            for line in got.lines() {
                report.push_str(&format!("+{line}\n"));
            }
        }
    }
    (!report.is_empty()).then_some(report)
}

/// Replaces `dir` with exactly `files`: written to a temporary sibling, then renamed into
/// place, so an interrupted update leaves the old goldens intact.
pub fn replace_dir(dir: &Path, files: &BTreeMap<PathBuf, String>) -> io::Result<()> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let base = dir.file_name().and_then(|n| n.to_str()).unwrap_or("golden");
    let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{base}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    for (rel, text) in files {
        let p = tmp.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&p, text)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old)?;
    }
    if let Err(e) = std::fs::rename(&tmp, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        return Err(e);
    }
    if had_old {
        std::fs::remove_dir_all(&old)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_reports_each_kind_of_difference() {
        let a: BTreeMap<PathBuf, String> = [
            (PathBuf::from("x.yaml"), "a: 1\n".into()),
            (PathBuf::from("gone.yaml"), "g: 1\n".into()),
        ]
        .into();
        let b: BTreeMap<PathBuf, String> = [
            (PathBuf::from("x.yaml"), "a: 2\n".into()),
            (PathBuf::from("new.yaml"), "n: 1\n".into()),
        ]
        .into();
        let r = compare(&a, &b).unwrap();
        assert!(
            r.contains("changed: x.yaml") && r.contains("-a: 1") && r.contains("+a: 2"),
            "{r}"
        );
        assert!(r.contains("removed: gone.yaml"), "{r}");
        assert!(r.contains("added: new.yaml"), "{r}");
        assert_eq!(compare(&a, &a), None);
    }

    #[test]
    fn replace_dir_swaps_contents() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("g");
        std::fs::create_dir_all(dir.join("stale")).unwrap();
        std::fs::write(dir.join("stale/old.yaml"), "x").unwrap();
        let files: BTreeMap<PathBuf, String> =
            [(PathBuf::from("ns/a.yaml"), "a: 1\n".into())].into();
        replace_dir(&dir, &files).unwrap();
        assert_eq!(read_dir(&dir).unwrap(), files);
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "no temporary directories left behind"
        );
    }
}
