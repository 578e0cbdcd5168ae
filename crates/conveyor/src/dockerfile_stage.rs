//! The `dockerfile` stage of an image: found in the primary storage,
//! copied from a secondary repository, or built by the daemon and
//! published under the host lock.

use std::cell::RefCell;
use std::time::Instant;

use super::error::{dockerfile_error, BuildError};
use super::inputs::DockerfileInputs;
use super::record::StoredStage;
use super::{Conveyor, Event};
use davit_context::archive::{build_context_with, ContextSpec};
use davit_dockerfile::labels::with_labels;
use davit_engine::{BuildRequest, DockerError};
use davit_storage::Published;

impl Conveyor<'_> {
    pub(super) async fn dockerfile_stage(
        &self,
        inputs: &DockerfileInputs,
        digest: &str,
        platform: &str,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<StoredStage, BuildError> {
        let started = Instant::now();
        let name = inputs.name.as_str();
        let storage_err = |source| BuildError::Storage {
            image: name.to_string(),
            source: Box::new(source),
        };
        let stored = |desc, rebuilt, source_type: &str| StoredStage {
            name: "dockerfile",
            desc,
            rebuilt,
            source_type: source_type.to_string(),
            seconds: started.elapsed().as_secs_f64(),
        };
        if let Some(desc) = self
            .oldest_readable_stage(name, digest, 0, on_event)
            .await?
        {
            return Ok(stored(desc, false, ""));
        }
        if let Some((id, copied)) = self
            .copy_from_secondary(digest, 0)
            .await
            .map_err(storage_err)?
        {
            let desc = self.describe(name, &id).await?;
            return Ok(stored(desc, copied, if copied { "secondary" } else { "" }));
        }
        if self.require_built {
            return Err(BuildError::NotBuilt {
                image: name.to_string(),
                stage: "dockerfile",
                digest: digest.to_string(),
            });
        }
        let local_tag = self.build_stage(inputs, digest, platform, on_event).await?;
        // Keep `<repo>:<stage id>` locally too: a later image built on this
        // one then finds it without a pull.
        let push_started = Instant::now();
        let published = self
            .storage
            .publish(self.engine, &local_tag, self.project, digest)
            .await
            .map_err(storage_err)?;
        let rebuilt = matches!(published, Published::Pushed(_));
        if rebuilt && !self.storage.is_local() {
            self.op_stats
                .record(davit_report::opstats::IMAGE_PUSH, push_started);
        }
        let desc = self.describe(name, published.id()).await?;
        Ok(stored(desc, rebuilt, ""))
    }

    /// Builds the stage from the commit's context with werf's labels;
    /// returns the local tag of the result.
    async fn build_stage(
        &self,
        inputs: &DockerfileInputs,
        digest: &str,
        platform: &str,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<String, BuildError> {
        let name = inputs.name.as_str();
        let (dependency_args, dependency_labels) = inputs.dependencies(platform);
        let mut labels = dependency_labels.clone();
        labels.insert("werf".into(), self.project.to_string());
        labels.insert(
            "werf-version".into(),
            davit_storage::WERF_COMPAT_VERSION.to_string(),
        );
        labels.insert(
            "werf-stage-content-digest".into(),
            davit_digest::hash::content_digest(platform, "dockerfile", digest),
        );
        labels.insert("werf-project-repo-commit".into(), self.commit.to_string());
        let (labelled, api_labels) =
            with_labels(&inputs.dockerfile_text, inputs.target.as_deref(), &labels)
                .map_err(|e| dockerfile_error(name, &inputs.df_path, &e.to_string()))?;
        let archive = build_context_with(
            self.repo,
            &ContextSpec {
                context: &inputs.context,
                dockerfile: &inputs.dockerfile,
                dockerfile_text: Some(&labelled),
                add_files: &inputs.add_files,
                ignore: &inputs.dockerignore,
            },
        )
        .map_err(|source| BuildError::Context {
            image: name.to_string(),
            source,
        })?;
        let mut build_args = inputs.args.clone();
        build_args.extend(dependency_args.clone());
        let auth = self
            .storage
            .registry_auth()
            .map_err(|source| BuildError::Storage {
                image: name.to_string(),
                source: Box::new(source),
            })?;
        let local_tag = format!("{}:{digest}", self.project);
        let build_started = Instant::now();
        let built = self
            .engine
            .build(
                BuildRequest {
                    context_tar: archive.tar,
                    dockerfile: &inputs.dockerfile,
                    target: inputs.target.as_deref(),
                    build_args: &build_args,
                    labels: &api_labels,
                    add_host: &inputs.add_host,
                    network: inputs.network.as_deref(),
                    tag: &local_tag,
                    registry_auth: auth.as_ref().map(|(h, c)| (h.as_str(), c)),
                    builder: inputs.builder,
                    secrets: &inputs.secrets,
                    ssh: inputs.ssh,
                    platform,
                },
                |line| (on_event.borrow_mut())(Event::Line { image: name, line }),
            )
            .await;
        self.op_stats
            .record(davit_report::opstats::IMAGE_BUILD, build_started);
        built.map_err(|source| build_error(inputs, source))?;
        Ok(local_tag)
    }
}

/// A failed build as the user should read it: Dockerfile errors (from the
/// classic builder's 400 or inside BuildKit's solve error) name the file
/// and line; the rest names the image.
fn build_error(inputs: &DockerfileInputs, source: DockerError) -> BuildError {
    const LLB: &str = "failed to create LLB definition: ";
    if let Some(message) = source.bad_request_message() {
        return dockerfile_error(&inputs.name, &inputs.df_path, message);
    }
    match source {
        DockerError::BuildFailed { message, .. }
            if message.contains("dockerfile parse error") || message.contains(LLB) =>
        {
            let start = message
                .find("dockerfile parse error")
                .or_else(|| message.find(LLB).map(|i| i + LLB.len()))
                .unwrap_or(0);
            let mut text = message[start..].to_string();
            // An old daemon's built-in frontend reads a heredoc body as
            // instructions.
            if text.contains("unknown instruction") && inputs.has_heredocs {
                text.push_str(
                    "\n  hint: this Dockerfile uses here-documents (<<EOF), which the Docker \
                     daemon's built-in Dockerfile frontend supports from Docker 23 on; upgrade \
                     the daemon",
                );
            }
            dockerfile_error(&inputs.name, &inputs.df_path, &text)
        }
        source => BuildError::Docker {
            image: inputs.name.clone(),
            source: Box::new(source),
        },
    }
}
