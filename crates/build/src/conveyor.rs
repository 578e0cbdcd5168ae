//! `davit build` for Dockerfile images: for each image, in dependency
//! order, compute the `dockerfile` stage digest from the commit; reuse the
//! stage if the registry has it (nothing pulled, nothing run); otherwise
//! build it from the commit's context and publish it. The result is werf's
//! build report.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use davit_config::model::DockerfileImage;
use davit_config::parse::{ImageDoc, ImageKind, WerfConfig};
use davit_git::Repo;
use futures_util::StreamExt;

use crate::context::add_files::read_add_files;
use crate::context::archive::{build_context_with, load_dockerignore, ContextError};
use crate::context::sources::{sources_checksum, untracked_in_context};
use crate::docker::{BuildRequest, DockerEngine, DockerError};
use crate::dockerfile::labels::with_labels;
use crate::dockerfile::{dockerfile_digest, DigestInput};
use crate::hash::{h256, h3};
use crate::report::{build_time, BuildReport, ImageRecord, Runtime, StageRecord};
use crate::storage::{Published, RepoStorage, StageDescription, Storage, StorageError};

pub const PLATFORM: &str = "linux/amd64";

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("image {image:?}: {message}")]
    Config { image: String, message: String },
    #[error("image {image:?}: {source}")]
    Context {
        image: String,
        #[source]
        source: ContextError,
    },
    /// `location` is `path/Dockerfile:LINE` when the line is known.
    #[error("image {image:?}: {location}: {message}")]
    Dockerfile {
        image: String,
        location: String,
        message: String,
    },
    #[error("image {image:?}: {source}")]
    Docker {
        image: String,
        #[source]
        source: Box<DockerError>,
    },
    #[error("image {image:?}: {source}")]
    Storage {
        image: String,
        #[source]
        source: Box<StorageError>,
    },
    #[error("image {image:?}: {}\n\n  hint: commit the changes (davit builds from the git commit), or revert them", uncommitted_message(files))]
    Uncommitted {
        image: String,
        /// Repository-relative paths; `true` for untracked files.
        files: Vec<(String, bool)>,
    },
    #[error("image {image:?}: stage {stage} is listed in the registry but cannot be read")]
    BrokenStage { image: String, stage: String },
}

/// What happened to one image.
#[derive(Debug, Clone)]
pub struct ImageOutcome {
    pub name: String,
    pub record: ImageRecord,
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
    /// An image starts: name and stage digest.
    Start {
        image: &'a str,
        digest: &'a str,
    },
    /// A line of builder output.
    Line {
        image: &'a str,
        line: &'a str,
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
}

/// Images in an order where every image comes after its dependencies.
pub fn build_order<'c>(
    config: &'c WerfConfig,
    selected: &[String],
) -> Result<Vec<&'c ImageDoc>, BuildError> {
    let by_name: HashMap<&str, &ImageDoc> =
        config.images.iter().map(|i| (i.name.as_str(), i)).collect();
    for name in selected {
        if !by_name.contains_key(name.as_str()) {
            return Err(BuildError::Config {
                image: name.clone(),
                message: "no such image in werf.yaml".into(),
            });
        }
    }
    let roots: Vec<&ImageDoc> = if selected.is_empty() {
        config.images.iter().collect()
    } else {
        selected.iter().map(|n| by_name[n.as_str()]).collect()
    };
    let mut order = Vec::new();
    let mut state: HashMap<&str, bool> = HashMap::new(); // false: visiting, true: done
    fn visit<'c>(
        img: &'c ImageDoc,
        by_name: &HashMap<&str, &'c ImageDoc>,
        state: &mut HashMap<&'c str, bool>,
        order: &mut Vec<&'c ImageDoc>,
    ) -> Result<(), BuildError> {
        match state.get(img.name.as_str()) {
            Some(true) => return Ok(()),
            Some(false) => {
                return Err(BuildError::Config {
                    image: img.name.clone(),
                    message: "dependency cycle".into(),
                })
            }
            None => {}
        }
        state.insert(&img.name, false);
        for dep in img.depends_on.all() {
            if let Some(d) = by_name.get(dep.as_str()) {
                visit(d, by_name, state, order)?;
            }
        }
        state.insert(&img.name, true);
        order.push(img);
        Ok(())
    }
    for r in roots {
        visit(r, &by_name, &mut state, &mut order)?;
    }
    Ok(order)
}

/// The images to build (the selected ones and everything they depend on)
/// in sets: every image's dependencies are in earlier sets, so the images
/// of one set can build at the same time. Inside a set, config order.
pub fn independent_sets<'c>(
    config: &'c WerfConfig,
    selected: &[String],
) -> Result<Vec<Vec<&'c ImageDoc>>, BuildError> {
    let order = build_order(config, selected)?;
    let names: std::collections::HashSet<&str> = order.iter().map(|i| i.name.as_str()).collect();
    let mut level: HashMap<&str, usize> = HashMap::new();
    // `order` has dependencies first, so each level is known when needed.
    for img in &order {
        let l = img
            .depends_on
            .all()
            .filter(|d| names.contains(d.as_str()))
            .filter_map(|d| level.get(d.as_str()))
            .map(|l| l + 1)
            .max()
            .unwrap_or(0);
        level.insert(&img.name, l);
    }
    let depth = level.values().max().map_or(0, |m| m + 1);
    let mut sets: Vec<Vec<&ImageDoc>> = vec![Vec::new(); depth];
    for img in &config.images {
        if let Some(l) = level.get(img.name.as_str()) {
            sets[*l].push(img);
        }
    }
    Ok(sets)
}

/// werf's wording for files that differ from the commit.
fn uncommitted_message(files: &[(String, bool)]) -> String {
    match files {
        [(one, false)] => format!("the file {one:?} must be committed"),
        [(one, true)] => format!("the untracked file {one:?} must be committed"),
        many => format!(
            "the following files must be committed:\n\n{}",
            many.iter()
                .map(|(f, untracked)| {
                    if *untracked {
                        format!(" - {f} (untracked)")
                    } else {
                        format!(" - {f}")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// A Dockerfile error located in the project: `Dockerfile:3: x` (davit's
/// parser) and `dockerfile parse error line 3: x` (the daemon) both become
/// `app/Dockerfile:3` + `x`.
fn dockerfile_error(image: &str, path: &str, message: &str) -> BuildError {
    let located = message
        .strip_prefix("Dockerfile:")
        .or_else(|| message.strip_prefix("dockerfile parse error line "))
        .and_then(|rest| {
            let (line, text) = rest.split_once(':')?;
            line.trim().parse::<usize>().ok().map(|n| (n, text.trim()))
        });
    let (location, message) = match located {
        Some((line, text)) => (format!("{path}:{line}"), text.to_string()),
        None => (path.to_string(), message.to_string()),
    };
    BuildError::Dockerfile {
        image: image.to_string(),
        location,
        message,
    }
}

/// A YAML value as Go's `fmt.Sprintf("%v")` prints the scalars werf sees.
fn arg_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

fn text(t: &Option<davit_config::model::Text>) -> Option<&str> {
    t.as_ref().map(|t| t.0.as_str()).filter(|s| !s.is_empty())
}

impl Conveyor<'_> {
    /// Builds `selected` images (all when empty) and their dependencies.
    /// Finished images are in the returned report even when a later one
    /// fails; the error comes second.
    pub async fn run(
        &self,
        selected: &[String],
        parallel: Parallelism,
        on_event: impl FnMut(Event<'_>),
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
        let total: usize = sets.iter().map(Vec::len).sum();
        // Sequential unless asked for and useful.
        let limit = match parallel {
            Parallelism::Sequential => 1,
            Parallelism::Limit(n) => n.max(1),
            Parallelism::Unlimited => total.max(1),
        };
        let on_event = RefCell::new(on_event);
        if limit > 1 && total > 1 {
            (on_event.borrow_mut())(Event::Plan {
                sets: &sets,
                limit: matches!(parallel, Parallelism::Limit(_)).then_some(limit),
            });
        }
        for set in &sets {
            let done = &report.images;
            let mut running =
                futures_util::stream::iter(set.iter().map(|img| self.image(img, done, &on_event)))
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
            for outcome in finished {
                report.images.insert(outcome.name.clone(), outcome.record);
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
        (report, None)
    }

    async fn image(
        &self,
        img: &ImageDoc,
        done: &BTreeMap<String, ImageRecord>,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<ImageOutcome, BuildError> {
        let emit = |e: Event<'_>| (on_event.borrow_mut())(e);
        let started = Instant::now();
        let name = img.name.as_str();
        let cfg_err = |message: String| BuildError::Config {
            image: name.to_string(),
            message,
        };
        let df: &DockerfileImage = match (img.kind, img.dockerfile.as_ref()) {
            (ImageKind::Dockerfile, Some(d)) => d,
            _ => return Err(cfg_err(
                "stapel images are not supported by davit yet; only Dockerfile images build today"
                    .into(),
            )),
        };
        if df.staged == Some(true)
            || (df.staged.is_none() && self.config.meta.build.staged == Some(true))
        {
            return Err(cfg_err(
                "`staged: true` is not supported by davit yet".into(),
            ));
        }
        let platforms: Vec<&String> = df
            .platform
            .0
            .iter()
            .chain(&self.config.meta.build.platform.0)
            .collect();
        if platforms.iter().any(|p| p.as_str() != PLATFORM) {
            return Err(cfg_err(format!(
                "platform {platforms:?}: davit builds only {PLATFORM} today"
            )));
        }
        if df.secrets.iter().len() > 0 || text(&df.ssh).is_some() {
            return Err(cfg_err(
                "`secrets` and `ssh` need BuildKit, which davit does not drive yet".into(),
            ));
        }
        let context = davit_gotmpl::funcs::paths::clean(&format!(
            "{}/{}",
            self.project_dir,
            text(&df.context).unwrap_or(".")
        ))
        .trim_start_matches('/')
        .to_string();
        if context == ".." || context.starts_with("../") {
            return Err(cfg_err(format!(
                "context {:?} is outside the git repository",
                text(&df.context).unwrap_or(".")
            )));
        }
        let context = if context.is_empty() {
            ".".to_string()
        } else {
            context
        };
        let dockerfile = text(&df.dockerfile).unwrap_or("Dockerfile").to_string();
        let ctx_err = |source| BuildError::Context {
            image: name.to_string(),
            source,
        };
        let df_path = if context == "." {
            dockerfile.clone()
        } else {
            format!("{context}/{dockerfile}")
        };
        // `config.dockerfile.allowUncommitted` (project-relative globs):
        // such a Dockerfile is read from the work tree, as werf does.
        let df_in_project = df_path
            .strip_prefix(&format!("{}/", self.project_dir))
            .unwrap_or(&df_path);
        let dockerfile_from_disk = self
            .giterminism
            .allow_uncommitted_dockerfiles
            .iter()
            .any(|g| g.matches(df_in_project));
        let read = if dockerfile_from_disk {
            std::fs::read(self.repo.work_tree().join(&df_path)).ok()
        } else {
            match self.repo.read(&df_path) {
                Ok(r) => r,
                Err(e) => return Err(ctx_err(ContextError::Git(e))),
            }
        };
        let dockerfile_text = match read {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            None => {
                return Err(ctx_err(ContextError::MissingDockerfile {
                    context: context.clone(),
                    path: dockerfile.clone(),
                }))
            }
        };
        let args: BTreeMap<String, String> = df
            .args
            .iter()
            .map(|(k, v)| (k.clone(), arg_value(v)))
            .collect();

        // Dependencies: their results become build args and labels.
        let mut dependency_args = BTreeMap::new();
        let mut labels = BTreeMap::new();
        for dep in &df.dependencies {
            let dep_name = text(&dep.image).unwrap_or_default();
            let Some(rec) = done.get(dep_name) else {
                return Err(cfg_err(format!("dependency {dep_name:?} was not built")));
            };
            labels.insert(
                format!(
                    "werf-dependency-stage-id-{}",
                    h256(&[rec.docker_tag.as_str()])
                ),
                rec.docker_tag.clone(),
            );
            for imp in &dep.imports {
                let Some(arg) = text(&imp.target_build_arg) else {
                    continue;
                };
                let value = match text(&imp.kind).unwrap_or_default() {
                    "ImageName" => &rec.docker_image_name,
                    "ImageTag" => &rec.docker_tag,
                    "ImageRepo" => &rec.docker_repo,
                    "ImageID" => &rec.docker_image_id,
                    "ImageDigest" => &rec.docker_image_digest,
                    other => return Err(cfg_err(format!("invalid `type: {other}` for dependency import, expected one of: ImageName, ImageTag, ImageRepo, ImageID, ImageDigest"))),
                };
                if args.contains_key(arg) {
                    return Err(cfg_err(format!("dockerfile `args:` build arg {arg:?} already defined in dependency import `targetBuildArg:` directive. This is not allowed, avoid duplicated build args!")));
                }
                dependency_args.insert(arg.to_string(), value.clone());
            }
        }

        let (ignore, _) = load_dockerignore(self.repo, &context, &dockerfile).map_err(ctx_err)?;
        let add_entries: Vec<String> = df
            .context_add_files
            .0
            .iter()
            .chain(&df.context_add_file.0)
            .cloned()
            .collect();
        let add_files = read_add_files(
            self.repo.work_tree(),
            &context,
            self.project_dir,
            &add_entries,
        )
        .map_err(ctx_err)?;
        let uncommitted = RefCell::new(std::collections::BTreeSet::new());
        let untracked = untracked_in_context(self.repo, &context);
        let files = |srcs: &[String]| {
            let sums =
                sources_checksum(self.repo, &context, &ignore, srcs, &add_files, &untracked)?;
            uncommitted.borrow_mut().extend(sums.uncommitted);
            Ok(sums.checksum)
        };
        let cache_version = text(&df.cache_version).or(text(&self.config.meta.build.cache_version));
        let digest = dockerfile_digest(&DigestInput {
            dockerfile: &dockerfile_text,
            args: &args,
            dependency_args: &dependency_args,
            target: text(&df.target),
            cache_version,
            add_host: &df.add_host.0,
            platform: PLATFORM,
            files_checksum: &files,
        })
        .map_err(|e| dockerfile_error(name, &df_path, &e.to_string()))?
        .digest;
        // As werf: the files a COPY/ADD takes must be as committed, or the
        // image would silently differ from what the developer has on disk.
        if !dockerfile_from_disk
            && self.repo.worktree_state(&df_path) != davit_git::WorktreeState::Unchanged
        {
            uncommitted.borrow_mut().insert((df_path.clone(), false));
        }
        let uncommitted = uncommitted.into_inner();
        if !uncommitted.is_empty() {
            return Err(BuildError::Uncommitted {
                image: name.to_string(),
                files: uncommitted.into_iter().collect(),
            });
        }
        emit(Event::Start {
            image: name,
            digest: &digest,
        });

        let storage_err = |source| BuildError::Storage {
            image: name.to_string(),
            source: Box::new(source),
        };
        // The oldest readable stage. One that is listed but cannot be read
        // (a missing manifest or config) gets werf's `-rejected` record
        // and is never selected again; the next one is tried.
        let mut existing = None;
        for id in self
            .storage
            .stages(self.engine, &digest, 0)
            .await
            .map_err(storage_err)?
        {
            match self
                .storage
                .describe(self.engine, &id)
                .await
                .map_err(storage_err)?
            {
                Some(desc) => {
                    existing = Some(desc);
                    break;
                }
                None => {
                    emit(Event::Warning {
                        image: name,
                        message: &format!(
                            "stage {id} cannot be read from {}; marking it rejected",
                            self.storage.address()
                        ),
                    });
                    self.storage
                        .reject(self.engine, self.project, &id)
                        .await
                        .map_err(storage_err)?;
                }
            }
        }
        let mut source_type = String::new();
        let from_secondary = match existing {
            Some(_) => None,
            None => self
                .copy_from_secondary(&digest)
                .await
                .map_err(storage_err)?,
        };
        let (desc, rebuilt) = match (existing, from_secondary) {
            (Some(desc), _) => (desc, false),
            (None, Some((id, copied))) => {
                if copied {
                    source_type = "secondary".into();
                }
                (self.describe(name, &id).await?, copied)
            }
            (None, None) => {
                let local_tag = format!("{}:{}", self.project, digest);
                labels.insert("werf".into(), self.project.to_string());
                labels.insert(
                    "werf-version".into(),
                    format!("davit {}", env!("CARGO_PKG_VERSION")),
                );
                labels.insert(
                    "werf-stage-content-digest".into(),
                    h3(&["1.2", "dockerfile-content", "", digest.as_str(), ""]),
                );
                labels.insert("werf-project-repo-commit".into(), self.commit.to_string());
                let (labelled, api_labels) =
                    with_labels(&dockerfile_text, text(&df.target), &labels)
                        .map_err(|e| dockerfile_error(name, &df_path, &e.to_string()))?;
                let archive = build_context_with(
                    self.repo,
                    &context,
                    &dockerfile,
                    Some(&labelled),
                    &add_files,
                )
                .map_err(ctx_err)?;
                let mut build_args = args.clone();
                build_args.extend(dependency_args.clone());
                let network = text(&df.network);
                let auth = self.storage.registry_auth().map_err(storage_err)?;
                self.engine
                    .build(
                        BuildRequest {
                            context_tar: archive.tar,
                            dockerfile: &dockerfile,
                            target: text(&df.target),
                            build_args: &build_args,
                            labels: &api_labels,
                            add_host: &df.add_host.0,
                            network,
                            tag: &local_tag,
                            registry_auth: auth.as_ref().map(|(h, c)| (h.as_str(), c)),
                        },
                        |line| emit(Event::Line { image: name, line }),
                    )
                    .await
                    .map_err(|source| match source {
                        // The daemon's own Dockerfile checks fail the request with 400.
                        DockerError::Api {
                            source:
                                bollard::errors::Error::DockerResponseServerError {
                                    status_code: 400,
                                    message,
                                },
                            ..
                        } => dockerfile_error(name, &df_path, &message),
                        source => BuildError::Docker {
                            image: name.to_string(),
                            source: Box::new(source),
                        },
                    })?;
                // Keep `<repo>:<stage id>` locally too: a later image built on
                // this one then finds it without a pull.
                let published = self
                    .storage
                    .publish(self.engine, &local_tag, self.project, &digest)
                    .await
                    .map_err(storage_err)?;
                let rebuilt = matches!(published, Published::Pushed(_));
                (self.describe(name, published.id()).await?, rebuilt)
            }
        };
        if rebuilt {
            self.copy_to_cache_repos(&desc.id)
                .await
                .map_err(storage_err)?;
        }
        let seconds = started.elapsed().as_secs_f64();
        let tag = desc.id.to_string();
        let repo_addr = self.storage.address();
        let commit = desc
            .labels
            .get("werf-project-repo-commit")
            .cloned()
            .unwrap_or_default();
        let stage = StageRecord {
            name: "dockerfile".into(),
            docker_image_name: format!("{repo_addr}:{tag}"),
            docker_tag: tag.clone(),
            docker_image_id: desc.image_id.clone(),
            docker_image_digest: desc.manifest_digest.clone(),
            created_at: desc.id.creation_ts * 1_000_000,
            size: desc.size,
            source_type,
            base_image_pulled: false,
            rebuilt,
            build_time: build_time(seconds),
            commit: commit.clone(),
        };
        // A final image also goes to --final-repo, and the report points there.
        let (image_repo, image_digest) = match (self.final_repo, self.storage.as_repo()) {
            (Some(final_repo), Some(primary)) if img.is_final => {
                let digest = final_repo
                    .copy_stage_from(primary, &desc.id)
                    .await
                    .map_err(storage_err)?;
                (final_repo.address(), digest)
            }
            _ => (repo_addr.clone(), desc.manifest_digest.clone()),
        };
        let record = ImageRecord {
            werf_image_name: name.to_string(),
            config_type: "dockerfile".into(),
            docker_repo: image_repo.clone(),
            docker_tag: tag.clone(),
            docker_image_id: desc.image_id,
            docker_image_digest: image_digest,
            docker_image_name: format!("{image_repo}:{tag}"),
            target_platform: PLATFORM.into(),
            rebuilt,
            is_final: img.is_final,
            size: desc.size,
            build_time: build_time(seconds),
            commit,
            stages: Some(vec![stage]),
        };
        Ok(ImageOutcome {
            name: name.to_string(),
            record,
            seconds,
        })
    }

    /// The oldest stage with `digest` in a secondary repository, copied
    /// into the primary (under the host lock, re-checking the primary).
    async fn copy_from_secondary(
        &self,
        digest: &str,
    ) -> Result<Option<(crate::storage::StageId, bool)>, StorageError> {
        let Some(primary) = self.storage.as_repo() else {
            return Ok(None);
        };
        for secondary in self.secondary_repos {
            let Some(id) = secondary.stages(digest, 0).await?.into_iter().next() else {
                continue;
            };
            let _lock =
                crate::storage::lock::StageLock::acquire(primary.lock_dir(), self.project, digest)
                    .await?;
            if let Some(existing) = primary.stages_fresh(digest, 0).await?.into_iter().next() {
                return Ok(Some((existing, false)));
            }
            primary.copy_stage_from(secondary, &id).await?;
            return Ok(Some((id, true)));
        }
        Ok(None)
    }

    async fn copy_to_cache_repos(&self, id: &crate::storage::StageId) -> Result<(), StorageError> {
        let Some(primary) = self.storage.as_repo() else {
            return Ok(());
        };
        for cache in self.cache_repos {
            cache.copy_stage_from(primary, id).await?;
        }
        Ok(())
    }

    async fn describe(
        &self,
        name: &str,
        id: &crate::storage::StageId,
    ) -> Result<StageDescription, BuildError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> WerfConfig {
        davit_config::parse::parse("werf.yaml", text).expect("valid config")
    }

    fn names(sets: &[Vec<&ImageDoc>]) -> Vec<Vec<String>> {
        sets.iter()
            .map(|s| s.iter().map(|i| i.name.clone()).collect())
            .collect()
    }

    const DIAMOND: &str = "project: p\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\ndependencies:\n- image: lib\n- image: tools\n---\nimage: tools\ndockerfile: Dockerfile\n---\nimage: lib\ndockerfile: Dockerfile\ndependencies:\n- image: base\n---\nimage: base\ndockerfile: Dockerfile\n---\nimage: other\ndockerfile: Dockerfile\n";

    #[test]
    fn sets_put_dependencies_first_in_config_order() {
        let cfg = config(DIAMOND);
        let sets = independent_sets(&cfg, &[]).expect("sets");
        assert_eq!(
            names(&sets),
            [vec!["tools", "base", "other"], vec!["lib"], vec!["app"]]
        );
    }

    #[test]
    fn selection_pulls_in_dependencies_only() {
        let cfg = config(DIAMOND);
        let sets = independent_sets(&cfg, &["lib".to_string()]).expect("sets");
        assert_eq!(names(&sets), [vec!["base"], vec!["lib"]]);
        let err = independent_sets(&cfg, &["nope".to_string()]).expect_err("unknown image");
        assert!(err.to_string().contains("no such image"), "{err}");
    }
}
