//! CI systems davit runs in: GitHub Actions and GitLab CI.
//!
//! - [`system`]: which CI system a job runs in, from its variables.
//! - [`ci_env`]: werf's `ci-env` variables (spec §1.4) and their shell,
//!   PowerShell, cmd.exe and dotenv forms (§1.5).
//! - [`docker_config`]: the temporary `DOCKER_CONFIG` a CI job logs in
//!   with, never touching the user's own (§1.2).
//!
//! - [`output`]: native CI output from one model of what happened.
//!
//! Nothing here touches the network: registry logins are the caller's.

pub mod ci_env;
pub mod deploy_output;
pub mod docker_config;
pub mod output;
pub mod system;

pub use system::CiSystem;

/// How a value of the process environment is looked up (injectable for
/// tests). Empty values count as unset, as werf's `os.Getenv(k) != ""`.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// A variable's value, `None` when unset or empty.
pub(crate) fn var(env: Env<'_>, key: &str) -> Option<String> {
    env(key).filter(|v| !v.is_empty())
}
