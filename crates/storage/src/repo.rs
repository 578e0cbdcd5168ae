//! A registry repository as stages storage (`--repo`): stage lookup by
//! digest from the tag list, and publishing a locally built stage under
//! `<repo>:<digest>-<millis>` — optimistic build, locked publish
//! (../shared/spec/werf-build.md §5.4–5.5).

use std::path::PathBuf;
use std::sync::Arc;

use davit_registry::{Credentials, OciManifest, RegistryClient, RegistryError};

use super::lock::{LockError, StageLock};
use super::stage_id::{stages_for_digest, StageId};
use davit_engine::{DockerEngine, DockerError};

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
    #[error(transparent)]
    Archive(#[from] super::docker_archive::ArchiveError),
    #[error("{reference}: {message}")]
    Unexpected { reference: String, message: String },
    #[error("pushed {reference}, but the registry does not show it; nothing else was changed")]
    NotVisibleAfterPush { reference: String },
}

impl StorageError {
    /// The storage no longer has what a stage it listed needs (deleted or
    /// broken meanwhile): werf's "unexpected stages storage state", after
    /// which the stage is rejected and the build retried.
    pub fn is_missing_content(&self) -> bool {
        matches!(
            self,
            StorageError::Registry(RegistryError::Missing { .. }) | StorageError::Unexpected { .. }
        )
    }
}

/// A stored stage as the registry describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StageDescription {
    pub id: StageId,
    /// `sha256:` of the image config: the image ID.
    pub image_id: String,
    /// `sha256:` of the manifest.
    pub manifest_digest: String,
    /// Sum of the compressed layer sizes.
    pub size: i64,
    pub labels: std::collections::BTreeMap<String, String>,
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
    tag_cache: tokio::sync::Mutex<Option<Arc<Vec<String>>>>,
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
            tag_cache: tokio::sync::Mutex::new(None),
        })
    }

    /// Where the host locks of this storage live.
    pub fn lock_dir(&self) -> &std::path::Path {
        &self.lock_dir
    }

    /// The registry host.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The repository path on the host.
    pub fn path(&self) -> &str {
        &self.repo
    }

    pub(crate) fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// The credential for the host, for the daemon to pull stages with.
    pub fn credential(&self) -> Result<Option<davit_registry::Credential>, StorageError> {
        Ok(self.credentials.lookup(&self.host)?)
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
    ///
    /// The tag list is read once per run and shared by every image; an
    /// empty cached list is read again, as werf does. Decisions that must
    /// see the registry as it is now use [`RepoStorage::stages_fresh`].
    pub async fn stages(&self, digest: &str, parent_ts: i64) -> Result<Vec<StageId>, StorageError> {
        let mut cache = self.tag_cache.lock().await;
        let tags = match cache.as_ref() {
            Some(tags) if !tags.is_empty() => tags.clone(),
            _ => {
                let tags = Arc::new(self.client.tags(&self.host, &self.repo).await?);
                *cache = Some(tags.clone());
                tags
            }
        };
        drop(cache);
        Ok(stages_for_digest(&tags, digest, parent_ts))
    }

    /// Like [`RepoStorage::stages`], reading the tag list now (and
    /// refreshing the shared copy).
    pub async fn stages_fresh(
        &self,
        digest: &str,
        parent_ts: i64,
    ) -> Result<Vec<StageId>, StorageError> {
        let tags = Arc::new(self.client.tags(&self.host, &self.repo).await?);
        *self.tag_cache.lock().await = Some(tags.clone());
        Ok(stages_for_digest(&tags, digest, parent_ts))
    }

    /// Forgets the shared tag list; the next lookup reads it again.
    pub async fn forget_tags(&self) {
        *self.tag_cache.lock().await = None;
    }

    /// Adds a tag this process wrote to the shared tag list.
    pub(crate) async fn remember_tag(&self, tag: String) {
        let mut cache = self.tag_cache.lock().await;
        let mut tags: Vec<String> = cache.as_deref().cloned().unwrap_or_default();
        tags.push(tag);
        *cache = Some(Arc::new(tags));
    }

    /// Reads a stage's manifest and config. `None` when the tag is gone or
    /// its config blob is missing (a broken stage).
    pub async fn describe(&self, id: &StageId) -> Result<Option<StageDescription>, StorageError> {
        let Some((desc, body)) = self
            .client
            .manifest_get(&self.host, &self.repo, &id.to_string())
            .await?
        else {
            return Ok(None);
        };
        // Anything but a single-platform image manifest is not a stage.
        let Ok(OciManifest::Image(manifest)) = davit_registry::parse_manifest(&body) else {
            return Ok(None);
        };
        let config_digest = manifest.config.digest.as_str();
        let size = manifest.layers.iter().map(|l| l.size).sum();
        let Some(config) = self
            .client
            .blob_get(&self.host, &self.repo, config_digest)
            .await?
        else {
            return Ok(None);
        };
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
        let labels: std::collections::BTreeMap<String, String> = config["config"]["Labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        // A tag a cleanup was deleting when it was killed (pointed at a
        // manifest of its own, not yet deleted) is no stage.
        if labels.contains_key(crate::maintenance::DELETING_LABEL) {
            return Ok(None);
        }
        Ok(Some(StageDescription {
            id: id.clone(),
            image_id: config_digest.to_string(),
            manifest_digest: desc.digest,
            size,
            labels,
        }))
    }

    /// Copies stage `id` from `source` into this repository under the same
    /// tag (`--final-repo`), unless it is there. Returns the manifest digest.
    pub async fn copy_stage_from(
        &self,
        source: &RepoStorage,
        id: &StageId,
    ) -> Result<String, StorageError> {
        let tag = id.to_string();
        if let Some(d) = self
            .client
            .manifest_head(&self.host, &self.repo, &tag)
            .await?
        {
            return Ok(d.digest);
        }
        Ok(self
            .client
            .copy_image((&source.host, &source.repo), (&self.host, &self.repo), &tag)
            .await?)
    }

    /// Writes the `-rejected` record of a stage (a manifest-only image with
    /// the project label) and remembers it for this run's lookups.
    pub async fn reject(&self, project: &str, id: &StageId) -> Result<(), StorageError> {
        let tag = id.rejected_tag();
        self.push_project_record(project, &tag).await?;
        self.remember_tag(tag).await;
        Ok(())
    }

    /// Records that `image_name` belongs to `project` (`managed-image-*`),
    /// unless the record exists. Returns whether it was written.
    pub async fn add_managed_image(
        &self,
        project: &str,
        image_name: &str,
    ) -> Result<bool, StorageError> {
        let tag = super::stage_id::managed_image_tag(image_name);
        if self
            .client
            .manifest_head(&self.host, &self.repo, &tag)
            .await?
            .is_some()
        {
            return Ok(false);
        }
        self.push_project_record(project, &tag).await?;
        Ok(true)
    }

    /// Records that `commit` produced `image_name` as the stage `stage_id`
    /// (`meta-*`), unless this run's tag list already has the record, so
    /// that a no-op build writes nothing. Returns whether it was written.
    pub async fn add_image_metadata(
        &self,
        project: &str,
        image_name: &str,
        commit: &str,
        stage_id: &str,
    ) -> Result<bool, StorageError> {
        let tag = super::stage_id::image_metadata_tag(image_name, commit, stage_id);
        let known = self
            .tag_cache
            .lock()
            .await
            .as_ref()
            .is_some_and(|tags| tags.contains(&tag));
        if known {
            return Ok(false);
        }
        self.push_project_record(project, &tag).await?;
        self.remember_tag(tag).await;
        Ok(true)
    }

    /// Publishes the stage `digest` as the stage `prev` with its config
    /// passed through `rewrite`, inside the registry: the new config blob
    /// first, then a manifest with the same layers under the new tag. No
    /// layer moves. Under the host lock, a stage that appeared meanwhile
    /// (created after `prev`) wins.
    pub async fn publish_rewritten(
        &self,
        project: &str,
        prev: &StageId,
        digest: &str,
        rewrite: impl FnOnce(&mut serde_json::Value),
    ) -> Result<Published, StorageError> {
        let base = crate::compose::StageBase::Stage(prev.clone());
        self.publish_composed(
            project,
            &base,
            digest,
            prev.creation_ts,
            &[],
            Vec::new(),
            rewrite,
        )
        .await
    }

    /// werf's multi-platform image: a manifest list tagged `<digest>` (no
    /// timestamp) naming each platform's last stage, pushed unless the tag
    /// exists. Returns the list's manifest digest and whether it was
    /// pushed now. The per-platform manifests are in this repository, so
    /// only the list is written.
    pub async fn publish_index(
        &self,
        digest: &str,
        platforms: &[(String, StageId)],
    ) -> Result<(String, bool), StorageError> {
        if let Some(d) = self
            .client
            .manifest_head(&self.host, &self.repo, digest)
            .await?
        {
            return Ok((d.digest, false));
        }
        let mut entries = Vec::new();
        let mut oci = false;
        for (platform, id) in platforms {
            let desc = self
                .client
                .manifest_head(&self.host, &self.repo, &id.to_string())
                .await?
                .ok_or_else(|| StorageError::Unexpected {
                    reference: self.reference(id),
                    message: "the stage is gone".into(),
                })?;
            oci |= desc.media_type == davit_registry::media::OCI_MANIFEST;
            let (os, architecture, variant) = davit_digest::platform::parts(platform);
            let mut platform = serde_json::json!({"architecture": architecture, "os": os});
            if let Some(v) = variant {
                platform["variant"] = v.into();
            }
            entries.push(serde_json::json!({
                "mediaType": desc.media_type,
                "size": desc.size,
                "digest": desc.digest,
                "platform": platform,
            }));
        }
        let media_type = if oci {
            davit_registry::media::OCI_INDEX
        } else {
            davit_registry::media::DOCKER_LIST
        };
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": entries,
        });
        let body = serde_json::to_vec(&index).unwrap_or_default();
        let stored = self
            .client
            .manifest_put(&self.host, &self.repo, digest, media_type, body)
            .await?;
        self.remember_tag(digest.to_string()).await;
        Ok((stored.digest, true))
    }

    /// Gives the stage `id` the extra `tags` in this repository (manifest
    /// copies; the blobs are there), reading its manifest once.
    pub async fn tag_stage(&self, id: &StageId, tags: &[String]) -> Result<(), StorageError> {
        let (desc, body) = self
            .client
            .manifest_get(&self.host, &self.repo, &id.to_string())
            .await?
            .ok_or_else(|| StorageError::Unexpected {
                reference: self.reference(id),
                message: "the stage is gone".into(),
            })?;
        for tag in tags {
            self.client
                .manifest_put(&self.host, &self.repo, tag, &desc.media_type, body.clone())
                .await?;
        }
        Ok(())
    }

    /// werf's `custom-tag-meta-*` record: which stage a custom tag names,
    /// for cleanup.
    pub async fn push_custom_tag_record(
        &self,
        project: &str,
        tag: &str,
        stage_id: &str,
    ) -> Result<(), StorageError> {
        let labels = std::collections::BTreeMap::from([
            ("werf".to_string(), project.to_string()),
            ("stage-id".to_string(), stage_id.to_string()),
            ("tag".to_string(), tag.to_string()),
        ]);
        let record = super::stage_id::custom_tag_meta_tag(tag);
        super::records::push_manifest_only_image(
            &self.client,
            &self.host,
            &self.repo,
            &record,
            &labels,
            &rfc3339_now(),
        )
        .await?;
        self.remember_tag(record).await;
        Ok(())
    }

    /// The labels of a record (a manifest-only image) `tag`; `None` when
    /// the tag does not exist or is not an image.
    pub async fn record_labels(
        &self,
        tag: &str,
    ) -> Result<Option<std::collections::BTreeMap<String, String>>, StorageError> {
        let Some((_, body)) = self
            .client
            .manifest_get(&self.host, &self.repo, tag)
            .await?
        else {
            return Ok(None);
        };
        let Ok(OciManifest::Image(manifest)) = davit_registry::parse_manifest(&body) else {
            return Ok(None);
        };
        let Some(config) = self
            .client
            .blob_get(&self.host, &self.repo, &manifest.config.digest)
            .await?
        else {
            return Ok(None);
        };
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
        let labels = config["config"]["Labels"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(labels))
    }

    /// werf's `import-metadata-<importSourceID>` record: the checksum of
    /// what an import takes from a source stage. Written once; whoever
    /// computes it first defines it for every builder.
    pub async fn push_import_metadata(
        &self,
        project: &str,
        import_source_id: &str,
        source_stage_id: &str,
        checksum: &str,
    ) -> Result<(), StorageError> {
        let labels = std::collections::BTreeMap::from([
            ("werf".to_string(), project.to_string()),
            ("import-source-id".to_string(), import_source_id.to_string()),
            ("source-stage-id".to_string(), source_stage_id.to_string()),
            ("checksum".to_string(), checksum.to_string()),
        ]);
        let tag = format!("import-metadata-{import_source_id}");
        super::records::push_manifest_only_image(
            &self.client,
            &self.host,
            &self.repo,
            &tag,
            &labels,
            &rfc3339_now(),
        )
        .await?;
        self.remember_tag(tag).await;
        Ok(())
    }

    /// A manifest-only record `tag` labelled `werf=<project>`.
    async fn push_project_record(&self, project: &str, tag: &str) -> Result<(), StorageError> {
        let labels = std::collections::BTreeMap::from([("werf".to_string(), project.to_string())]);
        super::records::push_manifest_only_image(
            &self.client,
            &self.host,
            &self.repo,
            tag,
            &labels,
            &rfc3339_now(),
        )
        .await?;
        Ok(())
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
        self.publish_checked(engine, local, project, digest, 0, &[])
            .await
    }

    /// [`RepoStorage::publish`], where the re-check under the lock takes
    /// only stages no older than `parent_ts` and not in `passed_over` (the
    /// stages the caller's selection refused, e.g. built on a commit that
    /// left the history).
    pub async fn publish_checked(
        &self,
        engine: &DockerEngine,
        local: &str,
        project: &str,
        digest: &str,
        parent_ts: i64,
        passed_over: &[StageId],
    ) -> Result<Published, StorageError> {
        let _lock = StageLock::acquire(&self.lock_dir, project, digest).await?;
        let fresh = self.stages_fresh(digest, parent_ts).await?;
        if let Some(existing) = fresh.into_iter().find(|id| !passed_over.contains(id)) {
            return Ok(Published::AlreadyThere(existing));
        }
        let id = StageId::now(digest);
        let repo = self.address();
        let tag = id.to_string();
        engine.tag(local, &repo, &tag).await?;
        let credential = self.credentials.lookup(&self.host)?;
        engine.push(&repo, &tag, credential.as_ref()).await?;
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
        self.remember_tag(tag).await;
        Ok(Published::Pushed(id))
    }
}

/// Now as RFC 3339 UTC (`2026-11-22T12:00:00Z`), for image configs.
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(0))
        .unwrap_or(0);
    davit_gotmpl::funcs::date::GoTime::utc(secs, 0).format("2006-01-02T15:04:05Z07:00")
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_now_looks_right() {
        let s = super::rfc3339_now();
        assert_eq!(s.len(), 20, "{s}");
        assert!(
            s.starts_with("20") && s.ends_with('Z') && &s[10..11] == "T",
            "{s}"
        );
    }
}
