//! Remote repositories of stapel git mappings (`git[].url`): a bare clone
//! per URL in davit's cache, fetched before each build with gix, and the
//! commit a mapping names (`commit`, `tag`, `branch`, or the remote's
//! HEAD) opened like the project's repository. The transports are gix's
//! built-in ones (`file://`, local paths, `ssh://` through `ssh`); http(s)
//! is not built in.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use gix::remote::Direction;
use sha2::{Digest, Sha256};

use crate::{obj_err, tree_files, GitError, Head, Repo};

/// Which commit of a remote a mapping takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteRev {
    Commit(String),
    Tag(String),
    Branch(String),
    /// The remote's default branch.
    Head,
}

/// A URL as it may be shown: a user and password in it become `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_start = rest.find('/').unwrap_or(rest.len());
    match rest[..host_start].rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{}", &rest[host_start..]),
        None => url.to_string(),
    }
}

fn remote_err(url: &str, e: impl std::fmt::Display) -> GitError {
    let shown = redact(url);
    GitError::Remote {
        url: shown.clone(),
        // Transport errors may quote the URL they were given.
        message: e.to_string().replace(url, &shown),
    }
}

/// Where the bare clone of `url` lives below `cache`.
pub fn cache_path(cache: &Path, url: &str) -> PathBuf {
    let hex: String = Sha256::digest(url.as_bytes())
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect();
    cache.join(hex)
}

/// Clones `url` into the cache, or fetches it when the clone exists;
/// returns the clone's path. Branches and tags are mirrored as they are
/// on the remote.
pub fn update(cache: &Path, url: &str) -> Result<PathBuf, GitError> {
    let path = cache_path(cache, url);
    let interrupt = AtomicBool::new(false);
    let specs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"];
    if path.join("HEAD").is_file() {
        let repo = gix::open(&path).map_err(|e| remote_err(url, e))?;
        let remote = repo
            .remote_at(url)
            .map_err(|e| remote_err(url, e))?
            .with_refspecs(specs, Direction::Fetch)
            .map_err(|e| remote_err(url, e))?;
        remote
            .connect(Direction::Fetch)
            .map_err(|e| remote_err(url, e))?
            .prepare_fetch(gix::progress::Discard, Default::default())
            .map_err(|e| remote_err(url, e))?
            .receive(gix::progress::Discard, &interrupt)
            .map_err(|e| remote_err(url, e))?;
        return Ok(path);
    }
    std::fs::create_dir_all(&path).map_err(|e| remote_err(url, e))?;
    let mut clone = gix::prepare_clone_bare(url, &path)
        .map_err(|e| remote_err(url, e))?
        .configure_remote(move |r| r.with_refspecs(specs, Direction::Fetch));
    let result = clone.fetch_only(gix::progress::Discard, &interrupt);
    if let Err(e) = result {
        // Leave no half-made clone for the next run to trust.
        let _ = std::fs::remove_dir_all(&path);
        return Err(remote_err(url, e));
    }
    Ok(path)
}

impl Repo {
    /// A bare clone at the commit `rev` names: its files, read as HEAD's
    /// are for the project's repository.
    pub fn open_remote(git_dir: &Path, url: &str, rev: &RemoteRev) -> Result<Repo, GitError> {
        let repo = gix::open(git_dir).map_err(|e| remote_err(url, e))?;
        let id = match rev {
            RemoteRev::Commit(c) => {
                let id = gix::ObjectId::from_hex(c.as_bytes()).map_err(|_| GitError::Remote {
                    url: redact(url),
                    message: format!("commit {c:?} is not a full commit hash"),
                })?;
                repo.find_commit(id).map_err(|_| GitError::Remote {
                    url: redact(url),
                    message: format!(
                        "commit {c} not found in repository {}. Ensure it has not been squashed or rebased",
                        redact(url)
                    ),
                })?;
                id
            }
            RemoteRev::Tag(t) => peel(&repo, url, &format!("refs/tags/{t}"))?,
            RemoteRev::Branch(b) => peel(&repo, url, &format!("refs/heads/{b}"))?,
            RemoteRev::Head => peel(&repo, url, "HEAD")?,
        };
        let (head, files) = {
            let commit = repo
                .find_commit(id)
                .map_err(|e| obj_err(format!("commit {id}"), e))?;
            let author = commit.author().map_err(|e| obj_err("author", e))?;
            let time = author.time().map_err(|e| obj_err("author time", e))?;
            let head = Head {
                hash: id.to_string(),
                author_unix: time.seconds,
                author_offset: time.offset,
            };
            (head, tree_files(&commit, &id.to_string())?)
        };
        Ok(Repo {
            repo,
            work_tree: git_dir.to_path_buf(),
            head,
            files,
            tree: std::sync::OnceLock::new(),
            submodules: Vec::new(),
            gitlinks: std::collections::BTreeMap::new(),
            origin_url: Some(url.to_string()),
        })
    }
}

fn peel(repo: &gix::Repository, url: &str, name: &str) -> Result<gix::ObjectId, GitError> {
    let missing = || GitError::Remote {
        url: redact(url),
        message: format!("{name} does not exist"),
    };
    let mut reference = repo.find_reference(name).map_err(|_| missing())?;
    let id = reference
        .peel_to_commit()
        .map_err(|e| obj_err(name.to_string(), e))?
        .id;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_never_shown() {
        assert_eq!(
            redact("https://user:s3cret@git.example.com/g/p.git"),
            "https://***@git.example.com/g/p.git"
        );
        assert_eq!(redact("file:///srv/x.git"), "file:///srv/x.git");
        assert_eq!(redact("ssh://git@host/p"), "ssh://***@host/p");
    }
}
