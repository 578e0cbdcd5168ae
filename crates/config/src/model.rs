//! Typed werf.yaml v2 documents. Values reach these structs only after the
//! schema check (`schema.rs`) passed, so deserialisation is a formality and
//! every user-facing shape error comes with a position from the checker.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A string or a list of strings, as werf accepts for many keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StrList(pub Vec<String>);

fn scalar_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for StrList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(StrList(match v {
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::Array(items) => items.iter().filter_map(scalar_string).collect(),
            other => scalar_string(&other).into_iter().collect(),
        }))
    }
}

/// A scalar read into a Go string field: yaml.v2 keeps the text as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Text(scalar_string(&v).unwrap_or_default()))
    }
}

pub type FreeMap = BTreeMap<String, serde_json::Value>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Meta {
    pub config_version: Option<i64>,
    pub project: Option<Text>,
    pub build: MetaBuild,
    pub deploy: MetaDeploy,
    pub cleanup: MetaCleanup,
    pub git_worktree: MetaGitWorktree,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetaBuild {
    pub cache_version: Option<Text>,
    pub platform: StrList,
    pub staged: Option<bool>,
    pub image_spec: Option<ImageSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetaDeploy {
    pub helm_chart_dir: Option<Text>,
    pub helm_chart_config: Option<HelmChartConfig>,
    pub helm_release: Option<Text>,
    pub helm_release_slug: Option<bool>,
    pub namespace: Option<Text>,
    pub namespace_slug: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HelmChartConfig {
    pub app_version: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetaCleanup {
    pub disable: bool,
    pub disable_kubernetes_based_policy: bool,
    pub disable_git_history_based_policy: bool,
    pub disable_built_within_last_n_hours_policy: bool,
    pub keep_images_built_within_last_n_hours: Option<u64>,
    pub keep_policies: Vec<KeepPolicy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KeepPolicy {
    pub references: Option<References>,
    pub images_per_reference: Option<Limit>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct References {
    pub branch: Option<Text>,
    pub tag: Option<Text>,
    pub limit: Option<Limit>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Limit {
    pub last: Option<i64>,
    #[serde(rename = "in")]
    pub within: Option<Text>,
    pub operator: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetaGitWorktree {
    pub force_shallow_clone: Option<bool>,
    pub allow_unshallow: Option<bool>,
    pub allow_fetch_origin_branches_and_tags: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageSpec {
    pub author: Option<Text>,
    pub clear_history: Option<bool>,
    pub config: Option<ImageSpecConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageSpecConfig {
    pub keep_essential_werf_labels: Option<bool>,
    pub clear_werf_labels: Option<bool>,
    pub clear_cmd: Option<bool>,
    pub clear_entrypoint: Option<bool>,
    pub clear_user: Option<bool>,
    pub clear_working_dir: Option<bool>,
    pub remove_labels: StrList,
    pub remove_volumes: StrList,
    pub remove_env: StrList,
    pub volumes: StrList,
    pub labels: FreeMap,
    pub env: FreeMap,
    pub expose: StrList,
    pub user: Option<Text>,
    pub cmd: StrList,
    pub entrypoint: StrList,
    pub working_dir: Option<Text>,
    pub stop_signal: Option<Text>,
    pub healthcheck: Option<Healthcheck>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Healthcheck {
    pub test: StrList,
    pub interval: Option<i64>,
    pub timeout: Option<i64>,
    pub startperiod: Option<i64>,
    pub retries: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Secret {
    pub id: Option<Text>,
    pub env: Option<Text>,
    pub src: Option<Text>,
    pub value: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Dependency {
    pub image: Option<Text>,
    pub before: Option<Text>,
    pub after: Option<Text>,
    pub imports: Vec<DependencyImport>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DependencyImport {
    #[serde(rename = "type")]
    pub kind: Option<Text>,
    pub target_env: Option<Text>,
    pub target_build_arg: Option<Text>,
}

/// A Dockerfile image document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DockerfileImage {
    pub image: Option<serde_json::Value>,
    #[serde(rename = "final")]
    pub is_final: Option<bool>,
    pub dockerfile: Option<Text>,
    pub context: Option<Text>,
    pub context_add_files: StrList,
    pub context_add_file: StrList,
    pub target: Option<Text>,
    pub args: FreeMap,
    pub add_host: StrList,
    pub network: Option<Text>,
    pub ssh: Option<Text>,
    pub secrets: Vec<Secret>,
    pub dependencies: Vec<Dependency>,
    pub staged: Option<bool>,
    pub platform: StrList,
    pub cache_version: Option<Text>,
    pub image_spec: Option<ImageSpec>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Git {
    pub add: Option<Text>,
    pub to: Option<Text>,
    pub include_paths: StrList,
    pub exclude_paths: StrList,
    pub owner: Option<Text>,
    pub group: Option<Text>,
    pub stage_dependencies: Option<StageDependencies>,
    pub url: Option<Text>,
    pub branch: Option<Text>,
    pub tag: Option<Text>,
    pub commit: Option<Text>,
    pub basic_auth: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StageDependencies {
    pub install: StrList,
    pub before_setup: StrList,
    pub setup: StrList,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Shell {
    pub before_install: StrList,
    pub install: StrList,
    pub before_setup: StrList,
    pub setup: StrList,
    pub cache_version: Option<Text>,
    pub before_install_cache_version: Option<Text>,
    pub install_cache_version: Option<Text>,
    pub before_setup_cache_version: Option<Text>,
    pub setup_cache_version: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Mount {
    pub to: Option<Text>,
    pub from: Option<Text>,
    pub from_path: Option<Text>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Import {
    pub image: Option<Text>,
    pub from: Option<Text>,
    pub artifact: Option<Text>,
    pub stage: Option<Text>,
    pub add: Option<Text>,
    pub to: Option<Text>,
    pub include_paths: StrList,
    pub exclude_paths: StrList,
    pub owner: Option<Text>,
    pub group: Option<Text>,
    pub before: Option<Text>,
    pub after: Option<Text>,
}

/// A stapel image or artifact document.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StapelImage {
    pub image: Option<serde_json::Value>,
    pub artifact: Option<serde_json::Value>,
    #[serde(rename = "final")]
    pub is_final: Option<bool>,
    pub from: Option<Text>,
    pub from_image: Option<Text>,
    pub from_artifact: Option<Text>,
    pub from_latest: Option<bool>,
    pub from_cache_version: Option<Text>,
    pub cache_version: Option<Text>,
    pub disable_git_after_patch: Option<bool>,
    pub git: Vec<Git>,
    pub shell: Option<Shell>,
    pub ansible: Option<serde_json::Value>,
    pub docker: Option<serde_json::Value>,
    pub mount: Vec<Mount>,
    pub import: Vec<Import>,
    pub dependencies: Vec<Dependency>,
    pub secrets: Vec<Secret>,
    pub image_spec: Option<ImageSpec>,
    pub platform: StrList,
    pub network: Option<Text>,
}
