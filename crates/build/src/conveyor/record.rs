//! An image's entry in werf's build report, from the stage that holds it.

use super::PLATFORM;
use crate::report::{build_time, ImageRecord, StageRecord};
use crate::storage::StageDescription;

/// What the report needs to know about one image after its stage is stored.
pub(super) struct StoredImage<'a> {
    pub name: &'a str,
    pub is_final: bool,
    /// Where the stage lives (`HOST/PATH`, or the project name locally).
    pub storage_address: String,
    /// `--final-repo` address and manifest digest, for final images.
    pub final_copy: Option<(String, String)>,
    pub desc: StageDescription,
    pub rebuilt: bool,
    /// `""` (primary) or `"secondary"`.
    pub source_type: String,
    pub seconds: f64,
}

impl StoredImage<'_> {
    /// The image record; its one stage record stays in the primary storage
    /// while the image-level fields follow the final repo when there is one.
    pub fn record(self) -> ImageRecord {
        let desc = self.desc;
        let tag = desc.id.to_string();
        let commit = desc
            .labels
            .get("werf-project-repo-commit")
            .cloned()
            .unwrap_or_default();
        let stage = StageRecord {
            name: "dockerfile".into(),
            docker_image_name: format!("{}:{tag}", self.storage_address),
            docker_tag: tag.clone(),
            docker_image_id: desc.image_id.clone(),
            docker_image_digest: desc.manifest_digest.clone(),
            created_at: desc.id.creation_ts * 1_000_000,
            size: desc.size,
            source_type: self.source_type,
            base_image_pulled: false,
            rebuilt: self.rebuilt,
            build_time: build_time(self.seconds),
            commit: commit.clone(),
        };
        let (repo, digest) = self
            .final_copy
            .unwrap_or((self.storage_address, desc.manifest_digest));
        ImageRecord {
            werf_image_name: self.name.to_string(),
            config_type: "dockerfile".into(),
            docker_repo: repo.clone(),
            docker_tag: tag.clone(),
            docker_image_id: desc.image_id,
            docker_image_digest: digest,
            docker_image_name: format!("{repo}:{tag}"),
            target_platform: PLATFORM.into(),
            rebuilt: self.rebuilt,
            is_final: self.is_final,
            size: desc.size,
            build_time: build_time(self.seconds),
            commit,
            stages: Some(vec![stage]),
        }
    }
}
