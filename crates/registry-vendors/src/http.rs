//! Requests to a vendor API: transport errors and 5xx retried with
//! backoff, rate limits waited out (GitHub's `x-ratelimit-*` on a 403 or
//! 429, `Retry-After`, Docker Hub's `X-RateLimit-Reset`), up to a bound.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, RequestBuilder, Response, StatusCode};

use crate::VendorError;

const ATTEMPTS: u32 = 8;
/// A rate limit that lifts later than this is reported, not waited out.
const LONGEST_WAIT: Duration = Duration::from_secs(90);

pub(crate) struct Api {
    pub http: reqwest::Client,
    /// `https://api.github.com`, without a trailing slash.
    pub base: String,
    pub vendor: &'static str,
    pub requests: AtomicU64,
    /// Rate-limited answers waited out (for statistics and tests).
    pub rate_limited: AtomicU64,
}

/// How long the answer asks us to wait, if it is a rate limit.
fn rate_limit_wait(resp: &Response, attempt: u32) -> Option<Duration> {
    let h = resp.headers();
    let get = |k: &str| h.get(k).and_then(|v| v.to_str().ok()).map(str::trim);
    let limited = resp.status() == StatusCode::TOO_MANY_REQUESTS
        || (resp.status() == StatusCode::FORBIDDEN
            && (get("x-ratelimit-remaining") == Some("0") || get("retry-after").is_some()));
    if !limited {
        return None;
    }
    if let Some(s) = get("retry-after").and_then(|s| s.parse::<u64>().ok()) {
        return Some(Duration::from_secs(s));
    }
    if let Some(reset) = get("x-ratelimit-reset").and_then(|s| s.parse::<u64>().ok()) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    Some(Duration::from_millis(500 << attempt.min(6)))
}

impl Api {
    pub fn new(http: reqwest::Client, base: &str, vendor: &'static str) -> Api {
        Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            vendor,
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        }
    }

    pub fn other(&self, operation: &str, message: impl Into<String>) -> VendorError {
        VendorError::Other {
            vendor: self.vendor,
            operation: operation.into(),
            message: message.into(),
        }
    }

    /// Sends `build(request)` to `base + path`, retrying as the module says.
    pub async fn send(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        build: &(dyn Fn(RequestBuilder) -> RequestBuilder + Sync),
    ) -> Result<Response, VendorError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let resp = match build(self.http.request(method.clone(), &url)).send().await {
                Ok(r) => r,
                Err(e) if attempt < ATTEMPTS => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200 << attempt.min(6))).await;
                    continue;
                }
                Err(e) => return Err(self.other(operation, e.to_string())),
            };
            if let Some(wait) = rate_limit_wait(&resp, attempt) {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
                if wait > LONGEST_WAIT || attempt >= ATTEMPTS {
                    return Err(self.other(
                        operation,
                        format!(
                            "rate limited (HTTP {}); the limit lifts in {} s\n  hint: run it again later, or with a lower --parallel-tasks-limit",
                            resp.status().as_u16(),
                            wait.as_secs()
                        ),
                    ));
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            if resp.status().is_server_error() && attempt < ATTEMPTS {
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(6))).await;
                continue;
            }
            return Ok(resp);
        }
    }

    /// An unexpected answer as an error, with the start of its body.
    pub async fn status_error(&self, operation: &str, resp: Response) -> VendorError {
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        VendorError::Status {
            vendor: self.vendor,
            operation: operation.into(),
            status,
            message: message_of(&body),
        }
    }
}

/// The `message` (GitHub) or `detail` (Docker Hub) of a JSON error body,
/// else its start.
pub(crate) fn message_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("detail"))
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(300).collect())
}
