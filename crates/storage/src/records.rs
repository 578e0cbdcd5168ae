//! Bookkeeping records werf keeps next to the stages in the same
//! repository (../shared/spec/werf-build.md §5.2): manifest-only images
//! whose tag is the record and whose labels are its content. Today:
//! `managed-image-<name>`, which tells `cleanup` which images belong to the
//! project.

use std::collections::BTreeMap;
use std::io::Write;

use davit_registry::{media, OciDescriptor, OciImageManifest, RegistryClient, RegistryError};
use sha2::{Digest, Sha256};

fn sha256_hex(data: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(data)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An empty layer: a tar of two zero blocks, gzipped; and its diff ID.
fn empty_layer() -> (Vec<u8>, String) {
    let tar = vec![0u8; 1024];
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = gz.write_all(&tar);
    let layer = gz.finish().unwrap_or_default();
    (layer, sha256_hex(&tar))
}

/// Pushes a manifest-only image (one empty layer, a config that carries
/// `labels`) as `repo:tag`. Blobs go first, the manifest last, so the tag
/// never points at a missing blob.
///
/// Two builds (two runners) often write the same record at once. The
/// registry can then refuse the manifest because a blob the other writer is
/// committing is not yet visible (`MANIFEST_BLOB_UNKNOWN`); the blobs and
/// manifest are content-addressed, so writing them again is safe.
pub async fn push_manifest_only_image(
    client: &RegistryClient,
    host: &str,
    repo: &str,
    tag: &str,
    labels: &BTreeMap<String, String>,
    created: &str,
) -> Result<String, RegistryError> {
    let mut attempt = 1;
    loop {
        match push_once(client, host, repo, tag, labels, created).await {
            Err(RegistryError::Status {
                status: 400,
                ref message,
                ..
            }) if message.contains("BLOB_UNKNOWN") && attempt < 3 => {
                tokio::time::sleep(std::time::Duration::from_millis(200 * attempt)).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

async fn push_once(
    client: &RegistryClient,
    host: &str,
    repo: &str,
    tag: &str,
    labels: &BTreeMap<String, String>,
    created: &str,
) -> Result<String, RegistryError> {
    let (layer, diff_id) = empty_layer();
    let layer_size = layer.len();
    let layer_digest = client.blob_put(host, repo, layer).await?;
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": { "Labels": labels },
        "rootfs": { "type": "layers", "diff_ids": [diff_id] },
        "history": [ {} ],
    });
    let config = serde_json::to_vec(&config).unwrap_or_default();
    let config_size = config.len();
    let config_digest = client.blob_put(host, repo, config).await?;
    let descriptor = |media_type: &str, size: usize, digest: String| OciDescriptor {
        media_type: media_type.to_string(),
        digest,
        size: i64::try_from(size).unwrap_or(i64::MAX),
        urls: None,
        annotations: None,
        artifact_type: None,
    };
    let manifest = OciImageManifest {
        media_type: Some(media::DOCKER_MANIFEST.to_string()),
        config: descriptor(media::DOCKER_CONFIG, config_size, config_digest),
        layers: vec![descriptor(
            media::DOCKER_LAYER_GZIP,
            layer_size,
            layer_digest,
        )],
        ..OciImageManifest::default()
    };
    let manifest = serde_json::to_vec(&manifest).unwrap_or_default();
    let stored = client
        .manifest_put(host, repo, tag, media::DOCKER_MANIFEST, manifest)
        .await?;
    Ok(stored.digest)
}
