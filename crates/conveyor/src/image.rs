//! One Dockerfile image: its inputs (inputs.rs), the `dockerfile` stage
//! digest (digest.rs) and stage (dockerfile_stage.rs), the `imageSpec`
//! stage, copies to cache and final repositories, and the report record.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use davit_config::model::DockerfileImage;
use davit_config::parse::{ImageDoc, ImageKind};

use super::error::BuildError;
use super::inputs::{DockerfileInputs, Done};
use super::record::{ImagePlace, PlatformStages};
use super::{Conveyor, Event, ImageOutcome};
use crate::image_spec::ImageSpecStage;
use davit_storage::StageId;

impl Conveyor<'_> {
    pub(super) async fn image(
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
        let df: &DockerfileImage = match (img.kind, img.dockerfile.as_ref()) {
            (ImageKind::Dockerfile, Some(d)) => d,
            _ => return self.stapel_image(img, done, on_event).await,
        };
        if df.staged == Some(true)
            || (df.staged.is_none() && self.config.meta.build.staged == Some(true))
        {
            return Err(cfg_err(
                "`staged: true` is not supported by davit yet".into(),
            ));
        }
        let platforms = davit_digest::platform::resolve(
            self.forced_platforms,
            &df.platform.0,
            &self.config.meta.build.platform.0,
        )
        .map_err(cfg_err)?;
        let inputs = self.dockerfile_inputs(name, df, &platforms, done)?;
        let image_spec = ImageSpecStage::for_image(
            df.image_spec.as_ref(),
            self.config.meta.build.image_spec.as_ref(),
            img.is_final,
        );
        if platforms.len() > 1 && self.storage.as_repo().is_none() {
            return Err(registry_required(name, &platforms));
        }
        let mut parts = Vec::new();
        for platform in &platforms {
            parts.push(
                self.platform_stages(&inputs, image_spec.as_ref(), platform, on_event)
                    .await?,
            );
        }
        self.image_outcome(name, "dockerfile", img.is_final, parts, started)
            .await
    }

    /// The report records of an image built for `parts` (one per
    /// platform): one platform's last stage is the image; several get
    /// werf's manifest list `<H3(stage IDs in platform order)>` naming
    /// them. The final image is copied to `--final-repo`.
    pub(super) async fn image_outcome(
        &self,
        name: &str,
        config_type: &'static str,
        is_final: bool,
        mut parts: Vec<PlatformStages>,
        started: Instant,
    ) -> Result<ImageOutcome, BuildError> {
        let place = |final_copy| ImagePlace {
            name,
            config_type,
            is_final,
            storage_address: self.storage.address(),
            final_copy,
        };
        if let [part] = parts.as_slice() {
            let final_copy = match part.last() {
                Some(last) if is_final => self.copy_to_final_repo(name, &last.id).await?,
                _ => None,
            };
            let record = place(final_copy).record(part);
            return Ok(ImageOutcome {
                name: name.to_string(),
                by_platform: BTreeMap::from([(part.platform.clone(), record.clone())]),
                record,
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        let Some(primary) = self.storage.as_repo() else {
            let platforms: Vec<String> = parts.iter().map(|p| p.platform.clone()).collect();
            return Err(registry_required(name, &platforms));
        };
        parts.sort_by(|a, b| a.platform.cmp(&b.platform));
        let mut members = Vec::new();
        for p in &parts {
            let Some(last) = p.last() else { continue };
            members.push((p.platform.clone(), last.id.clone()));
        }
        let ids: Vec<String> = members.iter().map(|(_, id)| id.to_string()).collect();
        let index_tag = davit_digest::hash::h3(&ids);
        let (index_digest, pushed) =
            primary
                .publish_index(&index_tag, &members)
                .await
                .map_err(|source| BuildError::Storage {
                    image: name.to_string(),
                    source: Box::new(source),
                })?;
        let final_copy = if is_final {
            self.copy_to_final_repo(name, &StageId::new(index_tag.clone(), 0))
                .await?
        } else {
            None
        };
        let place = place(final_copy);
        let record = place.aggregate_record(&index_tag, &index_digest, pushed, &parts);
        let by_platform = parts
            .iter()
            .map(|p| {
                let platform_place = ImagePlace {
                    final_copy: None,
                    ..place.clone()
                };
                (p.platform.clone(), platform_place.record(p))
            })
            .collect();
        Ok(ImageOutcome {
            name: name.to_string(),
            record,
            by_platform,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// One platform's stages: `dockerfile`, then `imageSpec` if any; the
    /// stored ones are copied to the cache repositories.
    async fn platform_stages(
        &self,
        inputs: &DockerfileInputs,
        image_spec: Option<&ImageSpecStage>,
        platform: &str,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<PlatformStages, BuildError> {
        let started = Instant::now();
        let name = inputs.name.as_str();
        let digest = self.dockerfile_stage_digest(inputs, platform)?;
        (on_event.borrow_mut())(Event::Start {
            image: name,
            stage: "dockerfile",
            digest: &digest,
        });
        let mut stages = vec![
            self.dockerfile_stage(inputs, &digest, platform, on_event)
                .await?,
        ];
        if let Some(spec) = image_spec {
            let prev = &stages[0].desc;
            let stage = self
                .image_spec_stage(name, spec, prev, "", platform, on_event)
                .await?;
            stages.push(stage);
        }
        for stage in stages.iter().filter(|s| s.rebuilt) {
            if let Err(e) = self.copy_to_cache_repos(&stage.desc.id).await {
                return Err(self.stage_in_use_error(name, &stage.desc.id, e).await);
            }
        }
        Ok(PlatformStages {
            platform: platform.to_string(),
            stages,
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// `--final-repo`: the final image (a stage or a manifest list) is
    /// copied there and the report points there.
    pub(super) async fn copy_to_final_repo(
        &self,
        name: &str,
        id: &StageId,
    ) -> Result<Option<(String, String)>, BuildError> {
        let (Some(final_repo), Some(primary)) = (self.final_repo, self.storage.as_repo()) else {
            return Ok(None);
        };
        match final_repo.copy_stage_from(primary, id).await {
            Ok(digest) => Ok(Some((final_repo.address(), digest))),
            Err(e) => Err(self.stage_in_use_error(name, id, e).await),
        }
    }
}

/// A multi-platform image's manifest list lives in the registry.
pub(super) fn registry_required(name: &str, platforms: &[String]) -> BuildError {
    BuildError::Config {
        image: name.to_string(),
        message: format!(
            "platforms {platforms:?}: a multi-platform image needs a registry --repo for its \
             manifest list; build one platform locally with --platform"
        ),
    }
}
