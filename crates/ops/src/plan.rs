//! `davit build --plan`: the stages every selected image would have, with
//! their digests and whether the stages storage already has each one.
//! Nothing is built, pulled or written. With a registry `--repo` the
//! Docker daemon is not needed at all.

use davit_conveyor::custom_tags::CustomTags;
use davit_conveyor::Conveyor;
use davit_engine::{BuilderChoice, DockerEngine};
use davit_report::opstats::OpStats;
use serde_json::{json, Value};

pub use davit_conveyor::{ImagePlan, StagePlan};

use crate::{OpsError, Project, Stores};

/// Plans `images` (all when empty) with their dependencies, for
/// `platforms` (each image's own when empty).
pub fn plan(
    project: &Project,
    stores: &Stores,
    images: &[String],
    platforms: &[String],
) -> Result<Vec<ImagePlan>, OpsError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(OpsError::Runtime)?;
    runtime.block_on(async {
        // Local storage is the daemon's image list; a registry needs no daemon.
        let engine = if stores.primary.is_local() {
            DockerEngine::connect().await?
        } else {
            DockerEngine::unchecked()?
        };
        let op_stats = OpStats::default();
        let custom_tags = CustomTags::new(Vec::new());
        let conveyor = Conveyor {
            repo: &project.repo,
            project_dir: &project.dir_in_repo,
            config: &project.loaded.config,
            giterminism: &project.loaded.giterminism,
            project: &project.name,
            commit: &project.loaded.commit_hash,
            storage: &stores.primary,
            final_repo: None,
            secondary_repos: &[],
            cache_repos: &[],
            engine: &engine,
            builder: BuilderChoice::from_env_value(None).map_err(OpsError::Usage)?,
            op_stats: &op_stats,
            custom_tags: &custom_tags,
            mode: project.options.mode,
            forced_platforms: platforms,
            require_built: false,
            local_cache: &stores.local_cache,
            fetched_remotes: Default::default(),
        };
        Ok(conveyor.plan(images).await?)
    })
}

/// The plan as JSON: `{"storage": …, "images": [{image, kind, platform,
/// upToDate, problem, warnings, stages: [{name, digest, stored, note}]}]}`.
pub fn plan_json(storage: &str, plans: &[ImagePlan]) -> Value {
    let images: Vec<Value> = plans
        .iter()
        .map(|p| {
            json!({
                "image": p.image,
                "kind": p.kind,
                "platform": p.platform,
                "upToDate": p.up_to_date(),
                "problem": p.problem,
                "warnings": p.warnings,
                "stages": p.stages.iter().map(|s| json!({
                    "name": s.name,
                    "digest": s.digest,
                    "stored": s.stored,
                    "note": s.note,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "storage": storage, "images": images })
}
