//! The project flags every command shares (`--dir`, `--config`, `--dev`,
//! `--env`, log levels, …) mapped to `ProjectOptions`, once for all
//! commands, with werf's warnings for modes that weaken reproducibility.

use davit_config::project::{self, Mode, ProjectOptions};

use crate::cli::ProjectArgs;

/// Log level from `--log-quiet`/`--log-verbose`/`--log-debug` and werf's
/// older `WERF_QUIET`/`WERF_VERBOSE`/`WERF_DEBUG` (debug > verbose > quiet).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    Quiet,
    Normal,
    Verbose,
    Debug,
}

fn truthy(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "1" | "true" | "yes" | "on" | "y" | "t"
        )
    })
}

pub(crate) fn level(p: &ProjectArgs) -> Level {
    if p.log_debug || truthy("WERF_DEBUG") {
        Level::Debug
    } else if p.log_verbose || truthy("WERF_VERBOSE") {
        Level::Verbose
    } else if p.log_quiet || truthy("WERF_QUIET") {
        Level::Quiet
    } else {
        Level::Normal
    }
}

fn in_ci() -> bool {
    ["CI", "GITHUB_ACTIONS", "GITLAB_CI"]
        .iter()
        .any(|v| truthy(v))
}

pub(crate) fn options(p: &ProjectArgs) -> ProjectOptions {
    let mut o = ProjectOptions::new(project::resolve_dir(p.dir.as_deref()));
    o.git_work_tree = p.git_work_tree.clone();
    o.config = p.config.clone();
    o.templates_dir = p.config_templates_dir.clone();
    o.giterminism_config = p.giterminism_config.clone();
    o.env = p.env.clone();
    o.mode = if p.loose_giterminism {
        Mode::Loose
    } else if p.dev {
        Mode::Dev
    } else {
        Mode::Giterministic
    };
    // --dev-ignore values also come from WERF_DEV_IGNORE_* (sorted), env first.
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("WERF_DEV_IGNORE_"))
        .collect();
    env.sort();
    o.dev_ignore = env
        .into_iter()
        .map(|(_, v)| v)
        .chain(p.dev_ignore.iter().cloned())
        .collect();
    o.debug_templates = p.debug_templates;
    o
}

/// Options plus log level; prints werf's warnings for the modes that weaken
/// reproducibility.
pub(crate) fn prepare(p: &ProjectArgs) -> (ProjectOptions, Level) {
    let lvl = level(p);
    let o = options(p);
    if lvl > Level::Quiet {
        if p.loose_giterminism {
            eprintln!("warning: --loose-giterminism reads everything from the file system and skips all checks; prefer allowing what you need in werf-giterminism.yaml");
        } else if p.dev && in_ci() {
            eprintln!("warning: development mode (--dev) is on in CI: the configuration is read from the work tree, not from the commit");
        }
    }
    if lvl >= Level::Verbose {
        let mode = match o.mode {
            Mode::Giterministic => "from the HEAD commit",
            Mode::Dev => "from the work tree (--dev)",
            Mode::Loose => "from the file system (--loose-giterminism)",
        };
        eprintln!("Reading the werf config of {} {mode}", o.dir.display());
    }
    (o, lvl)
}

/// werf's suffix-indexed variables (`WERF_SET_<ANY>`…): values of the
/// variables named `prefix…` and not `except…`, ordered by `NAME=VALUE`.
pub(crate) fn env_list(prefix: &str, except: &[&str]) -> Vec<String> {
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with(prefix) && !except.iter().any(|e| k.starts_with(e)))
        .collect();
    vars.sort_by_cached_key(|(k, v)| format!("{k}={v}"));
    vars.into_iter().map(|(_, v)| v).collect()
}
