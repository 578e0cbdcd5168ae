//! The deletion phase of `cleanup` and `purge`: how the repository's
//! registry deletes tags (werf's implementation choice and vendor tokens),
//! every tag's digest read once so that no deletion takes a kept tag
//! along, deletions in parallel, and a stop at the first refusal of the
//! credentials (what was deleted before it is reported).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use davit_cleanup::plan::Deletion;
use davit_registry_vendors::aws_credentials;
use davit_registry_vendors::dockerhub::{DockerHub, Login};
use davit_registry_vendors::ecr::{Credentials, Ecr};
use davit_registry_vendors::github::GithubPackages;
use davit_registry_vendors::Implementation;
use davit_storage::deletion::{DeleteError, Deleter, TagDeletion};
use davit_storage::RepoStorage;
use futures_util::stream::{self, StreamExt};

use super::{CleanupOutcome, Event};
use crate::OpsError;

/// The registry implementation and the vendor credentials werf's flags give.
#[derive(Clone, Default)]
pub struct RegistryApiOptions {
    /// `--repo-container-registry`: a name, `auto` or `None` (detect).
    pub implementation: Option<String>,
    pub github_token: Option<String>,
    pub docker_hub_token: Option<String>,
    pub docker_hub_username: Option<String>,
    pub docker_hub_password: Option<String>,
    /// `DAVIT_GITHUB_API_URL`, else `https://api.github.com`.
    pub github_api_url: Option<String>,
    /// `DAVIT_DOCKER_HUB_API_URL`, else `https://hub.docker.com`.
    pub docker_hub_api_url: Option<String>,
    /// `DAVIT_ECR_API_URL`, else `https://api.ecr.<region>.amazonaws.com`.
    pub ecr_api_url: Option<String>,
    /// For ECR: the environment's or the credentials file's
    /// ([`RegistryApiOptions::with_aws_credentials_from_environment`]).
    pub aws_credentials: Option<Credentials>,
    /// For ECR without those: the container endpoint and instance metadata
    /// the environment names.
    pub aws_sources: aws_credentials::Sources,
}

impl RegistryApiOptions {
    /// The AWS credentials of the environment (the CLI's edge reads them).
    pub fn with_aws_credentials_from_environment(mut self) -> RegistryApiOptions {
        self.aws_credentials = Credentials::from_environment();
        self.aws_sources = aws_credentials::Sources::from_environment();
        self
    }
}

// Tokens and passwords never reach a log line, even a debug one.
impl fmt::Debug for RegistryApiOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "<set>" } else { "<unset>" };
        f.debug_struct("RegistryApiOptions")
            .field("implementation", &self.implementation)
            .field("github_token", &set(&self.github_token))
            .field("docker_hub_token", &set(&self.docker_hub_token))
            .field("docker_hub_username", &self.docker_hub_username)
            .field("docker_hub_password", &set(&self.docker_hub_password))
            .field("github_api_url", &self.github_api_url)
            .field("docker_hub_api_url", &self.docker_hub_api_url)
            .field("ecr_api_url", &self.ecr_api_url)
            .field("aws_credentials", &self.aws_credentials)
            .field("aws_sources", &self.aws_sources)
            .finish()
    }
}

fn nonempty(o: &Option<String>) -> Option<&str> {
    o.as_deref().filter(|s| !s.is_empty())
}

/// How tags of `address` are deleted; an error, before anything is read,
/// when a real run could not delete there.
pub async fn tag_deletion(
    address: &str,
    api: &RegistryApiOptions,
    skip_tls_verify: bool,
) -> Result<(Implementation, TagDeletion), OpsError> {
    let implementation = Implementation::choose(api.implementation.as_deref(), address)
        .map_err(|e| OpsError::Usage(format!("--repo-container-registry: {e}")))?;
    let http = || {
        davit_registry::http_client(skip_tls_verify).map_err(|e| OpsError::Cleanup(e.to_string()))
    };
    let how = match implementation {
        // ACR deletes manifests through the registry API (werf shells out
        // to `az acr repository delete`, which does the same).
        Implementation::Default
        | Implementation::Harbor
        | Implementation::Quay
        | Implementation::Acr => TagDeletion::Distribution,
        Implementation::Gitlab => TagDeletion::Gitlab,
        Implementation::Gcr => TagDeletion::TagManifest,
        Implementation::Github => {
            let Some(token) = nonempty(&api.github_token) else {
                return Err(OpsError::Usage(format!(
                    "{address} is in GitHub Packages, where tags are deleted through the GitHub API: --repo-github-token (WERF_REPO_GITHUB_TOKEN) is required\n  hint: {}",
                    davit_registry_vendors::github::HINT
                )));
            };
            TagDeletion::Github(GithubPackages::new(
                http()?,
                nonempty(&api.github_api_url).unwrap_or("https://api.github.com"),
                token,
            ))
        }
        Implementation::DockerHub => {
            let login = match (
                nonempty(&api.docker_hub_token),
                nonempty(&api.docker_hub_username),
                nonempty(&api.docker_hub_password),
            ) {
                (Some(t), _, _) => Login::Token(t.to_string()),
                (None, Some(u), Some(p)) => Login::Password {
                    username: u.to_string(),
                    password: p.to_string(),
                },
                _ => {
                    return Err(OpsError::Usage(format!(
                        "{address} is on Docker Hub, where tags are deleted through the Docker Hub API\n  hint: {}",
                        davit_registry_vendors::dockerhub::HINT
                    )))
                }
            };
            TagDeletion::DockerHub(DockerHub::new(
                http()?,
                nonempty(&api.docker_hub_api_url).unwrap_or("https://hub.docker.com"),
                login,
            ))
        }
        Implementation::Ecr => {
            // Without static credentials, the runner's (container
            // endpoint, instance role); asked only here, as off AWS the
            // instance metadata address does not answer.
            let credentials = match &api.aws_credentials {
                Some(c) => Some(c.clone()),
                None => aws_credentials::from_runner(&http()?, &api.aws_sources)
                    .await
                    .map_err(|e| {
                        OpsError::Usage(format!(
                            "{address} is in Amazon ECR: reading the runner's AWS credentials: {e}"
                        ))
                    })?,
            };
            let Some(credentials) = credentials else {
                return Err(OpsError::Usage(format!(
                    "{address} is in Amazon ECR, whose tags are deleted through the AWS API, and no AWS credentials were found\n  hint: {}",
                    davit_registry_vendors::ecr::HINT
                )));
            };
            let host = address.split('/').next().unwrap_or(address);
            let ecr = Ecr::new(
                http()?,
                host,
                nonempty(&api.ecr_api_url),
                api.aws_sources.region.as_deref(),
                credentials,
            )
            .map_err(OpsError::Usage)?;
            // The runner's keys are temporary: renewed where they came from.
            TagDeletion::Ecr(Box::new(match &api.aws_credentials {
                Some(_) => ecr,
                None => ecr.refreshing_from(http()?, api.aws_sources.clone()),
            }))
        }
    };
    Ok((implementation, how))
}

/// Every tag's digest, read once: which deletions would take a kept tag
/// along. Tag-level deletions take nothing along and need none.
#[derive(Default)]
pub struct Digests {
    of: BTreeMap<String, String>,
    /// Tags whose digest could not be read, with the error.
    unreadable: BTreeMap<String, String>,
}

impl Digests {
    /// Reads the digests of `tags` where `how` needs them.
    pub async fn read(
        repo: &RepoStorage,
        how: &TagDeletion,
        tags: &[String],
        parallel: usize,
    ) -> Digests {
        let mut out = Digests::default();
        if !how.needs_digests() {
            return out;
        }
        let heads: Vec<(String, Result<Option<String>, String>)> =
            stream::iter(tags.iter().map(|t| async move {
                (
                    t.clone(),
                    repo.tag_digest(t).await.map_err(|e| e.to_string()),
                )
            }))
            .buffer_unordered(parallel.max(1))
            .collect()
            .await;
        for (t, d) in heads {
            match d {
                Ok(Some(d)) => {
                    out.of.insert(t, d);
                }
                Ok(None) => {}
                Err(e) => {
                    out.unreadable.insert(t, e);
                }
            }
        }
        out
    }

    /// The tags of `tags` not read yet.
    pub fn missing(&self, tags: &[String]) -> Vec<String> {
        tags.iter()
            .filter(|t| !self.of.contains_key(*t) && !self.unreadable.contains_key(*t))
            .cloned()
            .collect()
    }

    /// Digests read already elsewhere (tag → digest).
    pub fn known(of: BTreeMap<String, String>) -> Digests {
        Digests {
            of,
            unreadable: BTreeMap::new(),
        }
    }

    pub fn extend(&mut self, more: Digests) {
        self.of.extend(more.of);
        self.unreadable.extend(more.unreadable);
    }
}

/// Reads the digests of `tags`, then deletes `planned` ([`delete_all`]).
#[allow(clippy::too_many_arguments)]
pub async fn delete_listed(
    repo: &RepoStorage,
    project: &str,
    (implementation, how): (Implementation, TagDeletion),
    planned: &[Deletion],
    tags: &[String],
    parallel: usize,
    outcome: &mut CleanupOutcome,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    let digests = Digests::read(repo, &how, tags, parallel).await;
    delete_all(
        repo,
        project,
        (implementation, how),
        planned,
        &digests,
        parallel,
        outcome,
        on_event,
    )
    .await
}

/// Deletes `planned`. A refusal of the credentials stops the run: no
/// deletion starts after it, and it is returned after the ones under way
/// have ended. Other failures are warnings, as in werf.
#[allow(clippy::too_many_arguments)]
pub async fn delete_all(
    repo: &RepoStorage,
    project: &str,
    (implementation, how): (Implementation, TagDeletion),
    planned: &[Deletion],
    digests: &Digests,
    parallel: usize,
    outcome: &mut CleanupOutcome,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    on_event(Event::Phase("Deleting"));
    on_event(Event::Note(format!(
        "│ tags are deleted through the {implementation} registry's API"
    )));
    let deleter = &Deleter::new(repo, project, how);
    let doomed: BTreeSet<&str> = planned.iter().flat_map(|d| d.tags()).collect();
    let mut tags_by_digest: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (t, d) in &digests.of {
        tags_by_digest.entry(d).or_default().push(t);
    }
    let digest_of = &digests.of;
    // A kept tag whose digest could not be read might share one with any
    // deletion: then every deletion first gets a manifest of its own.
    let kept_unknown = digests
        .unreadable
        .iter()
        .find(|(t, _)| !doomed.contains(t.as_str()));
    if let Some((t, e)) = kept_unknown {
        outcome.warnings.push(format!(
            "WARNING: the digest of the kept tag {t} could not be read ({e}); each tag is deleted alone"
        ));
    }
    let shared_with_kept = |tag: &str| -> bool {
        kept_unknown.is_some()
            || digest_of.get(tag).is_some_and(|d| {
                tags_by_digest[d.as_str()]
                    .iter()
                    .any(|other| *other != tag && !doomed.contains(other))
            })
    };
    let stopped = AtomicBool::new(false);
    let one = |i: usize| {
        let work: Vec<(&str, Option<String>, bool)> = planned[i]
            .tags()
            .into_iter()
            .map(|t| (t, digest_of.get(t).cloned(), shared_with_kept(t)))
            .collect();
        let stopped = &stopped;
        async move {
            for (tag, digest, shared) in work {
                if stopped.load(Ordering::Relaxed) {
                    return (i, None);
                }
                if let Err(mut e) = deleter.delete(tag, digest.as_deref(), shared).await {
                    if e.refusal {
                        stopped.store(true, Ordering::Relaxed);
                    }
                    e.message = format!("{tag} deletion failed: {}", e.message);
                    return (i, Some(Err(e)));
                }
            }
            (i, Some(Ok(())))
        }
    };
    // The first deletion alone: credentials that cannot delete cost one
    // refused request, not one per parallel task.
    let mut results: Vec<(usize, Option<Result<(), DeleteError>>)> = Vec::new();
    if !planned.is_empty() {
        results.push(one(0).await);
    }
    let rest: Vec<_> = stream::iter((1..planned.len()).map(one))
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    results.extend(rest);
    let mut refusal = None;
    let mut done: Vec<usize> = Vec::new();
    let mut not_started = 0;
    for (i, r) in results {
        match r {
            Some(Ok(())) => done.push(i),
            Some(Err(e)) if e.refusal => {
                refusal.get_or_insert(e.message);
            }
            Some(Err(e)) => outcome
                .warnings
                .push(format!("WARNING: Image {}", e.message)),
            None => not_started += 1,
        }
    }
    done.sort_unstable();
    for i in done {
        on_event(Event::Deleted(&planned[i]));
        outcome.deleted.push(planned[i].clone());
    }
    outcome.requests = repo.request_count();
    outcome.vendor_requests = deleter.vendor_requests();
    outcome.rate_limited = deleter.rate_limited();
    match refusal {
        Some(e) => {
            let hint = if e.contains("hint:") {
                String::new()
            } else {
                "\n  hint: the credentials need the right to delete in this repository".into()
            };
            Err(OpsError::Cleanup(format!(
                "the registry refused a deletion, so the cleanup stopped: {e}{hint}\n  {} deleted before the refusal (listed in the report); {not_started} not attempted",
                outcome.deleted.len()
            )))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn how(address: &str, api: &RegistryApiOptions) -> Result<TagDeletion, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime
            .block_on(tag_deletion(address, api, false))
            .map(|(_, how)| how)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn each_registry_gets_its_way_of_deleting_and_missing_tokens_fail_first() {
        // No credentials anywhere, and no instance metadata to ask.
        let mut none = RegistryApiOptions::default();
        none.aws_sources.imds_disabled = true;
        assert!(matches!(
            how("reg.azurecr.io/app", &none),
            Ok(TagDeletion::Distribution)
        ));
        assert!(matches!(
            how("gitlab.com/g/p", &none),
            Ok(TagDeletion::Gitlab)
        ));
        assert!(matches!(
            how("gcr.io/p/app", &none),
            Ok(TagDeletion::TagManifest)
        ));
        let ecr = how("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app", &none)
            .err()
            .unwrap_or_default();
        // No AWS credentials here: an error before any work.
        assert!(
            ecr.contains("no AWS credentials") && ecr.contains("AWS_ACCESS_KEY_ID"),
            "{ecr}"
        );
        let github = how("ghcr.io/acme/app", &none).err().unwrap_or_default();
        assert!(github.contains("--repo-github-token"), "{github}");
        let forced = RegistryApiOptions {
            implementation: Some("default".into()),
            ..RegistryApiOptions::default()
        };
        assert!(matches!(
            how("ghcr.io/acme/app", &forced),
            Ok(TagDeletion::Distribution)
        ));
    }
}
