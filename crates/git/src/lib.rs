//! The project's git repository, read with gix: the HEAD commit, the files
//! of its tree, and whether a work-tree file differs from the commit. werf
//! reads its configuration from the commit, not from the work tree, and this
//! crate is how davit does the same.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod history;
pub use history::CommitFile;
mod ls_tree;
pub mod remote;
mod submodules;
pub use ls_tree::{LsTree, LsTreeEntry};
pub use submodules::FetchSubmodule;

/// A git failure, with the path or object it concerns.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{dir} is not inside a git repository ({message})")]
    NotARepository { dir: PathBuf, message: String },
    #[error("the git repository at {0} has no work tree (bare repositories are not supported)")]
    Bare(PathBuf),
    #[error("the git repository at {0} has no commit yet; commit the project first")]
    NoCommit(PathBuf),
    #[error("reading git object {what}: {message}")]
    Object { what: String, message: String },
    #[error("remote git repository {url}: {message}")]
    Remote { url: String, message: String },
    #[error("submodule {path} (commit {commit}): {message}")]
    Submodule {
        path: String,
        commit: String,
        message: String,
    },
}

fn obj_err(what: impl Into<String>, e: impl std::fmt::Display) -> GitError {
    GitError::Object {
        what: what.into(),
        message: e.to_string(),
    }
}

/// Every file of a commit's tree (blobs, symlinks, submodules; no
/// directories) by repository path.
fn tree_files(
    commit: &gix::Commit<'_>,
    what: &str,
) -> Result<BTreeMap<String, TreeFile>, GitError> {
    let tree = commit
        .tree()
        .map_err(|e| obj_err(format!("{what} tree"), e))?;
    let records = tree
        .traverse()
        .breadthfirst
        .files()
        .map_err(|e| obj_err(format!("{what} tree"), e))?;
    let mut files = BTreeMap::new();
    for r in records {
        let kind = if r.mode.is_tree() {
            continue;
        } else if r.mode.is_link() {
            EntryKind::Symlink
        } else if r.mode.is_commit() {
            EntryKind::Submodule
        } else if r.mode.is_executable() {
            EntryKind::Executable
        } else {
            EntryKind::File
        };
        files.insert(
            r.filepath.to_string(),
            TreeFile {
                oid: r.oid,
                kind,
                on_disk: false,
                source: 0,
            },
        );
    }
    Ok(files)
}

/// The HEAD commit as werf exposes it (`.Commit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub hash: String,
    /// Author time, Unix seconds, and the author's UTC offset in seconds.
    pub author_unix: i64,
    pub author_offset: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Executable,
    Symlink,
    Submodule,
}

#[derive(Debug, Clone)]
struct TreeFile {
    oid: gix::ObjectId,
    kind: EntryKind,
    /// Read from the work tree rather than the object database (a file
    /// of the `--dev` snapshot that differs from HEAD).
    on_disk: bool,
    /// Whose object database holds it: 0 for this repository, `i` for
    /// `submodules[i - 1]` (see [`Repo::with_submodules`]).
    source: usize,
}

/// How a work-tree path compares with the commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorktreeState {
    /// Same content as in the commit.
    Unchanged,
    /// In the commit, changed on disk.
    Modified,
    /// In the commit, missing on disk.
    Deleted,
    /// On disk, not in the commit.
    Untracked,
    /// Neither on disk nor in the commit.
    Absent,
}

/// A repository opened at its work tree, with HEAD's file list loaded once.
pub struct Repo {
    repo: gix::Repository,
    work_tree: PathBuf,
    head: Head,
    files: BTreeMap<String, TreeFile>,
    /// HEAD's (or the snapshot's) tree, built on first use by `ls_tree`.
    tree: OnceLock<ls_tree::Dir>,
    /// The repositories of the submodules whose files `files` holds
    /// (empty unless made by [`Repo::with_submodules`]).
    submodules: Vec<gix::Repository>,
    /// The submodules replaced by their files: path → (recorded commit,
    /// index into `submodules` plus one).
    gitlinks: BTreeMap<String, (gix::ObjectId, usize)>,
    /// The URL a remote repository was fetched from; relative submodule
    /// URLs resolve against it.
    origin_url: Option<String>,
}

impl Repo {
    /// Finds the repository containing `dir` and loads HEAD.
    pub fn discover(dir: &Path) -> Result<Repo, GitError> {
        let repo = gix::discover(dir).map_err(|e| GitError::NotARepository {
            dir: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let work_tree = repo
            .workdir()
            .map(Path::to_path_buf)
            .ok_or_else(|| GitError::Bare(repo.git_dir().to_path_buf()))?;
        let (head, files) = Self::load_head(&repo, &work_tree)?;
        Ok(Repo {
            repo,
            work_tree,
            head,
            files,
            tree: OnceLock::new(),
            submodules: Vec::new(),
            gitlinks: BTreeMap::new(),
            origin_url: None,
        })
    }

    fn load_head(
        repo: &gix::Repository,
        work_tree: &Path,
    ) -> Result<(Head, BTreeMap<String, TreeFile>), GitError> {
        let commit = repo
            .head_commit()
            .map_err(|_| GitError::NoCommit(work_tree.to_path_buf()))?;
        let author = commit.author().map_err(|e| obj_err("HEAD author", e))?;
        let time = author.time().map_err(|e| obj_err("HEAD author time", e))?;
        let head = Head {
            hash: commit.id.to_string(),
            author_unix: time.seconds,
            author_offset: time.offset,
        };
        let files = tree_files(&commit, "HEAD")?;
        Ok((head, files))
    }

    pub fn work_tree(&self) -> &Path {
        &self.work_tree
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Paths of all files in HEAD, `/`-separated, sorted.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    pub fn kind(&self, path: &str) -> Option<EntryKind> {
        self.files.get(path).map(|f| f.kind)
    }

    /// True when HEAD has files below `path`.
    pub fn is_dir(&self, path: &str) -> bool {
        let p = path.trim_end_matches('/');
        if p.is_empty() || p == "." {
            return true;
        }
        let prefix = format!("{p}/");
        self.files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    fn blob(&self, f: &TreeFile, path: &str) -> Result<Vec<u8>, GitError> {
        if f.on_disk {
            return disk_content(&self.work_tree.join(path)).ok_or_else(|| GitError::Object {
                what: path.to_string(),
                message: "the file changed on disk while davit read it".into(),
            });
        }
        let odb = match f.source {
            0 => &self.repo,
            i => &self.submodules[i - 1],
        };
        let obj = odb.find_object(f.oid).map_err(|e| obj_err(path, e))?;
        Ok(obj.data.clone())
    }

    /// werf's `--dev` mode: the files of the work tree that git does not
    /// ignore, tracked or not, replace HEAD's for everything read later
    /// (contexts, checksums, Dockerfiles). Paths for which `keep_committed`
    /// holds (`--dev-ignore`) keep HEAD's version; submodules stay as
    /// committed. Nothing is written to the repository.
    pub fn into_dev_snapshot(mut self, keep_committed: &dyn Fn(&str) -> bool) -> Repo {
        let mut files: BTreeMap<String, TreeFile> = self
            .files
            .iter()
            .filter(|(path, f)| f.kind == EntryKind::Submodule || keep_committed(path))
            .map(|(p, f)| (p.clone(), f.clone()))
            .collect();
        for path in self.worktree_entries() {
            if keep_committed(&path) || files.contains_key(&path) {
                continue;
            }
            let disk = self.work_tree.join(&path);
            let Ok(meta) = std::fs::symlink_metadata(&disk) else {
                continue;
            };
            let kind = if meta.file_type().is_symlink() {
                EntryKind::Symlink
            } else if is_executable(&meta) {
                EntryKind::Executable
            } else {
                EntryKind::File
            };
            let Some(content) = disk_content(&disk) else {
                continue;
            };
            let Ok(oid) =
                gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &content)
            else {
                continue;
            };
            let on_disk = self.files.get(&path).is_none_or(|f| f.oid != oid);
            files.insert(
                path,
                TreeFile {
                    oid,
                    kind,
                    on_disk,
                    source: 0,
                },
            );
        }
        self.files = files;
        self.tree = OnceLock::new();
        self
    }

    /// Work-tree files and symlinks git does not ignore, repository-relative.
    fn worktree_entries(&self) -> Vec<String> {
        let mut out = Vec::new();
        let walker = ignore::WalkBuilder::new(&self.work_tree)
            .hidden(false)
            .git_ignore(true)
            .require_git(false)
            .build();
        for entry in walker.flatten() {
            let Some(t) = entry.file_type() else { continue };
            if !(t.is_file() || t.is_symlink()) {
                continue;
            }
            if let Ok(rel) = entry.path().strip_prefix(&self.work_tree) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !rel.starts_with(".git/") && rel != ".git" {
                    out.push(rel);
                }
            }
        }
        out.sort();
        out
    }

    /// Files on disk under `dir` (repository-relative; `""` for the whole
    /// work tree) that git does not ignore, relative to `dir`, sorted.
    /// Tracked and untracked alike; `.git/` is never listed.
    pub fn worktree_files(&self, dir: &str) -> Vec<String> {
        let root = self.work_tree.join(dir);
        let mut out = Vec::new();
        let walker = ignore::WalkBuilder::new(&root)
            .hidden(false)
            .git_ignore(true)
            .require_git(false)
            .build();
        for entry in walker.flatten() {
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                continue;
            }
            if let Ok(rel) = entry.path().strip_prefix(&root) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !rel.starts_with(".git/") {
                    out.push(rel);
                }
            }
        }
        out.sort();
        out
    }

    /// The object ID (hex) of `path` at HEAD.
    pub fn oid(&self, path: &str) -> Option<String> {
        self.files.get(path).map(|f| f.oid.to_string())
    }

    /// The blob of `path` at HEAD as stored: a symlink's target, not what
    /// it points at. `None` when absent or a submodule.
    pub fn read_blob(&self, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        match self.files.get(path) {
            Some(f) if f.kind != EntryKind::Submodule => self.blob(f, path).map(Some),
            _ => Ok(None),
        }
    }

    /// Content of `path` at HEAD. Symlinks are followed while they point
    /// inside the repository (at most 32 hops). `None` when absent.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        let mut current = path.to_string();
        for _ in 0..32 {
            let Some(f) = self.files.get(&current) else {
                return Ok(None);
            };
            let data = self.blob(f, &current)?;
            if f.kind != EntryKind::Symlink {
                return Ok(Some(data));
            }
            let target = String::from_utf8_lossy(&data).into_owned();
            let base = current.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            match resolve_in_repo(base, &target) {
                Some(next) => current = next,
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Compares the work-tree file with HEAD.
    pub fn worktree_state(&self, path: &str) -> WorktreeState {
        let disk = self.work_tree.join(path);
        let meta = std::fs::symlink_metadata(&disk).ok();
        match (self.files.get(path), meta) {
            (None, None) => WorktreeState::Absent,
            (None, Some(m)) if m.is_dir() => WorktreeState::Absent,
            (None, Some(_)) => WorktreeState::Untracked,
            (Some(_), None) => WorktreeState::Deleted,
            (Some(f), Some(_)) => {
                let Some(content) = disk_content(&disk) else {
                    return WorktreeState::Modified;
                };
                match gix::objs::compute_hash(
                    gix::hash::Kind::Sha1,
                    gix::objs::Kind::Blob,
                    &content,
                ) {
                    Ok(id) if id == f.oid => WorktreeState::Unchanged,
                    _ => WorktreeState::Modified,
                }
            }
        }
    }
}

/// A file's content as git stores it: a symlink's target, else the bytes.
fn disk_content(path: &Path) -> Option<Vec<u8>> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if meta.file_type().is_symlink() {
        std::fs::read_link(path)
            .ok()
            .map(|t| t.to_string_lossy().into_owned().into_bytes())
    } else {
        std::fs::read(path).ok()
    }
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

/// Joins a symlink target to its directory; `None` when it leaves the repo.
fn resolve_in_repo(base: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = if base.is_empty() {
        Vec::new()
    } else {
        base.split('/').collect()
    };
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlink_targets_stay_inside() {
        assert_eq!(resolve_in_repo("a/b", "../c"), Some("a/c".into()));
        assert_eq!(resolve_in_repo("", "../x"), None);
        assert_eq!(resolve_in_repo("a", "/etc/passwd"), None);
    }
}
