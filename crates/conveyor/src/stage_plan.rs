//! `davit build --plan`: for every image, in build order, its stages with
//! their digests and whether the stages storage already has each one.
//! Nothing is built, pulled or written: storage is only listed and read.
//!
//! A stage's digest can depend on something only a build knows (the
//! stored stage a dependency will become, a git patch not computed yet);
//! such a stage and the ones after it are shown without a digest and with
//! the reason. A problem in one image (an unsupported feature, a mapping
//! that takes no file) is reported on that image; the others still plan.

use std::collections::BTreeMap;

use davit_config::model::StapelImage;
use davit_config::parse::{ImageDoc, ImageKind};
use davit_digest::hash::stage_h3;
use davit_report::ImageRecord;
use davit_stapel::{BaseImage, StageName};
use davit_storage::{StageDescription, StorageError};

use super::image_spec::ImageSpecStage;
use super::inputs::Done;
use super::record::{ImagePlace, PlatformStages, StoredStage};
use super::stapel_chain::StapelChain;
use super::stapel_imports::{pick_stage, resolve_dependencies, stage_inputs};
use super::{build_order, BuildError, Conveyor};

/// One stage of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagePlan {
    /// werf's stage name (`from`, `install`, `dockerfile`, …).
    pub name: String,
    /// `None` when it depends on what a build has not produced yet.
    pub digest: Option<String>,
    /// The stored stage (`<digest>-<ts>`) the build would use.
    pub stored: Option<String>,
    /// Why the digest is unknown.
    pub note: Option<String>,
}

/// The plan of one image for one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePlan {
    pub image: String,
    /// `dockerfile`, `stapel` or `artifact`.
    pub kind: &'static str,
    pub platform: String,
    pub stages: Vec<StagePlan>,
    /// Why the image cannot be planned (or built) by this davit.
    pub problem: Option<String>,
    pub warnings: Vec<String>,
}

impl ImagePlan {
    /// Whether a build would find every stage in storage.
    pub fn up_to_date(&self) -> bool {
        self.problem.is_none()
            && !self.stages.is_empty()
            && self.stages.iter().all(|s| s.stored.is_some())
    }
}

/// The last stage of a planned image, for the images built on it.
struct Last {
    content_digest: Option<String>,
    /// Every stage stored: the image's record as a build would report it.
    record: Option<ImageRecord>,
}

fn kind_name(kind: ImageKind) -> &'static str {
    match kind {
        ImageKind::Dockerfile => "dockerfile",
        ImageKind::Stapel => "stapel",
        ImageKind::Artifact => "artifact",
    }
}

impl Conveyor<'_> {
    /// Plans `selected` images (all when empty) and their dependencies.
    pub async fn plan(&self, selected: &[String]) -> Result<Vec<ImagePlan>, BuildError> {
        let order = build_order(self.config, selected)?;
        let mut lasts: BTreeMap<(String, String), Last> = BTreeMap::new();
        let mut plans = Vec::new();
        for img in order {
            let (own, dockerfile_platforms) = match (&img.dockerfile, &img.stapel) {
                (Some(df), _) => (&df.platform.0, true),
                (_, Some(s)) => (&s.platform.0, false),
                _ => continue,
            };
            let platforms = match davit_digest::platform::resolve(
                self.forced_platforms,
                own,
                &self.config.meta.build.platform.0,
            ) {
                Ok(p) => p,
                Err(problem) => {
                    plans.push(problem_plan(img, "", problem));
                    continue;
                }
            };
            for platform in platforms {
                let (plan, last) = if dockerfile_platforms {
                    self.plan_dockerfile(img, &platform, &lasts).await
                } else {
                    self.plan_stapel(img, &platform, &lasts).await
                };
                lasts.insert((img.name.clone(), platform), last);
                plans.push(plan);
            }
        }
        Ok(plans)
    }

    /// The oldest readable stage with `digest` that `select` accepts;
    /// only reads.
    pub(super) async fn find_stage(
        &self,
        digest: &str,
        parent_ts: i64,
        select: impl Fn(&StageDescription) -> bool,
    ) -> Result<Option<StageDescription>, StorageError> {
        for id in self.storage.stages(self.engine, digest, parent_ts).await? {
            if let Some(desc) = self.storage.describe(self.engine, &id).await? {
                if select(&desc) {
                    return Ok(Some(desc));
                }
            }
        }
        Ok(None)
    }

    async fn plan_dockerfile(
        &self,
        img: &ImageDoc,
        platform: &str,
        lasts: &BTreeMap<(String, String), Last>,
    ) -> (ImagePlan, Last) {
        let mut plan = empty_plan(img, platform);
        let unknown = Last {
            content_digest: None,
            record: None,
        };
        let Some(df) = img.dockerfile.as_ref() else {
            return (plan, unknown);
        };
        if df.staged == Some(true)
            || (df.staged.is_none() && self.config.meta.build.staged == Some(true))
        {
            plan.problem = Some("`staged: true` is not supported by davit yet".into());
            return (plan, unknown);
        }
        // The digest includes the built images of `dependencies`.
        let mut records = BTreeMap::new();
        for dep in &img.depends_on.dependencies {
            match lasts
                .get(&(dep.clone(), platform.to_string()))
                .and_then(|l| l.record.clone())
            {
                Some(r) => {
                    records.insert(dep.clone(), r);
                }
                None => {
                    plan.stages.push(StagePlan {
                        name: "dockerfile".into(),
                        digest: None,
                        stored: None,
                        note: Some(format!(
                            "its digest includes the image {dep:?}, which is not in storage yet"
                        )),
                    });
                    return (plan, unknown);
                }
            }
        }
        let by_platform = BTreeMap::new();
        let done = Done {
            images: &records,
            by_platform: &by_platform,
        };
        let platforms = [platform.to_string()];
        let digest = match self
            .dockerfile_inputs(&img.name, df, &platforms, &done)
            .and_then(|inputs| self.dockerfile_stage_digest(&inputs, platform))
        {
            Ok(d) => d,
            Err(e) => {
                plan.problem = Some(e.to_string());
                return (plan, unknown);
            }
        };
        let mut found = Vec::new();
        let desc = match self.find_stage(&digest, 0, |_| true).await {
            Ok(d) => d,
            Err(e) => {
                plan.problem = Some(e.to_string());
                return (plan, unknown);
            }
        };
        plan.stages
            .push(stage_plan("dockerfile", &digest, desc.as_ref()));
        let mut prev_digest = digest;
        let mut prev_desc = desc.clone();
        found.extend(desc.map(|d| ("dockerfile", d)));
        if let Some(spec) = ImageSpecStage::for_image(
            df.image_spec.as_ref(),
            self.config.meta.build.image_spec.as_ref(),
            img.is_final,
        ) {
            let digest = spec.digest(&prev_digest, platform);
            let desc = match &prev_desc {
                Some(prev) => self
                    .find_stage(&digest, prev.id.creation_ts, |_| true)
                    .await
                    .unwrap_or(None),
                None => None,
            };
            plan.stages
                .push(stage_plan("imageSpec", &digest, desc.as_ref()));
            found.extend(desc.clone().map(|d| ("imageSpec", d)));
            prev_digest = digest;
            prev_desc = desc;
        }
        let name = plan.stages.last().map_or("dockerfile", |s| s.name.as_str());
        let content_digest = match &prev_desc {
            Some(d) => d.labels.get("werf-stage-content-digest").cloned(),
            None => Some(stage_h3(
                platform,
                &["1.2", &format!("{name}-content"), "", &prev_digest, ""],
            )),
        };
        let record = self.planned_record(img, platform, found, plan.stages.len());
        (
            plan,
            Last {
                content_digest,
                record,
            },
        )
    }

    /// The record a build would report when every stage is stored.
    fn planned_record(
        &self,
        img: &ImageDoc,
        platform: &str,
        found: Vec<(&'static str, StageDescription)>,
        stage_count: usize,
    ) -> Option<ImageRecord> {
        if found.len() != stage_count || found.is_empty() {
            return None;
        }
        let part = PlatformStages {
            platform: platform.to_string(),
            stages: found
                .into_iter()
                .map(|(name, desc)| StoredStage {
                    name,
                    desc,
                    rebuilt: false,
                    source_type: String::new(),
                    seconds: 0.0,
                })
                .collect(),
            seconds: 0.0,
        };
        let place = ImagePlace {
            name: &img.name,
            config_type: if img.kind == ImageKind::Dockerfile {
                "dockerfile"
            } else {
                "stapel"
            },
            is_final: img.is_final,
            storage_address: self.storage.address(),
            final_copy: None,
        };
        Some(place.record(&part))
    }

    async fn plan_stapel(
        &self,
        img: &ImageDoc,
        platform: &str,
        lasts: &BTreeMap<(String, String), Last>,
    ) -> (ImagePlan, Last) {
        let mut plan = empty_plan(img, platform);
        let unknown = Last {
            content_digest: None,
            record: None,
        };
        let Some(s) = img.stapel.as_ref() else {
            return (plan, unknown);
        };
        let unsupported = davit_stapel::support::unsupported_features(s);
        if !unsupported.is_empty() {
            plan.problem = Some(format!(
                "uses {}, which davit does not support yet",
                unsupported.join(", ")
            ));
            return (plan, unknown);
        }
        let base = match self.stapel_base(img, s, platform, lasts) {
            Ok(b) => b,
            Err(note) => {
                plan.stages.push(StagePlan {
                    name: "from".into(),
                    digest: None,
                    stored: None,
                    note: Some(note),
                });
                return (plan, unknown);
            }
        };
        let remotes = match self.fetch_remotes(&img.name, s) {
            Ok(r) => r,
            Err(e) => {
                plan.problem = Some(e.to_string());
                return (plan, unknown);
            }
        };
        let pipeline = match self.stapel_pipeline(img, s, base, platform, &remotes).await {
            Ok(p) => p,
            Err(e) => {
                plan.problem = Some(e.to_string());
                return (plan, unknown);
            }
        };
        plan.warnings = pipeline.warnings.clone();
        let patches = img.kind != ImageKind::Artifact && s.disable_git_after_patch != Some(true);
        let (repos, current) = self.mapping_repos(&pipeline, &remotes);
        let mut chain = StapelChain::new(&pipeline, repos, current, platform, patches);
        let spec = ImageSpecStage::for_image(
            s.image_spec.as_ref(),
            self.config.meta.build.image_spec.as_ref(),
            img.is_final,
        );
        let mut found = Vec::new();
        let stages = StapelChain::stages(&pipeline, spec.as_ref());
        let mut walk: Vec<Option<(StageName, String)>> = stages.into_iter().map(Some).collect();
        walk.push(None);
        let mut blocked: Option<String> = None;
        for next in walk {
            // The patch stage, when due, comes before dockerInstructions,
            // imageSpec or the end.
            let next_name = next.as_ref().map(|(n, _)| *n);
            let mut pending = next;
            loop {
                let patch = match &blocked {
                    Some(_) => Ok(None),
                    None => chain.patch_stage(next_name),
                };
                let (name, deps) = match patch {
                    Ok(Some((stage, deps, _))) => (stage, deps),
                    Ok(None) => match pending.take() {
                        Some(stage) => stage,
                        None => break,
                    },
                    Err(problem) => {
                        plan.problem = Some(problem);
                        return (plan, unknown);
                    }
                };
                if let Some(note) = &blocked {
                    plan.stages.push(StagePlan {
                        name: name.as_str().into(),
                        digest: None,
                        stored: None,
                        note: Some(note.clone()),
                    });
                    continue;
                }
                let deps = if name.is_dependencies() {
                    let source_of = |image: &str, stage: &str| {
                        let last = lasts.get(&(image.to_string(), platform.to_string()))?;
                        pick_stage(last.record.as_ref()?, stage)
                    };
                    let resolved = self
                        .resolve_imports(
                            Some(self.storage),
                            &img.name,
                            name,
                            &pipeline.imports,
                            &source_of,
                            false,
                            platform,
                        )
                        .await;
                    let record_of = |image: &str| {
                        lasts
                            .get(&(image.to_string(), platform.to_string()))?
                            .record
                            .clone()
                    };
                    let dependencies =
                        resolve_dependencies(&pipeline.dependencies, name, &record_of);
                    match (resolved, dependencies) {
                        (Ok(Some(r)), Some(d)) => stage_inputs(&r, &d),
                        (Ok(_), _) => {
                            let note = "it takes checksums and image names that are known once the images it imports from or depends on are built".to_string();
                            plan.stages.push(StagePlan {
                                name: name.as_str().into(),
                                digest: None,
                                stored: None,
                                note: Some(note.clone()),
                            });
                            blocked = Some(note);
                            continue;
                        }
                        (Err(e), _) => {
                            plan.problem = Some(e.to_string());
                            return (plan, unknown);
                        }
                    }
                } else {
                    deps
                };
                let digest = chain.digest(name, &deps, spec.as_ref());
                let desc = match self
                    .find_stage(&digest, chain.parent_ts(), |d| chain.selectable(name, d))
                    .await
                {
                    Ok(d) => d,
                    Err(e) => {
                        plan.problem = Some(e.to_string());
                        return (plan, unknown);
                    }
                };
                plan.stages
                    .push(stage_plan(name.as_str(), &digest, desc.as_ref()));
                if let Some(d) = &desc {
                    found.push((name.as_str(), d.clone()));
                }
                chain.advance(name, digest, desc);
            }
        }
        if blocked.is_some() {
            return (plan, unknown);
        }
        let count = plan.stages.len();
        let record = self.planned_record(img, platform, found, count);
        (
            plan,
            Last {
                content_digest: chain.content_digest(),
                record,
            },
        )
    }

    /// What `from` builds on; `Err` with the reason when it is an image of
    /// this config whose content is not known yet.
    fn stapel_base(
        &self,
        img: &ImageDoc,
        s: &StapelImage,
        platform: &str,
        lasts: &BTreeMap<(String, String), Last>,
    ) -> Result<BaseImage, String> {
        if let Some(dep) = &img.depends_on.from {
            return match lasts
                .get(&(dep.clone(), platform.to_string()))
                .and_then(|l| l.content_digest.clone())
            {
                Some(content_digest) => Ok(BaseImage::Image {
                    name: dep.clone(),
                    content_digest,
                }),
                None => Err(format!(
                    "builds on the image {dep:?}, whose content is not known until it is built"
                )),
            };
        }
        davit_stapel::pipeline::written_base(&img.name, s)
    }
}

fn empty_plan(img: &ImageDoc, platform: &str) -> ImagePlan {
    ImagePlan {
        image: img.name.clone(),
        kind: kind_name(img.kind),
        platform: platform.to_string(),
        stages: Vec::new(),
        problem: None,
        warnings: Vec::new(),
    }
}

fn problem_plan(img: &ImageDoc, platform: &str, problem: String) -> ImagePlan {
    ImagePlan {
        problem: Some(problem),
        ..empty_plan(img, platform)
    }
}

fn stage_plan(name: &str, digest: &str, desc: Option<&StageDescription>) -> StagePlan {
    StagePlan {
        name: name.to_string(),
        digest: Some(digest.to_string()),
        stored: desc.map(|d| d.id.to_string()),
        note: None,
    }
}
