//! Where registry credentials come from, as the Docker CLI finds them:
//! `credHelpers` for the host, then `auths`, then `credsStore`, in
//! `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::RegistryError;

/// Where a credential was found, for messages (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `auths.<key>` of a docker config file.
    DockerConfig { path: PathBuf, key: String },
    /// A `docker-credential-<name>` helper.
    Helper { name: String },
    /// Given directly (flags, CI variables).
    Explicit(String),
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::DockerConfig { path, key } => {
                write!(f, "{} (auths.{key})", path.display())
            }
            CredentialSource::Helper { name } => {
                write!(f, "the credential helper docker-credential-{name}")
            }
            CredentialSource::Explicit(what) => write!(f, "{what}"),
        }
    }
}

/// A username and secret. `Debug` never shows the secret.
#[derive(Clone)]
pub struct Credential {
    pub username: String,
    secret: String,
    pub source: CredentialSource,
}

impl Credential {
    /// An identity (refresh) token, as `docker login` stores for registries
    /// with OAuth2 (Azure, Harbor OIDC): Docker's `<token>` user name.
    pub fn is_identity_token(&self) -> bool {
        self.username == "<token>"
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .field("source", &self.source)
            .finish()
    }
}

impl Credential {
    pub fn new(
        username: impl Into<String>,
        secret: impl Into<String>,
        source: CredentialSource,
    ) -> Credential {
        Credential {
            username: username.into(),
            secret: secret.into(),
            source,
        }
    }

    /// `Basic base64(user:secret)`.
    pub fn basic_header(&self) -> String {
        format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", self.username, self.secret))
        )
    }

    /// The secret, for the few places that must send it; keep it out of logs.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

/// A docker config: the lookup order of the Docker CLI.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    path: Option<PathBuf>,
    config: serde_json::Value,
}

/// `https://host/v1/`, `host`, `http://host` → `host`.
fn normalize(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let k = k.split('/').next().unwrap_or(k);
    match k {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        other => other.to_string(),
    }
}

impl Credentials {
    /// `$WERF_DOCKER_CONFIG`, `$DOCKER_CONFIG`, or `~/.docker`, as werf reads them.
    pub fn from_env() -> Result<Credentials, RegistryError> {
        let dir = std::env::var_os("WERF_DOCKER_CONFIG")
            .or_else(|| std::env::var_os("DOCKER_CONFIG"))
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
        match dir {
            Some(d) => Credentials::from_dir(&d),
            None => Ok(Credentials::default()),
        }
    }

    /// Reads `<dir>/config.json`; a missing file means no credentials.
    pub fn from_dir(dir: &Path) -> Result<Credentials, RegistryError> {
        let path = dir.join("config.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let config = serde_json::from_str(&text).map_err(|e| {
                    RegistryError::Credentials(format!("{}: invalid JSON: {e}", path.display()))
                })?;
                Ok(Credentials {
                    path: Some(path),
                    config,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Credentials::default()),
            Err(e) => Err(RegistryError::Credentials(format!(
                "{}: {e}",
                path.display()
            ))),
        }
    }

    /// Adds `user:password` for `host` in memory (the config file is not
    /// touched), unless the config already has credentials for it: a CI
    /// job's token is a fallback, never an override.
    pub fn add_fallback_login(&mut self, host: &str, user: &str, password: &str) {
        if matches!(self.lookup(host), Ok(Some(_))) {
            return;
        }
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        if !self.config.is_object() {
            self.config = serde_json::json!({});
        }
        let auths = self
            .config
            .as_object_mut()
            .map(|root| root.entry("auths").or_insert_with(|| serde_json::json!({})));
        if let Some(auths) = auths.and_then(|a| a.as_object_mut()) {
            auths.insert(host.to_string(), serde_json::json!({ "auth": auth }));
        }
    }

    /// Credentials for `host` (`registry.example.com:5000`), if any.
    pub fn lookup(&self, host: &str) -> Result<Option<Credential>, RegistryError> {
        let host = normalize(host);
        if let Some(helpers) = self.config.get("credHelpers").and_then(|h| h.as_object()) {
            if let Some(name) = helpers
                .iter()
                .find(|(k, _)| normalize(k) == host)
                .and_then(|(_, v)| v.as_str())
            {
                return run_helper(name, &host);
            }
        }
        if let Some(auths) = self.config.get("auths").and_then(|a| a.as_object()) {
            if let Some((key, entry)) = auths.iter().find(|(k, _)| normalize(k) == host) {
                let source = CredentialSource::DockerConfig {
                    path: self.path.clone().unwrap_or_default(),
                    key: key.clone(),
                };
                if let Some(auth) = entry
                    .get("auth")
                    .and_then(|a| a.as_str())
                    .filter(|a| !a.is_empty())
                {
                    let decoded = STANDARD.decode(auth).map_err(|_| {
                        RegistryError::Credentials(format!("{source}: `auth` is not base64"))
                    })?;
                    let text = String::from_utf8_lossy(&decoded);
                    let (user, secret) = text.split_once(':').ok_or_else(|| {
                        RegistryError::Credentials(format!("{source}: `auth` is not user:password"))
                    })?;
                    return Ok(Some(Credential::new(user, secret, source)));
                }
                if let (Some(u), Some(p)) = (
                    entry.get("username").and_then(|v| v.as_str()),
                    entry.get("password").and_then(|v| v.as_str()),
                ) {
                    return Ok(Some(Credential::new(u, p, source)));
                }
                if let Some(t) = entry.get("identitytoken").and_then(|v| v.as_str()) {
                    return Ok(Some(Credential::new("<token>", t, source)));
                }
            }
        }
        if let Some(store) = self.config.get("credsStore").and_then(|s| s.as_str()) {
            return run_helper(store, &host);
        }
        Ok(None)
    }
}

/// `docker-credential-<name> get`, the server on stdin, JSON on stdout.
fn run_helper(name: &str, host: &str) -> Result<Option<Credential>, RegistryError> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RegistryError::Credentials(format!("running {program}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| RegistryError::Credentials(format!("running {program}: {e}")))?;
    if !out.status.success() {
        let msg = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if msg.contains("credentials not found") {
            return Ok(None);
        }
        return Err(RegistryError::Credentials(format!(
            "{program} get failed for {host}: {msg}"
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| RegistryError::Credentials(format!("{program} returned invalid JSON: {e}")))?;
    let user = v
        .get("Username")
        .and_then(|u| u.as_str())
        .unwrap_or_default();
    let secret = v.get("Secret").and_then(|s| s.as_str()).unwrap_or_default();
    Ok(Some(Credential::new(
        user,
        secret,
        CredentialSource::Helper { name: name.into() },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auths_entries_and_redaction() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://reg.example:5000/v1/":{"auth":"dXNlcjpzM2NyM3Q="}, "other.example":{"username":"u","password":"p"}}}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = Credentials::from_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let cred = c
            .lookup("reg.example:5000")
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no credential"));
        assert_eq!((cred.username.as_str(), cred.secret()), ("user", "s3cr3t"));
        assert!(!format!("{cred:?}").contains("s3cr3t"));
        assert!(c.lookup("other.example").ok().flatten().is_some());
        assert!(c.lookup("nothing.example").ok().flatten().is_none());
    }
}
