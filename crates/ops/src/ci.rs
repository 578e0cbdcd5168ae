//! What a command takes from, and gives back to, the CI job it runs in:
//! the registry and token when `--repo` is not given (as `ci-env` would
//! set them), and the [`Outcome`] that native CI output is written from.

use davit_ci::output::{ImageRow, Outcome, Problem};
use davit_ci::{CiSystem, Env};
use davit_config::project::{ProjectError, ProjectOptions};
use davit_conveyor::BuildError;

use crate::build::BuildResult;
use crate::OpsError;

/// What a CI job provides when `--repo` is not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiDefaults {
    /// GitLab: `CI_REGISTRY_IMAGE`; GitHub: `ghcr.io/<owner>/<repo>/<project>`.
    pub repo: Option<String>,
    /// `(host, user, token)`: GitLab's job token, GitHub's `GITHUB_TOKEN`.
    /// Used only where the docker config has no credentials for the host.
    pub login: Option<(String, String, String)>,
}

pub fn ci_defaults(system: CiSystem, env: Env<'_>, project: Option<&str>) -> CiDefaults {
    let get = |k: &str| env(k).filter(|v| !v.is_empty());
    match system {
        CiSystem::GitLab => {
            let repo = get("CI_REGISTRY_IMAGE");
            let login = match (&repo, get("CI_JOB_TOKEN")) {
                (Some(r), Some(token)) => Some((
                    r.split('/').next().unwrap_or_default().to_string(),
                    "gitlab-ci-token".to_string(),
                    token,
                )),
                _ => None,
            };
            CiDefaults { repo, login }
        }
        CiSystem::GitHub => CiDefaults {
            repo: davit_ci::ci_env::github_default_repo(env, project),
            login: match (get("GITHUB_ACTOR"), get("GITHUB_TOKEN")) {
                (Some(actor), Some(token)) => Some(("ghcr.io".into(), actor, token)),
                _ => None,
            },
        },
    }
}

/// The project directory inside its git repository, `"x/"` or `""`: CI
/// systems link files relative to the repository root.
pub fn repo_prefix(options: &ProjectOptions) -> String {
    let dir = std::fs::canonicalize(&options.dir).unwrap_or_else(|_| options.dir.clone());
    let Ok(repo) = davit_git::Repo::discover(options.git_work_tree.as_deref().unwrap_or(&dir))
    else {
        return String::new();
    };
    let root = std::fs::canonicalize(repo.work_tree()).unwrap_or_else(|_| repo.work_tree().into());
    match dir.strip_prefix(&root) {
        Ok(rel) if !rel.as_os_str().is_empty() => format!("{}/", rel.to_string_lossy()),
        _ => String::new(),
    }
}

/// The problems in `error`, each with its file (repository-relative, via
/// `prefix` for project-relative ones), line and column when known.
pub fn problems(error: &OpsError, prefix: &str) -> Vec<Problem> {
    let plain = |message: String| Problem {
        message,
        file: None,
        line: None,
        col: None,
    };
    match error {
        OpsError::Config(boxed) => match boxed.as_ref() {
            ProjectError::Config(e) => e
                .diagnostics
                .iter()
                .map(|d| {
                    let mut message = d.message.clone();
                    if let Some(key) = &d.key {
                        message.push_str(&format!(" (key `{key}`)"));
                    }
                    if let Some(hint) = &d.hint {
                        message.push_str(&format!("\nhint: {hint}"));
                    }
                    Problem {
                        message,
                        file: Some(format!("{prefix}{}", d.file)),
                        line: (d.line > 0).then_some(d.line),
                        col: (d.col > 0).then_some(d.col),
                    }
                })
                .collect(),
            ProjectError::Template { file, message, .. } => vec![Problem {
                message: message.clone(),
                file: Some(format!("{prefix}{file}")),
                line: None,
                col: None,
            }],
            other => vec![plain(other.to_string())],
        },
        OpsError::Build(boxed) => match boxed.as_ref() {
            BuildError::Dockerfile {
                image,
                location,
                message,
            } => {
                // `location` is repository-relative: `app/Dockerfile[:LINE]`.
                let (file, line) = match location.rsplit_once(':') {
                    Some((f, l)) if l.parse::<usize>().is_ok() => (f.to_string(), l.parse().ok()),
                    _ => (location.clone(), None),
                };
                vec![Problem {
                    message: format!("image {image:?}: {message}"),
                    file: Some(file),
                    line,
                    col: None,
                }]
            }
            other => vec![plain(other.to_string())],
        },
        other => vec![plain(other.to_string())],
    }
}

/// The model of a build for CI output.
pub fn build_outcome(
    result: Option<&BuildResult>,
    error: Option<&OpsError>,
    prefix: &str,
    seconds: f64,
) -> Outcome {
    let mut outcome = Outcome {
        command: "build".into(),
        seconds,
        ..Outcome::default()
    };
    if let Some(r) = result {
        outcome.images = r
            .report
            .images
            .values()
            .map(|img| ImageRow {
                name: img.werf_image_name.clone(),
                repo: img.docker_repo.clone(),
                tag: img.docker_tag.clone(),
                digest: img.docker_image_digest.clone(),
                reference: img.docker_image_name.clone(),
                rebuilt: img.rebuilt,
                is_final: img.is_final,
                size: img.size,
                seconds: img.build_time.parse().unwrap_or(0.0),
            })
            .collect();
        outcome.report_json = Some(r.report.to_json());
        if let Some(e) = &r.failure {
            outcome.problems.extend(problems(e, prefix));
        }
    }
    if let Some(e) = error {
        outcome.problems.extend(problems(e, prefix));
    }
    outcome
}
