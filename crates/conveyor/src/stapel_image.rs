//! One stapel image: its stages in werf's order (davit-stapel), each found
//! in the stages storage or made. The stages davit writes itself — `from`,
//! `gitArchive`, `dockerInstructions` — are composed in the registry from
//! the previous stage, a layer davit wrote and a rewritten config; no
//! daemon, no pull, no container. `imageSpec` is the rewrite Dockerfile
//! images use. Shell stages, patch stages, imports and local storage are
//! refused by name until davit runs them.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use davit_config::model::StapelImage;
use davit_config::parse::{ImageDoc, ImageKind};
use davit_engine::container::{RunError, ShellRun};
use davit_stapel::docker::DockerInstructions;
use davit_stapel::layer::{archive_layer, MappingFiles, Ownership};
use davit_stapel::patch::{deletion_commands, patch_files_tar, patch_layer, MappingPatch};
use davit_stapel::pipeline::written_base;
use davit_stapel::GitMapping;
use davit_stapel::{BaseImage, Pipeline, PipelineInput, StageName};
use davit_storage::compose::{NewLayer, StageBase};
use davit_storage::{Published, StageDescription, StageId, Storage};
use serde_json::Value;

use super::inputs::Done;
use super::owner_names::{may_write_etc, UserFiles, GROUP, PASSWD};
use super::record::{PlatformStages, StoredStage};
use super::stapel_chain::StapelChain;
use super::stapel_imports::{
    import_labels, pick_stage, resolve_dependencies, stage_inputs, Dependencies, ResolvedImport,
};
use super::{BuildError, Conveyor, Event, ImageOutcome};
use crate::image_spec::ImageSpecStage;

/// The stage to find or make next.
struct StageStep<'a> {
    stage: StageName,
    deps: &'a str,
    /// The mappings' changes, for `gitLatestPatch`.
    patches: Option<&'a [MappingPatch]>,
    /// The imports of a `dependencies*` stage.
    imports: &'a [ResolvedImport],
    /// The `dependencies[]` of a `dependencies*` stage.
    dependencies: &'a Dependencies,
}

/// What one image's stages are built from, fixed before the first stage.
struct StapelBuild<'a> {
    name: &'a str,
    stapel: &'a StapelImage,
    pipeline: Pipeline,
    /// What `from` starts from.
    base: StageBase,
    /// The stage `from` is based on, for its parent label.
    base_stage: Option<StageDescription>,
}

/// A stapel error as the build reports it, the image named once.
fn stapel_err(name: &str, e: davit_stapel::StapelError) -> BuildError {
    let text = e.to_string();
    let prefix = format!("image {name:?}: ");
    BuildError::Config {
        image: name.to_string(),
        message: text.strip_prefix(&prefix).unwrap_or(&text).to_string(),
    }
}

/// Each mapping with the repository it reads, its ids and its patch.
fn mapping_files<'r>(
    chain: &StapelChain<'r>,
    mappings: &[GitMapping],
    owners: &[Ownership],
    patches: Option<&[MappingPatch]>,
) -> Vec<MappingFiles<'r>> {
    mappings
        .iter()
        .enumerate()
        .map(|(i, m)| MappingFiles {
            repo: chain.repos()[i],
            mapping: m.clone(),
            owner: owners.get(i).copied().unwrap_or_default(),
            patch: patches.and_then(|p| p.get(i).cloned()),
        })
        .collect()
}

/// werf's git labels of a stage built on the current commits; `with_type`
/// for `gitArchive`, which also records whether `add` is a file.
fn git_labels(
    chain: &StapelChain<'_>,
    mappings: &[GitMapping],
    with_type: bool,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for (i, m) in mappings.iter().enumerate() {
        let ph = m.paramshash();
        let commit = chain.current_commits().get(i).cloned().unwrap_or_default();
        labels.insert(format!("werf-git-{ph}-commit"), commit);
        labels.insert(format!("werf-git-{ph}-virtual-merge"), "false".into());
        if with_type {
            let repo = chain.repos()[i];
            let kind = if m.add.is_empty() || repo.is_dir(&m.add) {
                "directory"
            } else {
                "file"
            };
            labels.insert(format!("werf-git-{ph}-type"), kind.into());
        }
    }
    labels
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

impl Conveyor<'_> {
    pub(super) async fn stapel_image(
        &self,
        img: &ImageDoc,
        done: &Done<'_>,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<ImageOutcome, BuildError> {
        let started = Instant::now();
        let name = img.name.as_str();
        let cfg_err = |message: String| BuildError::Config {
            image: name.to_string(),
            message,
        };
        let Some(s) = img.stapel.as_ref() else {
            return Err(cfg_err("not a stapel image".into()));
        };
        let unsupported = davit_stapel::support::unsupported_for_build(s);
        if !unsupported.is_empty() {
            return Err(cfg_err(format!(
                "uses {}, which davit does not support yet",
                unsupported.join(", ")
            )));
        }
        let platforms = davit_digest::platform::resolve(
            self.forced_platforms,
            &s.platform.0,
            &self.config.meta.build.platform.0,
        )
        .map_err(cfg_err)?;
        if platforms.len() > 1 && self.storage.as_repo().is_none() {
            return Err(super::image::registry_required(name, &platforms));
        }
        let remotes = self.fetch_remotes(name, s)?;
        let mut parts = Vec::new();
        for platform in &platforms {
            // Images this one imports from or builds on: their stages
            // for the same platform.
            let images = done.for_platform(platform);
            let done = Done {
                images: &images,
                by_platform: done.by_platform,
            };
            parts.push(
                self.stapel_platform(img, s, platform, &remotes, &done, on_event)
                    .await?,
            );
        }
        self.image_outcome(name, "stapel", img.is_final, parts, started)
            .await
    }

    /// One platform's stages of a stapel image: each found, composed in
    /// the registry or run.
    async fn stapel_platform(
        &self,
        img: &ImageDoc,
        s: &StapelImage,
        platform: &str,
        remotes: &HashMap<String, davit_git::Repo>,
        done: &Done<'_>,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<PlatformStages, BuildError> {
        let started = Instant::now();
        let name = img.name.as_str();
        let cfg_err = |message: String| BuildError::Config {
            image: name.to_string(),
            message,
        };
        let primary = self.storage;
        let build = self.stapel_build(img, s, platform, done, remotes).await?;
        for warning in &build.pipeline.warnings {
            (on_event.borrow_mut())(Event::Warning {
                image: name,
                message: warning,
            });
        }
        let patches = img.kind != ImageKind::Artifact && s.disable_git_after_patch != Some(true);
        let (repos, current) = self.mapping_repos(&build.pipeline, remotes);
        let mut chain = StapelChain::new(&build.pipeline, repos, current, platform, patches);
        let spec = ImageSpecStage::for_image(
            s.image_spec.as_ref(),
            self.config.meta.build.image_spec.as_ref(),
            img.is_final,
        );
        let mut stored: Vec<StoredStage> = Vec::new();
        let mut walk: Vec<Option<(StageName, String)>> =
            StapelChain::stages(&build.pipeline, spec.as_ref())
                .into_iter()
                .map(Some)
                .collect();
        walk.push(None);
        for next in walk {
            // The patch stage, when due, comes before dockerInstructions,
            // imageSpec or the end.
            while let Some((patch_stage, deps, patches)) = chain
                .patch_stage(next.as_ref().map(|(n, _)| *n))
                .map_err(cfg_err)?
            {
                let step = StageStep {
                    stage: patch_stage,
                    deps: &deps,
                    patches: Some(&patches),
                    imports: &[],
                    dependencies: &Dependencies::default(),
                };
                let done = self
                    .stapel_stage(&build, step, &mut chain, spec.as_ref(), on_event)
                    .await?;
                stored.push(done);
            }
            let Some((stage, deps)) = next else { break };
            if let (StageName::ImageSpec, Some(spec), Some(prev), Some(p)) =
                (stage, &spec, &chain.prev_desc, &chain.prev)
            {
                let next = p.next_dependencies.clone();
                let done = self
                    .image_spec_stage(name, spec, &prev.clone(), &next, platform, on_event)
                    .await?;
                let digest = done.desc.id.digest.clone();
                chain.advance(stage, digest, Some(done.desc.clone()));
                stored.push(done);
                continue;
            }
            // A dependencies* stage's inputs are what its imports and
            // dependencies resolve to.
            let (deps, resolved, dependencies) = if stage.is_dependencies() {
                let resolved = self
                    .resolve_imports(
                        Some(primary),
                        name,
                        stage,
                        &build.pipeline.imports,
                        &|image, stage| pick_stage(done.images.get(image)?, stage),
                        true,
                        platform,
                    )
                    .await?
                    .unwrap_or_default();
                let record_of = |image: &str| done.images.get(image).cloned();
                let dependencies =
                    resolve_dependencies(&build.pipeline.dependencies, stage, &record_of)
                        .ok_or_else(|| {
                            cfg_err(format!(
                                "stage {stage}: an image it depends on was not built"
                            ))
                        })?;
                (
                    stage_inputs(&resolved, &dependencies),
                    resolved,
                    dependencies,
                )
            } else {
                (deps, Vec::new(), Dependencies::default())
            };
            let step = StageStep {
                stage,
                deps: &deps,
                patches: None,
                imports: &resolved,
                dependencies: &dependencies,
            };
            let done = self
                .stapel_stage(&build, step, &mut chain, spec.as_ref(), on_event)
                .await?;
            stored.push(done);
        }
        Ok(PlatformStages {
            platform: platform.to_string(),
            stages: stored,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// One stage: found in the stages storage, or composed there.
    #[allow(clippy::too_many_arguments)]
    async fn stapel_stage(
        &self,
        build: &StapelBuild<'_>,
        step: StageStep<'_>,
        chain: &mut StapelChain<'_>,
        spec: Option<&ImageSpecStage>,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<StoredStage, BuildError> {
        let name = build.name;
        let primary = self.storage;
        let stage = step.stage;
        let started = Instant::now();
        let digest = chain.digest(stage, step.deps, spec);
        if chain.prev.is_none() {
            (on_event.borrow_mut())(Event::Start {
                image: name,
                stage: stage.as_str(),
                digest: &digest,
            });
        }
        let found = self
            .find_stage(&digest, chain.parent_ts(), |d| chain.selectable(stage, d))
            .await
            .map_err(|source| BuildError::Storage {
                image: name.to_string(),
                source: Box::new(source),
            })?;
        let (desc, rebuilt) = match found {
            Some(desc) => (desc, false),
            None if self.require_built => {
                return Err(BuildError::NotBuilt {
                    image: name.to_string(),
                    stage: stage.as_str(),
                    digest,
                })
            }
            None => {
                // Stages with this digest the selection refused (built on
                // a commit no longer in history) must not win the re-check.
                let passed_over = primary
                    .stages(self.engine, &digest, chain.parent_ts())
                    .await
                    .map_err(|source| BuildError::Storage {
                        image: name.to_string(),
                        source: Box::new(source),
                    })?;
                let published = self
                    .compose_stage(build, &step, &digest, &passed_over, chain, on_event)
                    .await?;
                let rebuilt = matches!(published, Published::Pushed(_));
                (self.describe(name, published.id()).await?, rebuilt)
            }
        };
        (on_event.borrow_mut())(Event::Line {
            image: name,
            line: &format!(
                "{stage} {}: {} {}",
                short(&digest),
                if rebuilt { "stored" } else { "found" },
                desc.id
            ),
        });
        chain.advance(stage, digest, Some(desc.clone()));
        Ok(StoredStage {
            name: stage.as_str(),
            desc,
            rebuilt,
            source_type: String::new(),
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The pipeline and the base of `from`: scratch, a registry image, or
    /// the last stage of an image of this config built earlier in the run.
    async fn stapel_build<'i>(
        &self,
        img: &'i ImageDoc,
        s: &'i StapelImage,
        platform: &str,
        done: &Done<'_>,
        remotes: &HashMap<String, davit_git::Repo>,
    ) -> Result<StapelBuild<'i>, BuildError> {
        let name = img.name.as_str();
        let cfg_err = |message: String| BuildError::Config {
            image: name.to_string(),
            message,
        };
        let (base_image, base, base_stage) = match &img.depends_on.from {
            Some(dep) => {
                let record = done.images.get(dep).ok_or_else(|| {
                    cfg_err(format!("the image {dep:?} it builds on was not built"))
                })?;
                let id = StageId::from_tag(&record.docker_tag).ok_or_else(|| {
                    cfg_err(format!(
                        "the image {dep:?} has no stage tag ({})",
                        record.docker_tag
                    ))
                })?;
                let desc = self.describe(name, &id).await?;
                let content_digest = desc
                    .labels
                    .get("werf-stage-content-digest")
                    .cloned()
                    .ok_or_else(|| cfg_err(format!("the last stage of {dep:?} ({id}) has no werf-stage-content-digest label")))?;
                (
                    BaseImage::Image {
                        name: dep.clone(),
                        content_digest,
                    },
                    StageBase::Stage(id),
                    Some(desc),
                )
            }
            None => {
                let base = written_base(name, s).map_err(cfg_err)?;
                let stage_base = match &base {
                    BaseImage::External(reference) => StageBase::External {
                        reference: reference.clone(),
                        platform: platform.to_string(),
                    },
                    _ => StageBase::Scratch {
                        platform: platform.to_string(),
                    },
                };
                (base, stage_base, None)
            }
        };
        let pipeline = self
            .stapel_pipeline(img, s, base_image, platform, remotes)
            .await?;
        Ok(StapelBuild {
            name,
            stapel: s,
            pipeline,
            base,
            base_stage,
        })
    }

    /// The pipeline of a stapel image on `base`, for the plan and the
    /// build alike (`fromLatest` reads the base's ID in the registry).
    pub(super) async fn stapel_pipeline(
        &self,
        img: &ImageDoc,
        s: &StapelImage,
        base: BaseImage,
        platform: &str,
        remotes: &HashMap<String, davit_git::Repo>,
    ) -> Result<Pipeline, BuildError> {
        let from_latest_id = self.latest_base_id(&img.name, s, &base, platform).await?;
        let input = PipelineInput {
            image: &img.name,
            stapel: s,
            build_cache_version: self
                .config
                .meta
                .build
                .cache_version
                .as_ref()
                .map(|t| t.0.as_str()),
            base,
            repo: self.project_repo(remotes),
            is_artifact: img.kind == ImageKind::Artifact,
            is_config_image: &|n: &str| self.is_config_image(n),
            from_latest_id,
            remote_repos: remotes,
        };
        Pipeline::new(&input).map_err(|e| stapel_err(&img.name, e))
    }

    /// Publishes a stage davit writes itself, in the registry.
    #[allow(clippy::too_many_arguments)]
    async fn compose_stage(
        &self,
        build: &StapelBuild<'_>,
        step: &StageStep<'_>,
        digest: &str,
        passed_over: &[StageId],
        chain: &StapelChain<'_>,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<Published, BuildError> {
        let name = build.name;
        let primary = self.storage;
        let s = build.stapel;
        let stage = step.stage;
        let cfg_err = |message: String| BuildError::Config {
            image: name.to_string(),
            message,
        };
        let (base, parent) = match (stage, &chain.prev_desc) {
            (StageName::From, _) => (build.base.clone(), build.base_stage.clone()),
            (_, Some(prev)) => (StageBase::Stage(prev.id.clone()), Some(prev.clone())),
            (_, None) => return Err(cfg_err(format!("stage {stage} has no previous stage"))),
        };
        let mut labels = BTreeMap::from([
            ("werf".to_string(), self.project.to_string()),
            (
                "werf-version".to_string(),
                davit_storage::WERF_COMPAT_VERSION.to_string(),
            ),
            (
                "werf-stage-content-digest".to_string(),
                chain.new_content_digest(stage, digest),
            ),
            (
                "werf-project-repo-commit".to_string(),
                self.commit.to_string(),
            ),
        ]);
        if let Some(parent) = &parent {
            labels.insert("werf.io/parent-stage-id".into(), parent.id.to_string());
            labels.insert("werf.io/base-image-id".into(), parent.image_id.clone());
        }
        if stage.is_user() {
            return self
                .run_user_stage(
                    primary,
                    build,
                    step,
                    digest,
                    passed_over,
                    chain,
                    labels,
                    on_event,
                )
                .await;
        }
        let mut layers = Vec::new();
        // What the new stage records of its /etc/passwd and /etc/group:
        // the files names were resolved with, else its parent's record,
        // unless its files may replace them.
        let inherited = chain.prev_desc.as_ref().and_then(UserFiles::recorded);
        let (owners, mut users) = match (stage, &chain.prev_desc) {
            (
                StageName::GitArchive | StageName::GitLatestPatch | StageName::GitCache,
                Some(prev),
            ) => {
                let (owners, read) = self
                    .owners(primary, name, prev, &build.pipeline.mappings)
                    .await?;
                let touches_etc = build.pipeline.mappings.iter().any(|m| may_write_etc(&m.to));
                (owners, read.or(inherited).filter(|_| !touches_etc))
            }
            (StageName::From, _) => (Vec::new(), None),
            _ => (Vec::new(), inherited),
        };
        match stage {
            StageName::From => {}
            StageName::GitArchive => {
                let files = mapping_files(chain, &build.pipeline.mappings, &owners, None);
                labels.extend(git_labels(chain, &build.pipeline.mappings, true));
                let mtime = u64::try_from(self.repo.head().author_unix).unwrap_or(0);
                let layer = archive_layer(&files, mtime).map_err(|e| cfg_err(e.to_string()))?;
                (on_event.borrow_mut())(Event::Line {
                    image: name,
                    line: &format!("gitArchive: {} files as one layer", layer.files),
                });
                layers.push(NewLayer {
                    blob: layer.blob,
                    diff_id: layer.diff_id,
                    created_by: format!("davit gitArchive {}", chain.current_commits().join(" ")),
                });
            }
            StageName::GitLatestPatch | StageName::GitCache => {
                let patches = step.patches.unwrap_or_default();
                let files = mapping_files(chain, &build.pipeline.mappings, &owners, Some(patches));
                labels.extend(git_labels(chain, &build.pipeline.mappings, false));
                let mtime = u64::try_from(self.repo.head().author_unix).unwrap_or(0);
                let layer = patch_layer(&files, mtime).map_err(|e| cfg_err(e.to_string()))?;
                let deleted: usize = patches.iter().map(|p| p.deleted.len()).sum();
                (on_event.borrow_mut())(Event::Line {
                    image: name,
                    line: &format!(
                        "{stage}: {} changed and {deleted} deleted paths as one layer",
                        layer.files
                    ),
                });
                layers.push(NewLayer {
                    blob: layer.blob,
                    diff_id: layer.diff_id,
                    created_by: format!("davit {stage} {}", chain.current_commits().join(" ")),
                });
            }
            StageName::DockerInstructions => {}
            dependencies if dependencies.is_dependencies() && !step.imports.is_empty() => {
                let Some(prev) = &chain.prev_desc else {
                    return Err(cfg_err(format!("stage {stage} has no previous stage")));
                };
                let pairs: Vec<(&str, &str)> = step
                    .imports
                    .iter()
                    .map(|i| (i.spec.owner.as_str(), i.spec.group.as_str()))
                    .collect();
                let (ids, read) = self.owner_ids(primary, name, prev, &pairs).await?;
                let touches_etc = step.imports.iter().any(|i| may_write_etc(&i.spec.to));
                users = read.or(users).filter(|_| !touches_etc);
                let owners: HashMap<String, Ownership> = step
                    .imports
                    .iter()
                    .zip(ids)
                    .filter(|(i, _)| !i.spec.owner.is_empty() || !i.spec.group.is_empty())
                    .map(|(i, o)| (i.spec.import_id(), o))
                    .collect();
                let layer = self
                    .imports_layer(primary, name, step.imports, &owners, chain.platform())
                    .await?;
                labels.extend(import_labels(step.imports));
                labels.extend(step.dependencies.labels.clone());
                (on_event.borrow_mut())(Event::Line {
                    image: name,
                    line: &format!("{stage}: {} files imported as one layer", layer.files),
                });
                layers.push(NewLayer {
                    blob: layer.blob,
                    diff_id: layer.diff_id,
                    created_by: format!("davit {stage}"),
                });
            }
            // Dependencies only: variables and labels, no layer.
            dependencies if dependencies.is_dependencies() => {
                labels.extend(step.dependencies.labels.clone());
            }
            other => {
                return Err(cfg_err(format!("stage {other} is not built by davit yet")));
            }
        }
        if let Some(users) = &users {
            labels.extend(users.label(digest));
        }
        let docker = (stage == StageName::DockerInstructions)
            .then(|| s.docker.as_ref().map(DockerInstructions::from_config))
            .flatten();
        let mut commit_env: Vec<(String, String)> = self
            .commit_env()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        for var in &step.dependencies.env {
            if let Some((k, v)) = var.split_once('=') {
                commit_env.push((k.to_string(), v.to_string()));
            }
        }
        let rewrite = |config: &mut Value| {
            if let Some(d) = &docker {
                d.apply(config);
            }
            if !config["config"].is_object() {
                config["config"] = serde_json::json!({});
            }
            let c = &mut config["config"];
            let mut env: Vec<String> = c["Env"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for (k, v) in &commit_env {
                env.retain(|e| !e.starts_with(&format!("{k}=")));
                env.push(format!("{k}={v}"));
            }
            c["Env"] = env.into();
            for (k, v) in &labels {
                c["Labels"][k] = v.clone().into();
            }
        };
        primary
            .publish_composed(
                self.engine,
                self.project,
                &base,
                digest,
                chain.parent_ts(),
                passed_over,
                layers,
                rewrite,
            )
            .await
            .map_err(|source| BuildError::Storage {
                image: name.to_string(),
                source: Box::new(source),
            })
    }

    /// A shell stage: the previous stage pulled into the daemon, the
    /// commands run in a container of it (after the git patch since the
    /// stored git stages, for stages after `gitArchive`), the container
    /// committed and pushed under the host lock with a re-check.
    #[allow(clippy::too_many_arguments)]
    async fn run_user_stage(
        &self,
        primary: &Storage,
        build: &StapelBuild<'_>,
        step: &StageStep<'_>,
        digest: &str,
        passed_over: &[StageId],
        chain: &StapelChain<'_>,
        mut labels: BTreeMap<String, String>,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<Published, BuildError> {
        let name = build.name;
        let stage = step.stage;
        let cfg_err = |message: String| BuildError::Config {
            image: name.to_string(),
            message,
        };
        let storage_err = |source| BuildError::Storage {
            image: name.to_string(),
            source: Box::new(source),
        };
        let docker_err = |source| BuildError::Docker {
            image: name.to_string(),
            source: Box::new(source),
        };
        let Some(prev) = &chain.prev_desc else {
            return Err(cfg_err(format!("stage {stage} has no previous stage")));
        };
        let mut commands: Vec<String> = build
            .pipeline
            .stages
            .iter()
            .find(|st| st.name == stage)
            .map(|st| st.commands.clone())
            .unwrap_or_default();
        let mut files = None;
        if stage != StageName::BeforeInstall {
            if let Some(patches) = chain.pending_patches().map_err(cfg_err)? {
                let (owners, _) = self.owners(primary, name, prev, chain.mappings()).await?;
                let items = mapping_files(chain, chain.mappings(), &owners, Some(&patches));
                labels.extend(git_labels(chain, chain.mappings(), false));
                let mtime = u64::try_from(self.repo.head().author_unix).unwrap_or(0);
                let tar = patch_files_tar(&items, mtime).map_err(|e| cfg_err(e.to_string()))?;
                files = Some(tar);
                let mut all = deletion_commands(&patches);
                all.append(&mut commands);
                commands = all;
            }
        }
        let platform = chain.platform();
        self.engine.ensure_reachable().await.map_err(docker_err)?;
        let reference = primary.stage_reference(&prev.id);
        // A registry stage is pulled; a local one is in the daemon.
        if let Some(repo) = primary.as_repo() {
            let credential = repo.credential().map_err(storage_err)?;
            self.engine
                .pull(&reference, platform, credential.as_ref())
                .await
                .map_err(docker_err)?;
        }
        let tmp = tempfile::tempdir().map_err(|e| cfg_err(format!("a tmp_dir mount: {e}")))?;
        let (mut binds, mount_labels) = self.mount_binds(name, build.stapel, tmp.path())?;
        labels.extend(mount_labels);
        // werf's stapel secrets: files in /run/secrets/<id> while the
        // commands run; the bind mount keeps them out of the commit.
        let project_dir = self.repo.work_tree().join(self.project_dir);
        let secrets =
            crate::secrets::resolve(&build.stapel.secrets, &project_dir).map_err(&cfg_err)?;
        if !secrets.is_empty() {
            let dir = tmp.path().join("secrets");
            crate::secrets::write_files(&secrets, &dir).map_err(&cfg_err)?;
            binds.push(format!("{}:/run/secrets:ro", dir.display()));
        }
        let mut env: Vec<String> = self
            .commit_env()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if let Some((bind, var)) =
            crate::ssh_agent::forward(std::env::var_os("SSH_AUTH_SOCK").as_deref())
        {
            binds.push(bind);
            env.push(var);
        }
        let run = ShellRun {
            image: &reference,
            commands: &commands,
            env,
            labels: labels.into_iter().collect(),
            binds,
            platform,
            files,
            read_back: &[PASSWD, GROUP],
        };
        // The stage records its users for the names of later stages.
        let stamp =
            |files: &davit_engine::container::ReadBack| UserFiles::read_back(files).label(digest);
        let image_id = self
            .engine
            .run_shell_stage(
                &run,
                |line| {
                    (on_event.borrow_mut())(Event::Line { image: name, line });
                },
                stamp,
            )
            .await
            .map_err(|e| match e {
                RunError::Docker(source) => docker_err(source),
                other => cfg_err(format!("stage {stage}: {other}")),
            })?;
        primary
            .publish_checked(
                self.engine,
                &image_id,
                self.project,
                digest,
                chain.parent_ts(),
                passed_over,
            )
            .await
            .map_err(storage_err)
    }

    /// `fromLatest: true`: the base image's ID in the registry now, which
    /// enters the `from` digest (so a moved tag rebuilds).
    pub(super) async fn latest_base_id(
        &self,
        name: &str,
        s: &StapelImage,
        base: &BaseImage,
        platform: &str,
    ) -> Result<Option<String>, BuildError> {
        let (Some(true), BaseImage::External(reference)) = (s.from_latest, base) else {
            return Ok(None);
        };
        let Some(repo) = self.storage.as_repo() else {
            return Err(BuildError::Config {
                image: name.to_string(),
                message: "`fromLatest` needs a registry --repo: davit reads the base image's ID from the registry".into(),
            });
        };
        let id = repo
            .external_image_id(reference, platform)
            .await
            .map_err(|source| BuildError::Storage {
                image: name.to_string(),
                source: Box::new(source),
            })?;
        Ok(Some(id))
    }

    /// Each mapping's `owner`/`group` as ids; names are looked up in the
    /// `/etc/passwd` and `/etc/group` of the stage `base` (only when a
    /// name is used), with the files they were read from.
    async fn owners(
        &self,
        primary: &Storage,
        name: &str,
        base: &StageDescription,
        mappings: &[davit_stapel::GitMapping],
    ) -> Result<(Vec<Ownership>, Option<UserFiles>), BuildError> {
        let pairs: Vec<(&str, &str)> = mappings
            .iter()
            .map(|m| (m.owner.as_str(), m.group.as_str()))
            .collect();
        self.owner_ids(primary, name, base, &pairs).await
    }

    /// `(owner, group)` pairs as ids, names looked up in the stage `base`:
    /// in its own record of the files (owner_names.rs), else in its layers
    /// in the storage.
    pub(super) async fn owner_ids(
        &self,
        primary: &Storage,
        name: &str,
        base: &StageDescription,
        pairs: &[(&str, &str)],
    ) -> Result<(Vec<Ownership>, Option<UserFiles>), BuildError> {
        let named = |v: &str| !v.is_empty() && v.parse::<u64>().is_err();
        let mut users = None;
        if pairs.iter().any(|(o, g)| named(o) || named(g)) {
            users = match UserFiles::recorded(base) {
                Some(recorded) => Some(recorded),
                None => Some(self.user_files(primary, name, &base.id).await?),
            };
        }
        let (passwd, group) = users
            .as_ref()
            .map_or((None, None), |u| (u.passwd.as_deref(), u.group.as_deref()));
        let ids = pairs
            .iter()
            .map(|(o, g)| {
                Ownership::resolve_names(name, o, g, passwd, group).map_err(|e| stapel_err(name, e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((ids, users))
    }

    /// A stage's `/etc/passwd` and `/etc/group`, read from its layers.
    async fn user_files(
        &self,
        primary: &Storage,
        name: &str,
        stage: &StageId,
    ) -> Result<UserFiles, BuildError> {
        let files = primary
            .image_files(self.engine, stage, |p| {
                p == "etc/passwd" || p == "etc/group"
            })
            .await
            .map_err(|source| BuildError::Storage {
                image: name.to_string(),
                source: Box::new(source),
            })?;
        let text = |p: &str| {
            files
                .get(p)
                .map(|e| String::from_utf8_lossy(&e.data).into_owned())
        };
        Ok(UserFiles {
            passwd: text("etc/passwd"),
            group: text("etc/group"),
        })
    }

    /// The bind mounts of a shell stage (`mount:`) and werf's labels for
    /// them: `tmp_dir` a fresh directory per stage, `build_dir` one
    /// directory per project and mount point kept on this host between
    /// builds, `fromPath` the path (relative to the project). The mount
    /// points stay empty in the image: a commit does not take what a bind
    /// mount shows.
    fn mount_binds(
        &self,
        name: &str,
        s: &StapelImage,
        tmp: &std::path::Path,
    ) -> Result<(Vec<String>, BTreeMap<String, String>), BuildError> {
        let io_err = |what: &str, e: std::io::Error| BuildError::Config {
            image: name.to_string(),
            message: format!("mount {what}: {e}"),
        };
        let mut binds = Vec::new();
        let mut points: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, m) in s.mount.iter().enumerate() {
            let to = davit_pathmatch::clean(m.to.as_ref().map_or("", |t| t.0.as_str()));
            let from = m.from.as_ref().map_or("", |t| t.0.as_str());
            let (host, label) = match (from, m.from_path.as_ref()) {
                ("tmp_dir", _) => (
                    tmp.join(i.to_string()),
                    "werf-mount-type-tmp-dir".to_string(),
                ),
                ("build_dir", _) => {
                    let slug = to.trim_start_matches('/').replace('/', "-");
                    let dir = self
                        .local_cache
                        .join("build_dir")
                        .join(self.project)
                        .join(slug);
                    (dir, "werf-mount-type-build-dir".to_string())
                }
                (_, Some(path)) => {
                    let dir = self.repo.work_tree().join(self.project_dir).join(&path.0);
                    let label = format!("werf-mount-type-custom-dir-{}", path.0.replace('/', "--"));
                    (dir, label)
                }
                _ => continue,
            };
            std::fs::create_dir_all(&host).map_err(|e| io_err(&to, e))?;
            binds.push(format!("{}:{to}", host.display()));
            points.entry(label).or_default().push(to);
        }
        let labels = points.into_iter().map(|(k, v)| (k, v.join(";"))).collect();
        Ok((binds, labels))
    }

    /// The service variables werf gives every stapel stage (not part of
    /// any digest).
    fn commit_env(&self) -> [(&'static str, String); 3] {
        let head = self.repo.head();
        [
            ("WERF_COMMIT_HASH", self.commit.to_string()),
            (
                "WERF_COMMIT_TIME_HUMAN",
                human_time(head.author_unix, head.author_offset),
            ),
            ("WERF_COMMIT_TIME_UNIX", head.author_unix.to_string()),
        ]
    }
}

/// Go's `time.Time.String()` of the commit time: `2006-01-02 15:04:05
/// -0700 -0700` (Go prints the offset twice when the zone has no name).
fn human_time(unix: i64, offset: i32) -> String {
    let local = unix + i64::from(offset);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    let zone = format!("{sign}{:02}{:02}", off / 3600, off % 3600 / 60);
    let name = if offset == 0 {
        "UTC".to_string()
    } else {
        zone.clone()
    };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} {zone} {name}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_times_print_as_go_prints_them() {
        assert_eq!(human_time(0, 0), "1970-01-01 00:00:00 +0000 UTC");
        // 2024-01-02T15:04:05+03:00
        assert_eq!(
            human_time(1_704_197_045, 3 * 3600),
            "2024-01-02 15:04:05 +0300 +0300"
        );
        assert_eq!(human_time(951_782_400, 0), "2000-02-29 00:00:00 +0000 UTC");
    }
}
