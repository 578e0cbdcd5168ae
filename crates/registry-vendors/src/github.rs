//! GitHub Packages (ghcr.io): a tag is deleted by deleting the package
//! version that carries it (spec §4.3). Versions are listed once per
//! package, 100 a page until an empty page; a version carries every tag
//! of one digest, so deleting it deletes them all.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

use crate::http::{message_of, Api};
use crate::VendorError;

/// werf's hint for a refused token.
pub const HINT: &str = "specify a token with the delete:packages and read:packages scopes with --repo-github-token (WERF_REPO_GITHUB_TOKEN); the token GitHub Actions gives a workflow is not enough to delete package versions";

/// A package: its owner, whether that is a user, and its URL-encoded name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Package {
    pub owner: String,
    /// `my-app%2Fweb` for `ghcr.io/owner/my-app/web`.
    pub name: String,
}

impl Package {
    /// The package of a repository path (`owner/my-app/web`, without the host).
    pub fn of_path(path: &str) -> Result<Package, String> {
        match path.split_once('/') {
            Some((owner, rest)) if !owner.is_empty() && !rest.is_empty() => Ok(Package {
                owner: owner.to_string(),
                name: rest.replace('/', "%2F"),
            }),
            _ => Err(format!(
                "{path:?}: cannot parse organization and package name (expected OWNER/PACKAGE)"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Version {
    pub id: u64,
    pub tags: Vec<String>,
}

pub struct GithubPackages {
    api: Api,
    token: String,
    users: Mutex<HashMap<String, bool>>,
    versions: Mutex<HashMap<Package, Vec<Version>>>,
}

impl GithubPackages {
    /// `base`: `https://api.github.com`, or another (`DAVIT_GITHUB_API_URL`).
    pub fn new(http: reqwest::Client, base: &str, token: &str) -> GithubPackages {
        GithubPackages {
            api: Api::new(http, base, "GitHub Packages"),
            token: token.to_string(),
            users: Mutex::new(HashMap::new()),
            versions: Mutex::new(HashMap::new()),
        }
    }

    pub fn request_count(&self) -> u64 {
        self.api.requests.load(Ordering::Relaxed)
    }

    pub fn rate_limited_count(&self) -> u64 {
        self.api.rate_limited.load(Ordering::Relaxed)
    }

    async fn get(
        &self,
        operation: &str,
        method: Method,
        path: &str,
    ) -> Result<reqwest::Response, VendorError> {
        let token = &self.token;
        let resp = self
            .api
            .send(operation, method, path, &|r| {
                r.header("Accept", "application/vnd.github.v3+json")
                    .bearer_auth(token)
            })
            .await?;
        match resp.status() {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let kind = if resp.status() == StatusCode::UNAUTHORIZED {
                    "unauthorized"
                } else {
                    "forbidden"
                };
                let body = resp.text().await.unwrap_or_default();
                Err(VendorError::Refused {
                    vendor: "GitHub Packages",
                    operation: operation.into(),
                    message: format!("{kind}: {}", message_of(&body)),
                    hint: HINT,
                })
            }
            _ => Ok(resp),
        }
    }

    async fn is_user(&self, owner: &str) -> Result<bool, VendorError> {
        if let Some(u) = self.users.lock().await.get(owner) {
            return Ok(*u);
        }
        let op = format!("looking up the owner {owner}");
        let resp = self
            .get(&op, Method::GET, &format!("/users/{owner}"))
            .await?;
        if !resp.status().is_success() {
            return Err(self.api.status_error(&op, resp).await);
        }
        let v: serde_json::Value = resp
            .json()
            .await
            .map_err(|e| self.api.other(&op, e.to_string()))?;
        let user = v["type"].as_str() == Some("User");
        self.users.lock().await.insert(owner.to_string(), user);
        Ok(user)
    }

    async fn versions_path(&self, p: &Package) -> Result<String, VendorError> {
        Ok(if self.is_user(&p.owner).await? {
            format!("/user/packages/container/{}/versions", p.name)
        } else {
            format!("/orgs/{}/packages/container/{}/versions", p.owner, p.name)
        })
    }

    /// Every version of the package, read once and kept (`forget` drops it).
    pub async fn versions(&self, p: &Package) -> Result<Vec<Version>, VendorError> {
        if let Some(v) = self.versions.lock().await.get(p) {
            return Ok(v.clone());
        }
        let base = self.versions_path(p).await?;
        let op = format!("listing the versions of {}/{}", p.owner, p.name);
        let mut all = Vec::new();
        for page in 1.. {
            let resp = self
                .get(
                    &op,
                    Method::GET,
                    &format!("{base}?page={page}&per_page=100"),
                )
                .await?;
            if !resp.status().is_success() {
                return Err(self.api.status_error(&op, resp).await);
            }
            let list: Vec<serde_json::Value> = resp
                .json()
                .await
                .map_err(|e| self.api.other(&op, format!("page {page}: {e}")))?;
            if list.is_empty() {
                break;
            }
            for v in list {
                let Some(id) = v["id"].as_u64() else { continue };
                let tags = v["metadata"]["container"]["tags"]
                    .as_array()
                    .map(|t| {
                        t.iter()
                            .filter_map(|s| s.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                all.push(Version { id, tags });
            }
        }
        self.versions.lock().await.insert(p.clone(), all.clone());
        Ok(all)
    }

    /// Drops the cached versions (after a push changed them).
    pub async fn forget(&self, p: &Package) {
        self.versions.lock().await.remove(p);
    }

    /// The version that carries `tag`.
    pub async fn version_of(&self, p: &Package, tag: &str) -> Result<Version, VendorError> {
        self.versions(p)
            .await?
            .into_iter()
            .find(|v| v.tags.iter().any(|t| t == tag))
            .ok_or_else(|| {
                self.api.other(
                    &format!("deleting {tag}"),
                    format!("container package version id for tag {tag:?} not found"),
                )
            })
    }

    /// Deletes a version (with every tag it carries). A version already
    /// gone is not an error.
    pub async fn delete_version(&self, p: &Package, id: u64) -> Result<(), VendorError> {
        let op = format!("deleting version {id} of {}/{}", p.owner, p.name);
        let path = format!("{}/{id}", self.versions_path(p).await?);
        let resp = self.get(&op, Method::DELETE, &path).await?;
        match resp.status() {
            StatusCode::OK
            | StatusCode::ACCEPTED
            | StatusCode::NO_CONTENT
            | StatusCode::NOT_FOUND => Ok(()),
            _ => Err(self.api.status_error(&op, resp).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Package;

    #[test]
    fn packages_of_paths() {
        assert_eq!(
            Package::of_path("myorg/my-app/web").unwrap(),
            Package {
                owner: "myorg".into(),
                name: "my-app%2Fweb".into()
            }
        );
        assert!(Package::of_path("lonely").is_err());
        assert!(Package::of_path("/x").is_err());
    }
}
