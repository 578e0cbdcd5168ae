//! The checksum of a COPY/ADD instruction's sources in the commit, the
//! `filesChecksum` input of the `dockerfile` stage digest.
//!
//! werf hashes `ls-tree` entries, where a fully matched directory
//! contributes one tree hash (../shared/spec/werf-build.md §4.6, §4.4).
//! davit hashes the blob IDs of every matched file instead: the same files
//! give the same checksum and any change to them changes it, but the value
//! is not werf's, so davit and werf do not share `dockerfile` stages yet
//! (docs/digests.md).

use davit_config::glob::Doublestar;
use davit_git::{Repo, WorktreeState};
use sha2::{Digest, Sha256};

use super::add_files::AddFile;
use super::dockerignore::Dockerignore;
use davit_digest::hash::h256;
use davit_dockerfile::deps::normalize_source;

/// One source pattern with werf's path-matcher rule: a path matches `G` if
/// it matches `G`, `G` without trailing `*`/`/`/`**` parts, or that prefix
/// followed by `/**/*` — so `dir` covers everything below it.
struct SourcePattern {
    all: bool,
    globs: Vec<Doublestar>,
}

impl SourcePattern {
    fn new(src: &str) -> Result<SourcePattern, String> {
        if src.is_empty() || src == "." {
            return Ok(SourcePattern {
                all: true,
                globs: Vec::new(),
            });
        }
        let trimmed = src.trim_end_matches(['*', '/']);
        let mut globs = vec![Doublestar::new(src)?];
        if !trimmed.is_empty() {
            globs.push(Doublestar::new(trimmed)?);
            globs.push(Doublestar::new(&format!("{trimmed}/**/*"))?);
        } else {
            return Ok(SourcePattern {
                all: true,
                globs: Vec::new(),
            });
        }
        Ok(SourcePattern { all: false, globs })
    }

    fn is_match(&self, path: &str) -> bool {
        self.all || self.globs.iter().any(|g| g.is_match(path))
    }
}

/// What a COPY/ADD takes from the commit, and its checksum.
pub struct SourcesChecksum {
    pub checksum: String,
    /// Matched committed files (repository-relative) whose work-tree copy
    /// differs from the commit, and matched untracked files (marked
    /// `true`): werf refuses to build with either.
    pub uncommitted: Vec<(String, bool)>,
}

/// Context-relative paths of the files in `<work tree>/<context>` that git
/// does not track and does not ignore.
pub fn untracked_in_context(repo: &Repo, context: &str) -> Vec<String> {
    let context = context.trim_matches('/');
    let prefix = match context {
        "" | "." => String::new(),
        c => format!("{c}/"),
    };
    let dir = if context == "." { "" } else { context };
    repo.worktree_files(dir)
        .into_iter()
        .filter(|rel| repo.kind(&format!("{prefix}{rel}")).is_none())
        .collect()
}

/// `H256(sha256(blob ids of matched files, by path))`, or `H256("")` when
/// nothing matches. `context` is repository-relative. When `add_files`
/// match too, werf's second part joins in: `H256(c1, sha256(for each
/// matched add file: project-relative path + content))`. Matched add files
/// are not checked against the commit.
pub fn sources_checksum(
    repo: &Repo,
    context: &str,
    ignore: &Dockerignore,
    sources: &[String],
    add_files: &[AddFile],
    untracked: &[String],
) -> Result<SourcesChecksum, String> {
    let patterns = sources
        .iter()
        .map(|s| SourcePattern::new(&normalize_source(s)))
        .collect::<Result<Vec<_>, _>>()?;
    let context = context.trim_matches('/');
    let prefix = match context {
        "" | "." => String::new(),
        c => format!("{c}/"),
    };
    let mut hasher = Sha256::new();
    let mut any = false;
    let mut uncommitted = Vec::new();
    for path in repo.files() {
        let Some(rel) = path.strip_prefix(prefix.as_str()) else {
            continue;
        };
        if ignore.excludes(rel) || !patterns.iter().any(|p| p.is_match(rel)) {
            continue;
        }
        if let Some(oid) = repo.oid(path) {
            hasher.update(oid.as_bytes());
            any = true;
        }
        let added = add_files.iter().any(|f| f.rel == rel);
        if !added && repo.worktree_state(path) != WorktreeState::Unchanged {
            uncommitted.push((path.to_string(), false));
        }
    }
    for rel in untracked {
        let added = add_files.iter().any(|f| &f.rel == rel);
        if !added && !ignore.excludes(rel) && patterns.iter().any(|p| p.is_match(rel)) {
            uncommitted.push((format!("{prefix}{rel}"), true));
        }
    }
    let inner = if any {
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    } else {
        String::new()
    };
    let c1 = h256(&[inner.as_str()]);
    let mut added = Sha256::new();
    let mut any_added = false;
    for f in add_files {
        if patterns.iter().any(|p| p.is_match(&f.rel)) {
            added.update(f.project_rel.as_bytes());
            added.update(&f.data);
            any_added = true;
        }
    }
    let checksum = if any_added {
        let c2: String = added
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        h256(&[c1.as_str(), c2.as_str()])
    } else {
        c1
    };
    Ok(SourcesChecksum {
        checksum,
        uncommitted,
    })
}
