//! What `host cleanup` and `host purge` need from the daemon: the images
//! that carry a label, with their size, age and last tagging; which images
//! containers use; the daemon's storage directory; removal.

use std::collections::BTreeSet;

use bollard::query_parameters::{ListContainersOptions, RemoveImageOptions};

use crate::{DockerEngine, DockerError};

/// A local image.
#[derive(Debug, Clone)]
pub struct LocalImage {
    pub id: String,
    pub tags: Vec<String>,
    pub size: i64,
    /// Unix seconds: creation, or the last time it was tagged if later
    /// (davit tags a stage locally each time a build uses it).
    pub last_used: i64,
}

impl DockerEngine {
    /// Images that carry `label` (any value), oldest use first.
    pub async fn images_labelled(&self, label: &str) -> Result<Vec<LocalImage>, DockerError> {
        let list = self.list_images_where("label", label).await?;
        let mut out = Vec::new();
        for summary in list {
            let last_tag = match self.docker.inspect_image(&summary.id).await {
                Ok(img) => img
                    .metadata
                    .and_then(|m| m.last_tag_time)
                    .map(|t| t.timestamp())
                    .unwrap_or(0),
                Err(_) => 0,
            };
            out.push(LocalImage {
                id: summary.id,
                tags: summary
                    .repo_tags
                    .into_iter()
                    .filter(|t| t != "<none>:<none>")
                    .collect(),
                size: summary.size,
                last_used: summary.created.max(last_tag),
            });
        }
        out.sort_by(|a, b| a.last_used.cmp(&b.last_used).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// IDs of the images that containers (running or not) were made from.
    pub async fn images_in_containers(&self) -> Result<BTreeSet<String>, DockerError> {
        let options = ListContainersOptions {
            all: true,
            ..Default::default()
        };
        let list = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|source| DockerError::Api {
                what: "list containers",
                source,
            })?;
        Ok(list.into_iter().filter_map(|c| c.image_id).collect())
    }

    /// The daemon's storage directory (`DockerRootDir`).
    pub async fn root_dir(&self) -> Result<String, DockerError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|source| DockerError::Api {
                what: "info",
                source,
            })?;
        Ok(info
            .docker_root_dir
            .unwrap_or_else(|| "/var/lib/docker".into()))
    }

    /// Removes an image with all its names; `force` removes one that
    /// stopped containers were made from.
    pub async fn remove_image(&self, id: &str, force: bool) -> Result<(), DockerError> {
        let options = RemoveImageOptions {
            force,
            ..Default::default()
        };
        match self.docker.remove_image(id, Some(options), None).await {
            Ok(_) => Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(()),
            Err(source) => Err(DockerError::Api {
                what: "remove image",
                source,
            }),
        }
    }
}
