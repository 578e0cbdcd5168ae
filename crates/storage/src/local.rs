//! Local stages storage (no `--repo`): stages are images in the Docker
//! daemon named `<project>:<digest>-<millis>` (../shared/spec/werf-build.md
//! §5.1), found with the `reference` filter `<project>:<digest>*`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::lock::StageLock;
use super::repo::{Published, StageDescription, StorageError};
use super::stage_id::{stages_for_digest, StageId};
use davit_engine::DockerEngine;

pub struct LocalStorage {
    project: String,
    lock_dir: PathBuf,
}

impl LocalStorage {
    pub fn new(project: &str, lock_dir: PathBuf) -> LocalStorage {
        LocalStorage {
            project: project.to_string(),
            lock_dir,
        }
    }

    /// The "repository" part of local stage names: the project name.
    pub fn address(&self) -> String {
        self.project.clone()
    }

    pub async fn stages(
        &self,
        engine: &DockerEngine,
        digest: &str,
        parent_ts: i64,
    ) -> Result<Vec<StageId>, StorageError> {
        let prefix = format!("{}:", self.project);
        let tags: Vec<String> = engine
            .tags_matching(&format!("{}:{digest}*", self.project))
            .await?
            .into_iter()
            .filter_map(|t| t.strip_prefix(&prefix).map(str::to_string))
            .collect();
        Ok(stages_for_digest(&tags, digest, parent_ts))
    }

    pub async fn describe(
        &self,
        engine: &DockerEngine,
        id: &StageId,
    ) -> Result<Option<StageDescription>, StorageError> {
        let reference = format!("{}:{id}", self.project);
        Ok(engine.image_summary(&reference).await?.map(
            |(image_id, size, labels): (String, i64, BTreeMap<String, String>)| StageDescription {
                id: id.clone(),
                image_id,
                manifest_digest: String::new(),
                size,
                labels,
            },
        ))
    }

    /// Removes the local name of a stage that cannot be read.
    pub async fn reject(&self, engine: &DockerEngine, id: &StageId) -> Result<(), StorageError> {
        Ok(engine.untag(&format!("{}:{id}", self.project)).await?)
    }

    /// Names the built image `<project>:<digest>-<now>` under the host
    /// lock, unless a stage with the digest appeared meanwhile.
    pub async fn publish(
        &self,
        engine: &DockerEngine,
        local: &str,
        digest: &str,
    ) -> Result<Published, StorageError> {
        let _lock = StageLock::acquire(&self.lock_dir, &self.project, digest).await?;
        if let Some(existing) = self.stages(engine, digest, 0).await?.into_iter().next() {
            return Ok(Published::AlreadyThere(existing));
        }
        let id = StageId::now(digest);
        engine.tag(local, &self.project, &id.to_string()).await?;
        Ok(Published::Pushed(id))
    }

    /// The stage `prev` with a rewritten config, as `<project>:<digest>-<now>`:
    /// saved, rewritten and loaded back (the daemon keeps the layers).
    pub async fn publish_rewritten(
        &self,
        engine: &DockerEngine,
        prev: &StageId,
        digest: &str,
        rewrite: impl FnOnce(&mut serde_json::Value),
    ) -> Result<Published, StorageError> {
        let _lock = StageLock::acquire(&self.lock_dir, &self.project, digest).await?;
        let existing = self.stages(engine, digest, prev.creation_ts).await?;
        if let Some(existing) = existing.into_iter().next() {
            return Ok(Published::AlreadyThere(existing));
        }
        let id = StageId::now(digest);
        let saved = engine.save(&format!("{}:{prev}", self.project)).await?;
        let archive = super::docker_archive::rewrite_config(
            &saved,
            &format!("{}:{id}", self.project),
            rewrite,
        )?;
        engine.load(archive).await?;
        Ok(Published::Pushed(id))
    }
}
