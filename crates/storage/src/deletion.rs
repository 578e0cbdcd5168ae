//! Deleting one tag of a repository the way its registry allows, without
//! taking a wanted tag along (spec §4.2):
//! - the distribution API deletes manifests: a digest goes once, and a
//!   tag that shares its digest with a kept tag first gets a manifest of
//!   its own;
//! - GitLab deletes a tag reference (the manifest stays), falling back to
//!   the distribution API where the endpoint is missing;
//! - GCR deletes a tag by name;
//! - GitHub Packages deletes the package version that carries the tag
//!   (and so every tag of its digest): a shared tag is isolated first;
//! - Docker Hub deletes a tag through its REST API.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use davit_registry::RegistryError;
use davit_registry_vendors::dockerhub::DockerHub;
use davit_registry_vendors::ecr::Ecr;
use davit_registry_vendors::github::{GithubPackages, Package};
use davit_registry_vendors::VendorError;
use tokio::sync::{Mutex, OnceCell};

use crate::repo::{RepoStorage, StorageError};

/// How a repository's tags are deleted.
pub enum TagDeletion {
    Distribution,
    Gitlab,
    TagManifest,
    Github(GithubPackages),
    DockerHub(DockerHub),
    /// `BatchDeleteImage` by tag through the AWS API.
    Ecr(Box<Ecr>),
}

impl TagDeletion {
    /// Whether [`Deleter::delete`] needs each tag's digest (and whether
    /// it is shared with a kept tag); tag-level deletions do not.
    pub fn needs_digests(&self) -> bool {
        !matches!(
            self,
            TagDeletion::TagManifest | TagDeletion::DockerHub(_) | TagDeletion::Ecr(_)
        )
    }
}

/// A deletion that failed; `refusal` when no later one would succeed
/// (the credentials lack the right), which stops a cleanup.
#[derive(Debug)]
pub struct DeleteError {
    pub message: String,
    pub refusal: bool,
}

impl From<StorageError> for DeleteError {
    fn from(e: StorageError) -> DeleteError {
        let refusal = match &e {
            StorageError::Registry(r) => registry_refusal(r),
            _ => false,
        };
        DeleteError {
            message: e.to_string(),
            refusal,
        }
    }
}

impl From<RegistryError> for DeleteError {
    fn from(e: RegistryError) -> DeleteError {
        StorageError::from(e).into()
    }
}

impl From<VendorError> for DeleteError {
    fn from(e: VendorError) -> DeleteError {
        DeleteError {
            refusal: e.is_refusal(),
            message: e.to_string(),
        }
    }
}

/// werf's fatal deletion errors: the registry refuses these credentials
/// (401/403, `UNAUTHORIZED`, `DENIED`) or deletion itself (405, `UNSUPPORTED`).
fn registry_refusal(e: &RegistryError) -> bool {
    match e {
        RegistryError::Unauthorized { .. } => true,
        RegistryError::Status {
            status, message, ..
        } => {
            let m = message.to_ascii_uppercase();
            matches!(status, 401 | 403 | 405)
                || m.contains("UNAUTHORIZED")
                || m.contains("UNSUPPORTED")
                || m.contains("DENIED")
        }
        _ => false,
    }
}

/// Deletes tags of one repository; safe to share between parallel tasks.
pub struct Deleter<'a> {
    repo: &'a RepoStorage,
    how: TagDeletion,
    project: String,
    /// Per digest, once deleted: whether the delete found it there. Tags
    /// of one digest wait for the one delete.
    deleted_digests: Mutex<HashMap<String, Arc<OnceCell<bool>>>>,
    deleted_versions: Mutex<BTreeSet<u64>>,
    /// GitLab's tag endpoint answered 404: use the distribution API.
    no_tag_endpoint: AtomicBool,
}

impl<'a> Deleter<'a> {
    pub fn new(repo: &'a RepoStorage, project: &str, how: TagDeletion) -> Deleter<'a> {
        Deleter {
            repo,
            how,
            project: project.to_string(),
            deleted_digests: Mutex::new(HashMap::new()),
            deleted_versions: Mutex::new(BTreeSet::new()),
            no_tag_endpoint: AtomicBool::new(false),
        }
    }

    /// Requests sent to a vendor API (the registry's are counted by the
    /// storage).
    pub fn vendor_requests(&self) -> u64 {
        match &self.how {
            TagDeletion::Github(g) => g.request_count(),
            TagDeletion::DockerHub(d) => d.request_count(),
            TagDeletion::Ecr(e) => e.request_count(),
            _ => 0,
        }
    }

    /// Rate-limited answers of the vendor API that were waited out.
    pub fn rate_limited(&self) -> u64 {
        match &self.how {
            TagDeletion::Github(g) => g.rate_limited_count(),
            TagDeletion::DockerHub(d) => d.rate_limited_count(),
            TagDeletion::Ecr(e) => e.rate_limited_count(),
            _ => 0,
        }
    }

    /// Deletes `tag`, which points at `digest` (`None`: the registry does
    /// not serve it: gone already, or still listed with its manifest gone,
    /// which a delete cut short leaves behind);
    /// `shared_with_kept`: a tag that stays points at the same digest.
    pub async fn delete(
        &self,
        tag: &str,
        digest: Option<&str>,
        shared_with_kept: bool,
    ) -> Result<(), DeleteError> {
        match &self.how {
            TagDeletion::TagManifest => Ok(self
                .repo
                .client()
                .manifest_tag_delete(self.repo.host(), self.repo.path(), tag)
                .await?),
            TagDeletion::DockerHub(hub) => Ok(hub.delete_tag(self.repo.path(), tag).await?),
            TagDeletion::Ecr(ecr) => Ok(ecr.delete_tag(self.repo.path(), tag).await?),
            TagDeletion::Gitlab if self.tag_reference_deleted(tag).await? => Ok(()),
            TagDeletion::Distribution | TagDeletion::Gitlab => match digest {
                Some(digest) => self.by_digest(tag, digest, shared_with_kept).await,
                // Listed without a manifest (a delete cut short): for good.
                None => Ok(self.repo.delete_tag_alone(&self.project, tag).await?),
            },
            // A version carries the tag only while its manifest exists.
            TagDeletion::Github(_) if digest.is_none() => Ok(()),
            TagDeletion::Github(github) => {
                let package =
                    Package::of_path(self.repo.path()).map_err(|message| DeleteError {
                        message,
                        refusal: true,
                    })?;
                if shared_with_kept {
                    // Give the tag a version of its own, then delete that.
                    self.repo.isolate_tag(&self.project, tag).await?;
                    github.forget(&package).await;
                }
                let version = github.version_of(&package, tag).await?;
                if self.deleted_versions.lock().await.insert(version.id) {
                    github.delete_version(&package, version.id).await?;
                }
                Ok(())
            }
        }
    }

    /// GitLab's tag endpoint; `false` (from then on) where the registry
    /// does not have it, so the distribution API deletes instead.
    async fn tag_reference_deleted(&self, tag: &str) -> Result<bool, DeleteError> {
        if self.no_tag_endpoint.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let repo = self.repo;
        if repo
            .client()
            .tag_reference_delete(repo.host(), repo.path(), tag)
            .await?
        {
            return Ok(true);
        }
        self.no_tag_endpoint.store(true, Ordering::Relaxed);
        Ok(false)
    }

    async fn by_digest(
        &self,
        tag: &str,
        digest: &str,
        shared_with_kept: bool,
    ) -> Result<(), DeleteError> {
        if shared_with_kept {
            return Ok(self.repo.delete_tag_alone(&self.project, tag).await?);
        }
        let once = self
            .deleted_digests
            .lock()
            .await
            .entry(digest.to_string())
            .or_default()
            .clone();
        let found = *once
            .get_or_try_init(|| self.repo.delete_digest(digest))
            .await?;
        if !found {
            // Gone before this delete: by another cleanup, or by a delete
            // the registry cut short, which can leave the tag listed.
            self.repo.delete_tag_alone(&self.project, tag).await?;
        }
        Ok(())
    }
}
