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

    /// A stapel stage composed in the daemon: `base` (a local stage, an
    /// external image pulled into the daemon, or nothing) with `layers`
    /// (uncompressed tars) on top and its config passed through `rewrite`,
    /// loaded as `<project>:<digest>-<now>`; no container runs.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish_composed(
        &self,
        engine: &DockerEngine,
        base: &crate::compose::StageBase,
        digest: &str,
        parent_ts: i64,
        passed_over: &[StageId],
        layers: Vec<Vec<u8>>,
        rewrite: impl FnOnce(&mut serde_json::Value),
    ) -> Result<Published, StorageError> {
        use crate::compose::StageBase;
        let _lock = StageLock::acquire(&self.lock_dir, &self.project, digest).await?;
        let fresh = self.stages(engine, digest, parent_ts).await?;
        if let Some(existing) = fresh.into_iter().find(|id| !passed_over.contains(id)) {
            return Ok(Published::AlreadyThere(existing));
        }
        let mut layers = layers;
        let saved = match base {
            StageBase::Stage(id) => engine.save(&format!("{}:{id}", self.project)).await?,
            StageBase::External {
                reference,
                platform,
            } => {
                crate::compose::check_reference(reference)?;
                if engine.image_id(reference).await?.is_none() {
                    engine.pull(reference, platform, None).await?;
                }
                engine.save(reference).await?
            }
            StageBase::Scratch { platform } => {
                // The daemon cannot save an image without layers, and later
                // stages start from a save: an empty layer goes first.
                layers.insert(0, vec![0u8; 1024]);
                super::docker_archive::empty_image(&crate::compose::platform_config(platform))?
            }
        };
        let id = StageId::now(digest);
        let archive = super::docker_archive::compose(
            &saved,
            &format!("{}:{id}", self.project),
            layers,
            rewrite,
        )?;
        engine.load(archive).await?;
        Ok(Published::Pushed(id))
    }

    /// The files of a local image (a stage, or any reference) that
    /// `wanted` takes, every layer applied.
    pub async fn image_files(
        &self,
        engine: &DockerEngine,
        reference: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<BTreeMap<String, crate::image_files::ImageEntry>, StorageError> {
        let saved = engine.save(reference).await?;
        let mut files = BTreeMap::new();
        for layer in super::docker_archive::layers(&saved)? {
            crate::image_files::apply_layer_blob(&layer, &mut files, &wanted).map_err(
                |message| StorageError::Unexpected {
                    reference: reference.to_string(),
                    message,
                },
            )?;
        }
        Ok(files)
    }

    /// The local name of a stage.
    pub fn reference(&self, id: &StageId) -> String {
        format!("{}:{id}", self.project)
    }

    /// [`LocalStorage::publish`], where the re-check under the lock skips
    /// stages the caller's selection refused.
    pub async fn publish_checked(
        &self,
        engine: &DockerEngine,
        local: &str,
        digest: &str,
        parent_ts: i64,
        passed_over: &[StageId],
    ) -> Result<Published, StorageError> {
        let _lock = StageLock::acquire(&self.lock_dir, &self.project, digest).await?;
        let fresh = self.stages(engine, digest, parent_ts).await?;
        if let Some(existing) = fresh.into_iter().find(|id| !passed_over.contains(id)) {
            return Ok(Published::AlreadyThere(existing));
        }
        let id = StageId::now(digest);
        engine.tag(local, &self.project, &id.to_string()).await?;
        Ok(Published::Pushed(id))
    }
}
