//! A registry repository as stages storage (`--repo`): stage lookup by
//! digest from the tag list, and publishing a locally built stage under
//! `<repo>:<digest>-<millis>` — optimistic build, locked publish
//! (../shared/spec/werf-build.md §5.4–5.5).

use std::path::PathBuf;
use std::sync::Arc;

use davit_registry::{Credentials, RegistryClient, RegistryError};

use super::lock::{LockError, StageLock};
use super::stage_id::{stages_for_digest, StageId};
use crate::docker::{DockerEngine, DockerError};

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(
        "--repo {0:?}: expected REGISTRY_HOST/PATH, for example registry.example.com/group/app"
    )]
    BadAddress(String),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("pushed {reference}, but the registry does not show it; nothing else was changed")]
    NotVisibleAfterPush { reference: String },
}

/// What publishing a stage came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// This process pushed the stage under this ID.
    Pushed(StageId),
    /// Another builder published the same digest first; its stage is used
    /// and the local build is discarded.
    AlreadyThere(StageId),
}

impl Published {
    pub fn id(&self) -> &StageId {
        match self {
            Published::Pushed(id) | Published::AlreadyThere(id) => id,
        }
    }
}

pub struct RepoStorage {
    client: Arc<RegistryClient>,
    credentials: Credentials,
    host: String,
    repo: String,
    lock_dir: PathBuf,
}

impl RepoStorage {
    /// `address` is `HOST/PATH` as given to `--repo`.
    pub fn new(
        address: &str,
        client: Arc<RegistryClient>,
        credentials: Credentials,
        lock_dir: PathBuf,
    ) -> Result<RepoStorage, StorageError> {
        let bad = || StorageError::BadAddress(address.to_string());
        let (host, repo) = address.split_once('/').ok_or_else(bad)?;
        let host_like = host.contains('.') || host.contains(':') || host == "localhost";
        let repo_ok = !repo.is_empty()
            && repo.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || matches!(b, b'.' | b'_' | b'-')
                    })
            });
        if !host_like || !repo_ok || repo.contains(':') || repo.contains('@') {
            return Err(bad());
        }
        Ok(RepoStorage {
            client,
            credentials,
            host: host.to_string(),
            repo: repo.to_string(),
            lock_dir,
        })
    }

    /// `HOST/PATH`.
    pub fn address(&self) -> String {
        format!("{}/{}", self.host, self.repo)
    }

    /// `HOST/PATH:<stage id>`.
    pub fn reference(&self, id: &StageId) -> String {
        format!("{}:{id}", self.address())
    }

    /// Stages with `digest`, oldest (the one to use) first.
    pub async fn stages(&self, digest: &str, parent_ts: i64) -> Result<Vec<StageId>, StorageError> {
        let tags = self.client.tags(&self.host, &self.repo).await?;
        Ok(stages_for_digest(&tags, digest, parent_ts))
    }

    /// Publishes the local image `local` as the stage `digest`.
    ///
    /// The build happened without a lock. Now, under the host lock for the
    /// digest, the registry is asked again: if a stage appeared meanwhile it
    /// wins and nothing is pushed. Otherwise the image is tagged
    /// `<repo>:<digest>-<now>` and pushed; the daemon writes the manifest
    /// (and so the tag) only after every blob is in, so an interrupted push
    /// leaves no tag behind.
    pub async fn publish(
        &self,
        engine: &DockerEngine,
        local: &str,
        project: &str,
        digest: &str,
    ) -> Result<Published, StorageError> {
        let _lock = StageLock::acquire(&self.lock_dir, project, digest).await?;
        if let Some(existing) = self.stages(digest, 0).await?.into_iter().next() {
            return Ok(Published::AlreadyThere(existing));
        }
        let id = StageId::now(digest);
        let repo = self.address();
        let tag = id.to_string();
        engine.tag(local, &repo, &tag).await?;
        let credential = self.credentials.lookup(&self.host)?;
        let pushed = engine.push(&repo, &tag, credential.as_ref()).await;
        // The registry name was only a vehicle for the push.
        let _ = engine.untag(&format!("{repo}:{tag}")).await;
        pushed?;
        if self
            .client
            .manifest_head(&self.host, &self.repo, &tag)
            .await?
            .is_none()
        {
            return Err(StorageError::NotVisibleAfterPush {
                reference: self.reference(&id),
            });
        }
        Ok(Published::Pushed(id))
    }
}
