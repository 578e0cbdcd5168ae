//! One Dockerfile image: its inputs (inputs.rs), the `dockerfile` stage
//! digest (digest.rs) and stage (dockerfile_stage.rs), the `imageSpec`
//! stage, copies to cache and final repositories, and the report record.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use davit_config::model::DockerfileImage;
use davit_config::parse::{ImageDoc, ImageKind};

use super::error::BuildError;
use super::record::StoredImage;
use super::{Conveyor, Event, ImageOutcome};
use crate::image_spec::ImageSpecStage;
use crate::report::ImageRecord;

impl Conveyor<'_> {
    pub(super) async fn image(
        &self,
        img: &ImageDoc,
        done: &BTreeMap<String, ImageRecord>,
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
        let platforms = crate::platform::resolve(
            self.forced_platforms,
            &df.platform.0,
            &self.config.meta.build.platform.0,
        )
        .map_err(cfg_err)?;
        let [platform] = platforms.as_slice() else {
            return Err(cfg_err(format!(
                "platforms {platforms:?}: davit builds one platform per image today \
                 (multi-platform images with a manifest list are planned)"
            )));
        };
        let platform = platform.as_str();
        let inputs = self.dockerfile_inputs(name, df, done)?;
        let digest = self.dockerfile_stage_digest(&inputs, platform)?;
        (on_event.borrow_mut())(Event::Start {
            image: name,
            digest: &digest,
        });
        let mut stages = vec![
            self.dockerfile_stage(&inputs, &digest, platform, on_event)
                .await?,
        ];
        let image_spec = ImageSpecStage::for_image(
            df.image_spec.as_ref(),
            self.config.meta.build.image_spec.as_ref(),
            img.is_final,
        );
        if let Some(spec) = image_spec {
            let prev = &stages[0].desc;
            let stage = self
                .image_spec_stage(name, &spec, prev, platform, on_event)
                .await?;
            stages.push(stage);
        }
        for stage in stages.iter().filter(|s| s.rebuilt) {
            if let Err(e) = self.copy_to_cache_repos(&stage.desc.id).await {
                return Err(self.stage_in_use_error(name, &stage.desc.id, e).await);
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        // A final image also goes to --final-repo, and the report points there.
        let last = stages.last().map(|s| &s.desc.id);
        let final_copy = match (self.final_repo, self.storage.as_repo(), last) {
            (Some(final_repo), Some(primary), Some(id)) if img.is_final => {
                match final_repo.copy_stage_from(primary, id).await {
                    Ok(digest) => Some((final_repo.address(), digest)),
                    Err(e) => return Err(self.stage_in_use_error(name, id, e).await),
                }
            }
            _ => None,
        };
        let record = StoredImage {
            name,
            is_final: img.is_final,
            storage_address: self.storage.address(),
            final_copy,
            stages,
            seconds,
            platform: platform.to_string(),
        }
        .record();
        Ok(ImageOutcome {
            name: name.to_string(),
            record,
            seconds,
        })
    }
}
