//! `davit build` as an operation: the conveyor over an opened project and
//! its stores, then the build report (with werf's debug statistics), written
//! also when an image failed.

use std::path::PathBuf;

use davit_conveyor::custom_tags::CustomTags;
use davit_conveyor::Conveyor;
use davit_engine::{BuilderChoice, DockerEngine};
use davit_report::opstats::OpStats;
use davit_report::{BuildReport, Format};

pub use davit_conveyor::{Event, ImageOutcome, Parallelism};

use crate::{OpsError, Project, Stores};

/// What to build and how, from werf's flags.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Images to build with their dependencies (all when empty).
    pub images: Vec<String>,
    pub parallelism: Parallelism,
    /// Normalised target platforms for every image (see [`target_platforms`]).
    pub platforms: Vec<String>,
    /// `--add-custom-tag` templates and `WERF_ADD_CUSTOM_TAG_*` values (see
    /// [`custom_tag_templates`]).
    pub custom_tags: Vec<String>,
    /// Where to write the report (`--save-build-report`), resolved early so
    /// a bad path fails before any work.
    pub report: Option<(PathBuf, Format)>,
    /// `--log-debug`: the report gets werf's `Operations` timings and
    /// `StageCache` counts.
    pub debug_stats: bool,
    /// `DOCKER_BUILDKIT` as the Docker CLI reads it.
    pub docker_buildkit: Option<String>,
    /// `--require-built-images`: fail on a stage that would be built.
    pub require_built: bool,
    /// `--ssh-key` and `WERF_SSH_KEY_*` (see [`crate::ssh_agent::ssh_keys`]):
    /// when any, the build forwards an agent holding just these keys.
    pub ssh_keys: Vec<PathBuf>,
}

/// A finished build: the report of every image that finished, where it was
/// written, and what stopped the rest.
pub struct BuildResult {
    pub report: BuildReport,
    pub report_path: Option<PathBuf>,
    pub failure: Option<OpsError>,
}

/// `--platform`, else `DOCKER_DEFAULT_PLATFORM`: the platforms every image
/// is built for (werf's priority), normalised and checked before any work.
pub fn target_platforms(flags: &[String]) -> Result<Vec<String>, OpsError> {
    let requested: Vec<String> = if flags.is_empty() {
        std::env::var("DOCKER_DEFAULT_PLATFORM")
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    } else {
        flags.to_vec()
    };
    requested
        .iter()
        .map(|p| {
            davit_digest::platform::normalize(p)
                .map_err(|e| OpsError::Usage(format!("--platform: {e}")))
        })
        .collect()
}

/// `--add-custom-tag` values, then the `WERF_ADD_CUSTOM_TAG_*` variables
/// in name order, as werf collects them.
pub fn custom_tag_templates(flags: &[String]) -> Vec<String> {
    let mut from_env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, v)| k.starts_with("WERF_ADD_CUSTOM_TAG_") && !v.is_empty())
        .collect();
    from_env.sort();
    flags
        .iter()
        .cloned()
        .chain(from_env.into_iter().map(|(_, v)| v))
        .collect()
}

/// Builds the selected images of `project` into `stores`, reporting
/// progress through `on_event`. An error before any build is `Err`; a build
/// that stopped part-way still writes its report and returns the cause in
/// [`BuildResult::failure`].
pub fn build(
    project: &Project,
    stores: &Stores,
    options: &BuildOptions,
    on_event: impl FnMut(Event<'_>),
) -> Result<BuildResult, OpsError> {
    let builder = BuilderChoice::from_env_value(options.docker_buildkit.as_deref())
        .map_err(OpsError::Usage)?;
    let op_stats = OpStats::default();
    let custom_tags = CustomTags::new(options.custom_tags.clone());
    if !custom_tags.is_empty() && stores.primary.is_local() {
        return Err(OpsError::Usage(
            "--add-custom-tag needs --repo: custom tags are registry tags".into(),
        ));
    }
    // An agent of the build's own keys replaces SSH_AUTH_SOCK for every
    // stage that forwards one; set before any thread of the build starts.
    let agent = crate::ssh_agent::SshAgent::start(&options.ssh_keys)?;
    if let Some(agent) = &agent {
        std::env::set_var("SSH_AUTH_SOCK", agent.socket());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(OpsError::Runtime)?;
    let (mut report, failure) = runtime.block_on(async {
        // Stapel stages are composed in the registry; only a shell stage
        // that must run needs the daemon, and connects when it does. So
        // stapel images stored in a registry need no daemon up front.
        let daemonless = !stores.primary.is_local()
            && project
                .loaded
                .config
                .images
                .iter()
                .all(|i| i.stapel.is_some());
        let engine = if daemonless {
            DockerEngine::unchecked()
        } else {
            DockerEngine::connect().await
        };
        let engine = match engine {
            Ok(e) => e,
            Err(e) => return (BuildReport::default(), Some(OpsError::from(e))),
        };
        let conveyor = Conveyor {
            repo: &project.repo,
            project_dir: &project.dir_in_repo,
            config: &project.loaded.config,
            giterminism: &project.loaded.giterminism,
            project: &project.name,
            commit: &project.loaded.commit_hash,
            storage: &stores.primary,
            final_repo: stores.final_repo.as_ref(),
            secondary_repos: &stores.secondary_repos,
            cache_repos: &stores.cache_repos,
            engine: &engine,
            builder,
            op_stats: &op_stats,
            custom_tags: &custom_tags,
            mode: project.options.mode,
            forced_platforms: &options.platforms,
            require_built: options.require_built,
            local_cache: &stores.local_cache,
            fetched_remotes: Default::default(),
        };
        let (report, err) = conveyor
            .run(&options.images, options.parallelism, on_event)
            .await;
        (report, err.map(OpsError::from))
    });
    if options.debug_stats {
        add_debug_stats(&mut report, &op_stats, stores.primary.is_local());
    }
    // The report covers every image that finished, also when one failed
    // (werf writes none on failure). A build that finished no image writes
    // no report, as werf: a later job must not mistake an empty one for a
    // result.
    let nothing_finished = failure.is_some() && report.images.is_empty();
    let report_path = match &options.report {
        Some(_) if nothing_finished => None,
        Some((path, format)) => {
            report.write(path, *format)?;
            Some(path.clone())
        }
        None => None,
    };
    Ok(BuildResult {
        report,
        report_path,
        failure,
    })
}

/// werf adds operation timings and where each stage came from to the
/// report with --log-debug.
fn add_debug_stats(report: &mut BuildReport, op_stats: &OpStats, local_storage: bool) {
    report.operations = op_stats.summary();
    for record in report.images.values() {
        for stage in record.stages.iter().flatten() {
            let event = match (stage.rebuilt, stage.source_type.as_str()) {
                (true, "secondary") => "copied from secondary storage",
                (true, _) => "built",
                (false, _) if local_storage => "found in local stages storage",
                (false, _) => "found in repo stages storage",
            };
            *report.stage_cache.entry(event.to_string()).or_insert(0) += 1;
        }
    }
}
