//! Reading and deleting a repository's tags for `cleanup`: the whole tag
//! list, a record's labels, digests, and deletion that never takes a tag
//! it was not asked to. The distribution API deletes manifests, not tags:
//! deleting a digest removes every tag that points to it. So a tag whose
//! digest another wanted tag shares is first given a manifest of its own,
//! which is then deleted.

use std::collections::BTreeMap;

use davit_registry::OciManifest;

use crate::repo::{RepoStorage, StorageError};

/// The label of the manifest a tag is given before it is deleted alone.
pub(crate) const DELETING_LABEL: &str = "davit-deleting";

impl RepoStorage {
    /// The HTTP requests this storage's registry client has sent.
    pub fn request_count(&self) -> u64 {
        self.client().request_count()
    }

    /// Every tag of the repository, read now (not from this run's cache).
    pub async fn all_tags(&self) -> Result<Vec<String>, StorageError> {
        Ok(self.client().tags(self.host(), self.path()).await?)
    }

    /// The manifest digests a multi-platform stage (a manifest list tagged
    /// `<digest>`) names, one per platform; `None` when the tag is gone or
    /// is a single-platform image.
    pub async fn index_platform_digests(
        &self,
        tag: &str,
    ) -> Result<Option<Vec<String>>, StorageError> {
        match self.manifest(tag).await? {
            Some(OciManifest::ImageIndex(index)) => Ok(Some(
                index.manifests.iter().map(|m| m.digest.clone()).collect(),
            )),
            _ => Ok(None),
        }
    }

    /// The creation times (Unix ms, from each platform image's config
    /// `created`) of the platforms of a multi-platform stage, in the
    /// index's order; `None` for a platform whose time cannot be read.
    /// `None` overall when the tag is gone or is not a manifest list.
    pub async fn index_platform_created(
        &self,
        tag: &str,
    ) -> Result<Option<Vec<Option<i64>>>, StorageError> {
        let Some(platforms) = self.index_platform_digests(tag).await? else {
            return Ok(None);
        };
        let mut times = Vec::with_capacity(platforms.len());
        for digest in platforms {
            let created = match self.manifest(&digest).await? {
                Some(OciManifest::Image(m)) => self
                    .client()
                    .blob_get(self.host(), self.path(), &m.config.digest)
                    .await?
                    .and_then(|config| created_ms(&config)),
                _ => None,
            };
            times.push(created);
        }
        Ok(Some(times))
    }

    /// The manifest `tag` names, parsed; `None` when it is gone or not one
    /// davit reads.
    async fn manifest(&self, tag: &str) -> Result<Option<OciManifest>, StorageError> {
        let Some((_, body)) = self
            .client()
            .manifest_get(self.host(), self.path(), tag)
            .await?
        else {
            return Ok(None);
        };
        Ok(davit_registry::parse_manifest(&body).ok())
    }

    /// The labels of the image a tag names (a stage or a record); `None`
    /// when the tag is gone or is not a single-platform image.
    pub async fn labels(
        &self,
        tag: &str,
    ) -> Result<Option<BTreeMap<String, String>>, StorageError> {
        // Harbor refuses reads with PROJECTPOLICYVIOLATION while a
        // project policy (such as a pending vulnerability scan) holds the
        // image: waited out as werf does, from 2 s, for 2 minutes at most.
        let mut wait = std::time::Duration::from_secs(2);
        let mut waited = std::time::Duration::ZERO;
        loop {
            match self.labels_once(tag).await {
                Err(StorageError::Registry(e))
                    if is_policy_violation(&e) && waited < POLICY_VIOLATION_MAX_WAIT =>
                {
                    tokio::time::sleep(wait).await;
                    waited += wait;
                    wait = (wait * 2).min(POLICY_VIOLATION_MAX_WAIT - waited);
                }
                other => return other,
            }
        }
    }

    async fn labels_once(
        &self,
        tag: &str,
    ) -> Result<Option<BTreeMap<String, String>>, StorageError> {
        let Some(OciManifest::Image(manifest)) = self.manifest(tag).await? else {
            return Ok(None);
        };
        let Some(config) = self
            .client()
            .blob_get(self.host(), self.path(), &manifest.config.digest)
            .await?
        else {
            return Ok(None);
        };
        let config: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
        Ok(Some(
            config["config"]["Labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
        ))
    }

    /// The manifest digest a tag points to, `None` when it is gone.
    pub async fn tag_digest(&self, tag: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .client()
            .manifest_head(self.host(), self.path(), tag)
            .await?
            .map(|d| d.digest))
    }

    /// Deletes a manifest, and so every tag pointing to it; whether this
    /// call deleted it (`false`: it was missing).
    pub async fn delete_digest(&self, digest: &str) -> Result<bool, StorageError> {
        Ok(self
            .client()
            .manifest_delete(self.host(), self.path(), digest)
            .await?)
    }

    /// Points `tag` at a manifest no other tag has (before deleting it
    /// alone); returns that manifest's digest.
    pub async fn isolate_tag(&self, project: &str, tag: &str) -> Result<String, StorageError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let labels = BTreeMap::from([
            ("werf".to_string(), project.to_string()),
            (DELETING_LABEL.to_string(), format!("{tag}@{nanos}")),
        ]);
        Ok(crate::records::push_manifest_only_image(
            self.client(),
            self.host(),
            self.path(),
            tag,
            &labels,
            "1970-01-01T00:00:00Z",
        )
        .await?)
    }

    /// Deletes `tag` alone: points it at a manifest no other tag has, then
    /// deletes that manifest. The distribution registry can fail such a
    /// delete part-way when other tags of the repository change at the same
    /// time (a 500 after the manifest went, and a retry finds it missing):
    /// the tag then stays listed without a manifest, so it is pointed at a
    /// new one and deleted again.
    pub async fn delete_tag_alone(&self, project: &str, tag: &str) -> Result<(), StorageError> {
        const ATTEMPTS: usize = 3;
        for _ in 0..ATTEMPTS {
            let digest = self.isolate_tag(project, tag).await?;
            if self.delete_digest(&digest).await? {
                return Ok(());
            }
        }
        Err(StorageError::Unexpected {
            reference: format!("{}/{}:{tag}", self.host(), self.path()),
            message: format!(
                "the registry lost the manifest of the tag {ATTEMPTS} times while deleting it; the tag may still be listed"
            ),
        })
    }

    /// The `cleanup` record: when the last cleanup ran (unix ms).
    pub async fn push_cleanup_record(
        &self,
        project: &str,
        now_ms: i64,
    ) -> Result<(), StorageError> {
        let labels = BTreeMap::from([
            ("werf".to_string(), project.to_string()),
            ("lastcleanuptimestamp".to_string(), now_ms.to_string()),
        ]);
        crate::records::push_manifest_only_image(
            self.client(),
            self.host(),
            self.path(),
            "cleanup",
            &labels,
            "1970-01-01T00:00:00Z",
        )
        .await?;
        Ok(())
    }
}

const POLICY_VIOLATION_MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

fn is_policy_violation(e: &davit_registry::RegistryError) -> bool {
    matches!(e, davit_registry::RegistryError::Status { message, .. } if message.contains("PROJECTPOLICYVIOLATION"))
}

/// An image config's `created`, in Unix ms.
fn created_ms(config: &[u8]) -> Option<i64> {
    let config: serde_json::Value = serde_json::from_slice(config).ok()?;
    let created = chrono::DateTime::parse_from_rfc3339(config["created"].as_str()?).ok()?;
    Some(created.timestamp_millis())
}

#[cfg(test)]
mod created_tests {
    use super::created_ms;

    #[test]
    fn created_is_read_in_any_rfc3339_form() {
        assert_eq!(
            created_ms(br#"{"created":"2026-01-01T00:00:00Z"}"#),
            Some(1_767_225_600_000)
        );
        assert_eq!(
            created_ms(br#"{"created":"2026-01-01T03:00:00.5+03:00"}"#),
            Some(1_767_225_600_500)
        );
        assert_eq!(created_ms(br#"{"created":"yesterday"}"#), None);
        assert_eq!(created_ms(br#"{}"#), None);
    }
}
