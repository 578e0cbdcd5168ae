//! Helm 3 release records, as Helm's Secrets driver stores them: one Secret
//! `sh.helm.release.v1.<release>.v<revision>` of type `helm.sh/release.v1`
//! per revision, labelled `name`, `owner=helm`, `status`, `version`, whose
//! `release` field is base64(gzip(JSON)). davit writes what `helm list`,
//! `helm history`, `helm get manifest` and `helm rollback` read, and reads
//! what Helm (or werf) wrote. Pure.

use std::io::{Read, Write};

use base64::Engine;
use serde::{Deserialize, Serialize};

/// The Secret's `type`.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("release record {name}: {message}")]
    Decode { name: String, message: String },
}

/// Helm's release statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Unknown,
    Deployed,
    Uninstalled,
    Superseded,
    Failed,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// A revision in progress (another deploy may be running).
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Info {
    #[serde(default)]
    pub first_deployed: String,
    #[serde(default)]
    pub last_deployed: String,
    /// Go's `time.Time` cannot read an empty string: absent unless set.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub deleted: String,
    #[serde(default)]
    pub description: String,
    pub status: Option<Status>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// werf's release annotations (`werf.io/version`, `project.werf.io/*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<serde_json::Map<String, serde_json::Value>>,
    /// Fields this version does not model, kept as read so a rewritten
    /// record (superseded, failed) loses nothing Helm wrote.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct HookRun {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub started_at: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub completed_at: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Hook {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub manifest: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub events: Vec<String>,
    #[serde(default)]
    pub last_run: HookRun,
    #[serde(default)]
    pub weight: i64,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub delete_policies: Vec<String>,
    /// Fields this version does not model, kept as read so a rewritten
    /// record (superseded, failed) loses nothing Helm wrote.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A chart as a release record keeps it: the metadata matters to Helm
/// (`helm list` shows name, version and app version); templates are kept
/// so `helm get` and rollbacks see the chart.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Chart {
    pub metadata: serde_json::Value,
    #[serde(default)]
    pub lock: serde_json::Value,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub templates: Vec<File>,
    #[serde(default)]
    pub values: serde_json::Value,
    #[serde(default)]
    pub schema: serde_json::Value,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub files: Vec<File>,
    /// Fields this version does not model, kept as read so a rewritten
    /// record (superseded, failed) loses nothing Helm wrote.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// A chart file; `data` is base64 in JSON (Go's `[]byte`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct File {
    pub name: String,
    pub data: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Release {
    pub name: String,
    pub info: Info,
    pub chart: Chart,
    /// The values the user gave (not the chart's defaults).
    #[serde(default)]
    pub config: serde_json::Value,
    #[serde(default)]
    pub manifest: String,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub hooks: Vec<Hook>,
    pub version: i64,
    pub namespace: String,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub labels: serde_json::Value,
    /// Helm 4: how the release was applied (`ssa`: server-side apply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apply_method: Option<String>,
    /// Labels of the storage object beyond Helm's own (`--release-label`).
    #[serde(skip)]
    pub storage_labels: Vec<(String, String)>,
    /// Fields this version does not model, kept as read so a rewritten
    /// record (superseded, failed) loses nothing Helm wrote.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// Go writes a nil slice as `null`.
fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The labels Helm's storage drivers set themselves.
pub const SYSTEM_LABELS: &[&str] = &[
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

impl Release {
    pub fn status(&self) -> Status {
        self.info.status.unwrap_or(Status::Unknown)
    }

    /// `sh.helm.release.v1.<name>.v<version>`.
    pub fn secret_name(&self) -> String {
        secret_name(&self.name, self.version)
    }

    /// The Secret's labels, as Helm sets them.
    pub fn labels(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .storage_labels
            .iter()
            .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
            .cloned()
            .collect();
        out.extend([
            ("name".into(), self.name.clone()),
            ("owner".into(), "helm".into()),
            ("status".into(), self.status().as_str().into()),
            ("version".into(), self.version.to_string()),
            ("modifiedAt".into(), modified_at()),
        ]);
        out
    }

    /// The `release` field: base64(gzip(JSON)).
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).expect("a release serialises");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&json).expect("writing to memory");
        let zipped = gz.finish().expect("writing to memory");
        base64::engine::general_purpose::STANDARD.encode(zipped)
    }

    /// Reads a `release` field (gzip or plain JSON, as Helm accepts).
    pub fn decode(name: &str, field: &str) -> Result<Release, ReleaseError> {
        let err = |message: String| ReleaseError::Decode {
            name: name.to_string(),
            message,
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(field.trim())
            .map_err(|e| err(format!("not base64: {e}")))?;
        let json = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| err(format!("not gzip: {e}")))?;
            out
        } else {
            raw
        };
        serde_json::from_slice(&json).map_err(|e| err(format!("not a Helm release: {e}")))
    }
}

fn modified_at() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs().to_string())
        .unwrap_or_default()
}

/// `sh.helm.release.v1.<name>.v<version>`.
pub fn secret_name(name: &str, version: i64) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// The deployed revision, else the newest (Helm's "last release").
pub fn current(history: &[Release]) -> Option<&Release> {
    history
        .iter()
        .filter(|r| r.status() == Status::Deployed)
        .max_by_key(|r| r.version)
        .or_else(|| history.iter().max_by_key(|r| r.version))
}

/// Revisions to delete so that at most `max` remain (the oldest first;
/// the deployed one is never pruned). `max == 0` keeps everything.
pub fn to_prune(history: &[Release], max: usize) -> Vec<i64> {
    if max == 0 || history.len() <= max {
        return Vec::new();
    }
    let mut versions: Vec<&Release> = history.iter().collect();
    versions.sort_by_key(|r| r.version);
    let excess = history.len() - max;
    versions
        .into_iter()
        .filter(|r| r.status() != Status::Deployed)
        .take(excess)
        .map(|r| r.version)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(version: i64, status: Status) -> Release {
        Release {
            name: "app".into(),
            version,
            namespace: "ns".into(),
            info: Info {
                status: Some(status),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn round_trip_and_names() {
        let r = rel(3, Status::Deployed);
        assert_eq!(r.secret_name(), "sh.helm.release.v1.app.v3");
        let back = Release::decode("x", &r.encode()).unwrap();
        assert_eq!(back, r);
        assert!(Release::decode("x", "!!").is_err());
    }

    #[test]
    fn what_go_writes_is_read_and_kept() {
        // Go's nil slices are null; fields davit does not model survive.
        let json = r#"{"name":"a","info":{"status":"deployed","first_deployed":"t"},"chart":{"metadata":{"name":"a"},"lock":null,"templates":null,"files":null,"schemamodtime":"0001-01-01T00:00:00Z"},"manifest":"","hooks":null,"version":1,"namespace":"n"}"#;
        let r: Release = serde_json::from_str(json).unwrap();
        assert!(r.hooks.is_empty() && r.chart.files.is_empty());
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["chart"]["schemamodtime"], "0001-01-01T00:00:00Z");
    }

    #[test]
    fn history() {
        let h = vec![
            rel(1, Status::Superseded),
            rel(2, Status::Superseded),
            rel(3, Status::Deployed),
            rel(4, Status::Failed),
        ];
        assert_eq!(current(&h).unwrap().version, 3);
        assert_eq!(to_prune(&h, 2), vec![1, 2]);
        assert_eq!(to_prune(&h, 0), Vec::<i64>::new());
        assert_eq!(to_prune(&h, 10), Vec::<i64>::new());
    }
}
