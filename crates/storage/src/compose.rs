//! Stages composed inside the registry: a base (nothing, an external
//! image, or a stored stage) plus layers written by davit and a rewritten
//! image config, published as `<digest>-<millis>` without a daemon. This
//! is how stapel's `from`, git and `docker` stages are stored: nothing is
//! pulled and no container runs; base layers are mounted (same registry)
//! or copied blob by blob, and only once, by the `from` stage.

use davit_registry::{media, OciDescriptor, OciImageManifest, OciManifest};
use serde_json::{json, Value};

use crate::lock::StageLock;
use crate::repo::{Published, RepoStorage, StorageError};
use crate::stage_id::StageId;

/// What a composed stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageBase {
    /// An empty root file system (`from: scratch`) for a platform.
    Scratch { platform: String },
    /// A registry image, `HOST/PATH:TAG` or `HOST/PATH@DIGEST` (Docker
    /// Hub names are expanded), for a platform.
    External { reference: String, platform: String },
    /// A stage stored in this repository.
    Stage(StageId),
}

/// A layer written by davit: the gzip blob and its uncompressed digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLayer {
    pub blob: Vec<u8>,
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// What the layer is, for the image history.
    pub created_by: String,
}

/// The tar inside a gzip blob (a layer davit wrote).
pub fn gunzip(blob: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(blob)
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    Ok(raw)
}

/// An image reference must not carry a URL scheme (`http://host/x`).
pub fn check_reference(reference: &str) -> Result<(), StorageError> {
    if reference.contains("://") {
        return Err(StorageError::Unexpected {
            reference: reference.to_string(),
            message: "not an image reference: write HOST/PATH:TAG, without a URL scheme".into(),
        });
    }
    Ok(())
}

/// `HOST`, `PATH` and `TAG|@DIGEST` of an image reference, as Docker reads
/// it: no registry host means Docker Hub (`library/` for one-part names).
pub fn split_reference(reference: &str) -> (String, String, String) {
    let (name, tag) = match reference.rsplit_once('@') {
        Some((n, d)) => (n, d.to_string()),
        None => match reference.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t.to_string()),
            _ => (reference, "latest".to_string()),
        },
    };
    let (host, path) = match name.split_once('/') {
        Some((h, p)) if h.contains('.') || h.contains(':') || h == "localhost" => {
            (h.to_string(), p.to_string())
        }
        _ => {
            let path = if name.contains('/') {
                name.to_string()
            } else {
                format!("library/{name}")
            };
            ("registry-1.docker.io".to_string(), path)
        }
    };
    (host, path, tag)
}

/// The config of an empty image for `platform`.
pub(crate) fn platform_config(platform: &str) -> Value {
    let (os, architecture, variant) = davit_digest::platform::parts(platform);
    let mut config = json!({
        "architecture": architecture,
        "os": os,
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    });
    if let Some(v) = variant {
        config["variant"] = v.into();
    }
    config
}

impl RepoStorage {
    /// Publishes the stage `digest` as `base` plus `layers`, its config
    /// passed through `rewrite`. Under the host lock a stage that appeared
    /// meanwhile (no older than `parent_ts`, not one of `passed_over`, the
    /// stages the caller's selection refused) wins. Blobs go first and the
    /// tag last, so a failure leaves no tag naming missing content.
    #[allow(clippy::too_many_arguments)]
    pub async fn publish_composed(
        &self,
        project: &str,
        base: &StageBase,
        digest: &str,
        parent_ts: i64,
        passed_over: &[StageId],
        layers: Vec<NewLayer>,
        rewrite: impl FnOnce(&mut Value),
    ) -> Result<Published, StorageError> {
        let _lock = StageLock::acquire(self.lock_dir(), project, digest).await?;
        let fresh = self.stages_fresh(digest, parent_ts).await?;
        if let Some(existing) = fresh.into_iter().find(|id| !passed_over.contains(id)) {
            return Ok(Published::AlreadyThere(existing));
        }
        let (mut manifest, mut config, media_type) = self.base_image(base).await?;
        let unexpected = |message: String| StorageError::Unexpected {
            reference: format!("{}:{digest}", self.address()),
            message,
        };
        for layer in layers {
            let size = i64::try_from(layer.blob.len()).unwrap_or(i64::MAX);
            let blob_digest = self
                .client()
                .blob_put(self.host(), self.path(), layer.blob)
                .await?;
            manifest.layers.push(OciDescriptor {
                media_type: if media_type == media::OCI_MANIFEST {
                    "application/vnd.oci.image.layer.v1.tar+gzip".into()
                } else {
                    media::DOCKER_LAYER_GZIP.into()
                },
                digest: blob_digest,
                size,
                ..OciDescriptor::default()
            });
            match config["rootfs"]["diff_ids"].as_array_mut() {
                Some(ids) => ids.push(layer.diff_id.into()),
                None => config["rootfs"] = json!({"type": "layers", "diff_ids": [layer.diff_id]}),
            }
            let entry = json!({"created_by": layer.created_by, "comment": "davit"});
            match config["history"].as_array_mut() {
                Some(h) => h.push(entry),
                None => config["history"] = json!([entry]),
            }
        }
        rewrite(&mut config);
        let config = serde_json::to_vec(&config).map_err(|e| unexpected(e.to_string()))?;
        manifest.config.size = i64::try_from(config.len()).unwrap_or(i64::MAX);
        manifest.config.digest = self
            .client()
            .blob_put(self.host(), self.path(), config)
            .await?;
        let body = serde_json::to_vec(&manifest).map_err(|e| unexpected(e.to_string()))?;
        let id = StageId::now(digest);
        self.client()
            .manifest_put(self.host(), self.path(), &id.to_string(), &media_type, body)
            .await?;
        self.remember_tag(id.to_string()).await;
        Ok(Published::Pushed(id))
    }

    /// The manifest, config and manifest media type a composed stage
    /// starts from, with the base's blobs present in this repository.
    async fn base_image(
        &self,
        base: &StageBase,
    ) -> Result<(OciImageManifest, Value, String), StorageError> {
        match base {
            StageBase::Scratch { platform } => {
                let manifest = OciImageManifest {
                    media_type: Some(media::DOCKER_MANIFEST.into()),
                    config: OciDescriptor {
                        media_type: media::DOCKER_CONFIG.into(),
                        ..OciDescriptor::default()
                    },
                    ..OciImageManifest::default()
                };
                Ok((
                    manifest,
                    platform_config(platform),
                    media::DOCKER_MANIFEST.into(),
                ))
            }
            StageBase::Stage(id) => {
                let (manifest, config, media_type) = self
                    .read_image(self.host(), self.path(), &id.to_string(), None)
                    .await?;
                Ok((manifest, config, media_type))
            }
            StageBase::External {
                reference,
                platform,
            } => {
                check_reference(reference)?;
                let (host, path, tag) = split_reference(reference);
                let (manifest, config, media_type) =
                    self.read_image(&host, &path, &tag, Some(platform)).await?;
                self.client()
                    .copy_blobs(
                        (&host, &path),
                        (self.host(), self.path()),
                        &manifest,
                        &format!("copying the layers of {reference}"),
                    )
                    .await?;
                Ok((manifest, config, media_type))
            }
        }
    }

    /// The image ID (config digest) of a registry image for `platform`
    /// now: what `fromLatest: true` puts into the `from` digest.
    pub async fn external_image_id(
        &self,
        reference: &str,
        platform: &str,
    ) -> Result<String, StorageError> {
        check_reference(reference)?;
        let (host, path, tag) = split_reference(reference);
        let (manifest, _, _) = self.read_image(&host, &path, &tag, Some(platform)).await?;
        Ok(manifest.config.digest)
    }

    /// A registry image's manifest for `platform`.
    pub(crate) async fn external_manifest(
        &self,
        host: &str,
        path: &str,
        reference: &str,
        platform: &str,
    ) -> Result<OciImageManifest, StorageError> {
        let (manifest, _, _) = self
            .read_image(host, path, reference, Some(platform))
            .await?;
        Ok(manifest)
    }

    /// An image's manifest (the `platform` entry of an index) and config.
    async fn read_image(
        &self,
        host: &str,
        path: &str,
        reference: &str,
        platform: Option<&str>,
    ) -> Result<(OciImageManifest, Value, String), StorageError> {
        let unexpected = |message: String| StorageError::Unexpected {
            reference: format!("{host}/{path}:{reference}"),
            message,
        };
        let (mut desc, mut body) = self
            .client()
            .manifest_get(host, path, reference)
            .await?
            .ok_or_else(|| unexpected("the image does not exist".into()))?;
        if let Ok(OciManifest::ImageIndex(index)) = davit_registry::parse_manifest(&body) {
            let wanted = platform.unwrap_or(davit_digest::platform::DEFAULT);
            let (os, arch, variant) = davit_digest::platform::parts(wanted);
            let entry = index
                .manifests
                .iter()
                .find(|m| {
                    m.platform.as_ref().is_some_and(|p| {
                        p.os.to_string() == os
                            && p.architecture.to_string() == arch
                            && (variant.is_none() || p.variant.as_deref() == variant)
                    })
                })
                .ok_or_else(|| unexpected(format!("the image has no {wanted} variant")))?;
            (desc, body) = self
                .client()
                .manifest_get(host, path, &entry.digest)
                .await?
                .ok_or_else(|| unexpected(format!("its {wanted} manifest is missing")))?;
        }
        let Ok(OciManifest::Image(manifest)) = davit_registry::parse_manifest(&body) else {
            return Err(unexpected("not an image manifest".into()));
        };
        let config = self
            .client()
            .blob_get(host, path, &manifest.config.digest)
            .await?
            .ok_or_else(|| unexpected("its image config is missing".into()))?;
        let config: Value =
            serde_json::from_slice(&config).map_err(|e| unexpected(e.to_string()))?;
        Ok((manifest, config, desc.media_type))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_read_as_docker_reads_them() {
        let s = |r: &str| split_reference(r);
        assert_eq!(
            s("alpine:3.18"),
            (
                "registry-1.docker.io".into(),
                "library/alpine".into(),
                "3.18".into()
            )
        );
        assert_eq!(
            s("127.0.0.1:5000/davit/busybox"),
            (
                "127.0.0.1:5000".into(),
                "davit/busybox".into(),
                "latest".into()
            )
        );
        assert_eq!(
            s("ghcr.io/o/i@sha256:abc"),
            ("ghcr.io".into(), "o/i".into(), "sha256:abc".into())
        );
        assert_eq!(
            s("werf/werf:2"),
            (
                "registry-1.docker.io".into(),
                "werf/werf".into(),
                "2".into()
            )
        );
    }
}
