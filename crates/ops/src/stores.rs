//! Where stages are read and written: the primary stages storage (`--repo`,
//! or the local Docker daemon without it) and the `--final-repo`,
//! `--secondary-repo` and `--cache-repo` repositories, all through one
//! registry client with the user's credentials.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use davit_registry::{Credentials, RegistryClient, RegistryOptions};
use davit_storage::{LocalStorage, RepoStorage, Storage};

use crate::OpsError;

/// The storage flags of werf's commands.
#[derive(Debug, Clone, Default)]
pub struct StorageOptions {
    /// `--repo`: the stages repository; `None` keeps stages in the daemon.
    pub repo: Option<String>,
    /// `--final-repo`.
    pub final_repo: Option<String>,
    /// `--secondary-repo` (read-only).
    pub secondary_repos: Vec<String>,
    /// `--cache-repo`.
    pub cache_repos: Vec<String>,
    /// `--docker-config`: credentials from this directory instead of
    /// `DOCKER_CONFIG` / `~/.docker`.
    pub docker_config: Option<PathBuf>,
    /// `--insecure-registry`: plain HTTP to every named registry host.
    pub insecure_registry: bool,
    /// `--skip-tls-verify-registry`.
    pub skip_tls_verify: bool,
    /// `--home-dir` / `WERF_HOME`: where host locks live.
    pub home_dir: Option<PathBuf>,
    /// A CI job's `(host, user, token)`, used where the docker config has
    /// no credentials for that host.
    pub fallback_login: Option<(String, String, String)>,
}

/// The opened storages.
pub struct Stores {
    pub primary: Storage,
    pub final_repo: Option<RepoStorage>,
    pub secondary_repos: Vec<RepoStorage>,
    pub cache_repos: Vec<RepoStorage>,
    /// davit's local caches on this host (`<home>/local_cache`): stapel
    /// `build_dir` mounts live below it.
    pub local_cache: PathBuf,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|r| !r.is_empty())
}

impl StorageOptions {
    /// `--repo` when given and not empty.
    pub fn repo(&self) -> Option<&str> {
        non_empty(&self.repo)
    }

    fn extra_repos(&self) -> impl Iterator<Item = &str> {
        self.secondary_repos
            .iter()
            .chain(&self.cache_repos)
            .map(String::as_str)
            .filter(|r| !r.is_empty())
    }

    /// Checks the flags against each other before any work.
    pub fn check(&self) -> Result<(), OpsError> {
        let needs_repo = non_empty(&self.final_repo).is_some() || self.extra_repos().count() > 0;
        if needs_repo && self.repo().is_none() {
            return Err(OpsError::Usage("--final-repo, --secondary-repo and --cache-repo need --repo: stages are copied to and from the stages repository".into()));
        }
        Ok(())
    }

    /// Host locks live in `--home-dir`/`WERF_HOME` when given, else `~/.davit`.
    pub fn lock_dir(&self) -> PathBuf {
        lock_dir(self.home_dir.as_deref())
    }

    /// davit's local caches (chart dependencies, stage labels).
    pub fn local_cache_dir(&self) -> PathBuf {
        local_cache_dir(self.home_dir.as_deref())
    }

    /// The registry client for every repository named, with credentials
    /// from `--docker-config` or the environment.
    fn registry(&self) -> Result<(Arc<RegistryClient>, Credentials), OpsError> {
        let mut credentials = match &self.docker_config {
            Some(dir) => Credentials::from_dir(dir)?,
            None => Credentials::from_env()?,
        };
        if let Some((host, user, token)) = &self.fallback_login {
            credentials.add_fallback_login(host, user, token);
        }
        let hosts = [self.repo(), non_empty(&self.final_repo)]
            .into_iter()
            .flatten()
            .chain(self.extra_repos())
            .map(|r| r.split('/').next().unwrap_or_default().to_string())
            .collect();
        let registry_options = RegistryOptions {
            insecure_registries: if self.insecure_registry {
                hosts
            } else {
                Vec::new()
            },
            skip_tls_verify: self.skip_tls_verify,
            ..RegistryOptions::default()
        };
        let client = Arc::new(RegistryClient::new(credentials.clone(), registry_options)?);
        Ok((client, credentials))
    }

    /// The registry secrets this run may use (passwords and tokens for
    /// every repository named), for CI log masking. Unreadable
    /// credentials give none: the run itself reports them.
    pub fn registry_secrets(&self) -> Vec<String> {
        let mut credentials = match &self.docker_config {
            Some(dir) => Credentials::from_dir(dir),
            None => Credentials::from_env(),
        }
        .unwrap_or_default();
        if let Some((host, user, token)) = &self.fallback_login {
            credentials.add_fallback_login(host, user, token);
        }
        [self.repo(), non_empty(&self.final_repo)]
            .into_iter()
            .flatten()
            .chain(self.extra_repos())
            .filter_map(|r| r.split('/').next())
            .filter_map(|host| credentials.lookup(host).ok().flatten())
            .map(|c| c.secret().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// Opens the storages for `project`. Without `--repo`, stages live in
    /// the local Docker daemon and no registry is contacted.
    pub fn open(&self, project: &str) -> Result<Stores, OpsError> {
        self.check()?;
        let Some(repo_addr) = self.repo() else {
            return Ok(Stores {
                primary: Storage::Local(LocalStorage::new(project, self.lock_dir())),
                final_repo: None,
                secondary_repos: Vec::new(),
                cache_repos: Vec::new(),
                local_cache: self.local_cache_dir(),
            });
        };
        let (client, credentials) = self.registry()?;
        let open = |address: &str| {
            RepoStorage::new(
                address,
                client.clone(),
                credentials.clone(),
                self.lock_dir(),
            )
        };
        let final_repo = non_empty(&self.final_repo).map(open).transpose()?;
        let open_all = |list: &[String]| -> Result<Vec<RepoStorage>, OpsError> {
            list.iter()
                .filter(|r| !r.is_empty())
                .map(|r| open(r).map_err(OpsError::from))
                .collect()
        };
        let secondary_repos = open_all(&self.secondary_repos)?;
        let cache_repos = open_all(&self.cache_repos)?;
        let primary = Storage::Repo(open(repo_addr)?);
        Ok(Stores {
            primary,
            final_repo,
            secondary_repos,
            cache_repos,
            local_cache: self.local_cache_dir(),
        })
    }
}

/// Local caches: `<home>/local_cache` with a home directory, else
/// `~/.davit/local_cache`.
pub(crate) fn local_cache_dir(home_dir: Option<&Path>) -> PathBuf {
    home_dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".davit")))
        .unwrap_or_else(|| PathBuf::from(".davit"))
        .join("local_cache")
}

/// Host locks: `<home>/davit-locks` with a home directory, else
/// `~/.davit/locks`.
fn lock_dir(home_dir: Option<&Path>) -> PathBuf {
    if let Some(home) = home_dir {
        return home.join("davit-locks");
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".davit/locks")
}
