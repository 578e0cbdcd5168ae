//! Which CI system a job runs in.

use crate::{var, Env};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiSystem {
    GitHub,
    GitLab,
}

impl CiSystem {
    /// `github` / `gitlab`, as `ci-env` takes them.
    pub fn parse(name: &str) -> Option<CiSystem> {
        match name {
            "github" => Some(CiSystem::GitHub),
            "gitlab" => Some(CiSystem::GitLab),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CiSystem::GitHub => "github",
            CiSystem::GitLab => "gitlab",
        }
    }

    /// The CI system whose runner set the job's variables: GitHub Actions
    /// sets `GITHUB_ACTIONS=true`, GitLab CI `GITLAB_CI=true`.
    pub fn detect(env: Env<'_>) -> Option<CiSystem> {
        if var(env, "GITHUB_ACTIONS").as_deref() == Some("true") {
            Some(CiSystem::GitHub)
        } else if var(env, "GITLAB_CI").as_deref() == Some("true") {
            Some(CiSystem::GitLab)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_the_runners_variables() {
        let gh = |k: &str| (k == "GITHUB_ACTIONS").then(|| "true".to_string());
        let gl = |k: &str| (k == "GITLAB_CI").then(|| "true".to_string());
        let none = |_: &str| None;
        assert_eq!(CiSystem::detect(&gh), Some(CiSystem::GitHub));
        assert_eq!(CiSystem::detect(&gl), Some(CiSystem::GitLab));
        assert_eq!(CiSystem::detect(&none), None);
        assert_eq!(CiSystem::parse("jenkins"), None);
    }
}
