//! The remote repositories of a stapel image's git mappings: fetched into
//! davit's cache (`<local cache>/git_repos`) before the image is planned
//! or built, and which repository and commit each mapping reads. A
//! repository whose submodules a mapping reaches is opened with their
//! files (`Repo::with_submodules`).

use std::collections::HashMap;

use davit_config::model::StapelImage;
use davit_git::remote::RemoteRev;
use davit_git::Repo;
use davit_git_remote::{url_credentials, BasicAuth};
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
                .with_submodules(
                    &wanted,
                    &self.fetched_remotes.submodule_fetcher(&cache, None, None),
                )
                .map_err(git_err)?;
            repos.insert(PROJECT_WITH_SUBMODULES.to_string(), repo);
        }
        for (m, config) in mappings.iter().zip(&s.git) {
            let (Some(url), Some(key)) = (m.url.clone(), m.remote_key()) else {
                continue;
            };
            if repos.contains_key(&key) {
                continue;
            }
            let auth = match &config.basic_auth {
                Some(value) => {
                    Some(
                        self.basic_auth(value)
                            .map_err(|message| BuildError::Config {
                                image: name.to_string(),
                                message: format!(
                                    "git `url: {}`: {message}",
                                    davit_git::remote::redact(&url)
                                ),
                            })?,
                    )
                }
                None => url_credentials(&url),
            };
            if auth.is_some() && url.starts_with("http://") {
                return Err(BuildError::Config {
                    image: name.to_string(),
                    message: format!(
                        "git `url: {}`: davit refuses to send basicAuth (or a password in the URL) over plain http, where it would travel in clear text\n  hint: use the https:// URL of the repository",
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
            let dir = self
                .fetched_remotes
                .update(&cache, &url, auth.as_ref())
                .map_err(git_err)?;
            let mut repo = Repo::open_remote(&dir, &url, &rev).map_err(git_err)?;
            if repo.has_submodules() {
                let same = |o: &&GitMapping| o.remote_key().as_ref() == Some(&key);
                let wanted = |path: &str| mappings.iter().filter(same).any(|o| o.reaches(path));
                let fetch =
                    self.fetched_remotes
                        .submodule_fetcher(&cache, Some(&url), auth.as_ref());
                repo = repo.with_submodules(&wanted, &fetch).map_err(git_err)?;
            }
            repos.insert(key, repo);
        }
        Ok(repos)
    }

    /// werf's `basicAuth` (`{username, password: {env | src | value}}`):
    /// the password from a variable, a file (relative to the project
    /// directory; one trailing newline dropped) or the config itself.
    fn basic_auth(&self, value: &serde_json::Value) -> Result<BasicAuth, String> {
        let username = value["username"]
            .as_str()
            .ok_or("basicAuth needs `username`")?
            .to_string();
        let password = &value["password"];
        let password = if let Some(var) = password["env"].as_str() {
            std::env::var(var).map_err(|_| {
                format!("basicAuth.password.env names {var}, which is not set\n  hint: export {var} in the job that runs davit")
            })?
        } else if let Some(src) = password["src"].as_str() {
            let path = self.repo.work_tree().join(self.project_dir).join(src);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("basicAuth.password.src: reading {}: {e}", path.display()))?;
            text.strip_suffix('\n').unwrap_or(&text).to_string()
        } else if let Some(literal) = password["value"].as_str() {
            literal.to_string()
        } else {
            return Err("basicAuth needs `password` with one of `env`, `src` or `value`".into());
        };
        Ok(BasicAuth { username, password })
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
