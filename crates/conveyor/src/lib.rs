//! `davit build` for Dockerfile images: for each image, in dependency
//! order, compute the `dockerfile` stage digest from the commit; reuse the
//! stage if the registry has it (nothing pulled, nothing run); otherwise
//! build it from the commit's context and publish it. The result is werf's
//! build report.

pub mod custom_tags;
pub mod image_spec;
mod owner_names;
mod secrets;
mod ssh_agent;

use std::cell::RefCell;
use std::collections::BTreeMap;

use davit_config::parse::{ImageDoc, WerfConfig};
use davit_git::Repo;
use futures_util::StreamExt;

use davit_engine::DockerEngine;
use davit_report::{BuildReport, ImageRecord, Runtime};
use davit_storage::{RepoStorage, StageDescription, StageId, Storage, StorageError};

mod digest;
mod dockerfile_stage;
mod error;
mod image;
mod image_spec_stage;
mod inputs;
mod plan;
mod record;
mod stage_plan;
mod stapel_chain;
mod stapel_image;
mod stapel_imports;
mod stapel_remotes;
mod stapel_shell;

pub use error::BuildError;
pub use plan::{build_order, independent_sets};
pub use stage_plan::{ImagePlan, StagePlan};

/// Runs of a build whose stages storage changed under it (werf's 4).
pub const MAX_ATTEMPTS: u32 = 4;

/// What happened to one image.
#[derive(Debug, Clone)]
pub struct ImageOutcome {
    pub name: String,
    pub record: ImageRecord,
    /// Each platform's own record (the report's `ImagesByPlatform`).
    pub by_platform: BTreeMap<String, ImageRecord>,
    pub seconds: f64,
}

/// How many images may build at once (`--parallel`, `--parallel-tasks-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parallelism {
    Sequential,
    Limit(usize),
    Unlimited,
}

/// Progress events for the CLI to print.
pub enum Event<'a> {
    /// The sets of images that build concurrently, before any build;
    /// `limit` is `None` when unlimited.
    Plan {
        sets: &'a [Vec<&'a ImageDoc>],
        limit: Option<usize>,
    },
    /// Something the user should know that does not stop the build.
    Warning {
        image: &'a str,
        message: &'a str,
    },
    /// An image starts: name, its first stage and that stage's digest.
    Start {
        image: &'a str,
        stage: &'a str,
        digest: &'a str,
    },
    /// A line of builder output.
    Line {
        image: &'a str,
        line: &'a str,
    },
    /// A custom tag was given to a final image (`--add-custom-tag`).
    Tagged {
        image: &'a str,
        reference: &'a str,
    },
    Done(&'a ImageOutcome),
}

pub struct Conveyor<'a> {
    pub repo: &'a Repo,
    /// The project directory inside the repository (`""` at the root);
    /// `context` is relative to it.
    pub project_dir: &'a str,
    pub config: &'a WerfConfig,
    /// What werf-giterminism.yaml allows beyond the commit.
    pub giterminism: &'a davit_config::giterminism::Giterminism,
    pub project: &'a str,
    pub commit: &'a str,
    pub storage: &'a Storage,
    /// `--final-repo`: final images are copied there and reported from there.
    pub final_repo: Option<&'a RepoStorage>,
    /// `--secondary-repo`: read-only; a stage found there is copied into
    /// the primary instead of being built.
    pub secondary_repos: &'a [RepoStorage],
    /// `--cache-repo`: every stage stored in the primary is copied there too.
    pub cache_repos: &'a [RepoStorage],
    pub engine: &'a DockerEngine,
    /// `DOCKER_BUILDKIT`: which of the daemon's builders runs Dockerfiles.
    pub builder: davit_engine::BuilderChoice,
    /// Timings for the report's `Operations` (`--log-debug`).
    pub op_stats: &'a davit_report::opstats::OpStats,
    /// `--platform` (or `DOCKER_DEFAULT_PLATFORM`): for every image, over
    /// its own `platform` and `build.platform`.
    pub forced_platforms: &'a [String],
    /// `--add-custom-tag` templates (need a registry `--repo`).
    pub custom_tags: &'a crate::custom_tags::CustomTags,
    /// Giterministic (the commit), `--dev` (`repo` is the work-tree
    /// snapshot) or `--loose-giterminism` (Dockerfiles and .dockerignore
    /// from disk, no uncommitted-file checks; the context from the commit).
    pub mode: davit_config::project::Mode,
    /// `--require-built-images`: a stage missing from the storage is an
    /// error instead of a build.
    pub require_built: bool,
    /// davit's local caches on this host; stapel `build_dir` mounts live
    /// in `build_dir/<project>/` below it.
    pub local_cache: &'a std::path::Path,
    /// The remote git repositories fetched in this run (once each).
    pub fetched_remotes: davit_git_remote::Fetched,
}

impl Conveyor<'_> {
    /// Builds `selected` images (all when empty) and their dependencies.
    /// Finished images are in the returned report even when a later one
    /// fails; the error comes second.
    ///
    /// When the stages storage changes under the build (a stage in use is
    /// deleted or breaks), the stage is rejected and the whole build runs
    /// again with a fresh tag list, as werf does: at most
    /// [`MAX_ATTEMPTS`] runs, waiting 2 s, 4 s, 8 s between them.
    pub async fn run(
        &self,
        selected: &[String],
        parallel: Parallelism,
        on_event: impl FnMut(Event<'_>),
    ) -> (BuildReport, Option<BuildError>) {
        let on_event = RefCell::new(on_event);
        let mut attempt = 1;
        loop {
            let (report, error) = self.run_once(selected, parallel, &on_event).await;
            match error {
                Some(e) if e.is_retryable() && attempt < MAX_ATTEMPTS => {
                    let wait = std::time::Duration::from_secs((1u64 << attempt).min(10));
                    let message = format!(
                        "{e}; building again with a fresh look at the storage in {}s (attempt {} of {MAX_ATTEMPTS})",
                        wait.as_secs(),
                        attempt + 1
                    );
                    (on_event.borrow_mut())(Event::Warning {
                        image: "",
                        message: &message,
                    });
                    self.forget_listings().await;
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                error => return (report, error),
            }
        }
    }

    /// Drops every cached tag list, so the next attempt sees the storage
    /// as it is now.
    async fn forget_listings(&self) {
        self.storage.forget_tags().await;
        for repo in self.secondary_repos.iter().chain(self.cache_repos) {
            repo.forget_tags().await;
        }
    }

    async fn run_once(
        &self,
        selected: &[String],
        parallel: Parallelism,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> (BuildReport, Option<BuildError>) {
        let mut report = BuildReport {
            runtime: Runtime {
                backend: "docker".into(),
                in_container: std::env::var("WERF_CONTAINERIZED").is_ok_and(|v| v == "yes"),
            },
            ..BuildReport::default()
        };
        let sets = match independent_sets(self.config, selected) {
            Ok(s) => s,
            Err(e) => return (report, Some(e)),
        };
        // Custom tags are checked before anything is built.
        let final_names: Vec<&str> = sets
            .iter()
            .flatten()
            .filter(|img| img.is_final)
            .map(|img| img.name.as_str())
            .collect();
        if let Err(message) = self.custom_tags.validate(&final_names) {
            return (report, Some(BuildError::CustomTag(message)));
        }
        let total: usize = sets.iter().map(Vec::len).sum();
        // Sequential unless asked for and useful.
        let limit = match parallel {
            Parallelism::Sequential => 1,
            Parallelism::Limit(n) => n.max(1),
            Parallelism::Unlimited => total.max(1),
        };

        if limit > 1 && total > 1 {
            (on_event.borrow_mut())(Event::Plan {
                sets: &sets,
                limit: matches!(parallel, Parallelism::Limit(_)).then_some(limit),
            });
        }
        // Each platform's record of every finished image, for dependents.
        let mut platform_records: BTreeMap<String, BTreeMap<String, ImageRecord>> = BTreeMap::new();
        for set in &sets {
            let done = &inputs::Done {
                images: &report.images,
                by_platform: &platform_records,
            };
            let mut running =
                futures_util::stream::iter(set.iter().map(|img| self.image(img, done, on_event)))
                    .buffer_unordered(limit);
            let mut finished = Vec::new();
            let mut failure = None;
            while let Some(result) = running.next().await {
                match result {
                    Ok(outcome) => {
                        (on_event.borrow_mut())(Event::Done(&outcome));
                        finished.push(outcome);
                    }
                    Err(e) => {
                        // Dropping the stream cancels the other images of the set.
                        failure = Some(e);
                        break;
                    }
                }
            }
            drop(running);
            // werf fills `ImagesByPlatform` only when asked to.
            let by_platform = std::env::var("WERF_ENABLE_REPORT_BY_PLATFORM")
                .is_ok_and(|v| v == "1" || v == "true");
            for outcome in finished {
                if by_platform {
                    report
                        .images_by_platform
                        .insert(outcome.name.clone(), outcome.by_platform.clone());
                }
                platform_records.insert(outcome.name.clone(), outcome.by_platform);
                report.images.insert(outcome.name, outcome.record);
            }
            if let Some(e) = failure {
                return (report, Some(e));
            }
        }
        // Once anything was stored, every image of the run is recorded as
        // the project's, so that cleanup knows it (werf's managed images).
        let any_stored = report.images.values().any(|r| r.rebuilt);
        if any_stored && !self.config.meta.cleanup.disable {
            for name in report.images.keys() {
                if let Err(source) = self.storage.add_managed_image(self.project, name).await {
                    return (
                        report.clone(),
                        Some(BuildError::Storage {
                            image: name.clone(),
                            source: Box::new(source),
                        }),
                    );
                }
            }
        }
        if let Err(e) = self.record_image_metadata(&report, on_event).await {
            return (report, Some(e));
        }
        if let Err(e) = self.verify_reused_stages(&report).await {
            return (report, Some(e));
        }
        if let Err(e) = self.add_custom_tags(&report, selected, on_event).await {
            return (report, Some(e));
        }
        (report, None)
    }

    /// `--add-custom-tag`: each final image of the processed list (all
    /// final images when none were named) gets the rendered tags where its
    /// report entry points (the final repo, else the primary), and werf's
    /// `custom-tag-meta-*` record goes to the primary.
    async fn add_custom_tags(
        &self,
        report: &BuildReport,
        selected: &[String],
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<(), BuildError> {
        if self.custom_tags.is_empty() {
            return Ok(());
        }
        let Some(primary) = self.storage.as_repo() else {
            return Err(BuildError::CustomTag(
                "--add-custom-tag needs a registry --repo".into(),
            ));
        };
        let target = self.final_repo.unwrap_or(primary);
        for (name, record) in &report.images {
            if !record.is_final || !(selected.is_empty() || selected.contains(name)) {
                continue;
            }
            let storage_err = |source| BuildError::Storage {
                image: name.clone(),
                source: Box::new(source),
            };
            let Some(id) = StageId::from_tag(&record.docker_tag) else {
                continue;
            };
            let tags = self
                .custom_tags
                .tags_for(name, &record.docker_tag)
                .map_err(BuildError::CustomTag)?;
            // The records first: cleanup then always knows a custom tag
            // that exists, even if writing the tag fails.
            for tag in &tags {
                primary
                    .push_custom_tag_record(self.project, tag, &record.docker_tag)
                    .await
                    .map_err(storage_err)?;
            }
            target.tag_stage(&id, &tags).await.map_err(storage_err)?;
            for tag in tags {
                let reference = format!("{}:{tag}", target.address());
                (on_event.borrow_mut())(Event::Tagged {
                    image: name,
                    reference: &reference,
                });
            }
        }
        Ok(())
    }

    /// A stage this run reused could be deleted by a cleanup that planned
    /// before the build wrote its `meta-*` records (a cleanup that lists
    /// them spares the stage). Checked after they are written: a stage gone
    /// by then makes the whole build run again, so the report never names a
    /// deleted stage.
    async fn verify_reused_stages(&self, report: &BuildReport) -> Result<(), BuildError> {
        let Some(repo) = self.storage.as_repo() else {
            return Ok(());
        };
        let reused = report.images.iter().filter(|(_, r)| !r.rebuilt);
        let checks: Vec<_> = futures_util::stream::iter(reused.map(|(name, r)| async move {
            (name, &r.docker_tag, repo.tag_digest(&r.docker_tag).await)
        }))
        .buffer_unordered(10)
        .collect()
        .await;
        for (name, tag, found) in checks {
            match found {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(BuildError::StorageChanged {
                        image: name.clone(),
                        stage: tag.clone(),
                        message: "the stage was deleted (by a cleanup?) after the build chose it"
                            .into(),
                    })
                }
                Err(source) => {
                    return Err(BuildError::Storage {
                        image: name.clone(),
                        source: Box::new(source),
                    })
                }
            }
        }
        Ok(())
    }

    /// werf's `meta-*` records: which commit produced which stage of each
    /// image, read later by cleanup's git-history policy. Skipped when the
    /// config turns that policy (or cleanup) off. A registry that forbids
    /// the push (HTTP 403) only gets a warning, as in werf.
    async fn record_image_metadata(
        &self,
        report: &BuildReport,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<(), BuildError> {
        let cleanup = &self.config.meta.cleanup;
        // A dev build belongs to no commit.
        if cleanup.disable
            || cleanup.disable_git_history_based_policy
            || self.mode == davit_config::project::Mode::Dev
        {
            return Ok(());
        }
        for (name, record) in &report.images {
            let written = self
                .storage
                .add_image_metadata(self.project, name, self.commit, &record.docker_tag)
                .await;
            match written {
                Ok(_) => {}
                Err(StorageError::Registry(davit_registry::RegistryError::Status {
                    status: 403,
                    message,
                    ..
                })) => {
                    let warning = format!(
                        "the registry refused the image metadata record (HTTP 403: {message}); \
                         cleanup's git-history policy will not know this commit"
                    );
                    (on_event.borrow_mut())(Event::Warning {
                        image: name,
                        message: &warning,
                    });
                }
                Err(source) => {
                    return Err(BuildError::Storage {
                        image: name.clone(),
                        source: Box::new(source),
                    })
                }
            }
        }
        Ok(())
    }

    /// The oldest readable stage with `digest` in the primary storage,
    /// created no earlier than `parent_ts` (the previous stage's time). One
    /// that is listed but cannot be read (a missing manifest or config) gets
    /// werf's `-rejected` record, so it is never selected again, with a
    /// warning for `image`, and the next one is tried.
    async fn oldest_readable_stage(
        &self,
        image: &str,
        digest: &str,
        parent_ts: i64,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<Option<StageDescription>, BuildError> {
        let storage_err = |source| BuildError::Storage {
            image: image.to_string(),
            source: Box::new(source),
        };
        let stages = self
            .storage
            .stages(self.engine, digest, parent_ts)
            .await
            .map_err(storage_err)?;
        for id in stages {
            match self
                .storage
                .describe(self.engine, &id)
                .await
                .map_err(storage_err)?
            {
                Some(desc) => return Ok(Some(desc)),
                None => {
                    let message = format!(
                        "stage {id} cannot be read from {}; marking it rejected",
                        self.storage.address()
                    );
                    (on_event.borrow_mut())(Event::Warning {
                        image,
                        message: &message,
                    });
                    self.storage
                        .reject(self.engine, self.project, &id)
                        .await
                        .map_err(storage_err)?;
                }
            }
        }
        Ok(None)
    }

    /// The error for a storage failure on the stage `id` while it is in
    /// use. When the storage lost the stage's content, the stage gets its
    /// `-rejected` record (so the next attempt does not select it) and the
    /// error asks for a retry.
    async fn stage_in_use_error(
        &self,
        image: &str,
        id: &StageId,
        source: StorageError,
    ) -> BuildError {
        if !source.is_missing_content() {
            return BuildError::Storage {
                image: image.to_string(),
                source: Box::new(source),
            };
        }
        if let Err(reject) = self.storage.reject(self.engine, self.project, id).await {
            return BuildError::Storage {
                image: image.to_string(),
                source: Box::new(reject),
            };
        }
        BuildError::StorageChanged {
            image: image.to_string(),
            stage: id.to_string(),
            message: source.to_string(),
        }
    }

    /// The oldest stage with `digest` in a secondary repository, copied
    /// into the primary (under the host lock, re-checking the primary).
    async fn copy_from_secondary(
        &self,
        digest: &str,
        parent_ts: i64,
    ) -> Result<Option<(StageId, bool)>, StorageError> {
        let Some(primary) = self.storage.as_repo() else {
            return Ok(None);
        };
        for secondary in self.secondary_repos {
            let Some(id) = secondary
                .stages(digest, parent_ts)
                .await?
                .into_iter()
                .next()
            else {
                continue;
            };
            let _lock =
                davit_storage::lock::StageLock::acquire(primary.lock_dir(), self.project, digest)
                    .await?;
            let fresh = primary.stages_fresh(digest, parent_ts).await?;
            if let Some(existing) = fresh.into_iter().next() {
                return Ok(Some((existing, false)));
            }
            primary.copy_stage_from(secondary, &id).await?;
            return Ok(Some((id, true)));
        }
        Ok(None)
    }

    async fn copy_to_cache_repos(&self, id: &StageId) -> Result<(), StorageError> {
        let Some(primary) = self.storage.as_repo() else {
            return Ok(());
        };
        for cache in self.cache_repos {
            cache.copy_stage_from(primary, id).await?;
        }
        Ok(())
    }

    async fn describe(&self, name: &str, id: &StageId) -> Result<StageDescription, BuildError> {
        self.storage
            .describe(self.engine, id)
            .await
            .map_err(|source| BuildError::Storage {
                image: name.to_string(),
                source: Box::new(source),
            })?
            .ok_or_else(|| BuildError::BrokenStage {
                image: name.to_string(),
                stage: id.to_string(),
            })
    }
}
