//! An image's entry in werf's build report, from the stages that hold it:
//! one platform's record, or the aggregate record of a multi-platform
//! image (its manifest list).

use davit_report::{build_time, ImageRecord, StageRecord};
use davit_storage::StageDescription;

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

/// One platform's stages of an image.
pub(super) struct PlatformStages {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// At least one; the last is the image.
    pub stages: Vec<StoredStage>,
    pub seconds: f64,
}

impl PlatformStages {
    pub fn last(&self) -> Option<&StageDescription> {
        self.stages.last().map(|s| &s.desc)
    }

    fn rebuilt(&self) -> bool {
        self.stages.iter().any(|s| s.rebuilt)
    }
}

/// Where an image is reported from.
#[derive(Clone)]
pub(super) struct ImagePlace<'a> {
    pub name: &'a str,
    /// The report's `ConfigType`: `dockerfile` or `stapel`.
    pub config_type: &'static str,
    pub is_final: bool,
    /// Where the stages live (`HOST/PATH`, or the project name locally).
    pub storage_address: String,
    /// `--final-repo` address and manifest digest, for final images.
    pub final_copy: Option<(String, String)>,
}

fn commit_of(desc: &StageDescription) -> String {
    desc.labels
        .get("werf-project-repo-commit")
        .cloned()
        .unwrap_or_default()
}

fn stage_record(storage_address: &str, s: &StoredStage, name: String) -> StageRecord {
    let tag = s.desc.id.to_string();
    StageRecord {
        name,
        docker_image_name: format!("{storage_address}:{tag}"),
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
}

impl ImagePlace<'_> {
    /// One platform's record: stage records stay in the primary storage,
    /// while the image-level fields describe the last stage, in the final
    /// repo when there is one. Rebuilt when any stage was stored now.
    pub fn record(&self, part: &PlatformStages) -> ImageRecord {
        let stages: Vec<StageRecord> = part
            .stages
            .iter()
            .map(|s| stage_record(&self.storage_address, s, s.name.to_string()))
            .collect();
        let last = part.last().cloned().unwrap_or_default();
        let tag = last.id.to_string();
        let (repo, digest) = self
            .final_copy
            .clone()
            .unwrap_or((self.storage_address.clone(), last.manifest_digest.clone()));
        ImageRecord {
            werf_image_name: self.name.to_string(),
            config_type: self.config_type.into(),
            docker_repo: repo.clone(),
            docker_tag: tag.clone(),
            docker_image_id: last.image_id.clone(),
            docker_image_digest: digest,
            docker_image_name: format!("{repo}:{tag}"),
            target_platform: part.platform.clone(),
            rebuilt: part.rebuilt(),
            is_final: self.is_final,
            size: last.size,
            build_time: build_time(part.seconds),
            commit: commit_of(&last),
            stages: Some(stages),
        }
    }

    /// The record of a multi-platform image, as werf writes it: the manifest
    /// list `index_tag` (`<digest>`, digest `index_digest`) with an empty
    /// config type and target platform, every platform's stages named
    /// `"<stage> (<platform>)"`, build times summed.
    pub fn aggregate_record(
        &self,
        index_tag: &str,
        index_digest: &str,
        index_pushed: bool,
        parts: &[PlatformStages],
    ) -> ImageRecord {
        let stages: Vec<StageRecord> = parts
            .iter()
            .flat_map(|p| {
                p.stages.iter().map(|s| {
                    stage_record(
                        &self.storage_address,
                        s,
                        format!("{} ({})", s.name, p.platform),
                    )
                })
            })
            .collect();
        let (repo, digest) = self
            .final_copy
            .clone()
            .unwrap_or((self.storage_address.clone(), index_digest.to_string()));
        ImageRecord {
            werf_image_name: self.name.to_string(),
            config_type: String::new(),
            docker_repo: repo.clone(),
            docker_tag: index_tag.to_string(),
            docker_image_id: digest.clone(),
            docker_image_digest: digest,
            docker_image_name: format!("{repo}:{index_tag}"),
            target_platform: String::new(),
            rebuilt: index_pushed || parts.iter().any(PlatformStages::rebuilt),
            is_final: self.is_final,
            size: 0,
            build_time: build_time(parts.iter().map(|p| p.seconds).sum()),
            commit: String::new(),
            stages: Some(stages),
        }
    }
}
