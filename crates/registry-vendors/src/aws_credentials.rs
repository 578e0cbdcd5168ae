//! AWS credentials that a runner gets from where it runs, not from its
//! environment or a file: the container credentials endpoint (ECS tasks,
//! EKS Pod Identity: `AWS_CONTAINER_CREDENTIALS_FULL_URI` or
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`) and EC2 instance metadata
//! (IMDSv2: a session token first, then the instance role's credentials).
//! Tried in that order, as the AWS SDKs do, after the environment and the
//! credentials file. The caller reads the environment (`Sources`), so this
//! module does not.

use std::time::Duration;

use crate::ecr::Credentials;

/// Where a runner's credentials may come from, as the environment names
/// them. Its `Debug` hides the container token.
#[derive(Clone, Default)]
pub struct Sources {
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
        Sources {
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

/// The credentials of the container endpoint, else of the instance role;
/// `Ok(None)` when neither is there. An endpoint that answers but refuses
/// is an error: it says why.
pub async fn from_container_or_instance(
    http: &reqwest::Client,
    sources: &Sources,
) -> Result<Option<Credentials>, String> {
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
}
