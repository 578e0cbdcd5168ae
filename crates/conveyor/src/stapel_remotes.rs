//! The remote repositories of a stapel image's git mappings: fetched into
//! davit's cache (`<local cache>/git_repos`) before the image is planned
//! or built, and which repository and commit each mapping reads. A
//! repository whose submodules a mapping reaches is opened with their
//! files (`Repo::with_submodules`).

use std::collections::HashMap;

use davit_config::model::StapelImage;
use davit_git::remote::{update, RemoteRev};
use davit_git::Repo;
use davit_stapel::{GitMapping, Pipeline};

use super::{BuildError, Conveyor};

/// The key of the project's repository with its submodules' files among
/// the repositories `fetch_remotes` returns (remote keys hold a `#`).
const PROJECT_WITH_SUBMODULES: &str = "project";

impl Conveyor<'_> {
    /// Fetches every remote mapping of `s`, by [`GitMapping::remote_key`].
    pub(super) fn fetch_remotes(
        &self,
        name: &str,
        s: &StapelImage,
    ) -> Result<HashMap<String, Repo>, BuildError> {
        let cache = self.local_cache.join("git_repos");
        let git_err = |e: davit_git::GitError| BuildError::Config {
            image: name.to_string(),
            message: e.to_string(),
        };
        let mappings: Vec<GitMapping> = s.git.iter().map(GitMapping::from_config).collect();
        let mut repos = HashMap::new();
        let local: Vec<&GitMapping> = mappings.iter().filter(|m| m.url.is_none()).collect();
        if !local.is_empty() && self.repo.has_submodules() {
            let wanted = |path: &str| local.iter().any(|m| m.reaches(path));
            let repo = self
                .repo
                .with_submodules(&cache, &wanted)
                .map_err(git_err)?;
            repos.insert(PROJECT_WITH_SUBMODULES.to_string(), repo);
        }
        for m in &mappings {
            let (Some(url), Some(key)) = (m.url.clone(), m.remote_key()) else {
                continue;
            };
            if repos.contains_key(&key) {
                continue;
            }
            if url.starts_with("http://") || url.starts_with("https://") {
                return Err(BuildError::Config {
                    image: name.to_string(),
                    message: format!(
                        "uses git over http(s) (`url: {}`), which davit does not support yet\n  hint: file:// and ssh:// URLs work",
                        davit_git::remote::redact(&url)
                    ),
                });
            }
            let rev = if !m.commit.is_empty() {
                RemoteRev::Commit(m.commit.clone())
            } else if !m.tag.is_empty() {
                RemoteRev::Tag(m.tag.clone())
            } else if !m.branch.is_empty() {
                RemoteRev::Branch(m.branch.clone())
            } else {
                RemoteRev::Head
            };
            let dir = update(&cache, &url).map_err(git_err)?;
            let mut repo = Repo::open_remote(&dir, &url, &rev).map_err(git_err)?;
            if repo.has_submodules() {
                let same = |o: &&GitMapping| o.remote_key().as_ref() == Some(&key);
                let wanted = |path: &str| mappings.iter().filter(same).any(|o| o.reaches(path));
                repo = repo.with_submodules(&cache, &wanted).map_err(git_err)?;
            }
            repos.insert(key, repo);
        }
        Ok(repos)
    }

    /// The project's repository as the mappings of an image read it:
    /// with the files of the submodules they reach.
    pub(super) fn project_repo<'r>(&'r self, remotes: &'r HashMap<String, Repo>) -> &'r Repo {
        remotes.get(PROJECT_WITH_SUBMODULES).unwrap_or(self.repo)
    }

    /// The repository and the current commit of each mapping.
    pub(super) fn mapping_repos<'r>(
        &'r self,
        pipeline: &Pipeline,
        remotes: &'r HashMap<String, Repo>,
    ) -> (Vec<&'r Repo>, Vec<String>) {
        pipeline
            .mappings
            .iter()
            .map(|m| match m.remote_key().and_then(|k| remotes.get(&k)) {
                Some(remote) => (remote, remote.head().hash.clone()),
                None => (self.project_repo(remotes), self.commit.to_string()),
            })
            .unzip()
    }
}
