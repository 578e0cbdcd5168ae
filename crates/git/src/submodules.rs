//! Submodules at the commits their superproject records. werf checks them
//! out in its worktree, so a stapel git mapping takes their files; davit
//! reads them from each submodule's own repository: the one `git submodule
//! update --init` made (`.git/modules/<name>` or the submodule's work
//! tree), or else a clone of its `.gitmodules` URL that the caller's
//! fetcher makes (`davit-git-remote`). Nested submodules are followed the
//! same way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use gix::ObjectId;

use crate::{remote, tree_files, EntryKind, GitError, Repo, TreeFile};

/// One `[submodule "<name>"]` section of `.gitmodules`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Module {
    name: String,
    path: String,
    url: Option<String>,
}

fn parse_modules(text: &[u8]) -> Vec<Module> {
    let text = String::from_utf8_lossy(text);
    let Ok(file) = gix::config::File::try_from(text.as_ref()) else {
        return Vec::new();
    };
    let Some(sections) = file.sections_by_name("submodule") else {
        return Vec::new();
    };
    sections
        .filter_map(|section| {
            let name = section.header().subsection_name()?.to_string();
            let path = section
                .value("path")
                .map_or_else(|| name.clone(), |v| v.to_string());
            Some(Module {
                path: path.trim_matches('/').to_string(),
                url: section.value("url").map(|v| v.to_string()),
                name,
            })
        })
        .collect()
}

/// The repository a submodule was found in, with what its own nested
/// submodules resolve against.
struct Parent {
    repo: gix::Repository,
    /// Its work tree, when it has one davit may look into.
    work_tree: Option<PathBuf>,
    /// The URL relative submodule URLs resolve against.
    url: Option<String>,
    modules: Vec<Module>,
}

/// git's rule for a relative submodule URL (`./x`, `../x`): relative to
/// the superproject's remote URL, or to its directory without one.
fn resolve_url(url: &str, parent: &Parent) -> String {
    if !(url.starts_with("./") || url.starts_with("../")) {
        return url.to_string();
    }
    let base = parent
        .url
        .clone()
        .or_else(|| parent.work_tree.as_ref().map(|w| w.display().to_string()))
        .unwrap_or_default();
    let mut base = base.trim_end_matches('/').to_string();
    let mut rest = url;
    loop {
        if let Some(r) = rest.strip_prefix("./") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("../") {
            rest = r;
            if let Some((up, _)) = base.rsplit_once('/') {
                base = up.to_string();
            }
        } else {
            break;
        }
    }
    format!("{base}/{rest}")
}

fn join(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_string()
    } else {
        format!("{prefix}/{path}")
    }
}

/// Clones or fetches a submodule's URL (made absolute) and returns the
/// clone's git directory.
pub type FetchSubmodule<'a> = &'a dyn Fn(&str) -> Result<PathBuf, GitError>;

/// The repository holding `commit` of the submodule at `rel` (relative to
/// `parent`; `full` from the top, for messages), and its URL.
fn locate(
    parent: &Parent,
    rel: &str,
    full: &str,
    commit: ObjectId,
    fetch: FetchSubmodule<'_>,
) -> Result<(gix::Repository, Option<String>), GitError> {
    let module = parent.modules.iter().find(|m| m.path == rel);
    let name = module.map_or(rel, |m| m.name.as_str());
    let url = module
        .and_then(|m| m.url.as_deref())
        .map(|u| resolve_url(u, parent));
    let has = |r: &gix::Repository| r.find_commit(commit).is_ok();
    let mut candidates = vec![parent.repo.git_dir().join("modules").join(name)];
    if let Some(work_tree) = &parent.work_tree {
        candidates.push(work_tree.join(rel));
    }
    for dir in candidates.iter().filter(|d| d.is_dir()) {
        if let Ok(repo) = gix::open(dir) {
            if has(&repo) {
                return Ok((repo, url));
            }
        }
    }
    let err = |message: String| GitError::Submodule {
        path: full.to_string(),
        commit: commit.to_string(),
        message,
    };
    let Some(url) = url else {
        return Err(err(
            "it is not checked out here and .gitmodules gives no url for it\n  hint: run `git submodule update --init --recursive`".into(),
        ));
    };
    let dir = fetch(&url).map_err(|e| {
        err(format!(
            "it is not checked out here, and fetching its url failed: {e}\n  hint: check its url in .gitmodules, or run `git submodule update --init --recursive`"
        ))
    })?;
    let repo = gix::open(&dir).map_err(|e| err(e.to_string()))?;
    if !has(&repo) {
        return Err(err(format!(
            "{} has no such commit\n  hint: the superproject records a submodule commit that was never pushed, or was rebased away",
            remote::redact(&url)
        )));
    }
    Ok((repo, Some(url)))
}

/// The file list being expanded.
struct Expansion<'c> {
    fetch: FetchSubmodule<'c>,
    submodules: Vec<gix::Repository>,
    files: BTreeMap<String, TreeFile>,
    gitlinks: BTreeMap<String, (ObjectId, usize)>,
}

impl Expansion<'_> {
    /// Replaces each gitlink of `links` (paths relative to `parent`, below
    /// `prefix`) by the files of its commit.
    fn expand(
        &mut self,
        parent: &Parent,
        prefix: &str,
        links: Vec<(String, ObjectId)>,
    ) -> Result<(), GitError> {
        for (rel, commit) in links {
            let full = join(prefix, &rel);
            let (repo, url) = locate(parent, &rel, &full, commit, self.fetch)?;
            let commit_obj = repo
                .find_commit(commit)
                .map_err(|e| crate::obj_err(format!("submodule {full} commit {commit}"), e))?;
            let files = tree_files(&commit_obj, &full)?;
            drop(commit_obj);
            self.submodules.push(repo.clone());
            let source = self.submodules.len();
            self.gitlinks.insert(full.clone(), (commit, source));
            let mut nested = Vec::new();
            let mut modules = Vec::new();
            for (path, mut f) in files {
                if f.kind == EntryKind::Submodule {
                    nested.push((path, f.oid));
                    continue;
                }
                if path == ".gitmodules" {
                    if let Ok(obj) = repo.find_object(f.oid) {
                        modules = parse_modules(&obj.data);
                    }
                }
                f.source = source;
                self.files.insert(join(&full, &path), f);
            }
            if !nested.is_empty() {
                let child = Parent {
                    work_tree: parent.work_tree.as_ref().map(|w| w.join(&rel)),
                    repo,
                    url,
                    modules,
                };
                self.expand(&child, &full, nested)?;
            }
        }
        Ok(())
    }
}

impl Repo {
    /// Whether HEAD records a submodule.
    pub fn has_submodules(&self) -> bool {
        self.files.values().any(|f| f.kind == EntryKind::Submodule)
    }

    /// This repository with each submodule replaced by its files at the
    /// commit HEAD records, recursively: what a checkout with `git
    /// submodule update --init --recursive` holds. Submodules that are not
    /// checked out locally are cloned from their URL by `fetch`.
    /// `ls_tree` still sees the submodules as git does (by commit when
    /// taken whole, walked into when a matcher goes through them).
    /// Only the submodules for which `wanted(path)` holds are read; the
    /// others stay as they are.
    pub fn with_submodules(
        &self,
        wanted: &dyn Fn(&str) -> bool,
        fetch: FetchSubmodule<'_>,
    ) -> Result<Repo, GitError> {
        let links: Vec<(String, ObjectId)> = self
            .files
            .iter()
            .filter(|(p, f)| f.kind == EntryKind::Submodule && wanted(p))
            .map(|(p, f)| (p.clone(), f.oid))
            .collect();
        let modules = match self.files.get(".gitmodules") {
            Some(f) => parse_modules(&self.blob(f, ".gitmodules")?),
            None => Vec::new(),
        };
        let local = self.origin_url.is_none();
        let url = self.origin_url.clone().or_else(|| {
            self.repo
                .config_snapshot()
                .string("remote.origin.url")
                .map(|u| u.to_string())
        });
        let parent = Parent {
            repo: self.repo.clone(),
            work_tree: local.then(|| self.work_tree.clone()),
            url,
            modules,
        };
        let mut expansion = Expansion {
            fetch,
            submodules: Vec::new(),
            files: self
                .files
                .iter()
                .filter(|(p, _)| !links.iter().any(|(link, _)| link == *p))
                .map(|(p, f)| (p.clone(), f.clone()))
                .collect(),
            gitlinks: BTreeMap::new(),
        };
        expansion.expand(&parent, "", links)?;
        Ok(Repo {
            repo: self.repo.clone(),
            work_tree: self.work_tree.clone(),
            head: self.head.clone(),
            files: expansion.files,
            tree: OnceLock::new(),
            submodules: expansion.submodules,
            gitlinks: expansion.gitlinks,
            origin_url: self.origin_url.clone(),
        })
    }

    /// The submodules (path → recorded commit) replaced by their files.
    pub(crate) fn gitlinks(&self) -> impl Iterator<Item = (&str, ObjectId)> {
        self.gitlinks.iter().map(|(p, (oid, _))| (p.as_str(), *oid))
    }

    /// In the files of an older commit, replaces each submodule this
    /// repository knows (by path) by its files at the commit recorded
    /// then, when its repository has that commit; others stay gitlinks.
    pub(crate) fn expand_known_submodules(&self, files: &mut BTreeMap<String, TreeFile>) {
        let mut pending: Vec<(String, ObjectId)> = files
            .iter()
            .filter(|(_, f)| f.kind == EntryKind::Submodule)
            .map(|(p, f)| (p.clone(), f.oid))
            .collect();
        while let Some((path, commit)) = pending.pop() {
            let Some((_, source)) = self.gitlinks.get(&path) else {
                continue;
            };
            let repo = &self.submodules[source - 1];
            let Ok(commit_obj) = repo.find_commit(commit) else {
                continue;
            };
            let Ok(sub_files) = tree_files(&commit_obj, &path) else {
                continue;
            };
            files.remove(&path);
            for (rel, mut f) in sub_files {
                let full = join(&path, &rel);
                if f.kind == EntryKind::Submodule {
                    pending.push((full.clone(), f.oid));
                } else {
                    f.source = *source;
                }
                files.insert(full, f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parent(url: Option<&str>, work_tree: Option<&str>) -> Parent {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = gix::init(dir.path()).expect("init");
        Parent {
            repo,
            work_tree: work_tree.map(PathBuf::from),
            url: url.map(str::to_string),
            modules: Vec::new(),
        }
    }

    #[test]
    fn gitmodules_sections_give_name_path_and_url() {
        let modules = parse_modules(
            b"[submodule \"lib\"]\n\tpath = vendor/lib/\n\turl = ../lib.git\n[submodule \"x\"]\n\turl = ssh://h/x\n",
        );
        assert_eq!(
            modules,
            [
                Module {
                    name: "lib".into(),
                    path: "vendor/lib".into(),
                    url: Some("../lib.git".into())
                },
                Module {
                    name: "x".into(),
                    path: "x".into(),
                    url: Some("ssh://h/x".into())
                }
            ]
        );
        assert!(parse_modules(b"[broken").is_empty());
    }

    #[test]
    fn relative_urls_resolve_against_the_remote_or_the_directory() {
        let p = parent(Some("file:///srv/git/app.git"), Some("/work/app"));
        assert_eq!(resolve_url("../lib.git", &p), "file:///srv/git/lib.git");
        assert_eq!(
            resolve_url("./lib.git", &p),
            "file:///srv/git/app.git/lib.git"
        );
        assert_eq!(resolve_url("ssh://h/x", &p), "ssh://h/x");
        let p = parent(None, Some("/work/app"));
        assert_eq!(resolve_url("../lib", &p), "/work/lib");
    }
}
