//! Remote repositories of stapel git mappings (`git[].url`), as davit
//! keeps them: a bare clone per URL in davit's cache (fetched by
//! `davit-git-remote`; this crate reads, it never touches the network),
//! and the commit a mapping names (`commit`, `tag`, `branch`, or the
//! remote's HEAD) opened like the project's repository.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{obj_err, tree_files, GitError, Head, Repo};

/// Where a fetch keeps the remote's HEAD.
pub const REMOTE_HEAD: &str = "refs/davit/remote-head";

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

/// A remote's error with its causes, the URL shown redacted, and a hint
/// for the usual TLS and credential failures.
pub fn remote_error(url: &str, e: impl std::error::Error) -> GitError {
    let shown = redact(url);
    // gix's outer errors ("Transport handshake failed") say little; the
    // causes say what went wrong (a certificate, a refused connection).
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    let lower = message.to_lowercase();
    if lower.contains("certificate") || lower.contains("unknownissuer") {
        message.push_str("\n  hint: the server's certificate is not trusted: point SSL_CERT_FILE (or SSL_CERT_DIR) at a CA bundle that includes its CA");
    } else if lower.contains("credentials") || lower.contains("authentication") {
        message.push_str("\n  hint: check the mapping's basicAuth (username and password)");
    }
    GitError::Remote {
        url: shown.clone(),
        // Transport errors may quote the URL they were given.
        message: message.replace(url, &shown),
    }
}

/// The host (and port) of a URL; `""` for a local path.
pub fn host(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else {
        return "";
    };
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
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

impl Repo {
    /// A bare clone at the commit `rev` names: its files, read as HEAD's
    /// are for the project's repository.
    pub fn open_remote(git_dir: &Path, url: &str, rev: &RemoteRev) -> Result<Repo, GitError> {
        let repo = gix::open(git_dir).map_err(|e| remote_error(url, e))?;
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
            // The remote's HEAD as last fetched; clones made before davit
            // fetched it have their HEAD set by the clone.
            RemoteRev::Head => {
                peel(&repo, url, REMOTE_HEAD).or_else(|_| peel(&repo, url, "HEAD"))?
            }
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
        assert_eq!(host("https://u:p@h:8443/x"), "h:8443");
        assert_eq!(
            redact("https://user:s3cret@git.example.com/g/p.git"),
            "https://***@git.example.com/g/p.git"
        );
        assert_eq!(redact("file:///srv/x.git"), "file:///srv/x.git");
        assert_eq!(redact("ssh://git@host/p"), "ssh://***@host/p");
    }
}
