//! Where a project starts: the directory of its `aimc.yaml` (or of an `aim.lock.yaml`, which
//! is only ever read beside it), else the repository's top level.
//!
//! pre-commit passes file names from the repository root. In a monorepo each cluster's tree
//! (`clusters/prod/{aimc.yaml,aim.lock.yaml}`) is its own project: a file must be checked with
//! that tree's config and lock file, not with the whole repository's files.

use super::{CONFIG_FILE, LOCK_FILE};
use std::path::{Path, PathBuf};

/// Whether `dir` is a project's root: it holds the project's config or lock file.
pub fn is_root(dir: &Path) -> bool {
    dir.join(CONFIG_FILE).is_file() || dir.join(LOCK_FILE).is_file()
}

/// The git top level at or above `dir` (absolute): the nearest ancestor holding `.git`, a
/// directory or (in a worktree or submodule) a file, as git itself finds it.
pub fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The project root of `file` (absolute): the nearest directory above it holding
/// `aimc.yaml` or `aim.lock.yaml`, looking no higher than the git top level; else the git top level; else `cwd`
/// when the file lies below it; else the file's own directory.
pub fn root_of(file: &Path, cwd: &Path) -> PathBuf {
    let dir = file.parent().unwrap_or(file);
    let top = git_toplevel(dir);
    for d in dir.ancestors() {
        if is_root(d) {
            return d.to_path_buf();
        }
        if top.as_deref() == Some(d) {
            return d.to_path_buf();
        }
    }
    if file.starts_with(cwd) {
        cwd.to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The file a diagnostic about the whole tree is reported at (code scanning needs a file):
/// the tree's `aimc.yaml`, else its first readable YAML file in sorted order, relative to
/// `root`.
pub fn anchor_file(root: &Path) -> Option<PathBuf> {
    let config = Path::new(CONFIG_FILE);
    if root.join(config).is_file() {
        return Some(config.to_path_buf());
    }
    let (files, _) = super::find_files(root).ok()?;
    files
        .into_iter()
        .find(|f| std::fs::File::open(f).is_ok())
        .map(|f| f.strip_prefix(root).map(Path::to_path_buf).unwrap_or(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, "").expect("write");
    }

    #[test]
    fn nearest_aimc_yaml_below_the_git_top_level_wins() {
        let t = tempfile::tempdir().expect("tempdir");
        let repo = t.path().join("repo");
        std::fs::create_dir_all(repo.join(".git")).expect("git dir");
        touch(&repo.join("aimc.yaml"));
        touch(&repo.join("clusters/prod/aimc.yaml"));
        let file = repo.join("clusters/prod/ml-team/services.yaml");
        touch(&file);
        assert_eq!(root_of(&file, &repo), repo.join("clusters/prod"));
        let dev = repo.join("clusters/dev/x.yaml");
        touch(&dev);
        assert_eq!(root_of(&dev, &repo), repo, "the repository's own aimc.yaml");
        touch(&repo.join("clusters/dev/aim.lock.yaml"));
        assert_eq!(
            root_of(&dev, &repo),
            repo.join("clusters/dev"),
            "a lock file marks a root too"
        );
    }

    #[test]
    fn the_anchor_is_aimc_yaml_else_the_first_yaml_file() {
        let t = tempfile::tempdir().expect("tempdir");
        let tree = t.path();
        std::fs::create_dir_all(tree.join("a")).expect("mkdir");
        assert_eq!(anchor_file(tree), None, "no YAML file at all");
        touch(&tree.join("b.yaml"));
        touch(&tree.join("a/z.yaml"));
        assert_eq!(anchor_file(tree).as_deref(), Some(Path::new("a/z.yaml")));
        touch(&tree.join("aimc.yaml"));
        assert_eq!(anchor_file(tree).as_deref(), Some(Path::new("aimc.yaml")));
    }

    #[test]
    fn without_aimc_yaml_the_git_top_level_then_the_working_directory() {
        let t = tempfile::tempdir().expect("tempdir");
        let repo = t.path().join("repo");
        touch(&repo.join(".git"));
        // An aimc.yaml above the repository belongs to another project.
        touch(&t.path().join("aimc.yaml"));
        let file = repo.join("a/b/c.yaml");
        touch(&file);
        assert_eq!(root_of(&file, t.path()), repo);

        let plain = tempfile::tempdir().expect("tempdir");
        let file = plain.path().join("x/y.yaml");
        touch(&file);
        assert_eq!(git_toplevel(plain.path()), None);
        assert_eq!(root_of(&file, plain.path()), plain.path());
        assert_eq!(
            root_of(&file, Path::new("/nonexistent")),
            plain.path().join("x")
        );
    }
}
