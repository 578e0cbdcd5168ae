//! Copying a blob between registries without holding it in memory: the
//! source is read as a stream and uploaded in chunks (`PATCH`), each chunk
//! sent with the client's retries; the final `PUT` names the digest, which
//! the destination checks, and so do we as the bytes pass.

use reqwest::header::LOCATION;
use reqwest::{Method, StatusCode};
use sha2::{Digest, Sha256};

use super::{RegistryClient, Req};
use crate::error::RegistryError;

impl RegistryClient {
    /// Copies blob `digest` from `src_host/src_repo` to `dst_host/dst_repo`
    /// in chunks of at most `chunk_size` bytes. `false` when the source has
    /// no such blob.
    pub async fn blob_copy_streamed(
        &self,
        (src_host, src_repo): (&str, &str),
        (dst_host, dst_repo): (&str, &str),
        digest: &str,
    ) -> Result<bool, RegistryError> {
        let op =
            format!("copying blob {digest} from {src_host}/{src_repo} to {dst_host}/{dst_repo}");
        let transport = |host: &str, message: String| RegistryError::Transport {
            host: host.into(),
            operation: op.clone(),
            message,
        };
        let mut source = self
            .call(
                &op,
                src_host,
                Method::GET,
                &format!("/v2/{src_repo}/blobs/{digest}"),
                &format!("repository:{src_repo}:pull"),
            )
            .await?;
        match source.status() {
            StatusCode::NOT_FOUND => return Ok(false),
            s if s.is_success() => {}
            _ => return Err(Self::fail(&op, src_host, source).await),
        }
        let scope = format!("repository:{dst_repo}:pull,push");
        let start = self
            .send(Req {
                op: &op,
                host: dst_host,
                method: Method::POST,
                path: &format!("/v2/{dst_repo}/blobs/uploads/"),
                accept: None,
                body: Some(("application/octet-stream", Vec::new())),
                scope: &scope,
            })
            .await?;
        if start.status() != StatusCode::ACCEPTED {
            return Err(Self::fail(&op, dst_host, start).await);
        }
        let mut location = upload_location(&start, dst_host, &transport)?;
        let chunk_size = self.options.chunk_size.max(1);
        let mut hasher = Sha256::new();
        let mut buffer: Vec<u8> = Vec::with_capacity(chunk_size.min(1 << 20));
        loop {
            let next = source
                .chunk()
                .await
                .map_err(|e| transport(src_host, e.to_string()))?;
            let done = next.is_none();
            if let Some(bytes) = next {
                hasher.update(&bytes);
                buffer.extend_from_slice(&bytes);
            }
            while buffer.len() >= chunk_size || (done && !buffer.is_empty()) {
                let take = buffer.len().min(chunk_size);
                let chunk: Vec<u8> = buffer.drain(..take).collect();
                location = self
                    .patch_chunk(&op, dst_host, &scope, &location, chunk, &transport)
                    .await?;
            }
            if done {
                break;
            }
        }
        let computed = format!("sha256:{:x}", hasher.finalize());
        if computed != digest {
            return Err(transport(
                src_host,
                format!("the source sent content with digest {computed}"),
            ));
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let finish = self
            .send(Req {
                op: &op,
                host: dst_host,
                method: Method::PUT,
                path: &format!("{location}{sep}digest={digest}"),
                accept: None,
                body: Some(("application/octet-stream", Vec::new())),
                scope: &scope,
            })
            .await?;
        if finish.status() != StatusCode::CREATED {
            return Err(Self::fail(&op, dst_host, finish).await);
        }
        Ok(true)
    }

    async fn patch_chunk(
        &self,
        op: &str,
        host: &str,
        scope: &str,
        location: &str,
        chunk: Vec<u8>,
        transport: &impl Fn(&str, String) -> RegistryError,
    ) -> Result<String, RegistryError> {
        let resp = self
            .send(Req {
                op,
                host,
                method: Method::PATCH,
                path: location,
                accept: None,
                body: Some(("application/octet-stream", chunk)),
                scope,
            })
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(Self::fail(op, host, resp).await);
        }
        upload_location(&resp, host, transport)
    }
}

/// The upload URL a registry returns, made absolute.
fn upload_location(
    resp: &reqwest::Response,
    host: &str,
    transport: &impl Fn(&str, String) -> RegistryError,
) -> Result<String, RegistryError> {
    let location = resp
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| transport(host, "the registry gave no upload location".into()))?;
    if location.starts_with("http://") || location.starts_with("https://") {
        return Ok(location.to_string());
    }
    let base = resp.url();
    Ok(format!(
        "{}://{}{location}",
        base.scheme(),
        base.host_str()
            .map(|h| match base.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
            .unwrap_or_else(|| host.to_string())
    ))
}
