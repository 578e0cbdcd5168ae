//! The `imageSpec` stage of an image: found in the storage, copied from a
//! secondary repository, or made by rewriting the previous stage's config
//! (no build, no pull; in a registry no layer moves).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use super::record::StoredStage;
use super::{BuildError, Conveyor, Event};
use crate::image_spec::{apply, content_digest, ApplyContext, ImageSpecStage};
use davit_storage::{Published, StageDescription};

impl Conveyor<'_> {
    pub(super) async fn image_spec_stage(
        &self,
        name: &str,
        spec: &ImageSpecStage,
        prev: &StageDescription,
        prev_next: &str,
        platform: &str,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<StoredStage, BuildError> {
        let started = Instant::now();
        let emit = |e: Event<'_>| (on_event.borrow_mut())(e);
        let storage_err = |source| BuildError::Storage {
            image: name.to_string(),
            source: Box::new(source),
        };
        let digest = spec.digest_after(&prev.id.digest, prev_next, platform);
        let parent_ts = prev.id.creation_ts;
        let existing = self
            .oldest_readable_stage(name, &digest, parent_ts, on_event)
            .await?;
        if let Some(desc) = existing {
            return Ok(stored(desc, false, "", started));
        }
        if let Some((id, copied)) = self
            .copy_from_secondary(&digest, parent_ts)
            .await
            .map_err(storage_err)?
        {
            let desc = self.describe(name, &id).await?;
            let source = if copied { "secondary" } else { "" };
            return Ok(stored(desc, copied, source, started));
        }
        if self.require_built {
            return Err(BuildError::NotBuilt {
                image: name.to_string(),
                stage: "imageSpec",
                digest,
            });
        }
        emit(Event::Line {
            image: name,
            line: &format!("imageSpec: rewriting the image config of {}", prev.id),
        });
        let service_labels = BTreeMap::from([
            ("werf".to_string(), self.project.to_string()),
            (
                "werf-version".to_string(),
                davit_storage::WERF_COMPAT_VERSION.to_string(),
            ),
            (
                "werf-stage-content-digest".to_string(),
                content_digest(&digest, platform),
            ),
            ("werf.io/parent-stage-id".to_string(), prev.id.to_string()),
            ("werf.io/base-image-id".to_string(), prev.image_id.clone()),
        ]);
        // Rendered before anything is written: a bad template fails the
        // image, not the registry.
        let labels =
            spec.render_labels(self.project, name)
                .map_err(|message| BuildError::Config {
                    image: name.to_string(),
                    message,
                })?;
        let context = ApplyContext {
            labels: &labels,
            service_labels: &service_labels,
        };
        let mut warnings = Vec::new();
        let rewrite_started = Instant::now();
        let published = match self
            .storage
            .publish_rewritten(self.engine, self.project, &prev.id, &digest, |config| {
                warnings = apply(spec, config, &context);
            })
            .await
        {
            Ok(p) => p,
            Err(e) => return Err(self.stage_in_use_error(name, &prev.id, e).await),
        };
        if self.storage.is_local() {
            self.op_stats
                .record(davit_report::opstats::IMAGE_SAVE_LOAD, rewrite_started);
        }
        for warning in &warnings {
            emit(Event::Warning {
                image: name,
                message: warning,
            });
        }
        let rebuilt = matches!(published, Published::Pushed(_));
        let desc = self.describe(name, published.id()).await?;
        Ok(stored(desc, rebuilt, "", started))
    }
}

fn stored(desc: StageDescription, rebuilt: bool, source: &str, started: Instant) -> StoredStage {
    StoredStage {
        name: "imageSpec",
        desc,
        rebuilt,
        source_type: source.to_string(),
        seconds: started.elapsed().as_secs_f64(),
    }
}
