//! werf's `ci-env` variables (../shared/spec/werf-ci-cleanup-deploy.md
//! §1.4) and how they are written (§1.5), with two of werf's bugs fixed
//! (§10): `--shell cmdexe` writes `set` lines, and a skip line never shows
//! the current value of a secret.

use crate::{var, CiSystem, Env};

/// One variable `ci-env` proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub key: &'static str,
    /// Empty: nothing to set (written commented out).
    pub value: String,
    /// Overwrite a value the job already has (else a `# skip` line).
    pub overwrite: bool,
}

/// A titled group of variables (`# REPO`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: &'static str,
    pub vars: Vec<EnvVar>,
}

fn set(key: &'static str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        key,
        value: value.into(),
        overwrite: true,
    }
}

fn keep(key: &'static str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        key,
        value: value.into(),
        overwrite: false,
    }
}

/// `name=value` annotations, empty when the value is.
fn annotation(name: &str, value: Option<String>) -> String {
    value.map(|v| format!("{name}={v}")).unwrap_or_default()
}

/// The annotations both CI systems set, in werf's order: release
/// channel, project repository, commit, git tag.
fn common_annotations(
    env: Env<'_>,
    project_git: Option<String>,
    commit: Option<String>,
    tag: Option<String>,
) -> Vec<EnvVar> {
    vec![
        set(
            "WERF_ADD_ANNOTATION_WERF_RELEASE_CHANNEL",
            annotation(
                "werf.io/release-channel",
                var(env, "TRDL_USE_WERF_GROUP_CHANNEL"),
            ),
        ),
        set(
            "WERF_ADD_ANNOTATION_PROJECT_GIT",
            annotation("project.werf.io/git", project_git),
        ),
        set(
            "WERF_ADD_ANNOTATION_CI_COMMIT",
            annotation("ci.werf.io/commit", commit),
        ),
        set(
            "WERF_ADD_ANNOTATION_CI_GIT_TAG",
            annotation("ci.werf.io/tag", tag),
        ),
    ]
}

fn docker_config_section(docker_config: &str) -> Section {
    Section {
        title: "DOCKER CONFIG",
        vars: vec![
            set("DOCKER_CONFIG", docker_config),
            set("WERF_DOCKER_CONFIG", docker_config),
        ],
    }
}

fn other_section(color_mode: &str) -> Section {
    Section {
        title: "OTHER",
        vars: vec![
            keep("WERF_LOG_COLOR_MODE", color_mode),
            keep("WERF_LOG_PROJECT_DIR", "1"),
            keep("WERF_ENABLE_PROCESS_EXTERMINATOR", "1"),
            keep("WERF_LOG_TERMINAL_WIDTH", "130"),
        ],
    }
}

/// The repository werf derives on GitHub: `ghcr.io/<owner>/<repo>/<project>`
/// lower-cased, when the repository and the project are known.
pub fn github_default_repo(env: Env<'_>, project: Option<&str>) -> Option<String> {
    let package = var(env, "GITHUB_REPOSITORY")?.to_lowercase();
    Some(format!("ghcr.io/{package}/{}", project?))
}

/// The variables for `system`. `project` is werf.yaml's project name when
/// the config loads (GitHub's default repository needs it).
pub fn sections(
    system: CiSystem,
    env: Env<'_>,
    docker_config: &str,
    project: Option<&str>,
) -> Vec<Section> {
    match system {
        CiSystem::GitHub => github(env, docker_config, project),
        CiSystem::GitLab => gitlab(env, docker_config),
    }
}

fn github(env: Env<'_>, docker_config: &str, project: Option<&str>) -> Vec<Section> {
    let repository = var(env, "GITHUB_REPOSITORY");
    let tag = (var(env, "GITHUB_REF_TYPE").as_deref() == Some("tag"))
        .then(|| var(env, "GITHUB_REF_NAME"))
        .flatten();
    let run_url = match (&repository, var(env, "GITHUB_RUN_ID")) {
        (Some(r), Some(id)) => Some(format!("https://github.com/{r}/actions/runs/{id}")),
        _ => None,
    };
    vec![
        docker_config_section(docker_config),
        Section {
            title: "REPO",
            vars: vec![keep(
                "WERF_REPO",
                github_default_repo(env, project).unwrap_or_default(),
            )],
        },
        Section {
            title: "DEPLOY",
            vars: {
                let mut v = common_annotations(
                    env,
                    repository
                        .as_ref()
                        .map(|r| format!("https://github.com/{r}")),
                    var(env, "GITHUB_SHA"),
                    tag,
                );
                v.push(set(
                    "WERF_ADD_ANNOTATION_GITHUB_ACTIONS_RUN_URL",
                    annotation("github.ci.werf.io/workflow-run-url", run_url),
                ));
                v
            },
        },
        Section {
            title: "CLEANUP",
            vars: vec![keep(
                "WERF_REPO_GITHUB_TOKEN",
                var(env, "GITHUB_TOKEN").unwrap_or_default(),
            )],
        },
        other_section("on"),
    ]
}

/// `a.b.c` as numbers; missing parts are 0, anything after the digits of
/// a part (`1-ee`) is ignored.
fn version(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.trim_start_matches('v').split('.').map(|p| {
        let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
        digits.parse::<u64>().ok()
    });
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

fn gitlab(env: Env<'_>, docker_config: &str) -> Vec<Section> {
    let image = var(env, "CI_REGISTRY_IMAGE");
    let preset_repo = var(env, "WERF_REPO");
    let mut repo = vec![keep(
        "WERF_REPO",
        if preset_repo.is_none() {
            image.clone().unwrap_or_default()
        } else {
            String::new()
        },
    )];
    let under_ci_registry = match (&preset_repo, var(env, "CI_REGISTRY")) {
        (None, _) => true,
        (Some(r), Some(registry)) => r.starts_with(&registry),
        (Some(_), None) => false,
    };
    if image.is_some() && under_ci_registry {
        repo.push(keep("WERF_REPO_CONTAINER_REGISTRY", "gitlab"));
    }
    // GitLab 12.1.3 < version < 12.2.0 could not show colours.
    let color = match var(env, "CI_SERVER_VERSION").and_then(|v| version(&v)) {
        Some(v) if v > (12, 1, 3) && v < (12, 2, 0) => "off",
        _ => "on",
    };
    vec![
        docker_config_section(docker_config),
        Section {
            title: "REPO",
            vars: repo,
        },
        Section {
            title: "DEPLOY",
            vars: {
                let mut v = vec![keep(
                    "WERF_ENV",
                    var(env, "CI_ENVIRONMENT_SLUG").unwrap_or_default(),
                )];
                v.extend(common_annotations(
                    env,
                    var(env, "CI_PROJECT_URL"),
                    var(env, "CI_COMMIT_SHA"),
                    var(env, "CI_COMMIT_TAG"),
                ));
                v.push(set(
                    "WERF_ADD_ANNOTATION_GITLAB_CI_PIPELINE_URL",
                    annotation(
                        "gitlab.ci.werf.io/pipeline-url",
                        var(env, "CI_PIPELINE_URL"),
                    ),
                ));
                v.push(set(
                    "WERF_ADD_ANNOTATION_GITLAB_CI_JOB_URL",
                    annotation("gitlab.ci.werf.io/job-url", var(env, "CI_JOB_URL")),
                ));
                v
            },
        },
        other_section(color),
    ]
}

/// How the variables are written (`--shell`, `--as-env-file`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `export KEY="VALUE"` for any POSIX shell.
    Posix,
    /// `$Env:KEY = "VALUE"`.
    PowerShell,
    /// `set "KEY=VALUE"` (werf writes `export` lines here: a bug davit fixes).
    CmdExe,
    /// `KEY=VALUE`, for `--as-env-file` and CI dotenv loaders.
    EnvFile,
}

impl Format {
    /// `--shell` values: `""`/`default`, `powershell`, `cmdexe`.
    pub fn from_shell(shell: &str) -> Option<Format> {
        match shell {
            "" | "default" => Some(Format::Posix),
            "powershell" => Some(Format::PowerShell),
            "cmdexe" => Some(Format::CmdExe),
            _ => None,
        }
    }

    fn line(self, key: &str, value: &str) -> String {
        match self {
            Format::Posix => format!("export {key}=\"{value}\""),
            Format::PowerShell => format!("$Env:{key} = \"{value}\""),
            Format::CmdExe => format!("set \"{key}={value}\""),
            Format::EnvFile => format!("{key}={value}"),
        }
    }

    fn comment(self) -> &'static str {
        match self {
            Format::CmdExe => ":: ",
            _ => "# ",
        }
    }
}

/// Variables whose current value a skip line must not show.
fn is_secret(key: &str) -> bool {
    key.contains("TOKEN") || key.contains("PASSWORD") || key.contains("SECRET")
}

/// `echo '<line>'` with the line quoted for a POSIX shell.
fn echo(line: &str) -> String {
    format!("echo '{}'", line.replace('\'', "'\\''"))
}

/// Writes `sections` as werf does: a header per section (a blank line
/// before all but the first), then per variable an assignment, a
/// commented-out one when there is no value, or a `skip` comment when the
/// job already has a value and `ci-env` must not overwrite it. `verbose`
/// (`--log-verbose`) echoes every line (not in dotenv files).
pub fn render(sections: &[Section], format: Format, verbose: bool, env: Env<'_>) -> String {
    let verbose = verbose && format != Format::EnvFile;
    let mut out = String::new();
    for (i, section) in sections.iter().enumerate() {
        // The header goes out as one piece ("\n# TITLE"), then each of its
        // lines is echoed: `echo ''` and `echo '# TITLE'`.
        let header = format!("{}{}", format.comment(), section.title);
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&header);
        out.push('\n');
        if verbose {
            if i > 0 {
                out.push_str("echo ''\n");
            }
            out.push_str(&echo(&header));
            out.push('\n');
        }
        for v in &section.vars {
            let assignment = format.line(v.key, &v.value);
            let line = match var(env, v.key) {
                Some(current) if !v.overwrite => {
                    let shown = if is_secret(v.key) {
                        "set, not shown".to_string()
                    } else {
                        current
                    };
                    format!("{}skip {assignment} ({shown})", format.comment())
                }
                _ if v.value.is_empty() => format!("{}{assignment}", format.comment()),
                _ => assignment,
            };
            out.push_str(&line);
            out.push('\n');
            if verbose {
                out.push_str(&echo(&line));
                out.push('\n');
            }
        }
    }
    out
}

/// The variables as key/value pairs that a process would get after
/// sourcing the output (set ones only, current values kept).
pub fn exported(sections: &[Section], env: Env<'_>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for v in sections.iter().flat_map(|s| &s.vars) {
        match var(env, v.key) {
            Some(_) if !v.overwrite => {}
            _ if v.value.is_empty() => {}
            _ => out.push((v.key.to_string(), v.value.clone())),
        }
    }
    out
}
