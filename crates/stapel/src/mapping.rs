//! A git mapping (`git[]`) as werf identifies it (spec §1.4.1, §4.4): its
//! normalized paths, the overlap auto-excludes, `paramshash` (which names
//! its commit labels) and the `stageDependencies` checksums.

use davit_config::model::Git;
use davit_git::Repo;
use davit_pathmatch::{clean, Base, Exclude, Include, Multi, PathMatcher, True};
use sha2::{Digest, Sha256};

use crate::stage::StageName;

/// One `git[]` entry, normalized as werf normalizes it before hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitMapping {
    /// `own_own` for the project's repository, `<id>_<id>` for a remote.
    pub full_name: String,
    /// Remote URL; `None` for the project's own repository.
    pub url: Option<String>,
    /// Repository-relative, no leading `/`; `""` for the root.
    pub add: String,
    /// Absolute, cleaned.
    pub to: String,
    pub include_paths: Vec<String>,
    /// Including the auto-excludes of overlapping mappings.
    pub exclude_paths: Vec<String>,
    pub owner: String,
    pub group: String,
    pub branch: String,
    pub tag: String,
    pub commit: String,
    pub stage_dependencies: StageGlobs,
}

/// `stageDependencies` globs, relative to `add`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageGlobs {
    pub install: Vec<String>,
    pub before_setup: Vec<String>,
    pub setup: Vec<String>,
}

impl StageGlobs {
    pub fn for_stage(&self, stage: StageName) -> &[String] {
        match stage {
            StageName::Install => &self.install,
            StageName::BeforeSetup => &self.before_setup,
            StageName::Setup => &self.setup,
            _ => &[],
        }
    }
}

fn text(t: &Option<davit_config::model::Text>) -> String {
    t.as_ref().map(|t| t.0.clone()).unwrap_or_default()
}

fn cleaned(globs: &[String]) -> Vec<String> {
    globs.iter().map(|g| clean(g)).collect()
}

/// werf's `getRepositoryID`: `owner/name` out of a clone URL.
pub fn repository_id(url: &str) -> String {
    // Go's (?U) swaps greediness: the prefix is as long as possible and
    // the id as short as possible, so the last two path parts remain.
    let trimmed = url.trim_end_matches('/');
    let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed);
    let parts: Vec<&str> = trimmed.rsplitn(3, ['/', ':']).collect();
    match parts.as_slice() {
        [name, owner, _] if !name.is_empty() && !owner.is_empty() && !name.contains(' ') => {
            format!("{owner}/{name}")
        }
        _ => url.to_string(),
    }
}

impl GitMapping {
    pub fn from_config(git: &Git) -> GitMapping {
        let add = clean(git.add.as_ref().map_or("/", |a| a.0.as_str()));
        let add = add.trim_start_matches('/').to_string();
        let url = git.url.as_ref().map(|u| u.0.clone());
        let full_name = match &url {
            None => "own_own".to_string(),
            Some(u) => {
                let id = repository_id(u);
                format!("{id}_{id}")
            }
        };
        let stage_dependencies = git
            .stage_dependencies
            .as_ref()
            .map(|s| StageGlobs {
                install: cleaned(&s.install.0),
                before_setup: cleaned(&s.before_setup.0),
                setup: cleaned(&s.setup.0),
            })
            .unwrap_or_default();
        GitMapping {
            full_name,
            url,
            add,
            to: clean(&text(&git.to)),
            include_paths: cleaned(&git.include_paths.0),
            exclude_paths: cleaned(&git.exclude_paths.0),
            owner: text(&git.owner),
            group: text(&git.group),
            branch: text(&git.branch),
            tag: text(&git.tag),
            commit: text(&git.commit),
            stage_dependencies,
        }
    }

    /// `sha256(fullName:::to:::add:::includes:::excludes:::owner:::group:::branch:::tag:::commit)`,
    /// the include and exclude paths concatenated with no separator.
    pub fn paramshash(&self) -> String {
        let key = [
            self.full_name.as_str(),
            &self.to,
            &self.add,
            &self.include_paths.concat(),
            &self.exclude_paths.concat(),
            &self.owner,
            &self.group,
            &self.branch,
            &self.tag,
            &self.commit,
        ]
        .join(":::");
        hex(&Sha256::digest(key.as_bytes()))
    }

    /// Which fetched repository a remote mapping reads: the URL and the
    /// reference it names.
    /// Whether the mapping may take files at or below `path`: `path` is
    /// under `add`, or `add` under `path` (which submodules to read).
    pub fn reaches(&self, path: &str) -> bool {
        let under = |inner: &str, outer: &str| {
            outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
        };
        under(path, &self.add) || under(&self.add, path)
    }

    pub fn remote_key(&self) -> Option<String> {
        let url = self.url.as_ref()?;
        Some(format!(
            "{url}#{}#{}#{}",
            self.branch, self.tag, self.commit
        ))
    }

    /// What the mapping takes from the repository, by repository path.
    pub fn matcher(&self) -> Box<dyn PathMatcher> {
        let mut inner: Vec<Box<dyn PathMatcher>> = Vec::new();
        if !self.include_paths.is_empty() {
            inner.push(Box::new(Include::new(&self.include_paths)));
        }
        if !self.exclude_paths.is_empty() {
            inner.push(Box::new(Exclude::new(&self.exclude_paths)));
        }
        let inner: Box<dyn PathMatcher> = match inner.len() {
            0 => Box::new(True),
            1 => inner.remove(0),
            _ => Box::new(Multi::new(inner)),
        };
        Box::new(Base::new(&self.add, inner))
    }

    /// The files the mapping takes at the repository's commit.
    pub fn has_files(&self, repo: &Repo) -> bool {
        !repo.ls_tree(&self.add, self.matcher().as_ref()).is_empty()
    }

    /// werf's `stageDepsChecksum` for one stage: `""` without globs;
    /// otherwise the sha256 over the `ls-tree` checksum of each glob that
    /// matches something (in config order). Globs that match nothing are
    /// returned for werf's warning.
    pub fn stage_dependencies_checksum(
        &self,
        repo: &Repo,
        stage: StageName,
    ) -> (String, Vec<String>) {
        let globs = self.stage_dependencies.for_stage(stage);
        if globs.is_empty() {
            return (String::new(), Vec::new());
        }
        let mut hasher = Sha256::new();
        let mut not_found = Vec::new();
        for glob in globs {
            let matcher = Multi::new(vec![
                self.matcher(),
                Box::new(Base::new(&self.add, Box::new(Include::new(&[glob])))),
            ]);
            let taken = repo.ls_tree(&self.add, &matcher);
            if taken.is_empty() {
                not_found.push(glob.clone());
                continue;
            }
            hasher.update(taken.checksum().as_bytes());
        }
        (hex(&hasher.finalize()), not_found)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where an export (a git mapping or an import) puts files, for werf's
/// overlap auto-exclusion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPaths {
    pub to: String,
    pub include_paths: Vec<String>,
    pub exclude_paths: Vec<String>,
}

fn join_under(to: &str, p: &str) -> String {
    clean(&format!("{}/{p}", to.trim_start_matches('/')))
        .trim_start_matches("./")
        .to_string()
}

fn included(e: &ExportPaths) -> Vec<String> {
    if e.include_paths.is_empty() {
        return if e.to == "/" {
            Vec::new()
        } else {
            vec![e.to[1..].to_string()]
        };
    }
    e.include_paths
        .iter()
        .map(|p| join_under(&e.to, p))
        .collect()
}

fn under(p: &str, dir: &str) -> bool {
    p == dir || dir.is_empty() || p.starts_with(&format!("{dir}/"))
}

/// werf's `exportsAutoExcluding` (spec §1.4.1): where one export's `to`
/// lies inside another's, the inner paths are excluded from the outer
/// export. Exports are in werf's order (local git, remote git, imports).
/// Two exports that claim the same paths are a conflict.
pub fn auto_exclude(exports: &mut [ExportPaths]) -> Result<(), String> {
    for i in 0..exports.len() {
        for j in 0..exports.len() {
            if i == j {
                continue;
            }
            let (e1, e2) = (&exports[i], &exports[j]);
            let outer = format!("{}/", e1.to.trim_end_matches('/'));
            if !(e2.to == e1.to || e2.to.starts_with(&outer)) {
                continue;
            }
            let inc1 = included(e1);
            let inc2 = included(e2);
            let exc1: Vec<String> = e1
                .exclude_paths
                .iter()
                .map(|p| join_under(&e1.to, p))
                .collect();
            if inc1.is_empty() && inc2.is_empty() {
                return Err(conflict(e1, e2));
            }
            let mut added = Vec::new();
            for p in &inc2 {
                if inc1.contains(p) {
                    return Err(conflict(e1, e2));
                }
                if inc1.iter().any(|d| under(p, d)) || exc1.iter().any(|d| under(p, d)) {
                    continue;
                }
                let rel = relative(&e1.to, &format!("/{p}"));
                added.push(rel);
            }
            exports[i].exclude_paths.extend(added);
        }
    }
    Ok(())
}

/// `filepath.Rel(base, target)` for absolute, cleaned paths where target
/// lies inside base.
fn relative(base: &str, target: &str) -> String {
    let base = base.trim_end_matches('/');
    match target.strip_prefix(base) {
        Some("") => ".".to_string(),
        Some(rest) => rest.trim_start_matches('/').to_string(),
        None => target.trim_start_matches('/').to_string(),
    }
}

fn conflict(e1: &ExportPaths, e2: &ExportPaths) -> String {
    format!("Conflict between imports!\n\n{}\n{}", dump(e1), dump(e2))
}

fn dump(e: &ExportPaths) -> String {
    format!(
        "to: {}, includePaths: {:?}, excludePaths: {:?}",
        e.to, e.include_paths, e.exclude_paths
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(v: serde_json::Value) -> Git {
        serde_json::from_value(v).expect("git mapping")
    }

    #[test]
    fn paths_are_normalized_before_hashing() {
        let m = GitMapping::from_config(&git(serde_json::json!({
            "add": "/src/", "to": "/app/", "includePaths": ["./a/", "b"]
        })));
        assert_eq!((m.add.as_str(), m.to.as_str()), ("src", "/app"));
        assert_eq!(m.include_paths, ["a", "b"]);
        let key = "own_own:::/app:::src:::ab::::::::::::::::::";
        assert_eq!(m.paramshash(), hex(&Sha256::digest(key.as_bytes())));
        let root = GitMapping::from_config(&git(serde_json::json!({"to": "/app"})));
        assert_eq!(root.add, "");
    }

    #[test]
    fn remote_names_come_from_the_url() {
        for (url, id) in [
            ("https://github.com/werf/werf.git", "werf/werf"),
            ("git@github.com:werf/werf.git", "werf/werf"),
            ("https://gitlab.example.com/group/sub/proj", "sub/proj"),
            ("file:///srv/git/lib.git", "git/lib"),
        ] {
            assert_eq!(repository_id(url), id, "{url}");
        }
    }

    #[test]
    fn an_inner_export_is_excluded_from_the_outer_one() {
        let mut exports = vec![
            ExportPaths {
                to: "/".into(),
                include_paths: vec![],
                exclude_paths: vec![],
            },
            ExportPaths {
                to: "/app/vendor".into(),
                include_paths: vec![],
                exclude_paths: vec![],
            },
        ];
        auto_exclude(&mut exports).expect("no conflict");
        assert_eq!(exports[0].exclude_paths, ["app/vendor"]);
        assert!(exports[1].exclude_paths.is_empty());
        let mut same = vec![exports[1].clone(), exports[1].clone()];
        let err = auto_exclude(&mut same).expect_err("same paths");
        assert!(err.contains("Conflict between imports"), "{err}");
    }
}
