//! `davit ci-env`: werf's CI variables for GitHub Actions or GitLab CI,
//! with a temporary docker config logged into the CI registry.

use davit_ci::ci_env::{self, Format};
use davit_ci::docker_config::{self, Source};
use davit_ci::{CiSystem, Env};
use davit_config::project::ProjectOptions;
use davit_registry::{Credentials, RegistryClient, RegistryOptions};
use std::path::PathBuf;

use crate::OpsError;

/// What `ci-env` was asked for.
pub struct CiEnvOptions {
    pub system: CiSystem,
    pub format: Format,
    /// `--log-verbose`: echo every line.
    pub verbose: bool,
    /// `--as-file` / `--as-env-file`: write a file and print its path.
    pub to_file: bool,
    /// `-o`: write here (truncated) and print nothing.
    pub output_file: Option<PathBuf>,
    /// `--login-to-registry` (default on).
    pub login: bool,
    /// `--use-docker-auth-config`.
    pub use_docker_auth_config: bool,
    /// `--docker-config` (then `WERF_DOCKER_CONFIG`, `DOCKER_CONFIG`, `~/.docker`).
    pub docker_config: Option<PathBuf>,
    /// `--tmp-dir` (`WERF_TMP_DIR` wins, as in werf).
    pub tmp_dir: Option<PathBuf>,
    /// `--home-dir` / `WERF_HOME`: where `--as-file` files go.
    pub home_dir: Option<PathBuf>,
    /// How to load werf.yaml (GitHub's default repository needs the
    /// project name); a config that does not load leaves `WERF_REPO` unset.
    pub project: ProjectOptions,
}

/// What to print: the script itself, or the path of the file holding it.
pub struct CiEnvOutput {
    pub stdout: String,
    /// A warning for stderr (the config did not load, …).
    pub warnings: Vec<String>,
}

fn env_path(env: Env<'_>, key: &str) -> Option<PathBuf> {
    env(key).filter(|v| !v.is_empty()).map(PathBuf::from)
}

pub fn ci_env(options: &CiEnvOptions, env: Env<'_>) -> Result<CiEnvOutput, OpsError> {
    let mut warnings = Vec::new();
    let tmp = env_path(env, "WERF_TMP_DIR")
        .or_else(|| options.tmp_dir.clone())
        .unwrap_or_else(std::env::temp_dir);
    let source_dir = options
        .docker_config
        .clone()
        .or_else(|| env_path(env, "WERF_DOCKER_CONFIG"))
        .or_else(|| env_path(env, "DOCKER_CONFIG"))
        .or_else(|| env_path(env, "HOME").map(|h| h.join(".docker")))
        .unwrap_or_default();
    let auth_config = env("DOCKER_AUTH_CONFIG");
    let source = if options.use_docker_auth_config {
        Source::AuthConfig(auth_config.as_deref())
    } else {
        Source::Dir(&source_dir)
    };
    let dir = docker_config::create(&tmp, source)?;
    if options.login {
        if let Some((host, user, password)) = ci_login(options.system, env) {
            if let Err(e) = login(&dir, &host, &user, &password) {
                // Nothing half-made is left behind.
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        }
    }
    let project = match options.system {
        CiSystem::GitHub => project_name(&options.project, &mut warnings),
        CiSystem::GitLab => None,
    };
    let dir_text = dir.to_string_lossy().into_owned();
    let sections = ci_env::sections(options.system, env, &dir_text, project.as_deref());
    let text = ci_env::render(&sections, options.format, options.verbose, env);
    let stdout = match (&options.output_file, options.to_file) {
        (Some(path), _) => {
            write_file(path, &text)?;
            String::new()
        }
        (None, true) => {
            let path = new_file(options, env)?;
            write_file(&path, &text)?;
            format!("{}\n", path.display())
        }
        (None, false) => text,
    };
    Ok(CiEnvOutput { stdout, warnings })
}

/// The CI registry login werf performs (§1.3): GitLab's job token for
/// `CI_REGISTRY_IMAGE`'s host, GitHub's token for ghcr.io.
fn ci_login(system: CiSystem, env: Env<'_>) -> Option<(String, String, String)> {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    match system {
        CiSystem::GitLab => {
            let image = get("CI_REGISTRY_IMAGE")?;
            let token = get("CI_JOB_TOKEN")?;
            let host = image.split('/').next().unwrap_or_default().to_string();
            Some((host, "gitlab-ci-token".into(), token))
        }
        CiSystem::GitHub => {
            let actor = get("GITHUB_ACTOR")?;
            let token = get("GITHUB_TOKEN")?;
            let host = match get("WERF_REPO") {
                Some(r) if r.starts_with("docker.pkg.github.com") => "docker.pkg.github.com",
                _ => "ghcr.io",
            };
            Some((host.into(), actor, token))
        }
    }
}

/// Writes the login into the temporary config, then checks that the
/// registry accepts it, as `docker login` does.
fn login(dir: &std::path::Path, host: &str, user: &str, password: &str) -> Result<(), OpsError> {
    docker_config::add_login(dir, host, user, password)?;
    let fail = |message: String| {
        OpsError::Usage(format!(
            "unable to login into docker repo/registry {host}: {message}"
        ))
    };
    let credentials = Credentials::from_dir(dir).map_err(|e| fail(e.to_string()))?;
    let client = RegistryClient::new(credentials, RegistryOptions::default())
        .map_err(|e| fail(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(OpsError::Runtime)?;
    runtime
        .block_on(client.login(host))
        .map_err(|e| fail(e.to_string()))
}

fn project_name(options: &ProjectOptions, warnings: &mut Vec<String>) -> Option<String> {
    match davit_config::project::load(options) {
        Ok(loaded) => loaded.config.meta.project.map(|p| p.0),
        Err(e) => {
            if options
                .dir
                .join(options.config.as_deref().unwrap_or("werf.yaml"))
                .exists()
            {
                warnings.push(format!(
                    "WERF_REPO is left unset: the project name could not be read: {e}"
                ));
            }
            None
        }
    }
}

/// `<home>/service/tmp/ci_env/source_<unix>_<n>` (`.env_…` for dotenv,
/// `.ps1`/`.bat` for PowerShell and cmd.exe); the oldest go once there are
/// 100, as in werf.
fn new_file(options: &CiEnvOptions, env: Env<'_>) -> Result<PathBuf, OpsError> {
    let home = options
        .home_dir
        .clone()
        .or_else(|| env_path(env, "WERF_HOME"))
        .or_else(|| env_path(env, "HOME").map(|h| h.join(".davit")))
        .unwrap_or_else(|| std::env::temp_dir().join("davit"));
    let dir = home.join("service/tmp/ci_env");
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    rotate(&dir);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| (d.as_secs(), d.subsec_nanos()))
        .unwrap_or_default();
    let name = match options.format {
        Format::EnvFile => format!(".env_{}_{}", now.0, now.1),
        Format::PowerShell => format!("source_{}_{}.ps1", now.0, now.1),
        Format::CmdExe => format!("source_{}_{}.bat", now.0, now.1),
        Format::Posix => format!("source_{}_{}", now.0, now.1),
    };
    Ok(dir.join(name))
}

fn rotate(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    if names.len() >= 100 {
        names.sort();
        for old in &names[..names.len() - 50] {
            let _ = std::fs::remove_file(old);
        }
    }
}

fn io(path: &std::path::Path, e: std::io::Error) -> OpsError {
    OpsError::Usage(format!("{}: {e}", path.display()))
}

/// Writes `text` to `path` whole (werf leaves an old longer file's tail
/// behind; davit truncates).
fn write_file(path: &std::path::Path, text: &str) -> Result<(), OpsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o755)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| io(path, e))
}
