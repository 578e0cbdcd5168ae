//! AWS credentials that a runner gets from where it runs, not from its
//! environment or a file: a web identity token exchanged for a role's
//! keys (EKS IRSA, GitLab/GitHub OIDC: `AWS_WEB_IDENTITY_TOKEN_FILE` and
//! `AWS_ROLE_ARN`, through STS `AssumeRoleWithWebIdentity`), the container
//! credentials endpoint (ECS tasks, EKS Pod Identity:
//! `AWS_CONTAINER_CREDENTIALS_FULL_URI` or `_RELATIVE_URI`) and EC2
//! instance metadata (IMDSv2: a session token first, then the instance
//! role's credentials). Tried in that order, as the AWS SDKs do, after the
//! environment and the credentials file. The caller reads the environment (`Sources`), so this
//! module does not.

use std::time::Duration;

use crate::ecr::Credentials;

/// The AWS settings of the environment: the region, and where a runner's
/// credentials may come from. Its `Debug` hides the container token.
#[derive(Clone, Default)]
pub struct Sources {
    /// `AWS_WEB_IDENTITY_TOKEN_FILE`.
    pub web_identity_token_file: Option<String>,
    /// `AWS_ROLE_ARN`, the role the web identity assumes.
    pub role_arn: Option<String>,
    /// `AWS_ROLE_SESSION_NAME` (default `davit-cleanup`).
    pub role_session_name: Option<String>,
    /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else STS of the
    /// region (`AWS_REGION`, `AWS_DEFAULT_REGION`) or the global one.
    pub sts_endpoint: Option<String>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`.
    pub container_full_uri: Option<String>,
    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (below `http://169.254.170.2`).
    pub container_relative_uri: Option<String>,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`, or the contents of
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
    pub container_token: Option<String>,
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` (default `http://169.254.169.254`).
    pub imds_endpoint: Option<String>,
    /// `AWS_EC2_METADATA_DISABLED=true`.
    pub imds_disabled: bool,
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("web_identity_token_file", &self.web_identity_token_file)
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("sts_endpoint", &self.sts_endpoint)
            .field("region", &self.region)
            .field("container_full_uri", &self.container_full_uri)
            .field("container_relative_uri", &self.container_relative_uri)
            .field(
                "container_token",
                &self.container_token.as_ref().map(|_| "<set>"),
            )
            .field("imds_endpoint", &self.imds_endpoint)
            .field("imds_disabled", &self.imds_disabled)
            .finish()
    }
}

impl Sources {
    pub fn from_environment() -> Sources {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let container_token = var("AWS_CONTAINER_AUTHORIZATION_TOKEN").or_else(|| {
            let file = var("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")?;
            Some(std::fs::read_to_string(file).ok()?.trim().to_string())
        });
        let region = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION"));
        let sts_endpoint = var("AWS_ENDPOINT_URL_STS")
            .or_else(|| var("AWS_ENDPOINT_URL"))
            .or_else(|| {
                region
                    .as_ref()
                    .map(|r| format!("https://sts.{r}.amazonaws.com"))
            });
        Sources {
            web_identity_token_file: var("AWS_WEB_IDENTITY_TOKEN_FILE"),
            role_arn: var("AWS_ROLE_ARN"),
            role_session_name: var("AWS_ROLE_SESSION_NAME"),
            sts_endpoint,
            region,
            container_full_uri: var("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            container_relative_uri: var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            container_token,
            imds_endpoint: var("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
            imds_disabled: var("AWS_EC2_METADATA_DISABLED")
                .is_some_and(|v| v.eq_ignore_ascii_case("true")),
        }
    }
}

/// The link-local endpoints answer at once or not at all: a runner off AWS
/// must not wait long for them.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The credentials of a web identity, else of the container endpoint, else
/// of the instance role; `Ok(None)` when none is there. A source that
/// answers but refuses is an error: it says why.
pub async fn from_runner(
    http: &reqwest::Client,
    sources: &Sources,
) -> Result<Option<Credentials>, String> {
    if let (Some(file), Some(role)) = (&sources.web_identity_token_file, &sources.role_arn) {
        return assume_role_with_web_identity(http, sources, file, role)
            .await
            .map(Some);
    }
    let container = sources.container_full_uri.clone().or_else(|| {
        sources
            .container_relative_uri
            .as_ref()
            .map(|p| format!("http://169.254.170.2{p}"))
    });
    if let Some(uri) = container {
        let mut req = http.get(&uri).timeout(TIMEOUT);
        if let Some(t) = &sources.container_token {
            req = req.header("Authorization", t);
        }
        let body = send(req, "the container credentials endpoint").await?;
        return parse(&body, "the container credentials endpoint").map(Some);
    }
    if sources.imds_disabled {
        return Ok(None);
    }
    let base = sources
        .imds_endpoint
        .as_deref()
        .unwrap_or("http://169.254.169.254")
        .trim_end_matches('/');
    let what = "EC2 instance metadata";
    // Nothing listening (not on EC2): no credentials here, not an error.
    let token = match http
        .put(format!("{base}/latest/api/token"))
        .header("X-aws-ec2-metadata-token-ttl-seconds", "300")
        .timeout(TIMEOUT)
        .send()
        .await
    {
        Err(e) if e.is_connect() || e.is_timeout() => return Ok(None),
        other => read(other, what).await?,
    };
    let roles_url = format!("{base}/latest/meta-data/iam/security-credentials/");
    let roles = send(
        http.get(&roles_url)
            .header("X-aws-ec2-metadata-token", &token)
            .timeout(TIMEOUT),
        what,
    )
    .await?;
    let Some(role) = roles.lines().map(str::trim).find(|l| !l.is_empty()) else {
        return Err(format!("{what}: the instance has no IAM role"));
    };
    let body = send(
        http.get(format!("{roles_url}{role}"))
            .header("X-aws-ec2-metadata-token", &token)
            .timeout(TIMEOUT),
        what,
    )
    .await?;
    parse(&body, what).map(Some)
}

async fn send(req: reqwest::RequestBuilder, what: &str) -> Result<String, String> {
    read(req.send().await, what).await
}

async fn read(
    answer: Result<reqwest::Response, reqwest::Error>,
    what: &str,
) -> Result<String, String> {
    let resp = answer.map_err(|e| format!("{what}: {e}"))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| format!("{what}: {e}"))?;
    if !status.is_success() {
        // The body of a refusal names no secret (it has none to give).
        return Err(format!("{what}: HTTP {status}: {}", body.trim()));
    }
    Ok(body)
}

/// `{"AccessKeyId", "SecretAccessKey", "Token"}`, as both endpoints answer.
fn parse(body: &str, what: &str) -> Result<Credentials, String> {
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| format!("{what}: an answer that is not JSON: {e}"))?;
    let field = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    match (field("AccessKeyId"), field("SecretAccessKey")) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials {
            access_key_id,
            secret_access_key,
            session_token: field("Token"),
        }),
        _ => Err(format!(
            "{what}: the answer has no AccessKeyId and SecretAccessKey"
        )),
    }
}

/// STS `AssumeRoleWithWebIdentity` (an unsigned request: the token is the
/// proof), answered in XML.
async fn assume_role_with_web_identity(
    http: &reqwest::Client,
    sources: &Sources,
    token_file: &str,
    role: &str,
) -> Result<Credentials, String> {
    let what = format!("STS AssumeRoleWithWebIdentity for {role}");
    let token = std::fs::read_to_string(token_file)
        .map_err(|e| format!("{what}: reading AWS_WEB_IDENTITY_TOKEN_FILE {token_file}: {e}"))?;
    let endpoint = sources
        .sts_endpoint
        .as_deref()
        .unwrap_or("https://sts.amazonaws.com")
        .trim_end_matches('/');
    let session = sources
        .role_session_name
        .as_deref()
        .unwrap_or("davit-cleanup");
    let body = [
        ("Action", "AssumeRoleWithWebIdentity"),
        ("Version", "2011-06-15"),
        ("RoleArn", role),
        ("RoleSessionName", session),
        ("WebIdentityToken", token.trim()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", form_encode(v)))
    .collect::<Vec<_>>()
    .join("&");
    let resp = http
        .post(format!("{endpoint}/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| format!("{what}: {e}"))?;
    let status = resp.status();
    let xml = resp.text().await.map_err(|e| format!("{what}: {e}"))?;
    if !status.is_success() {
        let code = xml_text(&xml, "Code").unwrap_or_default();
        let message = xml_text(&xml, "Message").unwrap_or_default();
        return Err(format!("{what}: HTTP {status}: {code}: {message}"));
    }
    match (
        xml_text(&xml, "AccessKeyId"),
        xml_text(&xml, "SecretAccessKey"),
    ) {
        (Some(access_key_id), Some(secret_access_key)) => Ok(Credentials {
            access_key_id,
            secret_access_key,
            session_token: xml_text(&xml, "SessionToken"),
        }),
        _ => Err(format!("{what}: the answer has no Credentials")),
    }
}

/// The text of the first `<name>` element (STS answers are flat enough).
fn xml_text(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    let text = xml[start..end].trim();
    (!text.is_empty()).then(|| {
        text.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&")
    })
}

/// `application/x-www-form-urlencoded`: unreserved bytes as they are.
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_endpoints_answers_parse_and_a_partial_one_is_refused() {
        let c = parse(
            r#"{"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"s","Token":"t","Expiration":"2026-12-04T10:00:00Z"}"#,
            "x",
        )
        .unwrap();
        assert_eq!(c.access_key_id, "ASIA1");
        assert_eq!(c.session_token.as_deref(), Some("t"));
        let e = parse(r#"{"AccessKeyId":"ASIA1"}"#, "x").unwrap_err();
        assert!(e.contains("no AccessKeyId and SecretAccessKey"), "{e}");
        assert!(parse("<html>", "x").is_err());
    }

    #[test]
    fn sts_answers_and_form_bodies() {
        let xml = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><SessionToken>a&amp;b</SessionToken><SecretAccessKey>s</SecretAccessKey><AccessKeyId>ASIA2</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
        assert_eq!(xml_text(xml, "SessionToken").as_deref(), Some("a&b"));
        assert_eq!(xml_text(xml, "AccessKeyId").as_deref(), Some("ASIA2"));
        assert_eq!(xml_text(xml, "Expiration"), None);
        assert_eq!(
            form_encode("arn:aws:iam::1:role/x y+z"),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx%20y%2Bz"
        );
    }
}
