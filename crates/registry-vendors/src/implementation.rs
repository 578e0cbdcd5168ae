//! Which registry implementation serves a repository, chosen as werf
//! chooses it (`--repo-container-registry`, or detected from the host):
//! it decides how a tag is deleted.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// The distribution API: `DELETE /v2/<name>/manifests/<digest>`.
    Default,
    Ecr,
    Acr,
    DockerHub,
    Gcr,
    Github,
    Gitlab,
    Harbor,
    Quay,
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Implementation::Default => "default",
            Implementation::Ecr => "ecr",
            Implementation::Acr => "acr",
            Implementation::DockerHub => "dockerhub",
            Implementation::Gcr => "gcr",
            Implementation::Github => "github",
            Implementation::Gitlab => "gitlab",
            Implementation::Harbor => "harbor",
            Implementation::Quay => "quay",
        })
    }
}

const NAMES: &str = "auto, default, dockerhub, ecr, acr, gcr, github, gitlab, harbor, quay";

impl Implementation {
    /// `--repo-container-registry`: a name, or `auto`/empty to detect
    /// from `address`.
    pub fn choose(flag: Option<&str>, address: &str) -> Result<Implementation, String> {
        Ok(match flag.map(str::trim).unwrap_or("") {
            "" | "auto" => Implementation::detect(address),
            "default" => Implementation::Default,
            "dockerhub" => Implementation::DockerHub,
            "ecr" => Implementation::Ecr,
            "acr" => Implementation::Acr,
            "gcr" => Implementation::Gcr,
            "github" => Implementation::Github,
            "gitlab" => Implementation::Gitlab,
            "harbor" => Implementation::Harbor,
            "quay" => Implementation::Quay,
            other => {
                return Err(format!(
                    "specified container registry {other:?} is not supported (expected one of: {NAMES})"
                ))
            }
        })
    }

    /// werf's detection from the repository address (spec §4.1): the
    /// first vendor whose host pattern matches, else `default`.
    pub fn detect(address: &str) -> Implementation {
        let host = registry_host(address);
        let h = host.as_str();
        let dotted_suffix = |suffix: &str| h.ends_with(suffix) && h.len() > suffix.len();
        if is_ecr(h) {
            Implementation::Ecr
        } else if h.contains(".azurecr.io") {
            Implementation::Acr
        } else if h.starts_with("index.docker.io") || h.starts_with("registry.hub.docker.com") {
            Implementation::DockerHub
        } else if h.starts_with("container.cloud.google.com")
            || h.starts_with("gcr.io")
            || (h.contains(".gcr.io") && !h.starts_with(".gcr.io"))
        {
            Implementation::Gcr
        } else if h.starts_with("ghcr.io") || h.starts_with("docker.pkg.github.com") {
            Implementation::Github
        } else if h.starts_with("gitlab.com") {
            Implementation::Gitlab
        } else if h.starts_with("harbor.") || h.contains("demo.goharbor.io") {
            Implementation::Harbor
        } else if h.starts_with("quay.io") || (h.starts_with("quay.") && dotted_suffix(".com")) {
            Implementation::Quay
        } else {
            Implementation::Default
        }
    }
}

/// The registry part of a reference as go-containerregistry reads it: the
/// first component when it looks like a host (a dot, a colon, or
/// `localhost`), else Docker Hub.
fn registry_host(address: &str) -> String {
    let looks_like_host = |s: &str| s.contains('.') || s.contains(':') || s == "localhost";
    match address.split_once('/') {
        None if looks_like_host(address) => address.to_string(),
        Some(("docker.io", _)) => "index.docker.io".into(),
        Some((first, _)) if looks_like_host(first) => first.to_string(),
        _ => "index.docker.io".into(),
    }
}

/// `^(\d{12})\.dkr\.ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\.amazonaws\.com(\.cn)?$`
fn is_ecr(host: &str) -> bool {
    let Some((account, rest)) = host.split_once('.') else {
        return false;
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Some(rest) = rest
        .strip_prefix("dkr.ecr-fips.")
        .or_else(|| rest.strip_prefix("dkr.ecr."))
    else {
        return false;
    };
    let Some(region) = rest
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| rest.strip_suffix(".amazonaws.com"))
    else {
        return false;
    };
    let mut chars = region.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::Implementation::{self, *};

    #[test]
    fn werf_detection_vectors() {
        // spec §4.1, docker_registry_test.go
        for (address, want) in [
            ("123456789012.dkr.ecr.test.amazonaws.com/repo", Ecr),
            ("test.azurecr.io/repo", Acr),
            ("localhost:5000/repo", Default),
            ("account/repo", DockerHub),
            ("container.cloud.google.com/registry/repo", Gcr),
            ("ghcr.io/package", Github),
            ("harbor.company.com/project/repo", Harbor),
            ("quay.io/account/repo", Quay),
            ("gitlab.com/group/project", Gitlab),
            ("registry.gitlab.example.com/group/project", Default),
            ("europe-docker.pkg.dev/p/r/i", Default),
            ("eu.gcr.io/p/i", Gcr),
            ("index.docker.io/account/repo", DockerHub),
            ("docker.io/account/repo", DockerHub),
            ("127.0.0.1:5055/davit/x", Default),
            (
                "123456789012.dkr.ecr-fips.us-east-1.amazonaws.com.cn/r",
                Ecr,
            ),
            ("12345678901.dkr.ecr.test.amazonaws.com/repo", Default),
        ] {
            assert_eq!(Implementation::detect(address), want, "{address}");
        }
    }

    #[test]
    fn the_flag_wins_and_an_unknown_name_is_refused() {
        assert_eq!(
            Implementation::choose(Some("gitlab"), "127.0.0.1:5000/x").unwrap(),
            Gitlab
        );
        assert_eq!(
            Implementation::choose(Some("auto"), "ghcr.io/o/p").unwrap(),
            Github
        );
        let e = Implementation::choose(Some("artifactory"), "x").unwrap_err();
        assert!(e.contains("\"artifactory\" is not supported"), "{e}");
    }
}
