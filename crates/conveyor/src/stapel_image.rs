//! One stapel image: for each platform, its stages in werf's order
//! (davit-stapel), each found in the stages storage or made. The stages
//! davit writes itself — `from`, `gitArchive`, `gitCache`,
//! `gitLatestPatch`, imports, `dockerInstructions` — are composed in the
//! storage from the previous stage, a layer davit wrote and a rewritten
//! config: no daemon, no pull, no container. `imageSpec` is the rewrite
//! Dockerfile images use; shell stages run in a container
//! (stapel_shell.rs).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use davit_config::model::StapelImage;
use davit_config::parse::{ImageDoc, ImageKind};
use davit_stapel::docker::DockerInstructions;
use davit_stapel::layer::{archive_layer, MappingFiles, Ownership};
use davit_stapel::patch::{patch_layer, MappingPatch};
use davit_stapel::pipeline::written_base;
use davit_stapel::GitMapping;
use davit_stapel::{BaseImage, Pipeline, PipelineInput, StageName};
use davit_storage::compose::{NewLayer, StageBase};
use davit_storage::{Published, StageDescription, StageId};
use serde_json::Value;

use super::inputs::Done;
use super::owner_names::{may_write_etc, UserFiles};
use super::record::{PlatformStages, StoredStage};
use super::stapel_chain::StapelChain;
use super::stapel_imports::{
    import_labels, pick_stage, resolve_dependencies, stage_inputs, Dependencies, ResolvedImport,
};
use super::{BuildError, Conveyor, Event, ImageOutcome};
use crate::image_spec::ImageSpecStage;

/// The stage to find or make next.
pub(super) struct StageStep<'a> {
    pub stage: StageName,
    pub deps: &'a str,
    /// The mappings' changes, for `gitLatestPatch`.
    pub patches: Option<&'a [MappingPatch]>,
    /// The imports of a `dependencies*` stage.
    pub imports: &'a [ResolvedImport],
    /// The `dependencies[]` of a `dependencies*` stage.
    pub dependencies: &'a Dependencies,
}

/// What one image's stages are built from, fixed before the first stage.
pub(super) struct StapelBuild<'a> {
    pub name: &'a str,
    pub stapel: &'a StapelImage,
    pub pipeline: Pipeline,
    /// What `from` starts from.
    pub base: StageBase,
    /// The stage `from` is based on, for its parent label.
    pub base_stage: Option<StageDescription>,
}

/// A stapel error as the build reports it, the image named once.
pub(super) fn stapel_err(name: &str, e: davit_stapel::StapelError) -> BuildError {
    let text = e.to_string();
    let prefix = format!("image {name:?}: ");
    BuildError::Config {
        image: name.to_string(),
        message: text.strip_prefix(&prefix).unwrap_or(&text).to_string(),
    }
}

/// Each mapping with the repository it reads, its ids and its patch.
pub(super) fn mapping_files<'r>(
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
pub(super) fn git_labels(
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
}
