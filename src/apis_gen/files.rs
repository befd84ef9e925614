//! Comparing and writing the rendered files against a directory (`apis/`,
//! `docs/reference/`).
//!
//! Shared by `tmc-gen-apis` and `tests/apis_drift.rs`, so "what counts as drift" is defined
//! once: a missing file, a file with other contents, or a stale file that the renderers
//! ([`super::render`], [`super::render_reference`]) no longer produce (e.g. after a resource
//! was renamed).

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

use super::{GeneratedFile, GENERATED_HEADERS};

/// How one file in the directory differs from the rendered set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// Rendered but absent from the directory.
    Missing(String),
    /// Present with different contents.
    Differs(String),
    /// Present in the directory but no longer rendered.
    Stale(String),
}

impl Drift {
    /// Path of the file, relative to the directory.
    pub fn path(&self) -> &str {
        match self {
            Self::Missing(p) | Self::Differs(p) | Self::Stale(p) => p,
        }
    }

    /// One word for the kind of difference: `missing`, `differs` or `stale`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Missing(_) => "missing",
            Self::Differs(_) => "differs",
            Self::Stale(_) => "stale",
        }
    }
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<8} {}", self.kind(), self.path())
    }
}

/// Differences between `files` and the directory `dir`, sorted by path. A missing
/// directory counts as every file missing. Dotfiles (e.g. `.gitkeep`) are ignored.
pub fn check(dir: &Path, files: &[GeneratedFile]) -> io::Result<Vec<Drift>> {
    let present = list(dir)?;
    let mut out = Vec::new();
    for file in files {
        if !present.contains(&file.path) {
            out.push(Drift::Missing(file.path.clone()));
        } else if fs::read(dir.join(&file.path))? != file.contents.as_bytes() {
            out.push(Drift::Differs(file.path.clone()));
        }
    }
    let rendered: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    out.extend(
        present
            .iter()
            .filter(|p| !rendered.contains(p.as_str()))
            .map(|p| Drift::Stale(p.clone())),
    );
    out.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(out)
}

/// Writes `files` into `dir` (created if needed), leaving unchanged files untouched, and
/// deletes stale files that start with one of [`GENERATED_HEADERS`] (hand-written files are
/// never deleted; they keep showing up as stale). Returns what was changed.
pub fn write(dir: &Path, files: &[GeneratedFile]) -> io::Result<Vec<Drift>> {
    fs::create_dir_all(dir)?;
    let drift = check(dir, files)?;
    for d in &drift {
        match d {
            Drift::Missing(p) | Drift::Differs(p) => {
                let file = files
                    .iter()
                    .find(|f| &f.path == p)
                    .expect("drift comes from files");
                fs::write(dir.join(p), &file.contents)?;
            }
            Drift::Stale(p) => {
                let path = dir.join(p);
                if fs::read_to_string(&path).is_ok_and(|c| is_generated(&c)) {
                    fs::remove_file(path)?;
                }
            }
        }
    }
    Ok(drift)
}

/// Whether `contents` is a generated file's (starts with one of [`GENERATED_HEADERS`]).
fn is_generated(contents: &str) -> bool {
    GENERATED_HEADERS.iter().any(|h| contents.starts_with(h))
}

/// Relative paths of the non-hidden files under `dir`, recursively, `/`-separated.
fn list(dir: &Path) -> io::Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    if dir.exists() {
        walk(dir, "", &mut out)?;
    }
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel = format!("{prefix}{name}");
        if entry.file_type()?.is_dir() {
            walk(&entry.path(), &format!("{rel}/"), out)?;
        } else {
            out.insert(rel);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apis_gen::{HEADER, MARKDOWN_HEADER};

    fn file(path: &str, body: &str) -> GeneratedFile {
        GeneratedFile {
            path: path.into(),
            contents: format!("{HEADER}{body}"),
        }
    }

    #[test]
    fn write_then_check_is_clean_and_stale_files_are_handled() {
        let dir = tempfile::tempdir().unwrap();
        let files = vec![file("a.yaml", "a: 1\n"), file("b.yaml", "b: 1\n")];
        assert_eq!(
            check(dir.path(), &files).unwrap(),
            [Drift::Missing("a.yaml".into()), Drift::Missing("b.yaml".into())]
        );
        write(dir.path(), &files).unwrap();
        assert_eq!(check(dir.path(), &files).unwrap(), []);

        fs::write(dir.path().join("a.yaml"), "edited").unwrap();
        fs::write(dir.path().join("old.yaml"), format!("{HEADER}x: 1\n")).unwrap();
        fs::write(dir.path().join("notes.md"), "hand-written").unwrap();
        fs::write(dir.path().join("old.md"), format!("{MARKDOWN_HEADER}# Old\n")).unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        fs::write(dir.path().join("sub/c.yaml"), "c").unwrap();
        fs::write(dir.path().join(".gitkeep"), "").unwrap();
        assert_eq!(
            check(dir.path(), &files).unwrap(),
            [
                Drift::Differs("a.yaml".into()),
                Drift::Stale("notes.md".into()),
                Drift::Stale("old.md".into()),
                Drift::Stale("old.yaml".into()),
                Drift::Stale("sub/c.yaml".into()),
            ]
        );
        write(dir.path(), &files).unwrap();
        // Generated stale files are removed; hand-written ones stay and stay reported.
        assert_eq!(
            check(dir.path(), &files).unwrap(),
            [Drift::Stale("notes.md".into()), Drift::Stale("sub/c.yaml".into())]
        );
    }
}
