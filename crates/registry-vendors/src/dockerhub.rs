//! Docker Hub: tags are deleted through its REST API (spec §4.2), one tag
//! at a time (the manifest and the other tags stay), with a JWT that is
//! `--repo-docker-hub-token` or the answer to a login with username and
//! password. The repository must be exactly `account/project`.

use std::sync::atomic::Ordering;

use reqwest::{Method, StatusCode};
use tokio::sync::Mutex;

use crate::http::{message_of, Api};
use crate::VendorError;

pub const HINT: &str = "specify a Docker Hub token with --repo-docker-hub-token (WERF_REPO_DOCKER_HUB_TOKEN), or a username and password with --repo-docker-hub-username and --repo-docker-hub-password; personal access tokens cannot delete tags";

pub enum Login {
    Token(String),
    Password { username: String, password: String },
}

pub struct DockerHub {
    api: Api,
    login: Login,
    token: Mutex<Option<String>>,
}

impl DockerHub {
    /// `base`: `https://hub.docker.com`, or another (`DAVIT_DOCKER_HUB_API_URL`).
    pub fn new(http: reqwest::Client, base: &str, login: Login) -> DockerHub {
        DockerHub {
            api: Api::new(http, base, "Docker Hub"),
            login,
            token: Mutex::new(None),
        }
    }

    pub fn request_count(&self) -> u64 {
        self.api.requests.load(Ordering::Relaxed)
    }

    pub fn rate_limited_count(&self) -> u64 {
        self.api.rate_limited.load(Ordering::Relaxed)
    }

    fn refused(operation: &str, message: String) -> VendorError {
        VendorError::Refused {
            vendor: "Docker Hub",
            operation: operation.into(),
            message,
            hint: HINT,
        }
    }

    async fn token(&self) -> Result<String, VendorError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref() {
            return Ok(t.clone());
        }
        let token = match &self.login {
            Login::Token(t) => t.clone(),
            Login::Password { username, password } => {
                let op = format!("logging in as {username}");
                let body = serde_json::json!({"username": username, "password": password});
                let resp = self
                    .api
                    .send(&op, Method::POST, "/v2/users/login/", &|r| r.json(&body))
                    .await?;
                if resp.status() == StatusCode::UNAUTHORIZED {
                    let text = resp.text().await.unwrap_or_default();
                    return Err(Self::refused(
                        &op,
                        format!("unauthorized: {}", message_of(&text)),
                    ));
                }
                if !resp.status().is_success() {
                    return Err(self.api.status_error(&op, resp).await);
                }
                let v: serde_json::Value = resp
                    .json()
                    .await
                    .map_err(|e| self.api.other(&op, e.to_string()))?;
                v["token"]
                    .as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.api.other(&op, "the answer has no token"))?
            }
        };
        *cached = Some(token.clone());
        Ok(token)
    }

    /// Deletes `tag` of `account/project`. A tag already gone is not an error.
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<(), VendorError> {
        let op = format!("deleting {repository}:{tag}");
        let parts: Vec<&str> = repository.split('/').collect();
        if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
            return Err(self.api.other(
                &op,
                format!("{repository:?}: a Docker Hub repository is exactly ACCOUNT/PROJECT"),
            ));
        }
        let token = self.token().await?;
        let path = format!("/v2/repositories/{repository}/tags/{tag}/");
        let resp = self
            .api
            .send(&op, Method::DELETE, &path, &|r| {
                r.header("Authorization", format!("JWT {token}"))
            })
            .await?;
        match resp.status() {
            StatusCode::OK
            | StatusCode::ACCEPTED
            | StatusCode::NO_CONTENT
            | StatusCode::NOT_FOUND => Ok(()),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                Err(Self::refused(
                    &op,
                    format!("HTTP {status}: {}", message_of(&text)),
                ))
            }
            _ => Err(self.api.status_error(&op, resp).await),
        }
    }
}
