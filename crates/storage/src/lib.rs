//! Where stages live: a registry repository (`--repo`) or the local Docker
//! daemon, addressed by stage digest (../shared/spec/werf-build.md §5).
//! Secondary, cache and final repositories build on the same pieces.

pub mod compose;
pub mod deletion;
pub mod docker_archive;
pub mod image_files;
pub mod label_cache;
pub mod local;
pub mod lock;
mod maintenance;
pub mod records;
pub mod repo;
pub mod stage_id;

/// The werf version whose registry layout and stage labels davit writes:
/// the value of the `werf-version` label on every stage davit builds, so
/// werf (which reads the label as a version) treats them as its own.
pub const WERF_COMPAT_VERSION: &str = "v2.77.1";

pub use local::LocalStorage;
pub use repo::{Published, RepoStorage, StageDescription, StorageError};
pub use stage_id::StageId;

use davit_engine::DockerEngine;

/// The primary stages storage of a build.
pub enum Storage {
    Repo(RepoStorage),
    Local(LocalStorage),
}

impl Storage {
    /// `HOST/PATH` for a registry, the project name for local storage.
    pub fn address(&self) -> String {
        match self {
            Storage::Repo(r) => r.address(),
            Storage::Local(l) => l.address(),
        }
    }

    /// The registry repository, unless the storage is local.
    pub fn as_repo(&self) -> Option<&RepoStorage> {
        match self {
            Storage::Repo(r) => Some(r),
            Storage::Local(_) => None,
        }
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Storage::Local(_))
    }

    /// Stages with `digest`, oldest (the one to use) first.
    pub async fn stages(
        &self,
        engine: &DockerEngine,
        digest: &str,
        parent_ts: i64,
    ) -> Result<Vec<StageId>, StorageError> {
        match self {
            Storage::Repo(r) => r.stages(digest, parent_ts).await,
            Storage::Local(l) => l.stages(engine, digest, parent_ts).await,
        }
    }

    pub async fn describe(
        &self,
        engine: &DockerEngine,
        id: &StageId,
    ) -> Result<Option<StageDescription>, StorageError> {
        match self {
            Storage::Repo(r) => r.describe(id).await,
            Storage::Local(l) => l.describe(engine, id).await,
        }
    }

    pub async fn publish(
        &self,
        engine: &DockerEngine,
        local: &str,
        project: &str,
        digest: &str,
    ) -> Result<Published, StorageError> {
        match self {
            Storage::Repo(r) => r.publish(engine, local, project, digest).await,
            Storage::Local(l) => l.publish(engine, local, digest).await,
        }
    }

    /// Publishes a stage `digest` that is the stage `prev` with its image
    /// config passed through `rewrite` (no build, no pull). Under the host
    /// lock, a stage that appeared meanwhile (created after `prev`) wins.
    pub async fn publish_rewritten(
        &self,
        engine: &DockerEngine,
        project: &str,
        prev: &StageId,
        digest: &str,
        rewrite: impl FnOnce(&mut serde_json::Value),
    ) -> Result<Published, StorageError> {
        match self {
            Storage::Repo(r) => r.publish_rewritten(project, prev, digest, rewrite).await,
            Storage::Local(l) => l.publish_rewritten(engine, prev, digest, rewrite).await,
        }
    }

    /// A stage composed from `base`, `layers` and a config rewrite: in the
    /// registry, or loaded into the daemon for local storage.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish_composed(
        &self,
        engine: &DockerEngine,
        project: &str,
        base: &compose::StageBase,
        digest: &str,
        parent_ts: i64,
        passed_over: &[StageId],
        layers: Vec<compose::NewLayer>,
        rewrite: impl FnOnce(&mut serde_json::Value),
    ) -> Result<Published, StorageError> {
        match self {
            Storage::Repo(r) => {
                r.publish_composed(
                    project,
                    base,
                    digest,
                    parent_ts,
                    passed_over,
                    layers,
                    rewrite,
                )
                .await
            }
            Storage::Local(l) => {
                let mut raw = Vec::new();
                for layer in layers {
                    raw.push(compose::gunzip(&layer.blob).map_err(|message| {
                        StorageError::Unexpected {
                            reference: digest.to_string(),
                            message,
                        }
                    })?);
                }
                l.publish_composed(engine, base, digest, parent_ts, passed_over, raw, rewrite)
                    .await
            }
        }
    }

    /// The files of the stage `id` that `wanted` takes.
    pub async fn image_files(
        &self,
        engine: &DockerEngine,
        id: &StageId,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<std::collections::BTreeMap<String, image_files::ImageEntry>, StorageError> {
        match self {
            Storage::Repo(r) => r.image_files(id, wanted).await,
            Storage::Local(l) => l.image_files(engine, &l.reference(id), wanted).await,
        }
    }

    /// The files of a registry image that `wanted` takes: read in the
    /// registry, or pulled into the daemon for local storage.
    pub async fn external_image_files(
        &self,
        engine: &DockerEngine,
        reference: &str,
        platform: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<std::collections::BTreeMap<String, image_files::ImageEntry>, StorageError> {
        match self {
            Storage::Repo(r) => r.external_image_files(reference, platform, wanted).await,
            Storage::Local(l) => {
                compose::check_reference(reference)?;
                if engine.image_id(reference).await?.is_none() {
                    engine.pull(reference, platform, None).await?;
                }
                l.image_files(engine, reference, wanted).await
            }
        }
    }

    /// A record's labels (registry only: werf keeps import metadata
    /// locally in another form, which davit does not read).
    pub async fn record_labels(
        &self,
        tag: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, StorageError> {
        match self {
            Storage::Repo(r) => r.record_labels(tag).await,
            Storage::Local(_) => Ok(None),
        }
    }

    /// werf's `import-metadata-*` record (registry only).
    pub async fn push_import_metadata(
        &self,
        project: &str,
        import_source_id: &str,
        source_stage_id: &str,
        checksum: &str,
    ) -> Result<(), StorageError> {
        match self {
            Storage::Repo(r) => {
                r.push_import_metadata(project, import_source_id, source_stage_id, checksum)
                    .await
            }
            Storage::Local(_) => Ok(()),
        }
    }

    /// How the daemon names the stage `id`.
    pub fn stage_reference(&self, id: &StageId) -> String {
        match self {
            Storage::Repo(r) => r.reference(id),
            Storage::Local(l) => l.reference(id),
        }
    }

    /// Publishes the local image `local` as the stage `digest`, the
    /// re-check skipping `passed_over`.
    pub async fn publish_checked(
        &self,
        engine: &DockerEngine,
        local: &str,
        project: &str,
        digest: &str,
        parent_ts: i64,
        passed_over: &[StageId],
    ) -> Result<Published, StorageError> {
        match self {
            Storage::Repo(r) => {
                r.publish_checked(engine, local, project, digest, parent_ts, passed_over)
                    .await
            }
            Storage::Local(l) => {
                l.publish_checked(engine, local, digest, parent_ts, passed_over)
                    .await
            }
        }
    }

    /// Writes the `managed-image-*` record of an image (registry only;
    /// werf keeps no such record locally).
    pub async fn add_managed_image(
        &self,
        project: &str,
        image_name: &str,
    ) -> Result<bool, StorageError> {
        match self {
            Storage::Repo(r) => r.add_managed_image(project, image_name).await,
            Storage::Local(_) => Ok(false),
        }
    }

    /// Writes the `meta-*` image↔commit record of an image (registry only;
    /// werf keeps no such record locally).
    pub async fn add_image_metadata(
        &self,
        project: &str,
        image_name: &str,
        commit: &str,
        stage_id: &str,
    ) -> Result<bool, StorageError> {
        match self {
            Storage::Repo(r) => {
                r.add_image_metadata(project, image_name, commit, stage_id)
                    .await
            }
            Storage::Local(_) => Ok(false),
        }
    }

    /// Forgets cached tag lists (a registry's; the local daemon is asked
    /// each time).
    pub async fn forget_tags(&self) {
        if let Storage::Repo(r) = self {
            r.forget_tags().await;
        }
    }

    /// Marks a stage that cannot be read so that it is never selected again:
    /// werf's `<digest>-<ts>-rejected` record in a registry; locally, the
    /// broken name is removed.
    pub async fn reject(
        &self,
        engine: &DockerEngine,
        project: &str,
        id: &StageId,
    ) -> Result<(), StorageError> {
        match self {
            Storage::Repo(r) => r.reject(project, id).await,
            Storage::Local(l) => l.reject(engine, id).await,
        }
    }

    /// Host and credential for the daemon's base-image pulls.
    pub fn registry_auth(
        &self,
    ) -> Result<Option<(String, davit_registry::Credential)>, StorageError> {
        match self {
            Storage::Repo(r) => Ok(r.credential()?.map(|c| (r.host().to_string(), c))),
            Storage::Local(_) => Ok(None),
        }
    }
}
