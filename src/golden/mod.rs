//! Golden directories: comparison with unified diffs, and atomic replacement.
//! [`diff`] compares by object identity, for `aimc diff`.

pub mod diff;

use crate::load::OUTPUT_MARKER;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

/// Reads every file under `dir` as (relative path → text), aimc's output marker excepted.
pub fn read_dir(dir: &Path) -> io::Result<BTreeMap<PathBuf, String>> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            e.into_io_error()
                .unwrap_or_else(|| io::Error::other("walk error"))
        })?;
        if entry.file_type().is_file()
            && !(entry.depth() == 1 && entry.file_name() == OUTPUT_MARKER)
        {
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

/// What [`OUTPUT_MARKER`] says to a person who opens it.
const MARKER_TEXT: &str =
    "Written by aimc (render -o, diff --update). aimc replaces this directory whole on its next \
run and never reads it as input. Delete this file to keep the directory from being replaced.\n";

/// Why a directory cannot be replaced.
#[derive(Debug)]
pub enum ReplaceError {
    /// It holds files aimc did not write: it has no output marker and is not empty.
    Foreign(PathBuf),
    Io(io::Error),
}

impl std::fmt::Display for ReplaceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplaceError::Foreign(dir) => write!(
                f,
                "{} is not empty and was not written by aimc (no {OUTPUT_MARKER}); refusing to replace it: \
choose another directory, empty it, or, if aimc wrote it, create {}",
                dir.display(),
                dir.join(OUTPUT_MARKER).display()
            ),
            ReplaceError::Io(e) => e.fmt(f),
        }
    }
}

impl From<io::Error> for ReplaceError {
    fn from(e: io::Error) -> Self {
        ReplaceError::Io(e)
    }
}

/// Replaces `dir` with exactly `files` plus the output marker: written to a temporary
/// sibling, then renamed into place, so that on any error the old directory is untouched
/// and after success no stale file remains. Only an empty directory or one aimc wrote (it
/// holds the marker) is replaced; anything else is refused before a file is written.
pub fn replace_dir<S: AsRef<str>>(
    dir: &Path,
    files: &BTreeMap<PathBuf, S>,
) -> Result<(), ReplaceError> {
    let had_old = match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() && !dir.join(OUTPUT_MARKER).is_file() {
                return Err(ReplaceError::Foreign(dir.to_path_buf()));
            }
            true
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(e) => return Err(e.into()),
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent)?;
    let base = dir.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{base}.aimc-new-"))
        .tempdir_in(parent)?;
    for (rel, text) in files {
        let p = tmp.path().join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::fs::write(&p, text.as_ref())?;
    }
    std::fs::write(tmp.path().join(OUTPUT_MARKER), MARKER_TEXT)?;
    if !had_old {
        std::fs::rename(tmp.path(), dir)?;
        let _ = tmp.keep();
        return Ok(());
    }
    // Two renames: POSIX cannot swap directories in one step. Between them `dir` is briefly
    // absent, never half-written.
    let old = tempfile::Builder::new()
        .prefix(&format!(".{base}.aimc-old-"))
        .tempdir_in(parent)?;
    std::fs::rename(dir, old.path())?;
    if let Err(e) = std::fs::rename(tmp.path(), dir) {
        let _ = std::fs::rename(old.path(), dir);
        return Err(e.into());
    }
    // `tmp` now names nothing; `old` holds the previous contents and is removed on drop.
    let _ = tmp.keep();
    old.close()?;
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
        let refused = replace_dir(&dir, &files).unwrap_err();
        assert!(matches!(refused, ReplaceError::Foreign(_)), "{refused}");
        assert!(
            dir.join("stale/old.yaml").is_file(),
            "a refused directory is untouched"
        );
        std::fs::write(dir.join(OUTPUT_MARKER), "").unwrap();
        replace_dir(&dir, &files).unwrap();
        assert_eq!(read_dir(&dir).unwrap(), files);
        assert_eq!(
            std::fs::read_to_string(dir.join(OUTPUT_MARKER)).unwrap(),
            MARKER_TEXT
        );
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "no temporary directories left behind"
        );
    }
}
