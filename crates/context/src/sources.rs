//! The checksum of a COPY/ADD instruction's sources in the commit, the
//! `filesChecksum` input of the `dockerfile` stage digest, exactly as werf
//! computes it (../shared/spec/werf-build.md §4.6.1): an `ls-tree` of the
//! context under werf's matchers, where a directory taken whole
//! contributes its git tree id and a file its blob id; then the
//! `contextAddFiles` part; then the uncommitted-file check.

use davit_git::{Repo, WorktreeState};
use davit_pathmatch::{fmt, Base, Exclude, Include, Multi, PathMatcher};
use sha2::{Digest, Sha256};

use super::add_files::AddFile;
use super::dockerignore::Dockerignore;
use super::werf_matchers::{copy_matcher, normalize_sources, sources_matcher, DockerignoreMatcher};
use davit_digest::hash::h256;

/// What a COPY/ADD takes from the commit, and its checksum.
pub struct SourcesChecksum {
    pub checksum: String,
    /// Matched committed files (repository-relative) whose work-tree copy
    /// differs from the commit, and matched untracked files (marked
    /// `true`): werf refuses to build with either.
    pub uncommitted: Vec<(String, bool)>,
}

/// The context of one Dockerfile image as the checksum reads it.
pub struct ChecksumContext<'a> {
    pub repo: &'a Repo,
    /// Repository-relative (`""` or `.` for the root).
    pub context: &'a str,
    /// Context-relative path of the Dockerfile.
    pub dockerfile: &'a str,
    pub ignore: &'a Dockerignore,
    pub add_files: &'a [AddFile],
    /// Context-relative files on disk that git does not track or ignore.
    pub untracked: &'a [String],
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

/// werf's `Checksum` of an `ls-tree` result: `""` when nothing matched,
/// else the sha256 of the entries' hex ids in path order (and of the
/// submodule results).
fn ls_tree_checksum(repo: &Repo, scope: &str, matcher: &dyn PathMatcher) -> String {
    repo.ls_tree(scope, matcher).checksum()
}

/// `filesChecksum(sources)`: `H256(lsTreeChecksum)`, and with matching
/// `contextAddFiles` `H256(that, addFilesChecksum)`.
pub fn sources_checksum(
    cx: &ChecksumContext<'_>,
    sources: &[String],
) -> Result<SourcesChecksum, String> {
    let ctx = fmt(cx.context);
    let matcher = copy_matcher(&ctx, cx.ignore, cx.dockerfile, sources);
    let c0 = ls_tree_checksum(cx.repo, &ctx, &matcher);
    let c1 = h256(&[c0.as_str()]);
    let checksum = match add_files_checksum(&ctx, cx.add_files, sources) {
        Some(c2) => h256(&[c1.as_str(), c2.as_str()]),
        None => c1,
    };
    Ok(SourcesChecksum {
        checksum,
        uncommitted: uncommitted(cx, &ctx, sources),
    })
}

/// werf's `ContextAddFilesChecksum`: the add files (in config order) that
/// `Base(ctx, Include(raw sources))` matches by their project-relative
/// path, each as path bytes then content (symlinks: the path only).
/// Because the base is repository-relative and the paths project-relative,
/// nothing matches in a project below the repository root — as in werf.
fn add_files_checksum(ctx: &str, add_files: &[AddFile], sources: &[String]) -> Option<String> {
    let matcher = Base::new(ctx, Box::new(Include::new(sources)));
    let mut hasher = Sha256::new();
    let mut any = false;
    for f in add_files.iter().filter(|f| matcher.matched(&f.project_rel)) {
        hasher.update(f.project_rel.as_bytes());
        if f.regular {
            hasher.update(&f.data);
        }
        any = true;
    }
    any.then(|| {
        hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

/// werf's status check: changed or untracked files that
/// `Multi(Exclude(ctx/contextAddFiles), W, D)` matches.
fn uncommitted(cx: &ChecksumContext<'_>, ctx: &str, sources: &[String]) -> Vec<(String, bool)> {
    let prefix = if ctx.is_empty() {
        String::new()
    } else {
        format!("{ctx}/")
    };
    let added: Vec<String> = cx
        .add_files
        .iter()
        .map(|f| format!("{prefix}{}", f.rel))
        .collect();
    let dockerignore: Box<dyn PathMatcher> = Box::new(Base::new(
        ctx,
        Box::new(DockerignoreMatcher::new(cx.ignore, cx.dockerfile)),
    ));
    let status = Multi::new(vec![
        Box::new(Exclude::new(&added)),
        sources_matcher(ctx, &normalize_sources(sources)),
        dockerignore,
    ]);
    let mut out = Vec::new();
    for path in cx.repo.files() {
        if path.starts_with(prefix.as_str())
            && status.matched(path)
            && cx.repo.worktree_state(path) != WorktreeState::Unchanged
        {
            out.push((path.to_string(), false));
        }
    }
    for rel in cx.untracked {
        let path = format!("{prefix}{rel}");
        if status.matched(&path) {
            out.push((path, true));
        }
    }
    out
}
