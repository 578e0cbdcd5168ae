//! The build report (`--save-build-report`, `--build-report-path`), in
//! werf's exact JSON and `.env` formats, written atomically; and the reader
//! behind `--use-build-report`.

pub mod gojson;
pub mod opstats;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::gojson::marshal_indent;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    #[serde(rename = "Backend")]
    pub backend: String,
    #[serde(rename = "InContainer")]
    pub in_container: bool,
}

/// One image (werf's `ReportImageRecord`), fields in werf's order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    #[serde(rename = "WerfImageName")]
    pub werf_image_name: String,
    #[serde(rename = "ConfigType")]
    pub config_type: String,
    #[serde(rename = "DockerRepo")]
    pub docker_repo: String,
    #[serde(rename = "DockerTag")]
    pub docker_tag: String,
    #[serde(rename = "DockerImageID")]
    pub docker_image_id: String,
    #[serde(rename = "DockerImageDigest")]
    pub docker_image_digest: String,
    #[serde(rename = "DockerImageName")]
    pub docker_image_name: String,
    #[serde(rename = "TargetPlatform")]
    pub target_platform: String,
    #[serde(rename = "Rebuilt")]
    pub rebuilt: bool,
    #[serde(rename = "Final")]
    pub is_final: bool,
    #[serde(rename = "Size")]
    pub size: i64,
    /// Seconds with two decimals, as a string (`"12.34"`), as werf writes it.
    #[serde(rename = "BuildTime")]
    pub build_time: String,
    #[serde(rename = "Commit")]
    pub commit: String,
    #[serde(rename = "Stages")]
    pub stages: Option<Vec<StageRecord>>,
}

/// One stage of an image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageRecord {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "DockerImageName")]
    pub docker_image_name: String,
    #[serde(rename = "DockerTag")]
    pub docker_tag: String,
    #[serde(rename = "DockerImageID")]
    pub docker_image_id: String,
    #[serde(rename = "DockerImageDigest")]
    pub docker_image_digest: String,
    /// Unix nanoseconds.
    #[serde(rename = "CreatedAt")]
    pub created_at: i64,
    #[serde(rename = "Size")]
    pub size: i64,
    /// `""` (found in the primary storage), `repo`, `cache-repo`, `registry`, `secondary`.
    #[serde(rename = "SourceType")]
    pub source_type: String,
    #[serde(rename = "BaseImagePulled")]
    pub base_image_pulled: bool,
    #[serde(rename = "Rebuilt")]
    pub rebuilt: bool,
    #[serde(rename = "BuildTime")]
    pub build_time: String,
    #[serde(rename = "Commit")]
    pub commit: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperationStats {
    #[serde(rename = "Count")]
    pub count: i64,
    #[serde(rename = "TotalTimeSeconds")]
    pub total_time_seconds: f64,
    #[serde(rename = "WallTimeSeconds")]
    pub wall_time_seconds: f64,
    #[serde(rename = "AvgTimeSeconds")]
    pub avg_time_seconds: f64,
    #[serde(rename = "MaxTimeSeconds")]
    pub max_time_seconds: f64,
}

/// werf's `ImagesReport`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    #[serde(rename = "Runtime")]
    pub runtime: Runtime,
    #[serde(rename = "Images")]
    pub images: BTreeMap<String, ImageRecord>,
    #[serde(rename = "ImagesByPlatform", default)]
    pub images_by_platform: BTreeMap<String, BTreeMap<String, ImageRecord>>,
    /// Only with `--log-debug`.
    #[serde(
        rename = "Operations",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub operations: BTreeMap<String, OperationStats>,
    /// Only with `--log-debug`.
    #[serde(
        rename = "StageCache",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub stage_cache: BTreeMap<String, i64>,
}

/// `BuildTime` as werf formats it: `%.2f` seconds.
pub fn build_time(seconds: f64) -> String {
    format!("{seconds:.2}")
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(
        "invalid --build-report-path {0:?}: extension must be either .json or .env or unspecified"
    )]
    BadExtension(String),
    #[error("writing the build report {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("reading the build report {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error("the build report {path} is incomplete: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Env,
}

/// Resolves `--build-report-path` as werf does: empty → `.werf-build-report.json`,
/// `.json`/`.env` kept, no extension → `.json` appended, anything else an error.
pub fn report_path(path: Option<&str>) -> Result<(PathBuf, Format), ReportError> {
    let p = match path {
        None | Some("") => return Ok((PathBuf::from(".werf-build-report.json"), Format::Json)),
        Some(p) => p,
    };
    let ext = Path::new(p)
        .extension()
        .map(|e| e.to_string_lossy().into_owned());
    match ext.as_deref() {
        Some("json") => Ok((PathBuf::from(p), Format::Json)),
        Some("env") => Ok((PathBuf::from(p), Format::Env)),
        None => Ok((PathBuf::from(format!("{p}.json")), Format::Json)),
        Some(_) => Err(ReportError::BadExtension(p.to_string())),
    }
}

/// `WERF_<NAME>_`: upper case, with `/`, `-` and `.` as `_`; `WERF_` for a
/// nameless image.
pub fn env_prefix(image: &str) -> String {
    if image.is_empty() {
        return "WERF_".into();
    }
    let name: String = image
        .to_uppercase()
        .chars()
        .map(|c| if matches!(c, '/' | '-' | '.') { '_' } else { c })
        .collect();
    format!("WERF_{name}_")
}

impl BuildReport {
    pub fn to_json(&self) -> String {
        marshal_indent(&serde_json::to_value(self).unwrap_or(serde_json::Value::Null))
    }

    /// Seven lines per image. werf writes them in Go's random map order;
    /// davit sorts by image name.
    pub fn to_env(&self) -> String {
        let mut out = String::new();
        for (name, r) in &self.images {
            let p = env_prefix(name);
            out.push_str(&format!("{p}DOCKER_IMAGE_NAME={}\n", r.docker_image_name));
            out.push_str(&format!("{p}DOCKER_IMAGE_ID={}\n", r.docker_image_id));
            out.push_str(&format!(
                "{p}DOCKER_IMAGE_DIGEST={}\n",
                r.docker_image_digest
            ));
            out.push_str(&format!("{p}DOCKER_REPO={}\n", r.docker_repo));
            out.push_str(&format!("{p}DOCKER_TAG={}\n", r.docker_tag));
            out.push_str(&format!("{p}WERF_IMAGE_NAME={}\n", r.werf_image_name));
            out.push_str(&format!("{p}FINAL={}\n", r.is_final));
        }
        out
    }

    /// Writes the report atomically (a temporary file renamed into place),
    /// mode 0644, so readers never see half a report.
    pub fn write(&self, path: &Path, format: Format) -> Result<(), ReportError> {
        let body = match format {
            Format::Json => self.to_json(),
            Format::Env => self.to_env(),
        };
        let err = |e: std::io::Error| ReportError::Write {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        f.write_all(body.as_bytes()).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o644)).map_err(err)?;
        }
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(e)
        })
    }

    /// Reads a report for `--use-build-report` (`.env` by extension, else
    /// JSON) and checks the fields werf requires.
    pub fn read(path: &Path) -> Result<BuildReport, ReportError> {
        let text = std::fs::read_to_string(path).map_err(|e| ReportError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let report = if path.extension().is_some_and(|e| e == "env") {
            from_env(&text)
        } else {
            serde_json::from_str(&text).map_err(|e| ReportError::Read {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
        };
        report.validate(path)?;
        Ok(report)
    }

    fn validate(&self, path: &Path) -> Result<(), ReportError> {
        let invalid = |message: String| ReportError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        for (name, r) in &self.images {
            for (field, value) in [
                ("DockerImageName", &r.docker_image_name),
                ("DockerRepo", &r.docker_repo),
                ("DockerTag", &r.docker_tag),
                ("DockerImageID", &r.docker_image_id),
            ] {
                if value.is_empty() {
                    return Err(invalid(format!("image {name:?} has no {field}")));
                }
            }
            if name != &r.werf_image_name {
                return Err(invalid(format!(
                    "image {name:?} records WerfImageName {:?}",
                    r.werf_image_name
                )));
            }
            for s in r.stages.iter().flatten() {
                if s.name.is_empty()
                    || s.docker_image_name.is_empty()
                    || s.docker_image_id.is_empty()
                {
                    return Err(invalid(format!(
                        "a stage of image {name:?} lacks Name, DockerImageName or DockerImageID"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The envfile reader: blank and `#` lines skipped, split on the first
/// `=`, every `…_DOCKER_IMAGE_NAME` key starts an image.
fn from_env(text: &str) -> BuildReport {
    let vars: BTreeMap<&str, &str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    let mut report = BuildReport::default();
    for key in vars.keys().filter(|k| k.ends_with("_DOCKER_IMAGE_NAME")) {
        let prefix = &key[..key.len() - "DOCKER_IMAGE_NAME".len()];
        let get = |suffix: &str| {
            vars.get(format!("{prefix}{suffix}").as_str())
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        let name = get("WERF_IMAGE_NAME");
        report.images.insert(
            name.clone(),
            ImageRecord {
                werf_image_name: name,
                docker_image_name: get("DOCKER_IMAGE_NAME"),
                docker_image_id: get("DOCKER_IMAGE_ID"),
                docker_image_digest: get("DOCKER_IMAGE_DIGEST"),
                docker_repo: get("DOCKER_REPO"),
                docker_tag: get("DOCKER_TAG"),
                is_final: get("FINAL") == "true",
                ..ImageRecord::default()
            },
        );
    }
    report
}
