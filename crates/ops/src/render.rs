//! `davit render`: the project's chart rendered as `werf render` renders
//! it. The chart comes from the commit (giterminism), the secrets are
//! decrypted with werf's key, werf's service values are injected (stubs, a
//! build's images or a build report's), and the manifests are printed in
//! werf's form.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use davit_chart::chart::{crd_files, Metadata};
use davit_chart::engine::{ExtraFuncs, Release};
use davit_chart::{Capabilities, Chart, ChartFile, ValuesInput};
use davit_config::project::Mode;
use davit_deploy::{ManifestOptions, ServiceImage, ServiceValuesInput};
use davit_gotmpl::{Func, Param, Value};
use davit_secrets::{Key, KeySources};

use crate::{OpsError, Project};

/// werf's default `.Capabilities.KubeVersion` for `render`.
pub const DEFAULT_KUBE_VERSION: &str = "1.20.0";

/// Everything `render` takes besides the project and the images.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// `--values`, the `--set` family and their `WERF_*` forms, in the
    /// order they apply (see [`values_inputs`]).
    pub values: Vec<ValuesInputSpec>,
    /// `--secret-values` files (after `--values`).
    pub secret_values: Vec<String>,
    pub disable_default_values: bool,
    pub disable_default_secret_values: bool,
    /// `--ignore-secret-key`: secrets stay encrypted.
    pub ignore_secret_key: bool,
    /// `--secret-key`, else `$WERF_SECRET_KEY`.
    pub secret_key: Option<String>,
    /// `WERF_HOME` (for `global_secret_key`; default `~/.werf`).
    pub werf_home: Option<PathBuf>,
    pub namespace: Option<String>,
    pub release: Option<String>,
    pub extra_annotations: Vec<(String, String)>,
    pub extra_labels: Vec<(String, String)>,
    pub show_only: Vec<String>,
    pub include_crds: bool,
    pub kube_version: String,
    pub extra_api_versions: Vec<String>,
    /// base64 docker config for `.Values.dockerconfigjson`.
    pub docker_config_json: Option<String>,
    /// Where downloaded chart dependencies are cached (`--home-dir`,
    /// `WERF_HOME`; default `~/.davit`).
    pub cache_home: Option<PathBuf>,
    /// `--insecure-registry`: OCI chart registries over plain HTTP.
    pub insecure_registry: bool,
    /// `--skip-tls-verify-registry`.
    pub skip_tls_verify: bool,
}

/// A values input before its file is read.
#[derive(Clone, Debug)]
pub enum ValuesInputSpec {
    File(String),
    Set(davit_chart::SetKind, String),
}

/// What `render` produced.
pub struct RenderOutput {
    /// The manifests, as werf prints them.
    pub manifests: String,
    /// Lines werf prints on stdout before the manifests (the dependency
    /// download warning).
    pub notices: Vec<String>,
    /// Helm's warnings (to stderr).
    pub warnings: Vec<String>,
    pub release: String,
    pub namespace: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Chart(#[from] davit_chart::ChartError),
    #[error("{0}")]
    Deploy(#[from] davit_deploy::DeployError),
    #[error("{0}")]
    Secret(#[from] davit_secrets::SecretError),
    #[error("{0}")]
    Names(#[from] davit_deploy_params::DeployParamsError),
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// The final images of werf.yaml (what `.Values.werf.image` lists).
pub fn final_images(project: &Project) -> Vec<String> {
    project
        .loaded
        .config
        .images
        .iter()
        .filter(|i| i.is_final)
        .map(|i| i.name.clone())
        .collect()
}

/// The chart folder, project-relative: `deploy.helmChartDir` or `.helm`.
pub fn chart_dir(project: &Project) -> String {
    project
        .loaded
        .config
        .meta
        .deploy
        .helm_chart_dir
        .as_ref()
        .map(|t| t.0.trim_matches('/').to_string())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| ".helm".into())
}

/// Renders the chart with `images` (stubs when their references are `None`).
pub fn render(
    project: &Project,
    options: &RenderOptions,
    images: &[ServiceImage],
    repo: Option<&str>,
) -> Result<RenderOutput, OpsError> {
    render_inner(project, options, images, repo).map_err(|e| OpsError::Render(Box::new(e)))
}

/// A rendered release: what `render` prints and `converge` deploys.
pub struct RenderedRelease {
    pub release: String,
    pub namespace: String,
    /// werf's order (see `davit_deploy::manifests`).
    pub resources: Vec<davit_deploy::Resource>,
    pub notices: Vec<String>,
    pub warnings: Vec<String>,
    pub chart: Metadata,
    /// The chart's defaults, as the release record keeps them.
    pub chart_values: serde_json::Value,
    /// The values given (user values and werf's service values).
    pub config: serde_json::Value,
    /// The root chart's `NOTES.txt`, rendered.
    pub notes: Option<String>,
}

fn render_inner(
    project: &Project,
    options: &RenderOptions,
    images: &[ServiceImage],
    repo: Option<&str>,
) -> Result<RenderOutput, RenderError> {
    let r = render_release(project, options, images, repo)?;
    let mut resources = r.resources;
    if !options.show_only.is_empty() {
        let chart_name = r.chart.name.clone();
        let wanted: Vec<String> = options
            .show_only
            .iter()
            .map(|s| {
                let s = s.trim_start_matches("./");
                if s.starts_with(&format!("{chart_name}/")) {
                    s.to_string()
                } else {
                    format!("{chart_name}/{s}")
                }
            })
            .collect();
        for w in &wanted {
            if !resources.iter().any(|r| &r.source == w) {
                return Err(RenderError::File {
                    path: w.clone(),
                    message: "--show-only: no manifest rendered from this template".into(),
                });
            }
        }
        resources.retain(|r| wanted.contains(&r.source));
    }
    Ok(RenderOutput {
        manifests: davit_deploy::manifests::print(&resources),
        notices: r.notices,
        warnings: r.warnings,
        release: r.release,
        namespace: r.namespace,
    })
}

/// The release name and namespace werf derives (for `dismiss`).
pub fn release_names(
    project: &Project,
    namespace: Option<&str>,
    release: Option<&str>,
) -> Result<(String, String), RenderError> {
    let env = project.options.env.as_str();
    let deploy = &project.loaded.config.meta.deploy;
    let settings = davit_deploy_params::DeploySettings {
        namespace: deploy.namespace.as_ref().map(|t| t.0.clone()),
        namespace_slug: deploy.namespace_slug,
        helm_release: deploy.helm_release.as_ref().map(|t| t.0.clone()),
        helm_release_slug: deploy.helm_release_slug,
    };
    let ns = davit_deploy_params::namespace(&project.name, env, &settings, namespace)?;
    let rel = davit_deploy_params::release(&project.name, env, &ns, &settings, release)?;
    Ok((rel, ns))
}

/// Renders the release: names, chart, values, secrets, manifests.
pub fn render_release(
    project: &Project,
    options: &RenderOptions,
    images: &[ServiceImage],
    repo: Option<&str>,
) -> Result<RenderedRelease, RenderError> {
    let env = project.options.env.as_str();
    let deploy = &project.loaded.config.meta.deploy;
    let (release, namespace) = release_names(
        project,
        options.namespace.as_deref(),
        options.release.as_deref(),
    )?;

    let dir = chart_dir(project);
    let files = chart_files(project, &dir)?;
    let lock = files
        .iter()
        .find(|f| f.name == "Chart.lock" || f.name == "requirements.lock")
        .map(|f| f.data.clone());
    let defaults = Metadata {
        api_version: "v2".into(),
        name: project.name.clone(),
        version: "1.0.0".into(),
        ..Default::default()
    };
    let mut chart = davit_chart::chart::load(files, &dir, Some(&defaults))?;
    if let Some(app) = deploy
        .helm_chart_config
        .as_ref()
        .and_then(|c| c.app_version.as_ref())
    {
        chart.metadata.app_version = app.0.clone();
    }
    let mut notices = Vec::new();
    if !chart.metadata.dependencies.is_empty() {
        match &lock {
            Some(lock) => add_dependencies(project, &mut chart, &dir, lock, options)?,
            None => notices.push(
                "Cannot automatically download chart dependencies without Chart.lock or requirements.lock."
                    .to_string(),
            ),
        }
    }
    if options.disable_default_values {
        chart.values = davit_chart::values::empty();
    }

    let key = LazyKey::new(project.dir(), options);
    if !options.disable_default_secret_values {
        merge_secret_values(&mut chart, &key, &dir)?;
    }

    let mut inputs = Vec::new();
    for spec in &options.values {
        inputs.push(match spec {
            ValuesInputSpec::File(path) => ValuesInput::File {
                name: path.clone(),
                text: read_user_file(project, path)?,
            },
            ValuesInputSpec::Set(kind, text) => ValuesInput::Set {
                kind: *kind,
                text: text.clone(),
            },
        });
    }
    // --secret-values after --values (werf's order), before the --set family.
    let split = inputs
        .iter()
        .position(|i| matches!(i, ValuesInput::Set { .. }))
        .unwrap_or(inputs.len());
    for (n, path) in options.secret_values.iter().enumerate() {
        let text = read_user_file(project, path)?;
        let text = match key.get()? {
            Some(k) => {
                let y = davit_secrets::decrypt_values(&k, &text, path)?;
                davit_goyaml::marshal(&y)
            }
            None => text,
        };
        inputs.insert(
            split + n,
            ValuesInput::File {
                name: path.clone(),
                text,
            },
        );
    }
    let mut read_file = |p: &str| read_user_file(project, p).map_err(|e| e.to_string());
    let user = davit_chart::user_values(&inputs, &mut read_file)?;

    let head = project.repo.head();
    let service = davit_deploy::service_values(&ServiceValuesInput {
        project: &project.name,
        version: crate::WERF_COMPAT_VERSION,
        repo,
        commit_hash: &head.hash,
        commit_unix: head.author_unix,
        commit_offset: head.author_offset,
        namespace: &namespace,
        env,
        images,
        docker_config_json: options.docker_config_json.as_deref(),
    });
    let user = davit_chart::values::merge_maps(&user, &service);
    let prepared = davit_chart::prepare(chart, &user)?;

    let secret_files: Vec<(String, Vec<u8>)> = prepared
        .chart
        .files
        .iter()
        .filter_map(|f| {
            f.name
                .strip_prefix("secret/")
                .map(|n| (n.to_string(), f.data.clone()))
        })
        .collect();
    let extra: ExtraFuncs = Box::new(secret_file_func(secret_files, key.clone(), dir.clone()));
    let render_options = davit_chart::RenderOptions {
        release: Release {
            name: release.clone(),
            namespace: namespace.clone(),
            revision: 1,
            is_install: true,
            is_upgrade: false,
        },
        capabilities: Capabilities::new(&options.kube_version, &options.extra_api_versions),
        extra_funcs: Some(extra),
    };
    let rendered = davit_chart::render(&prepared.chart, &prepared.values, &render_options)
        .map_err(davit_chart::ChartError::Render)?;
    let crds = if options.include_crds {
        crd_files(&prepared.chart)
    } else {
        Vec::new()
    };
    let manifest_options = ManifestOptions {
        release_namespace: &namespace,
        extra_annotations: &options.extra_annotations,
        extra_labels: &options.extra_labels,
    };
    let resources =
        davit_deploy::werf_render_output(&rendered.manifests, &crds, &manifest_options)?;
    Ok(RenderedRelease {
        release,
        namespace,
        resources,
        notices,
        warnings: prepared.warnings,
        chart: prepared.chart.metadata.clone(),
        chart_values: davit_chart::values::to_json(&prepared.chart.values),
        config: davit_chart::values::to_json(&user),
        notes: rendered.notes,
    })
}

/// The key lookup's result: the key, or why there is none.
type KeyLookup = Option<Result<Option<Key>, String>>;

/// Dependencies pinned by the lock file and missing from `charts/`.
fn add_dependencies(
    project: &Project,
    chart: &mut Chart,
    dir: &str,
    lock: &[u8],
    options: &RenderOptions,
) -> Result<(), RenderError> {
    let cache_root = crate::stores::local_cache_dir(options.cache_home.as_deref());
    let lock_text = String::from_utf8_lossy(lock);
    let insecure_registries = if options.insecure_registry {
        lock_text
            .lines()
            .filter_map(|l| l.split("oci://").nth(1))
            .filter_map(|r| r.split('/').next())
            .map(str::to_string)
            .collect()
    } else {
        Vec::new()
    };
    let fetch = crate::chart_deps::FetchOptions {
        cache_root,
        insecure_registries,
        skip_tls_verify: options.skip_tls_verify,
    };
    let read_local = |sub: &str| -> Result<Chart, RenderError> {
        let files = chart_files(project, sub)?;
        Ok(davit_chart::chart::load(files, sub, None)?)
    };
    crate::chart_deps::add_missing(chart, dir, lock, &fetch, &read_local)
}

/// The secret key, looked up once and only when a secret is read.
#[derive(Clone)]
struct LazyKey {
    cell: Rc<RefCell<KeyLookup>>,
    project_dir: PathBuf,
    env_key: Option<String>,
    werf_home: Option<PathBuf>,
    ignore: bool,
}

impl LazyKey {
    fn new(project_dir: &Path, options: &RenderOptions) -> LazyKey {
        LazyKey {
            cell: Rc::default(),
            project_dir: project_dir.to_path_buf(),
            env_key: options.secret_key.clone(),
            werf_home: options.werf_home.clone(),
            ignore: options.ignore_secret_key,
        }
    }

    /// `None` with `--ignore-secret-key`.
    fn get(&self) -> Result<Option<Key>, davit_secrets::SecretError> {
        if self.ignore {
            return Ok(None);
        }
        if self.cell.borrow().is_none() {
            let found = davit_secrets::find_key(&KeySources {
                env_key: self.env_key.as_deref(),
                project_dir: &self.project_dir,
                werf_home: self.werf_home.clone(),
            })
            .map(Some)
            .map_err(|e| e.to_string());
            *self.cell.borrow_mut() = Some(found);
        }
        match self.cell.borrow().as_ref() {
            Some(Ok(k)) => Ok(k.clone()),
            Some(Err(e)) => Err(davit_secrets::SecretError::NoKey(
                e.trim_start_matches("required encryption key not found in: ")
                    .to_string(),
            )),
            None => Ok(None),
        }
    }
}

/// Merges each chart's decrypted `secret-values.yaml` over its
/// `values.yaml`.
fn merge_secret_values(chart: &mut Chart, key: &LazyKey, origin: &str) -> Result<(), RenderError> {
    if let Some(f) = chart.files.iter().find(|f| f.name == "secret-values.yaml") {
        let text = String::from_utf8_lossy(&f.data).into_owned();
        let file = format!("{origin}/secret-values.yaml");
        let decrypted = match key.get()? {
            Some(k) => davit_goyaml::marshal(&davit_secrets::decrypt_values(&k, &text, &file)?),
            None => text,
        };
        let values = davit_chart::values::parse_values(&decrypted, &file)?;
        chart.values = davit_chart::values::merge_maps(&chart.values, &values);
    }
    for sub in &mut chart.dependencies {
        let sub_origin = sub.origin.clone();
        merge_secret_values(sub, key, &sub_origin)?;
    }
    Ok(())
}

/// `werf_secret_file "rel/path"`: a file of the chart's `secret/` folder,
/// decrypted.
fn secret_file_func(
    files: Vec<(String, Vec<u8>)>,
    key: LazyKey,
    chart_dir: String,
) -> impl Fn(&mut davit_gotmpl::FuncMap) {
    let files = Rc::new(files);
    move |funcs: &mut davit_gotmpl::FuncMap| {
        let files = files.clone();
        let key = key.clone();
        let chart_dir = chart_dir.clone();
        funcs.insert(
            "werf_secret_file".into(),
            Func::simple(&[Param::Str], None, move |a| {
                let rel = a[0]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches("./")
                    .to_string();
                let what = format!("{chart_dir}/secret/{rel}");
                let Some((_, data)) = files.iter().find(|(n, _)| *n == rel) else {
                    return Err(format!("secret file {what:?} not found"));
                };
                let text = String::from_utf8_lossy(data).into_owned();
                match key.get().map_err(|e| e.to_string())? {
                    Some(k) => davit_secrets::decrypt(&k, text.trim(), &what)
                        .map(|b| Value::from(String::from_utf8_lossy(&b).into_owned()))
                        .map_err(|e| e.to_string()),
                    None => Ok(Value::from(text.trim().to_string())),
                }
            }),
        );
    }
}

/// A `--values`/`--set-file` path: relative to the current directory, else
/// to the project directory.
fn read_user_file(project: &Project, path: &str) -> Result<String, RenderError> {
    let p = Path::new(path);
    let candidates = if p.is_absolute() {
        vec![p.to_path_buf()]
    } else {
        vec![p.to_path_buf(), project.dir().join(p)]
    };
    for c in &candidates {
        if let Ok(text) = std::fs::read_to_string(c) {
            return Ok(text);
        }
    }
    Err(RenderError::File {
        path: path.to_string(),
        message: "cannot read the file (looked in the current and the project directory)".into(),
    })
}

/// The chart's files as the mode says: the commit (uncommitted changes are
/// an error unless werf-giterminism.yaml allows them), the `--dev`
/// snapshot, or the disk (`--loose-giterminism`).
fn chart_files(project: &Project, dir: &str) -> Result<Vec<ChartFile>, RenderError> {
    let prefix = if project.dir_in_repo.is_empty() {
        format!("{dir}/")
    } else {
        format!("{}/{dir}/", project.dir_in_repo)
    };
    let mut out = Vec::new();
    if project.options.mode == Mode::Loose {
        for rel in project.repo.worktree_files(&prefix) {
            let path = project.repo.work_tree().join(&prefix).join(&rel);
            let data = std::fs::read(&path).map_err(|e| RenderError::File {
                path: format!("{dir}/{rel}"),
                message: e.to_string(),
            })?;
            out.push(ChartFile { name: rel, data });
        }
        return Ok(out);
    }
    let allowed = &project.loaded.giterminism.allow_uncommitted_helm_files;
    let mut uncommitted = Vec::new();
    if project.options.mode == Mode::Giterministic {
        for rel in project.repo.worktree_files(&prefix) {
            let repo_path = format!("{prefix}{rel}");
            let project_path = format!("{dir}/{rel}");
            match project.repo.worktree_state(&repo_path) {
                davit_git::WorktreeState::Unchanged | davit_git::WorktreeState::Absent => {}
                _ if allowed.iter().any(|g| g.matches(&project_path)) => {
                    let data =
                        std::fs::read(project.repo.work_tree().join(&repo_path)).map_err(|e| {
                            RenderError::File {
                                path: project_path.clone(),
                                message: e.to_string(),
                            }
                        })?;
                    out.push(ChartFile { name: rel, data });
                }
                _ => uncommitted.push(project_path),
            }
        }
    }
    for path in project.repo.files().filter(|p| p.starts_with(&prefix)) {
        let rel = &path[prefix.len()..];
        if out.iter().any(|f| f.name == rel) {
            continue;
        }
        let repo_path = path.to_string();
        if project.options.mode == Mode::Giterministic
            && project.repo.worktree_state(&repo_path) == davit_git::WorktreeState::Deleted
            && !allowed.iter().any(|g| g.matches(&format!("{dir}/{rel}")))
        {
            uncommitted.push(format!("{dir}/{rel}"));
            continue;
        }
        let data = project
            .repo
            .read(&repo_path)
            .map_err(|e| RenderError::File {
                path: format!("{dir}/{rel}"),
                message: e.to_string(),
            })?
            .unwrap_or_default();
        out.push(ChartFile {
            name: rel.to_string(),
            data,
        });
    }
    if !uncommitted.is_empty() {
        return Err(RenderError::File {
            path: dir.to_string(),
            message: format!(
                "the chart has uncommitted changes: {}\n  hint: commit them, use --dev, or allow them in werf-giterminism.yaml (helm.allowUncommittedFiles)",
                uncommitted.join(", ")
            ),
        });
    }
    Ok(out)
}

/// werf's stubs for every final image (`REPO:TAG`).
pub fn stub_images(project: &Project) -> Vec<ServiceImage> {
    final_images(project)
        .into_iter()
        .map(|name| ServiceImage {
            name,
            reference: None,
        })
        .collect()
}

/// The final images' references from a build report (a build just run, or
/// `--use-build-report`); every final image must be in it.
pub fn report_images(
    project: &Project,
    report: &davit_report::BuildReport,
) -> Result<Vec<ServiceImage>, OpsError> {
    final_images(project)
        .into_iter()
        .map(|name| {
            let rec = report.images.get(&name).ok_or_else(|| {
                OpsError::Usage(format!(
                    "the build report has no image {name:?}; build it (davit build --save-build-report) or pass the report of a build of this commit"
                ))
            })?;
            Ok(ServiceImage {
                name,
                reference: Some(davit_deploy::ImageReference {
                    repo: rec.docker_repo.clone(),
                    tag: rec.docker_tag.clone(),
                    digest: rec.docker_image_digest.clone(),
                }),
            })
        })
        .collect()
}
