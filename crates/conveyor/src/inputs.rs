//! Everything a Dockerfile image's stages are made from, read once per
//! image: the Dockerfile, context, `.dockerignore`, `contextAddFiles`,
//! args, the results of its dependencies, secrets and the builder. Nothing
//! here depends on the target platform; the digest does.

use std::collections::BTreeMap;

use davit_config::model::DockerfileImage;
use davit_config::project::Mode;

use super::error::{dockerfile_error, BuildError};
use super::Conveyor;
use davit_context::add_files::{read_add_files, AddFile};
use davit_context::archive::{load_dockerignore_from, ContextError};
use davit_context::dockerignore::Dockerignore;
use davit_digest::hash::h256;
use davit_engine::secrets::BuildSecret;
use davit_engine::Builder;
use davit_report::ImageRecord;

type StringMap = BTreeMap<String, String>;

pub(super) struct DockerfileInputs {
    pub name: String,
    /// Repository-relative; `.` is the root.
    pub context: String,
    /// Context-relative.
    pub dockerfile: String,
    /// Repository-relative, for messages and status checks.
    pub df_path: String,
    pub dockerfile_text: String,
    /// Read from the work tree (`allowUncommitted`, loose mode).
    pub dockerfile_from_disk: bool,
    pub args: BTreeMap<String, String>,
    /// Per target platform: the build args that carry the results of
    /// dependencies, and the `werf-dependency-stage-id-*` labels. A
    /// multi-platform dependency gives each platform its own record.
    pub dependencies: BTreeMap<String, (StringMap, StringMap)>,
    /// The `.dockerignore` in effect and its path.
    pub dockerignore: (Dockerignore, Option<String>),
    pub add_files: Vec<AddFile>,
    /// Untracked files of the context git does not ignore (a COPY that
    /// matches one is refused).
    pub untracked: Vec<String>,
    pub secrets: Vec<BuildSecret>,
    pub ssh: bool,
    pub target: Option<String>,
    pub network: Option<String>,
    pub add_host: Vec<String>,
    pub cache_version: Option<String>,
    pub has_heredocs: bool,
    pub builder: Builder,
}

/// A YAML value as Go's `fmt.Sprintf("%v")` prints the scalars werf sees.
fn arg_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

pub(super) fn text(t: &Option<davit_config::model::Text>) -> Option<&str> {
    t.as_ref().map(|t| t.0.as_str()).filter(|s| !s.is_empty())
}

impl Conveyor<'_> {
    /// Whether a `.dockerignore` at `path` (repository-relative) is read
    /// from the work tree: loose mode, or
    /// `config.dockerfile.allowUncommittedDockerignoreFiles`
    /// (project-relative globs).
    pub(super) fn dockerignore_from_disk(&self, path: &str) -> bool {
        let in_project = path
            .strip_prefix(&format!("{}/", self.project_dir))
            .unwrap_or(path);
        self.mode == Mode::Loose
            || self
                .giterminism
                .allow_uncommitted_dockerignore
                .iter()
                .any(|g| g.matches(in_project))
    }

    pub(super) fn dockerfile_inputs(
        &self,
        name: &str,
        df: &DockerfileImage,
        platforms: &[String],
        done: &Done<'_>,
    ) -> Result<DockerfileInputs, BuildError> {
        let cfg_err = |message: String| BuildError::Config {
            image: name.to_string(),
            message,
        };
        let ctx_err = |source| BuildError::Context {
            image: name.to_string(),
            source,
        };
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
        let dockerfile_from_disk = self.mode == Mode::Loose
            || self
                .giterminism
                .allow_uncommitted_dockerfiles
                .iter()
                .any(|g| g.matches(df_in_project));
        let read = if dockerfile_from_disk {
            std::fs::read(self.repo.work_tree().join(&df_path)).ok()
        } else {
            self.repo
                .read(&df_path)
                .map_err(|e| ctx_err(ContextError::Git(e)))?
        };
        let Some(bytes) = read else {
            return Err(ctx_err(ContextError::MissingDockerfile {
                context: context.clone(),
                path: dockerfile.clone(),
            }));
        };
        let dockerfile_text = String::from_utf8_lossy(&bytes).into_owned();
        let args: BTreeMap<String, String> = df
            .args
            .iter()
            .map(|(k, v)| (k.clone(), arg_value(v)))
            .collect();
        let mut dependencies = BTreeMap::new();
        for platform in platforms {
            let view = done.for_platform(platform);
            dependencies.insert(platform.clone(), dependency_inputs(name, df, &args, &view)?);
        }
        let dockerignore = load_dockerignore_from(self.repo, &context, &dockerfile, &|p| {
            self.dockerignore_from_disk(p)
        })
        .map_err(ctx_err)?;
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
        // davit's own GitLab reports are written into the job's work tree;
        // a later build in the same job must not call them uncommitted.
        let untracked: Vec<String> =
            davit_context::sources::untracked_in_context(self.repo, &context)
                .into_iter()
                .filter(|rel| {
                    let name = rel.rsplit('/').next().unwrap_or(rel);
                    !davit_ci::output::REPORT_FILES.contains(&name)
                })
                .collect();
        // A Dockerfile that does not parse is left to the digest's error.
        let instructions = davit_dockerfile::parse::parse(&dockerfile_text)
            .map(|(instructions, _)| instructions)
            .unwrap_or_default();
        let has_heredocs = instructions.iter().any(|i| !i.heredocs.is_empty());
        let needs = if !secrets.is_empty() || ssh {
            Some("`secrets`/`ssh` in werf.yaml".to_string())
        } else {
            davit_dockerfile::features::needs_buildkit(&dockerfile_text, &instructions)
        };
        let builder = self
            .builder
            .for_dockerfile(needs.as_deref(), self.engine.has_buildkit())
            .map_err(|message| dockerfile_error(name, &df_path, &message))?;
        Ok(DockerfileInputs {
            name: name.to_string(),
            context,
            dockerfile,
            df_path,
            dockerfile_text,
            dockerfile_from_disk,
            args,
            dependencies,
            dockerignore,
            add_files,
            untracked,
            secrets,
            ssh,
            target: text(&df.target).map(str::to_string),
            network: text(&df.network).map(str::to_string),
            add_host: df.add_host.0.clone(),
            cache_version: text(&df.cache_version)
                .or(text(&self.config.meta.build.cache_version))
                .map(str::to_string),
            has_heredocs,
            builder,
        })
    }
}

/// The images finished so far: their report records, and each platform's
/// record of the multi-platform ones.
pub(super) struct Done<'a> {
    pub images: &'a BTreeMap<String, ImageRecord>,
    pub by_platform: &'a BTreeMap<String, BTreeMap<String, ImageRecord>>,
}

impl Done<'_> {
    /// What a stage for `platform` sees of each finished image: that
    /// platform's own record where there is one.
    pub(super) fn for_platform(&self, platform: &str) -> BTreeMap<String, ImageRecord> {
        self.images
            .iter()
            .map(|(name, rec)| {
                let own = self.by_platform.get(name).and_then(|p| p.get(platform));
                (name.clone(), own.unwrap_or(rec).clone())
            })
            .collect()
    }
}

impl DockerfileInputs {
    /// Dependency build args and labels for `platform`.
    pub fn dependencies(&self, platform: &str) -> (&StringMap, &StringMap) {
        static EMPTY: BTreeMap<String, String> = BTreeMap::new();
        self.dependencies
            .get(platform)
            .map(|(a, l)| (a, l))
            .unwrap_or((&EMPTY, &EMPTY))
    }
}

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
