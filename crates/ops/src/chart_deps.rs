//! Chart dependencies that `charts/` does not vendor, as werf fetches them:
//! only when `Chart.lock` (or `requirements.lock`) pins them. `file://`
//! dependencies are read from the project (through giterminism, like the
//! chart); HTTP chart repositories (`index.yaml`) and OCI registries
//! (`oci://`) are downloaded once into a cache keyed by the lock file's
//! SHA-256, and every later render reads the cache.

use std::path::{Path, PathBuf};

use davit_chart::chart::load_archive;
use davit_chart::Chart;
use davit_goyaml::Yaml;
use davit_registry::{Credentials, RegistryClient, RegistryOptions};

use crate::render::RenderError;

/// The media type of a Helm chart's archive in an OCI registry.
const HELM_CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

pub struct FetchOptions {
    /// `<home>/local_cache/helm_chart_dependencies/1/<sha256(lock)>/charts`.
    pub cache_root: PathBuf,
    pub insecure_registries: Vec<String>,
    pub skip_tls_verify: bool,
}

/// One entry of `Chart.lock`.
#[derive(Debug, Clone)]
struct Locked {
    name: String,
    version: String,
    repository: String,
}

fn err(path: &str, message: impl Into<String>) -> RenderError {
    RenderError::File {
        path: path.to_string(),
        message: message.into(),
    }
}

fn field(y: &Yaml, key: &str) -> String {
    match y {
        Yaml::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| matches!(&k.value, Yaml::Str(s) if s == key))
            .map(|(_, v)| match &v.value {
                Yaml::Str(s) => s.clone(),
                Yaml::Int(i) => i.to_string(),
                Yaml::Float(f) => f.to_string(),
                _ => String::new(),
            })
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn list<'a>(y: &'a Yaml, key: &str) -> Vec<&'a Yaml> {
    match y {
        Yaml::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| matches!(&k.value, Yaml::Str(s) if s == key))
            .map(|(_, v)| match &v.value {
                Yaml::Seq(items) => items.iter().map(|n| &n.value).collect(),
                _ => Vec::new(),
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn parse_lock(lock: &[u8], lock_name: &str) -> Result<Vec<Locked>, RenderError> {
    let docs = davit_goyaml::load_all(&String::from_utf8_lossy(lock))
        .map_err(|e| err(lock_name, e.go_message()))?;
    let root = docs
        .into_iter()
        .next()
        .map(|n| n.value)
        .unwrap_or(Yaml::Null);
    Ok(list(&root, "dependencies")
        .into_iter()
        .map(|d| Locked {
            name: field(d, "name"),
            version: field(d, "version"),
            repository: field(d, "repository"),
        })
        .collect())
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Adds to `chart` the dependencies `Chart.lock` pins and `charts/` lacks.
/// `read_local` loads a `file://` dependency (a project-relative folder).
pub fn add_missing(
    chart: &mut Chart,
    chart_dir: &str,
    lock: &[u8],
    options: &FetchOptions,
    read_local: &dyn Fn(&str) -> Result<Chart, RenderError>,
) -> Result<(), RenderError> {
    let lock_name = format!("{chart_dir}/Chart.lock");
    let locked = parse_lock(lock, &lock_name)?;
    let cache = options
        .cache_root
        .join("helm_chart_dependencies/1")
        .join(sha256_hex(lock))
        .join("charts");
    let mut remote = Vec::new();
    for dep in chart.metadata.dependencies.clone() {
        if chart.dependencies.iter().any(|c| c.name() == dep.name) {
            continue;
        }
        if let Some(rel) = dep.repository.strip_prefix("file://") {
            let dir = davit_pathmatch::clean(&format!("{chart_dir}/{rel}"));
            chart.dependencies.push(read_local(&dir)?);
            continue;
        }
        let pinned = locked
            .iter()
            .find(|l| l.name == dep.name && l.repository == dep.repository)
            .or_else(|| locked.iter().find(|l| l.name == dep.name))
            .ok_or_else(|| {
                err(
                    &lock_name,
                    format!(
                        "dependency {:?} is not in the lock file\n  hint: run `helm dependency update {chart_dir}` and commit Chart.lock",
                        dep.name
                    ),
                )
            })?;
        remote.push(pinned.clone());
    }
    if remote.is_empty() {
        return Ok(());
    }
    let missing: Vec<&Locked> = remote
        .iter()
        .filter(|l| !cache.join(archive_name(l)).is_file())
        .collect();
    if !missing.is_empty() {
        download(&missing, &cache, options)?;
    }
    for l in &remote {
        let path = cache.join(archive_name(l));
        let data =
            std::fs::read(&path).map_err(|e| err(&path.display().to_string(), e.to_string()))?;
        let origin = format!("{chart_dir}/charts/{}", archive_name(l));
        chart.dependencies.push(load_archive(&data, &origin, None)?);
    }
    Ok(())
}

fn archive_name(l: &Locked) -> String {
    format!("{}-{}.tgz", l.name, l.version)
}

/// Downloads into a fresh folder beside the cache, then moves each archive
/// into place: an interrupted download never leaves a partial archive.
fn download(missing: &[&Locked], cache: &Path, options: &FetchOptions) -> Result<(), RenderError> {
    let io = |p: &Path, e: std::io::Error| err(&p.display().to_string(), e.to_string());
    std::fs::create_dir_all(cache).map_err(|e| io(cache, e))?;
    let credentials = Credentials::from_env().map_err(|e| err("docker config", e.to_string()))?;
    let client = RegistryClient::new(
        credentials,
        RegistryOptions {
            insecure_registries: options.insecure_registries.clone(),
            skip_tls_verify: options.skip_tls_verify,
            ..RegistryOptions::default()
        },
    )
    .map_err(|e| err("registry client", e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| err("async runtime", e.to_string()))?;
    for l in missing {
        let data = runtime.block_on(fetch(&client, l))?;
        let target = cache.join(archive_name(l));
        let tmp = cache.join(format!(".{}.{}.part", archive_name(l), std::process::id()));
        std::fs::write(&tmp, &data).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &target).map_err(|e| io(&target, e))?;
    }
    Ok(())
}

async fn fetch(client: &RegistryClient, l: &Locked) -> Result<Vec<u8>, RenderError> {
    let what = format!("{} {} from {}", l.name, l.version, l.repository);
    let fail = |m: String| err(&what, m);
    if let Some(rest) = l.repository.strip_prefix("oci://") {
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let repo = if path.is_empty() {
            l.name.clone()
        } else {
            format!("{}/{}", path.trim_end_matches('/'), l.name)
        };
        let (_, manifest) = client
            .manifest_get(host, &repo, &l.version)
            .await
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail(format!("{host}/{repo}:{} does not exist", l.version)))?;
        let manifest: serde_json::Value =
            serde_json::from_slice(&manifest).map_err(|e| fail(e.to_string()))?;
        let digest = manifest["layers"]
            .as_array()
            .and_then(|layers| {
                layers
                    .iter()
                    .find(|d| d["mediaType"] == HELM_CHART_LAYER)
                    .and_then(|d| d["digest"].as_str())
            })
            .ok_or_else(|| fail("the OCI artifact has no Helm chart layer".into()))?
            .to_string();
        return client
            .blob_get(host, &repo, &digest)
            .await
            .map_err(|e| fail(e.to_string()))?
            .ok_or_else(|| fail(format!("blob {digest} is missing")));
    }
    let base = l.repository.trim_end_matches('/');
    let index = client
        .fetch_url(&format!("{base}/index.yaml"))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let docs = davit_goyaml::load_all(&String::from_utf8_lossy(&index))
        .map_err(|e| fail(format!("index.yaml: {}", e.go_message())))?;
    let root = docs
        .into_iter()
        .next()
        .map(|n| n.value)
        .unwrap_or(Yaml::Null);
    let entries = match &root {
        Yaml::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| matches!(&k.value, Yaml::Str(s) if s == "entries"))
            .map(|(_, v)| v.value.clone()),
        _ => None,
    }
    .unwrap_or(Yaml::Null);
    let versions = list(&entries, &l.name);
    let entry = versions
        .iter()
        .find(|v| field(v, "version") == l.version)
        .ok_or_else(|| {
            fail(format!(
                "index.yaml has no version {} of {}",
                l.version, l.name
            ))
        })?;
    let url = list(entry, "urls")
        .first()
        .map(|u| match u {
            Yaml::Str(s) => s.clone(),
            _ => String::new(),
        })
        .filter(|u| !u.is_empty())
        .ok_or_else(|| fail("index.yaml lists no URL for it".into()))?;
    let url = if url.contains("://") {
        url
    } else {
        format!("{base}/{}", url.trim_start_matches("./"))
    };
    let data = client
        .fetch_url(&url)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let digest = field(entry, "digest");
    if !digest.is_empty() && digest.trim_start_matches("sha256:") != sha256_hex(&data) {
        return Err(fail(format!(
            "{url}: the archive does not match the digest in index.yaml"
        )));
    }
    Ok(data)
}
