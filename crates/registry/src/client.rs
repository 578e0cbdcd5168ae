//! The registry client: authenticated requests with retries and a per-host
//! concurrency limit, and the manifest and tag operations built on them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LINK, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::challenge::{self, Challenge};
use crate::credentials::{Credential, Credentials};
use crate::error::RegistryError;

mod blob_stream;

/// A manifest's identity as the registry reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub digest: String,
    pub media_type: String,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// Hosts reached over plain HTTP (`--insecure-registry`). Loopback
    /// hosts always are, as with Docker.
    pub insecure_registries: Vec<String>,
    /// Accept any TLS certificate (`--skip-tls-verify-registry`).
    pub skip_tls_verify: bool,
    /// Requests in flight per host.
    pub max_per_host: usize,
    /// Attempts per request for transport errors, 429 and 5xx.
    pub attempts: u32,
    /// Bytes per `PATCH` when a blob is copied between registries: the
    /// most of a blob held in memory at once.
    pub chunk_size: usize,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            insecure_registries: Vec::new(),
            skip_tls_verify: false,
            max_per_host: 8,
            attempts: 4,
            chunk_size: 16 << 20,
        }
    }
}

/// What a host asked for last time, to authenticate up front.
#[derive(Debug, Clone)]
enum HostAuth {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

/// One request: what it is for (for errors), where, and the scope it needs.
struct Req<'a> {
    op: &'a str,
    host: &'a str,
    method: Method,
    path: &'a str,
    accept: Option<&'a str>,
    body: Option<(&'a str, Vec<u8>)>,
    scope: &'a str,
}

pub struct RegistryClient {
    http: reqwest::Client,
    credentials: Credentials,
    options: RegistryOptions,
    host_auth: Mutex<HashMap<String, HostAuth>>,
    /// `https://host` or `http://host` for hosts that may speak either,
    /// decided once per host.
    bases: Mutex<HashMap<String, String>>,
    tokens: Mutex<HashMap<(String, String), String>>,
    limits: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// HTTP requests sent (token requests included), for statistics.
    requests: std::sync::atomic::AtomicU64,
}

fn is_loopback(host: &str) -> bool {
    let h = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    h == "localhost" || h.starts_with("127.") || h == "[::1]"
}

/// A transport failure as the user should read it: every cause, and for
/// certificate problems what to do.
fn transport_message(e: &reqwest::Error) -> String {
    let text = error_chain(e);
    if text.to_ascii_lowercase().contains("certificate") {
        format!("{text}\n  hint: the registry's certificate is not trusted: point SSL_CERT_FILE (or SSL_CERT_DIR) at a CA bundle that includes its CA, or use --skip-tls-verify-registry")
    } else {
        text
    }
}

/// An error and its causes, for deciding what kind of failure it was.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn sha256(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.min(60)))
}

/// The HTTP client davit talks to registries (and their vendors' APIs)
/// with: rustls over ring, Mozilla's roots built in (so the static binary
/// works in an image with no CA bundle) plus the system's (SSL_CERT_FILE,
/// SSL_CERT_DIR, the distribution's bundle).
pub fn http_client(skip_tls_verify: bool) -> Result<reqwest::Client, RegistryError> {
    // reqwest is built without a default crypto provider: use ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok());
    reqwest::Client::builder()
        .user_agent(concat!("davit/", env!("CARGO_PKG_VERSION")))
        .tls_certs_merge(bundled)
        .tls_danger_accept_invalid_certs(skip_tls_verify)
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| RegistryError::Transport {
            host: String::new(),
            operation: "creating the HTTP client".into(),
            message: e.to_string(),
        })
}

impl RegistryClient {
    pub fn new(
        credentials: Credentials,
        options: RegistryOptions,
    ) -> Result<RegistryClient, RegistryError> {
        let http = http_client(options.skip_tls_verify)?;
        Ok(RegistryClient {
            http,
            credentials,
            options,
            host_auth: Mutex::new(HashMap::new()),
            bases: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            limits: Mutex::new(HashMap::new()),
            requests: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The scheme and host to reach `host` at. Registries on loopback
    /// addresses and `--insecure-registry` hosts may speak plain HTTP, as
    /// Docker allows: davit starts with HTTP there and switches to HTTPS
    /// (certificates verified, trusting `SSL_CERT_FILE`/`SSL_CERT_DIR` and
    /// the built-in roots) when the host answers that it speaks only TLS.
    /// Every other host is HTTPS.
    fn base(&self, host: &str) -> String {
        let may_be_plain =
            is_loopback(host) || self.options.insecure_registries.iter().any(|h| h == host);
        if !may_be_plain {
            return format!("https://{host}");
        }
        self.bases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .cloned()
            .unwrap_or_else(|| format!("http://{host}"))
    }

    /// Go's TLS servers answer a plain-HTTP request with a 400 that says
    /// so; from then on the host is reached over HTTPS.
    fn switch_to_https(&self, host: &str) {
        self.bases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(host.to_string(), format!("https://{host}"));
    }

    /// How many HTTP requests this client has sent.
    pub fn request_count(&self) -> u64 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn limit(&self, host: &str) -> Arc<Semaphore> {
        let mut m = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        m.entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(self.options.max_per_host.max(1))))
            .clone()
    }

    fn credential(&self, host: &str) -> Result<Option<Credential>, RegistryError> {
        self.credentials.lookup(host)
    }

    fn unauthorized(
        &self,
        host: &str,
        op: &str,
        method: &str,
        cred: Option<&Credential>,
        message: String,
    ) -> RegistryError {
        RegistryError::Unauthorized {
            host: host.to_string(),
            operation: op.to_string(),
            method: method.to_string(),
            source_desc: cred.map(|c| c.source.to_string()).unwrap_or_else(|| {
                "nowhere (no credentials found for this host in the docker config)".into()
            }),
            message,
        }
    }

    /// Fetches a bearer token for `scope` (with basic credentials if any).
    async fn token(
        &self,
        host: &str,
        op: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
    ) -> Result<String, RegistryError> {
        let key = (host.to_string(), scope.to_string());
        if let Some(t) = self
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(t.clone());
        }
        let cred = self.credential(host)?;
        let req = match &cred {
            // An identity token is exchanged with the OAuth2 form POST of
            // Docker's token specification.
            Some(c) if c.is_identity_token() => {
                let mut form: Vec<(&str, &str)> = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", c.secret()),
                    ("client_id", "davit"),
                    ("scope", scope),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                self.http.post(realm).form(&form)
            }
            _ => {
                let mut query: Vec<(&str, &str)> = Vec::new();
                if let Some(s) = service {
                    query.push(("service", s));
                }
                for s in scope.split(' ').filter(|s| !s.is_empty()) {
                    query.push(("scope", s));
                }
                let req = self.http.get(realm).query(&query);
                match &cred {
                    Some(c) => req.header(AUTHORIZATION, c.basic_header()),
                    None => req,
                }
            }
        };
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resp = req.send().await.map_err(|e| RegistryError::Transport {
            host: host.into(),
            operation: format!("{op}: requesting a token from {realm}"),
            message: e.to_string(),
        })?;
        if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
            return Err(self.unauthorized(
                host,
                op,
                "bearer token",
                cred.as_ref(),
                format!("the token server at {realm} answered {}", resp.status()),
            ));
        }
        let body: serde_json::Value = resp.json().await.map_err(|e| RegistryError::Transport {
            host: host.into(),
            operation: format!("{op}: reading the token from {realm}"),
            message: e.to_string(),
        })?;
        let token = body
            .get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .ok_or_else(|| RegistryError::Transport {
                host: host.into(),
                operation: op.into(),
                message: format!("the token server at {realm} returned no token"),
            })?
            .to_string();
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, token.clone());
        Ok(token)
    }

    async fn auth_header(
        &self,
        host: &str,
        op: &str,
        scope: &str,
    ) -> Result<Option<String>, RegistryError> {
        let known = self
            .host_auth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(host)
            .cloned();
        Ok(match known {
            None => None,
            Some(HostAuth::Basic) => self.credential(host)?.map(|c| c.basic_header()),
            Some(HostAuth::Bearer { realm, service }) => Some(format!(
                "Bearer {}",
                self.token(host, op, &realm, service.as_deref(), scope)
                    .await?
            )),
        })
    }

    /// Sends a request, authenticating on a 401 challenge (with the union of
    /// our scope and the challenge's) and retrying transport errors, 429 and
    /// 5xx with backoff.
    async fn send(&self, r: Req<'_>) -> Result<reqwest::Response, RegistryError> {
        let Req {
            op,
            host,
            method,
            path,
            accept,
            body,
            scope,
        } = r;
        let _permit =
            self.limit(host)
                .acquire_owned()
                .await
                .map_err(|e| RegistryError::Transport {
                    host: host.into(),
                    operation: op.into(),
                    message: e.to_string(),
                })?;
        let absolute = path.starts_with("http://") || path.starts_with("https://");
        let url_for = |client: &Self| {
            if absolute {
                path.to_string()
            } else {
                format!("{}{path}", client.base(host))
            }
        };
        let mut url = url_for(self);
        let mut scope = scope.to_string();
        let mut reauthed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), &url);
            if let Some(a) = accept {
                req = req.header(ACCEPT, a);
            }
            if let Some((ct, data)) = &body {
                req = req.header(CONTENT_TYPE, *ct).body(data.clone());
            }
            if let Some(h) = self.auth_header(host, op, &scope).await? {
                req = req.header(AUTHORIZATION, h);
            }
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) if attempt < self.options.attempts => {
                    tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
                    let _ = e;
                    continue;
                }
                Err(e) => {
                    return Err(RegistryError::Transport {
                        host: host.into(),
                        operation: op.into(),
                        message: transport_message(&e),
                    })
                }
            };
            let status = resp.status();
            if status == StatusCode::BAD_REQUEST && !absolute && url.starts_with("http://") {
                let body = resp.text().await.unwrap_or_default();
                if body.contains("HTTP request to an HTTPS server") {
                    self.switch_to_https(host);
                    url = url_for(self);
                    attempt -= 1;
                    continue;
                }
                return Err(RegistryError::Status {
                    host: host.into(),
                    operation: op.into(),
                    status: status.as_u16(),
                    message: body.chars().take(300).collect(),
                });
            }
            if status == StatusCode::UNAUTHORIZED && !reauthed {
                reauthed = true;
                let header = resp
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                match challenge::parse(&header) {
                    Some(Challenge::Basic) => {
                        if self.credential(host)?.is_none() {
                            return Err(self.unauthorized(
                                host,
                                op,
                                "basic",
                                None,
                                "the registry requires credentials".into(),
                            ));
                        }
                        self.host_auth
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(host.into(), HostAuth::Basic);
                    }
                    Some(Challenge::Bearer {
                        realm,
                        service,
                        scope: wanted,
                    }) => {
                        if let Some(w) = wanted {
                            if !scope.split(' ').any(|s| s == w) {
                                scope = if scope.is_empty() {
                                    w
                                } else {
                                    format!("{scope} {w}")
                                };
                            }
                        }
                        self.tokens
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&(host.to_string(), scope.clone()));
                        self.host_auth
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(host.into(), HostAuth::Bearer { realm, service });
                    }
                    None => {
                        return Err(self.unauthorized(
                            host,
                            op,
                            "none",
                            None,
                            format!("unsupported authentication challenge {header:?}"),
                        ));
                    }
                }
                attempt -= 1;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                let method_name = match self
                    .host_auth
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(host)
                {
                    Some(HostAuth::Basic) => "basic",
                    Some(HostAuth::Bearer { .. }) => "bearer token",
                    None => "none",
                };
                let cred = self.credential(host)?;
                return Err(self.unauthorized(
                    host,
                    op,
                    method_name,
                    cred.as_ref(),
                    format!("the registry answered {status}"),
                ));
            }
            if (status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error())
                && attempt < self.options.attempts
            {
                let wait =
                    retry_after(resp.headers()).unwrap_or(Duration::from_millis(200 << attempt));
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok(resp);
        }
    }

    async fn fail(op: &str, host: &str, resp: reqwest::Response) -> RegistryError {
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        RegistryError::Status {
            host: host.into(),
            operation: op.into(),
            status,
            message: body.chars().take(300).collect(),
        }
    }

    fn descriptor(headers: &HeaderMap, body: Option<&[u8]>) -> Descriptor {
        let digest = headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .or_else(|| body.map(sha256))
            .unwrap_or_default();
        let media_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let size = body
            .map(|b| b.len() as u64)
            .or_else(|| {
                headers
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|s| s.parse().ok())
            })
            .unwrap_or(0);
        Descriptor {
            digest,
            media_type,
            size,
        }
    }

    /// A pull request for a manifest, accepting every manifest media type.
    async fn manifest_request(
        &self,
        op: &str,
        host: &str,
        method: Method,
        repo: &str,
        reference: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        self.send(Req {
            op,
            host,
            method,
            path: &format!("/v2/{repo}/manifests/{reference}"),
            accept: Some(crate::media::ACCEPT_ALL),
            body: None,
            scope: &format!("repository:{repo}:pull"),
        })
        .await
    }

    /// `HEAD /v2/<repo>/manifests/<ref>`: the descriptor, or `None` if absent.
    pub async fn manifest_head(
        &self,
        host: &str,
        repo: &str,
        reference: &str,
    ) -> Result<Option<Descriptor>, RegistryError> {
        let op = format!("checking {repo}:{reference}");
        let resp = self
            .manifest_request(&op, host, Method::HEAD, repo, reference)
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(Self::descriptor(resp.headers(), None))),
            _ => Err(Self::fail(&op, host, resp).await),
        }
    }

    /// `GET /v2/<repo>/manifests/<ref>`: descriptor and exact bytes.
    pub async fn manifest_get(
        &self,
        host: &str,
        repo: &str,
        reference: &str,
    ) -> Result<Option<(Descriptor, Vec<u8>)>, RegistryError> {
        let op = format!("reading {repo}:{reference}");
        let resp = self
            .manifest_request(&op, host, Method::GET, repo, reference)
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let headers = resp.headers().clone();
                let body = Self::read_body(host, &op, resp).await?;
                let d = Self::descriptor(&headers, Some(&body));
                let computed = sha256(&body);
                if d.digest.starts_with("sha256:") && d.digest != computed {
                    return Err(RegistryError::Transport {
                        host: host.into(),
                        operation: op,
                        message: format!(
                            "manifest digest mismatch: registry says {}, content is {computed}",
                            d.digest
                        ),
                    });
                }
                Ok(Some((d, body)))
            }
            _ => Err(Self::fail(&op, host, resp).await),
        }
    }

    /// A request without a body or `Accept` header.
    async fn call(
        &self,
        op: &str,
        host: &str,
        method: Method,
        path: &str,
        scope: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        self.send(Req {
            op,
            host,
            method,
            path,
            accept: None,
            body: None,
            scope,
        })
        .await
    }

    /// The whole response body.
    async fn read_body(
        host: &str,
        op: &str,
        resp: reqwest::Response,
    ) -> Result<Vec<u8>, RegistryError> {
        resp.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|e| RegistryError::Transport {
                host: host.into(),
                operation: op.to_string(),
                message: e.to_string(),
            })
    }

    /// A plain `GET` of a URL outside the registry API (a Helm chart
    /// repository's `index.yaml` and archives), with the same TLS roots
    /// and options.
    pub async fn fetch_url(&self, url: &str) -> Result<Vec<u8>, RegistryError> {
        let host = url
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or(url)
            .to_string();
        let op = format!("downloading {url}");
        let resp = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| RegistryError::Transport {
                host: host.clone(),
                operation: op.clone(),
                message: e.to_string(),
            })?;
        if !resp.status().is_success() {
            return Err(RegistryError::Status {
                host,
                operation: op,
                status: resp.status().as_u16(),
                message: resp.status().canonical_reason().unwrap_or("").to_string(),
            });
        }
        Self::read_body(&host, &op, resp).await
    }

    /// `GET /v2/<repo>/blobs/<digest>`, checked against the digest. For
    /// small blobs such as image configs (the body is held in memory).
    pub async fn blob_get(
        &self,
        host: &str,
        repo: &str,
        digest: &str,
    ) -> Result<Option<Vec<u8>>, RegistryError> {
        let op = format!("reading blob {digest} of {repo}");
        let path = format!("/v2/{repo}/blobs/{digest}");
        let scope = format!("repository:{repo}:pull");
        let resp = self.call(&op, host, Method::GET, &path, &scope).await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let body = Self::read_body(host, &op, resp).await?;
                let computed = sha256(&body);
                if computed != digest {
                    return Err(RegistryError::Transport {
                        host: host.into(),
                        operation: op,
                        message: format!("blob content is {computed}"),
                    });
                }
                Ok(Some(body))
            }
            _ => Err(Self::fail(&op, host, resp).await),
        }
    }

    /// `HEAD /v2/<repo>/blobs/<digest>`.
    pub async fn blob_exists(
        &self,
        host: &str,
        repo: &str,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let op = format!("checking blob {digest} of {repo}");
        let path = format!("/v2/{repo}/blobs/{digest}");
        let scope = format!("repository:{repo}:pull");
        let resp = self.call(&op, host, Method::HEAD, &path, &scope).await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            _ => Err(Self::fail(&op, host, resp).await),
        }
    }

    /// Uploads a small blob in one piece (`POST` an upload, `PUT` the
    /// bytes with their digest), unless the repository already has it.
    pub async fn blob_put(
        &self,
        host: &str,
        repo: &str,
        data: Vec<u8>,
    ) -> Result<String, RegistryError> {
        let digest = sha256(&data);
        if self.blob_exists(host, repo, &digest).await? {
            return Ok(digest);
        }
        let op = format!("uploading blob {digest} to {repo}");
        let scope = format!("repository:{repo}:pull,push");
        let resp = self
            .send(Req {
                op: &op,
                host,
                method: Method::POST,
                path: &format!("/v2/{repo}/blobs/uploads/"),
                accept: None,
                body: Some(("application/octet-stream", Vec::new())),
                scope: &scope,
            })
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(Self::fail(&op, host, resp).await);
        }
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Transport {
                host: host.into(),
                operation: op.clone(),
                message: "the registry gave no upload location".into(),
            })?
            .to_string();
        let sep = if location.contains('?') { '&' } else { '?' };
        let target = format!("{location}{sep}digest={digest}");
        let resp = self
            .send(Req {
                op: &op,
                host,
                method: Method::PUT,
                path: &target,
                accept: None,
                body: Some(("application/octet-stream", data)),
                scope: &scope,
            })
            .await?;
        if resp.status() != StatusCode::CREATED {
            return Err(Self::fail(&op, host, resp).await);
        }
        Ok(digest)
    }

    /// Mounts a blob from `from_repo` on the same host; `false` when the
    /// registry declined (it then starts a normal upload, left unused).
    pub async fn blob_mount(
        &self,
        host: &str,
        repo: &str,
        digest: &str,
        from_repo: &str,
    ) -> Result<bool, RegistryError> {
        let op = format!("mounting blob {digest} from {from_repo} into {repo}");
        let resp = self
            .send(Req {
                op: &op,
                host,
                method: Method::POST,
                path: &format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={from_repo}"),
                accept: None,
                body: Some(("application/octet-stream", Vec::new())),
                scope: &format!("repository:{repo}:pull,push repository:{from_repo}:pull"),
            })
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => Ok(false),
            _ => Err(Self::fail(&op, host, resp).await),
        }
    }

    /// Copies `src_repo:tag` to `dst_repo:tag` on registries `src_host` and
    /// `dst_host`: blobs first (mounted on the same host, else streamed
    /// across in chunks), the manifest last. Returns the manifest digest.
    pub async fn copy_image(
        &self,
        (src_host, src_repo): (&str, &str),
        (dst_host, dst_repo): (&str, &str),
        tag: &str,
    ) -> Result<String, RegistryError> {
        let op = format!("copying {src_host}/{src_repo}:{tag} to {dst_host}/{dst_repo}");
        let (desc, body) = self
            .manifest_get(src_host, src_repo, tag)
            .await?
            .ok_or_else(|| RegistryError::Missing {
                host: src_host.into(),
                operation: op.clone(),
                what: format!("the tag {tag}"),
            })?;
        match crate::parse_manifest(&body) {
            Ok(crate::OciManifest::Image(manifest)) => {
                self.copy_blobs((src_host, src_repo), (dst_host, dst_repo), &manifest, &op)
                    .await?;
            }
            // A multi-platform index: each platform's manifest (by digest)
            // with its blobs first, the index last.
            Ok(crate::OciManifest::ImageIndex(index)) => {
                for child in &index.manifests {
                    let (child_desc, child_body) = self
                        .manifest_get(src_host, src_repo, &child.digest)
                        .await?
                        .ok_or_else(|| RegistryError::Missing {
                            host: src_host.into(),
                            operation: op.clone(),
                            what: format!("the manifest {}", child.digest),
                        })?;
                    let Ok(crate::OciManifest::Image(manifest)) =
                        crate::parse_manifest(&child_body)
                    else {
                        return Err(RegistryError::Transport {
                            host: src_host.into(),
                            operation: op,
                            message: format!("{} is not an image manifest", child.digest),
                        });
                    };
                    self.copy_blobs((src_host, src_repo), (dst_host, dst_repo), &manifest, &op)
                        .await?;
                    self.manifest_put(
                        dst_host,
                        dst_repo,
                        &child.digest,
                        &child_desc.media_type,
                        child_body,
                    )
                    .await?;
                }
            }
            Err(message) => {
                return Err(RegistryError::Transport {
                    host: src_host.into(),
                    operation: op,
                    message,
                })
            }
        }
        let stored = self
            .manifest_put(dst_host, dst_repo, tag, &desc.media_type, body)
            .await?;
        Ok(stored.digest)
    }

    /// The config and layers of `manifest`, from `src` to `dst` unless there:
    /// mounted on the same host, else streamed across. `op` names the work
    /// in errors.
    pub async fn copy_blobs(
        &self,
        (src_host, src_repo): (&str, &str),
        (dst_host, dst_repo): (&str, &str),
        manifest: &crate::OciImageManifest,
        op: &str,
    ) -> Result<(), RegistryError> {
        let blobs = std::iter::once(&manifest.config)
            .chain(&manifest.layers)
            .map(|d| d.digest.as_str());
        for digest in blobs {
            if self.blob_exists(dst_host, dst_repo, digest).await? {
                continue;
            }
            if src_host == dst_host
                && self
                    .blob_mount(dst_host, dst_repo, digest, src_repo)
                    .await?
            {
                continue;
            }
            let copied = self
                .blob_copy_streamed((src_host, src_repo), (dst_host, dst_repo), digest)
                .await?;
            if !copied {
                return Err(RegistryError::Missing {
                    host: src_host.into(),
                    operation: op.to_string(),
                    what: format!("blob {digest}"),
                });
            }
        }
        Ok(())
    }

    /// `PUT /v2/<repo>/manifests/<tag>`: returns the stored digest.
    pub async fn manifest_put(
        &self,
        host: &str,
        repo: &str,
        tag: &str,
        media_type: &str,
        manifest: Vec<u8>,
    ) -> Result<Descriptor, RegistryError> {
        let op = format!("publishing {repo}:{tag}");
        let digest = sha256(&manifest);
        let size = manifest.len() as u64;
        let resp = self
            .send(Req {
                op: &op,
                host,
                method: Method::PUT,
                path: &format!("/v2/{repo}/manifests/{tag}"),
                accept: None,
                body: Some((media_type, manifest)),
                scope: &format!("repository:{repo}:pull,push"),
            })
            .await?;
        if !resp.status().is_success() {
            return Err(Self::fail(&op, host, resp).await);
        }
        Ok(Descriptor {
            digest,
            media_type: media_type.into(),
            size,
        })
    }

    /// `DELETE /v2/<repo>/manifests/<digest>`: whether this call deleted
    /// it (`false`: it was missing, which is not an error; after a retried
    /// server error it can also mean the first attempt deleted the manifest
    /// but not its tags).
    pub async fn manifest_delete(
        &self,
        host: &str,
        repo: &str,
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let op = format!("deleting {repo}@{digest}");
        let path = format!("/v2/{repo}/manifests/{digest}");
        let scope = format!("repository:{repo}:delete");
        let resp = self.call(&op, host, Method::DELETE, &path, &scope).await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            _ => Err(Self::fail(&op, host, resp).await),
        }
    }

    /// `DELETE /v2/<repo>/manifests/<tag>`: the tag alone, where the
    /// registry supports it (GCR). A missing tag is not an error.
    pub async fn manifest_tag_delete(
        &self,
        host: &str,
        repo: &str,
        tag: &str,
    ) -> Result<(), RegistryError> {
        self.manifest_delete(host, repo, tag).await.map(|_| ())
    }

    /// GitLab's `DELETE /v2/<repo>/tags/reference/<tag>`: the tag alone,
    /// with the token scopes GitLab accepts (`push,pull,delete`, then
    /// `*`). `Ok(false)` when the registry does not have the endpoint (a
    /// 404 that is not a registry error), so the caller falls back to
    /// deleting the manifest; a tag already gone is `Ok(true)`.
    pub async fn tag_reference_delete(
        &self,
        host: &str,
        repo: &str,
        tag: &str,
    ) -> Result<bool, RegistryError> {
        let op = format!("deleting the tag {repo}:{tag}");
        let path = format!("/v2/{repo}/tags/reference/{tag}");
        let mut refused = None;
        for scope in [
            format!("repository:{repo}:push,pull,delete"),
            format!("repository:{repo}:*"),
        ] {
            match self.call(&op, host, Method::DELETE, &path, &scope).await {
                Ok(resp) => {
                    return match resp.status() {
                        // A registry error (the tag is gone) or no such endpoint.
                        StatusCode::NOT_FOUND => {
                            let body = resp.text().await.unwrap_or_default();
                            Ok(body.contains("\"errors\""))
                        }
                        s if s.is_success() => Ok(true),
                        _ => Err(Self::fail(&op, host, resp).await),
                    };
                }
                Err(e @ RegistryError::Unauthorized { .. }) => refused = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(refused.unwrap_or_else(|| RegistryError::Transport {
            host: host.into(),
            operation: op,
            message: "no scope was tried".into(),
        }))
    }

    /// All tags of a repository, following `Link` pagination.
    /// Checks that this client's credentials for `host` are accepted, as
    /// `docker login` does: `GET /v2/`, answering the registry's challenge
    /// (basic, or a bearer token from its token server). A registry that
    /// asks for nothing accepts any credentials.
    pub async fn login(&self, host: &str) -> Result<(), RegistryError> {
        let op = "logging in";
        let resp = self.call(op, host, Method::GET, "/v2/", "").await?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(Self::fail(op, host, resp).await)
        }
    }

    pub async fn tags(&self, host: &str, repo: &str) -> Result<Vec<String>, RegistryError> {
        let op = format!("listing tags of {repo}");
        let mut out = Vec::new();
        // No `n`: the registry picks its page size (the distribution
        // registry sends every tag at once; paging 20,000 tags by 1,000
        // costs it a full listing per page) and links the next page.
        let mut path = format!("/v2/{repo}/tags/list");
        for _ in 0..10_000 {
            let resp = self
                .send(Req {
                    op: &op,
                    host,
                    method: Method::GET,
                    path: &path,
                    accept: None,
                    body: None,
                    scope: &format!("repository:{repo}:pull"),
                })
                .await?;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(out);
            }
            if !resp.status().is_success() {
                return Err(Self::fail(&op, host, resp).await);
            }
            let next = resp
                .headers()
                .get(LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(challenge::next_link);
            let body: serde_json::Value =
                resp.json().await.map_err(|e| RegistryError::Transport {
                    host: host.into(),
                    operation: op.clone(),
                    message: e.to_string(),
                })?;
            if let Some(tags) = body.get("tags").and_then(|t| t.as_array()) {
                out.extend(tags.iter().filter_map(|t| t.as_str().map(str::to_string)));
            }
            match next {
                Some(n) => path = n,
                None => return Ok(out),
            }
        }
        Ok(out)
    }
}
