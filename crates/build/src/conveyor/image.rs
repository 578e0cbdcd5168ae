//! One Dockerfile image: its inputs from the commit, the stage digest,
//! then reuse, copy from a secondary repository, or build and publish.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Instant;

use davit_config::model::DockerfileImage;
use davit_config::parse::{ImageDoc, ImageKind};

use super::error::{dockerfile_error, BuildError};
use super::record::{StoredImage, StoredStage};
use super::{Conveyor, Event, ImageOutcome, PLATFORM};
use crate::context::add_files::read_add_files;
use crate::context::archive::{
    build_context_with, dockerignore_candidates, load_dockerignore_from, ContextError, ContextSpec,
};
use crate::context::sources::{sources_checksum, untracked_in_context};
use crate::docker::{BuildRequest, DockerError};
use crate::dockerfile::labels::with_labels;
use crate::dockerfile::{dockerfile_digest, DigestInput};
use crate::hash::{h256, h3};
use crate::image_spec::ImageSpecStage;
use crate::report::ImageRecord;
use crate::storage::Published;

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
    pub(super) async fn image(
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
        let secrets =
            crate::secrets::resolve(&df.secrets, &self.repo.work_tree().join(self.project_dir))
                .map_err(cfg_err)?;
        let ssh = match text(&df.ssh) {
            None => false,
            Some("default") if std::env::var_os("SSH_AUTH_SOCK").is_some() => true,
            Some("default") => {
                return Err(cfg_err(
                    "`ssh: default` forwards the ssh-agent of SSH_AUTH_SOCK, which is not set".into(),
                ))
            }
            Some(other) => {
                return Err(cfg_err(format!(
                    "`ssh: {other}`: davit forwards only the agent of SSH_AUTH_SOCK; write `ssh: default`"
                )))
            }
        };
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
        let loose = self.mode == davit_config::project::Mode::Loose;
        let dockerfile_from_disk = loose
            || self
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
        let (dependency_args, mut labels) = dependency_inputs(name, df, &args, done)?;

        // `config.dockerfile.allowUncommittedDockerignoreFiles` (project-
        // relative globs): such a .dockerignore is read from the work tree.
        let dockerignore_allowed = |path: &str| {
            let in_project = path
                .strip_prefix(&format!("{}/", self.project_dir))
                .unwrap_or(path);
            loose
                || self
                    .giterminism
                    .allow_uncommitted_dockerignore
                    .iter()
                    .any(|g| g.matches(in_project))
        };
        let dockerignore =
            load_dockerignore_from(self.repo, &context, &dockerfile, &dockerignore_allowed)
                .map_err(ctx_err)?;
        let ignore = &dockerignore.0;
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
            let sums = sources_checksum(self.repo, &context, ignore, srcs, &add_files, &untracked)?;
            // An allowed .dockerignore may differ even where a COPY takes it.
            uncommitted.borrow_mut().extend(
                sums.uncommitted
                    .into_iter()
                    .filter(|(path, _)| !dockerignore_allowed(path)),
            );
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
        let has_heredocs = crate::dockerfile::parse::parse(&dockerfile_text)
            .map(|(instructions, _)| instructions.iter().any(|i| !i.heredocs.is_empty()))
            .unwrap_or(false);
        let needs = if !secrets.is_empty() || ssh {
            Some("`secrets`/`ssh` in werf.yaml".to_string())
        } else {
            crate::dockerfile::features::needs_buildkit(&dockerfile_text)
        };
        let builder = self
            .builder
            .for_dockerfile(needs.as_deref(), self.engine.has_buildkit())
            .map_err(|message| dockerfile_error(name, &df_path, &message))?;
        // The .dockerignore decides what the image gets: the one in effect
        // (or one that would take effect) must be as committed.
        for path in dockerignore_candidates(&context, &dockerfile) {
            if dockerignore_allowed(&path) {
                continue;
            }
            match self.repo.worktree_state(&path) {
                davit_git::WorktreeState::Unchanged | davit_git::WorktreeState::Absent => {}
                davit_git::WorktreeState::Untracked => {
                    uncommitted.borrow_mut().insert((path.clone(), true));
                }
                _ => {
                    uncommitted.borrow_mut().insert((path.clone(), false));
                }
            }
            if dockerignore.1.as_deref() == Some(path.as_str()) {
                break;
            }
        }
        let uncommitted = uncommitted.into_inner();
        // Only giterministic builds check the work tree: --dev builds it
        // (minus --dev-ignore, which keeps the commit's version), and
        // --loose-giterminism checks nothing.
        if !uncommitted.is_empty() && self.mode == davit_config::project::Mode::Giterministic {
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
        let existing = self
            .oldest_readable_stage(name, &digest, 0, on_event)
            .await?;
        let mut source_type = String::new();
        let from_secondary = match existing {
            Some(_) => None,
            None => self
                .copy_from_secondary(&digest, 0)
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
                    &ContextSpec {
                        context: &context,
                        dockerfile: &dockerfile,
                        dockerfile_text: Some(&labelled),
                        add_files: &add_files,
                        ignore: &dockerignore,
                    },
                )
                .map_err(ctx_err)?;
                let mut build_args = args.clone();
                build_args.extend(dependency_args.clone());
                let network = text(&df.network);
                let auth = self.storage.registry_auth().map_err(storage_err)?;
                let build_started = Instant::now();
                let built = self
                    .engine
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
                            builder,
                            secrets: &secrets,
                            ssh,
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
                        // BuildKit reports them inside its solve error.
                        DockerError::BuildFailed { message, .. }
                            if message.contains("dockerfile parse error")
                                || message.contains("failed to create LLB definition") =>
                        {
                            let start = message
                                .find("dockerfile parse error")
                                .or_else(|| {
                                    message
                                        .find("failed to create LLB definition: ")
                                        .map(|i| i + "failed to create LLB definition: ".len())
                                })
                                .unwrap_or(0);
                            let mut text = message[start..].to_string();
                            // An old daemon's built-in frontend reads a
                            // heredoc body as instructions.
                            if text.contains("unknown instruction") && has_heredocs {
                                text.push_str(
                                    "\n  hint: this Dockerfile uses here-documents (<<EOF), which the \
                                     Docker daemon's built-in Dockerfile frontend supports from \
                                     Docker 23 on; upgrade the daemon",
                                );
                            }
                            dockerfile_error(name, &df_path, &text)
                        }
                        source => BuildError::Docker {
                            image: name.to_string(),
                            source: Box::new(source),
                        },
                    });
                self.op_stats
                    .record(crate::opstats::IMAGE_BUILD, build_started);
                built?;
                // Keep `<repo>:<stage id>` locally too: a later image built on
                // this one then finds it without a pull.
                let push_started = Instant::now();
                let published = self
                    .storage
                    .publish(self.engine, &local_tag, self.project, &digest)
                    .await
                    .map_err(storage_err)?;
                if matches!(published, Published::Pushed(_)) && !self.storage.is_local() {
                    self.op_stats
                        .record(crate::opstats::IMAGE_PUSH, push_started);
                }
                let rebuilt = matches!(published, Published::Pushed(_));
                (self.describe(name, published.id()).await?, rebuilt)
            }
        };
        let mut stages = vec![StoredStage {
            name: "dockerfile",
            desc,
            rebuilt,
            source_type,
            seconds: started.elapsed().as_secs_f64(),
        }];
        let image_spec = ImageSpecStage::for_image(
            df.image_spec.as_ref(),
            self.config.meta.build.image_spec.as_ref(),
            img.is_final,
        );
        if let Some(spec) = image_spec {
            let prev = &stages[0].desc;
            let stage = self.image_spec_stage(name, &spec, prev, on_event).await?;
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
        }
        .record();
        Ok(ImageOutcome {
            name: name.to_string(),
            record,
            seconds,
        })
    }
}

type StringMap = BTreeMap<String, String>;

/// Build args and labels from the images this one depends on
/// (`dependencies[].imports[]`), which are already in `done`.
fn dependency_inputs(
    name: &str,
    df: &DockerfileImage,
    args: &BTreeMap<String, String>,
    done: &BTreeMap<String, ImageRecord>,
) -> Result<(StringMap, StringMap), BuildError> {
    let cfg_err = |message: String| BuildError::Config {
        image: name.to_string(),
        message,
    };
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
    Ok((dependency_args, labels))
}
