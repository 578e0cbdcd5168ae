//! An image's entry in werf's build report, from the stage that holds it.

use crate::report::{build_time, ImageRecord, StageRecord};
use crate::storage::StageDescription;

/// One stage of an image as stored, in pipeline order.
pub(super) struct StoredStage {
    /// werf's stage name: `dockerfile`, `imageSpec`.
    pub name: &'static str,
    pub desc: StageDescription,
    pub rebuilt: bool,
    /// `""` (primary) or `"secondary"`.
    pub source_type: String,
    pub seconds: f64,
}

/// What the report needs to know about one image after its stages are stored.
pub(super) struct StoredImage<'a> {
    pub name: &'a str,
    pub is_final: bool,
    /// Where the stages live (`HOST/PATH`, or the project name locally).
    pub storage_address: String,
    /// `--final-repo` address and manifest digest, for final images.
    pub final_copy: Option<(String, String)>,
    /// At least one; the last is the image.
    pub stages: Vec<StoredStage>,
    pub seconds: f64,
    /// `os/arch[/variant]` the stages were built for.
    pub platform: String,
}

fn commit_of(desc: &StageDescription) -> String {
    desc.labels
        .get("werf-project-repo-commit")
        .cloned()
        .unwrap_or_default()
}

impl StoredImage<'_> {
    /// The image record: stage records stay in the primary storage, while
    /// the image-level fields describe the last stage, in the final repo
    /// when there is one. The image counts as rebuilt when any stage was
    /// stored in this run.
    pub fn record(self) -> ImageRecord {
        let rebuilt = self.stages.iter().any(|s| s.rebuilt);
        let stage_records: Vec<StageRecord> = self
            .stages
            .iter()
            .map(|s| {
                let tag = s.desc.id.to_string();
                StageRecord {
                    name: s.name.into(),
                    docker_image_name: format!("{}:{tag}", self.storage_address),
                    docker_tag: tag,
                    docker_image_id: s.desc.image_id.clone(),
                    docker_image_digest: s.desc.manifest_digest.clone(),
                    created_at: s.desc.id.creation_ts * 1_000_000,
                    size: s.desc.size,
                    source_type: s.source_type.clone(),
                    base_image_pulled: false,
                    rebuilt: s.rebuilt,
                    build_time: build_time(s.seconds),
                    commit: commit_of(&s.desc),
                }
            })
            .collect();
        let last = self
            .stages
            .into_iter()
            .last()
            .map(|s| s.desc)
            .unwrap_or_default();
        let tag = last.id.to_string();
        let commit = commit_of(&last);
        let (repo, digest) = self
            .final_copy
            .unwrap_or((self.storage_address, last.manifest_digest));
        ImageRecord {
            werf_image_name: self.name.to_string(),
            config_type: "dockerfile".into(),
            docker_repo: repo.clone(),
            docker_tag: tag.clone(),
            docker_image_id: last.image_id,
            docker_image_digest: digest,
            docker_image_name: format!("{repo}:{tag}"),
            target_platform: self.platform.clone(),
            rebuilt,
            is_final: self.is_final,
            size: last.size,
            build_time: build_time(self.seconds),
            commit,
            stages: Some(stage_records),
        }
    }
}
