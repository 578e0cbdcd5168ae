//! Amazon ECR: the registry API reads, but only the AWS API deletes.
//! `BatchDeleteImage` by tag (the tag goes; the image goes with its last
//! tag), signed with AWS Signature Version 4 from the credentials of the
//! environment or the shared credentials file. The region and registry id
//! come from the host (`<id>.dkr.ecr.<region>.amazonaws.com`), else from
//! `AWS_REGION` / `AWS_DEFAULT_REGION`.

use std::fmt;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use crate::http::Api;
use crate::VendorError;

pub const HINT: &str = "ECR deletes through the AWS API: give credentials allowed ecr:BatchDeleteImage on the repository (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with AWS_SESSION_TOKEN for temporary ones, or a profile of ~/.aws/credentials chosen by AWS_PROFILE, or the runner's own: a web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN), an ECS task or EKS Pod Identity role through AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, or the EC2 instance role)";

const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.BatchDeleteImage";
const THROTTLED_ATTEMPTS: u32 = 6;

/// AWS credentials. Their `Debug` shows the key id only.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// The environment's (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN`), else the profile `AWS_PROFILE` (or `default`)
    /// of `AWS_SHARED_CREDENTIALS_FILE` (or `~/.aws/credentials`).
    pub fn from_environment() -> Option<Credentials> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let (Some(id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            return Some(Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: var("AWS_SESSION_TOKEN"),
            });
        }
        let file = var("AWS_SHARED_CREDENTIALS_FILE")
            .or_else(|| var("HOME").map(|h| format!("{h}/.aws/credentials")))?;
        let text = std::fs::read_to_string(file).ok()?;
        let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".into());
        profile_credentials(&text, &profile)
    }
}

/// The credentials of `[profile]` in an INI credentials file.
fn profile_credentials(text: &str, profile: &str) -> Option<Credentials> {
    let mut in_profile = false;
    let (mut id, mut secret, mut token) = (None, None, None);
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if !in_profile {
            continue;
        }
        let v = Some(v.trim().to_string());
        match k.trim() {
            "aws_access_key_id" => id = v,
            "aws_secret_access_key" => secret = v,
            "aws_session_token" => token = v,
            _ => {}
        }
    }
    Some(Credentials {
        access_key_id: id?,
        secret_access_key: secret?,
        session_token: token,
    })
}

/// What an ECR host says: `<registry id>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrHost {
    pub registry_id: String,
    pub region: String,
    /// `amazonaws.com` or `amazonaws.com.cn`.
    pub domain: String,
}

pub fn parse_host(host: &str) -> Option<EcrHost> {
    let host = host.split(':').next()?;
    let (id, rest) = host.split_once('.')?;
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest
        .strip_prefix("dkr.ecr-fips.")
        .or_else(|| rest.strip_prefix("dkr.ecr."))?;
    let (region, domain) = rest.split_once('.')?;
    if !matches!(domain, "amazonaws.com" | "amazonaws.com.cn") || region.is_empty() {
        return None;
    }
    Some(EcrHost {
        registry_id: id.into(),
        region: region.into(),
        domain: domain.into(),
    })
}

pub struct Ecr {
    api: Api,
    /// Replaced when temporary keys expire and `refresh` can get new ones.
    credentials: std::sync::RwLock<Credentials>,
    /// Where the keys came from, when that can give new ones (the
    /// runner's: a web identity, the container endpoint, the instance).
    refresh: Option<(reqwest::Client, crate::aws_credentials::Sources)>,
    /// One refresh at a time; the others wait and use its keys.
    refreshing: tokio::sync::Mutex<()>,
    region: String,
    /// The account of the registry; `None`: the credentials' own.
    registry_id: Option<String>,
}

impl Ecr {
    /// For the registry at `host`; `api_url` overrides the endpoint
    /// (`https://api.ecr.<region>.<domain>`), as `DAVIT_ECR_API_URL` does.
    /// `region` (`AWS_REGION`) serves a host that does not name its own.
    pub fn new(
        http: reqwest::Client,
        host: &str,
        api_url: Option<&str>,
        region: Option<&str>,
        credentials: Credentials,
    ) -> Result<Ecr, String> {
        let parsed = parse_host(host);
        let region = match (&parsed, region) {
            (Some(h), _) => h.region.clone(),
            (None, Some(r)) => r.to_string(),
            (None, None) => {
                return Err(format!("{host} does not name its AWS region (<id>.dkr.ecr.<region>.amazonaws.com): set AWS_REGION"))
            }
        };
        let base = match (api_url, &parsed) {
            (Some(u), _) => u.to_string(),
            (None, Some(h)) => format!("https://api.ecr.{}.{}", h.region, h.domain),
            (None, None) => format!("https://api.ecr.{region}.amazonaws.com"),
        };
        Ok(Ecr {
            api: Api::new(http, &base, "Amazon ECR"),
            credentials: std::sync::RwLock::new(credentials),
            refresh: None,
            refreshing: tokio::sync::Mutex::new(()),
            region,
            registry_id: parsed.map(|h| h.registry_id),
        })
    }

    /// Keys that expire (the runner's temporary ones) are fetched again
    /// from `sources` when ECR says they expired, so a long run goes on.
    pub fn refreshing_from(
        mut self,
        http: reqwest::Client,
        sources: crate::aws_credentials::Sources,
    ) -> Ecr {
        self.refresh = Some((http, sources));
        self
    }

    fn current_credentials(&self) -> Credentials {
        match self.credentials.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// New keys after `used` expired; `Ok(false)` when they cannot be
    /// refreshed. Keys another task already replaced are not fetched again.
    async fn refresh_after(&self, used: &Credentials) -> Result<bool, String> {
        let Some((http, sources)) = &self.refresh else {
            return Ok(false);
        };
        let _one = self.refreshing.lock().await;
        if self.current_credentials().access_key_id != used.access_key_id {
            return Ok(true);
        }
        let Some(fresh) = crate::aws_credentials::from_runner(http, sources).await? else {
            return Ok(false);
        };
        match self.credentials.write() {
            Ok(mut c) => *c = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(true)
    }

    pub fn request_count(&self) -> u64 {
        self.api.requests.load(Ordering::Relaxed)
    }

    pub fn rate_limited_count(&self) -> u64 {
        self.api.rate_limited.load(Ordering::Relaxed)
    }

    /// Deletes `tag` of `repository`. A tag or repository already gone is
    /// not an error.
    pub async fn delete_tag(&self, repository: &str, tag: &str) -> Result<(), VendorError> {
        let op = format!("deleting {repository}:{tag}");
        let mut body = serde_json::json!({
            "repositoryName": repository,
            "imageIds": [{"imageTag": tag}],
        });
        if let Some(id) = &self.registry_id {
            body["registryId"] = id.clone().into();
        }
        let body = body.to_string();
        let path = url_path(&self.api.base);
        let host = url_host(&self.api.base);
        let mut refreshed = false;
        for attempt in 1..=THROTTLED_ATTEMPTS {
            let credentials = self.current_credentials();
            let resp = self
                .api
                .send(&op, Method::POST, "", &|r| {
                    let signed = self.sign(&credentials, &host, &path, &body, SystemTime::now());
                    let mut r = r
                        .header("Content-Type", "application/x-amz-json-1.1")
                        .header("X-Amz-Target", TARGET)
                        .body(body.clone());
                    for (k, v) in signed {
                        r = r.header(k, v);
                    }
                    r
                })
                .await?;
            let status = resp.status();
            let text = resp.text().await.unwrap_or_default();
            let answer: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let kind = error_type(&answer);
            if status == StatusCode::OK {
                return self.check_failures(&op, &answer);
            }
            let message = answer["message"]
                .as_str()
                .or_else(|| answer["Message"].as_str())
                .unwrap_or(&text)
                .to_string();
            match kind.as_str() {
                "ThrottlingException" | "TooManyRequestsException"
                    if attempt < THROTTLED_ATTEMPTS =>
                {
                    self.api.rate_limited.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                }
                "RepositoryNotFoundException" => return Ok(()),
                // Temporary keys outlived: new ones once, then on.
                "ExpiredTokenException" if !refreshed => {
                    refreshed = true;
                    let renewed = self.refresh_after(&credentials).await.map_err(|e| {
                        self.api
                            .other(&op, format!("{kind}: {message}; renewing the keys: {e}"))
                    })?;
                    if !renewed {
                        return Err(VendorError::Refused {
                            vendor: "Amazon ECR",
                            operation: op,
                            message: format!("{kind}: {message}"),
                            hint: HINT,
                        });
                    }
                }
                "AccessDeniedException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "ExpiredTokenException"
                | "MissingAuthenticationTokenException" => {
                    return Err(VendorError::Refused {
                        vendor: "Amazon ECR",
                        operation: op,
                        message: format!("{kind}: {message}"),
                        hint: HINT,
                    })
                }
                _ => {
                    return Err(VendorError::Status {
                        vendor: "Amazon ECR",
                        operation: op,
                        status: status.as_u16(),
                        message: format!("{kind}: {message}"),
                    })
                }
            }
        }
        Err(self.api.other(&op, "throttled on every attempt"))
    }

    /// `failures` of a 200 answer: a tag already gone is fine.
    fn check_failures(&self, op: &str, answer: &serde_json::Value) -> Result<(), VendorError> {
        let failures = answer["failures"].as_array().cloned().unwrap_or_default();
        for f in failures {
            let code = f["failureCode"].as_str().unwrap_or("");
            if code == "ImageNotFound" {
                continue;
            }
            return Err(self.api.other(
                op,
                format!("{code}: {}", f["failureReason"].as_str().unwrap_or("")),
            ));
        }
        Ok(())
    }

    /// The SigV4 headers of a POST of `body` to `host` + `path` at `now`.
    fn sign(
        &self,
        credentials: &Credentials,
        host: &str,
        path: &str,
        body: &str,
        now: SystemTime,
    ) -> Vec<(String, String)> {
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let amz_date = amz_date(secs);
        let day = &amz_date[..8];
        let mut headers: Vec<(String, String)> = vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("host".into(), host.into()),
            ("x-amz-date".into(), amz_date.clone()),
            ("x-amz-target".into(), TARGET.into()),
        ];
        if let Some(t) = &credentials.session_token {
            headers.push(("x-amz-security-token".into(), t.clone()));
        }
        headers.sort();
        let signed_headers: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
        let signed_headers = signed_headers.join(";");
        let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let canonical = format!(
            "POST\n{path}\n\n{canonical_headers}\n{signed_headers}\n{}",
            hex(&Sha256::digest(body.as_bytes()))
        );
        let scope = format!("{day}/{}/ecr/aws4_request", self.region);
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let mut key = hmac_sha256(
            format!("AWS4{}", credentials.secret_access_key).as_bytes(),
            day.as_bytes(),
        );
        for part in [self.region.as_str(), "ecr", "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        let signature = hex(&hmac_sha256(&key, to_sign.as_bytes()));
        let mut out = vec![
            ("X-Amz-Date".to_string(), amz_date),
            (
                "Authorization".to_string(),
                format!(
                    "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
                    credentials.access_key_id
                ),
            ),
        ];
        if let Some(t) = &credentials.session_token {
            out.push(("X-Amz-Security-Token".to_string(), t.clone()));
        }
        out
    }
}

/// The `__type` of an AWS JSON error, without its namespace.
fn error_type(answer: &serde_json::Value) -> String {
    let t = answer["__type"].as_str().unwrap_or("");
    t.rsplit('#').next().unwrap_or(t).to_string()
}

fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// The path of `url` for the canonical request (`/` when it has none).
fn url_path(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => "/".into(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104).
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 64;
    let mut k = if key.len() > BLOCK {
        Sha256::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(BLOCK, 0);
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let mut h = Sha256::new();
    h.update(&inner);
    h.update(message);
    let inner_hash = h.finalize();
    let mut h = Sha256::new();
    h.update(&outer);
    h.update(inner_hash);
    h.finalize().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` of a unix time (UTC).
fn amz_date(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_dates_and_the_hmac_are_right() {
        assert_eq!(
            parse_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            Some(EcrHost {
                registry_id: "123456789012".into(),
                region: "eu-west-1".into(),
                domain: "amazonaws.com".into(),
            })
        );
        assert_eq!(
            parse_host("123456789012.dkr.ecr-fips.us-east-1.amazonaws.com").map(|h| h.region),
            Some("us-east-1".into())
        );
        assert_eq!(parse_host("registry.example.com"), None);
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_825_600), "20000229T120000Z");
        // RFC 4231, test case 2.
        assert_eq!(
            hex(&hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn the_signature_matches_aws_documented_example_key_derivation() {
        // AWS's documented signing key example (secret, 20150830, us-east-1, iam).
        let mut key = hmac_sha256(b"AWS4wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", b"20150830");
        for part in ["us-east-1", "iam", "aws4_request"] {
            key = hmac_sha256(&key, part.as_bytes());
        }
        assert_eq!(
            hex(&key),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn a_profile_of_the_credentials_file() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[ci]\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token=E\n";
        let ci = profile_credentials(text, "ci").expect("ci");
        assert_eq!(
            (ci.access_key_id.as_str(), ci.session_token.as_deref()),
            ("C", Some("E"))
        );
        assert_eq!(
            profile_credentials(text, "default").map(|c| c.access_key_id),
            Some("A".into())
        );
        assert!(profile_credentials(text, "none").is_none());
        assert!(!format!("{ci:?}").contains('D'));
    }
}
