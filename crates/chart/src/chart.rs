//! A chart loaded from its files: `Chart.yaml`, `values.yaml`,
//! `values.schema.json`, `templates/`, `charts/` (folders and `.tgz`
//! archives), everything else as `.Files`, `.helmignore` applied.

use std::io::Read;

use davit_gotmpl::{Map, Value};
use davit_goyaml::Yaml;

use crate::helmignore::HelmIgnore;
use crate::values::{empty, parse_values};
use crate::ChartError;

/// One file of a chart, its path relative to the chart's root.
#[derive(Clone, Debug)]
pub struct ChartFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// `import-values` of a dependency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportValue {
    /// `- data`: the child's `exports.data` into the parent's root.
    Exports(String),
    /// `- {child: a.b, parent: c}`.
    Map { child: String, parent: String },
}

/// One entry of `dependencies:` in `Chart.yaml`.
#[derive(Clone, Debug, Default)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub alias: String,
    pub import_values: Vec<ImportValue>,
}

/// `Chart.yaml`.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    pub api_version: String,
    pub name: String,
    pub version: String,
    pub app_version: String,
    pub description: String,
    pub kube_version: String,
    pub chart_type: String,
    pub home: String,
    pub icon: String,
    pub condition: String,
    pub tags: String,
    pub deprecated: bool,
    pub keywords: Vec<String>,
    pub sources: Vec<String>,
    pub maintainers: Vec<Value>,
    pub annotations: Vec<(String, String)>,
    pub dependencies: Vec<Dependency>,
}

#[derive(Clone, Debug)]
pub struct Chart {
    pub metadata: Metadata,
    /// True when `Chart.lock` (or `requirements.lock`) is present.
    pub has_lock: bool,
    pub templates: Vec<ChartFile>,
    /// The defaults from `values.yaml`.
    pub values: Value,
    pub schema: Option<Vec<u8>>,
    /// Files other than the ones above (`.Files`), `crds/` among them.
    pub files: Vec<ChartFile>,
    /// Subcharts from `charts/`, in path order.
    pub dependencies: Vec<Chart>,
    /// Where the chart was read from, for messages (`.helm`, `.helm/charts/x`).
    pub origin: String,
}

impl Chart {
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    pub fn is_library(&self) -> bool {
        self.metadata.chart_type == "library"
    }

    /// `crds/` files (YAML only), as Helm's `CRDObjects`.
    pub fn crds(&self) -> impl Iterator<Item = &ChartFile> {
        self.files.iter().filter(|f| {
            f.name.starts_with("crds/")
                && (f.name.ends_with(".yaml")
                    || f.name.ends_with(".yml")
                    || f.name.ends_with(".json"))
        })
    }
}

/// Loads a chart from its files. `metadata_defaults` fills what a missing
/// or partial `Chart.yaml` lacks (werf's project name, `1.0.0`, `v2`); Helm
/// itself passes `None` and requires the file.
pub fn load(
    files: Vec<ChartFile>,
    origin: &str,
    metadata_defaults: Option<&Metadata>,
) -> Result<Chart, ChartError> {
    let ignore = files
        .iter()
        .find(|f| f.name == ".helmignore")
        .map(|f| HelmIgnore::parse(&String::from_utf8_lossy(&f.data)))
        .unwrap_or_default();
    let files: Vec<ChartFile> = files
        .into_iter()
        .filter(|f| f.name == "Chart.yaml" || !ignore.ignored(&f.name))
        .collect();

    let mut metadata = None;
    let mut has_lock = false;
    let mut requirements = None;
    let mut values = empty();
    let mut schema = None;
    let mut templates = Vec::new();
    let mut other = Vec::new();
    let mut sub_dirs: Vec<(String, Vec<ChartFile>)> = Vec::new();
    let mut archives = Vec::new();
    for f in files {
        let n = f.name.as_str();
        match n {
            "Chart.yaml" => {
                metadata = Some(parse_metadata(&f.data, &format!("{origin}/Chart.yaml"))?)
            }
            "Chart.lock" | "requirements.lock" => has_lock = true,
            "requirements.yaml" => requirements = Some(f.data.clone()),
            "values.yaml" => {
                values = parse_values(
                    &String::from_utf8_lossy(&f.data),
                    &format!("{origin}/values.yaml"),
                )?
            }
            "values.schema.json" => schema = Some(f.data),
            _ if n.starts_with("templates/") => templates.push(f),
            _ if n.starts_with("charts/") => {
                let rest = &n["charts/".len()..];
                match rest.split_once('/') {
                    Some((dir, inner)) => {
                        let inner = ChartFile {
                            name: inner.to_string(),
                            data: f.data,
                        };
                        match sub_dirs.iter_mut().find(|(d, _)| d == dir) {
                            Some((_, v)) => v.push(inner),
                            None => sub_dirs.push((dir.to_string(), vec![inner])),
                        }
                    }
                    None if rest.ends_with(".tgz") || rest.ends_with(".tar.gz") => archives.push(f),
                    None => other.push(f),
                }
            }
            _ => other.push(f),
        }
    }

    let mut metadata = match (metadata, metadata_defaults) {
        (Some(m), Some(d)) => with_defaults(m, d),
        (Some(m), None) => m,
        (None, Some(d)) => d.clone(),
        (None, None) => {
            return Err(ChartError::Invalid {
                chart: origin.to_string(),
                message: "Chart.yaml file is missing".into(),
            })
        }
    };
    if let Some(req) = requirements {
        if metadata.api_version == "v1" {
            metadata.dependencies =
                parse_dependencies(&req, &format!("{origin}/requirements.yaml"))?;
        }
    }
    if metadata.api_version.is_empty() {
        // Charts from before Chart.yaml had an apiVersion are v1 charts.
        metadata.api_version = "v1".into();
    }
    validate(&metadata, origin)?;

    let mut dependencies = Vec::new();
    for (dir, files) in sub_dirs {
        let sub_origin = format!("{origin}/charts/{dir}");
        dependencies.push(load(files, &sub_origin, None)?);
    }
    for a in archives {
        let sub_origin = format!("{origin}/{}", a.name);
        dependencies.push(load(untar(&a.data, &sub_origin)?, &sub_origin, None)?);
    }
    templates.sort_by(|a, b| a.name.cmp(&b.name));
    other.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Chart {
        metadata,
        has_lock,
        templates,
        values,
        schema,
        files: other,
        dependencies,
        origin: origin.to_string(),
    })
}

fn with_defaults(mut m: Metadata, d: &Metadata) -> Metadata {
    if m.api_version.is_empty() {
        m.api_version = d.api_version.clone();
    }
    if m.name.is_empty() {
        m.name = d.name.clone();
    }
    if m.version.is_empty() {
        m.version = d.version.clone();
    }
    m
}

fn validate(m: &Metadata, origin: &str) -> Result<(), ChartError> {
    let invalid = |message: String| ChartError::Invalid {
        chart: origin.to_string(),
        message,
    };
    if m.api_version.is_empty() {
        return Err(invalid(
            "validation: chart.metadata.apiVersion is required".into(),
        ));
    }
    if m.name.is_empty() {
        return Err(invalid(
            "validation: chart.metadata.name is required".into(),
        ));
    }
    if m.name == "." || m.name == ".." {
        return Err(invalid(format!(
            "validation: chart.metadata.name {:?} is not allowed",
            m.name
        )));
    }
    if m.name.contains('/') || m.name.contains('\\') {
        return Err(invalid(format!(
            "validation: chart.metadata.name {:?} is invalid",
            m.name
        )));
    }
    if m.version.is_empty() {
        return Err(invalid(
            "validation: chart.metadata.version is required".into(),
        ));
    }
    if semver::Version::parse(m.version.trim_start_matches('v')).is_err()
        && !loose_semver(&m.version)
    {
        return Err(invalid(format!(
            "validation: chart.metadata.version {:?} is invalid",
            m.version
        )));
    }
    if !m.chart_type.is_empty() && m.chart_type != "application" && m.chart_type != "library" {
        return Err(invalid(
            "validation: chart.metadata.type must be application or library".into(),
        ));
    }
    Ok(())
}

/// Masterminds/semver accepts `1`, `1.2`, `v1.2.3`.
fn loose_semver(v: &str) -> bool {
    let core = v.trim_start_matches('v');
    let core = core.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    !parts.is_empty()
        && parts.len() <= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn yaml_doc(data: &[u8], file: &str) -> Result<Yaml, ChartError> {
    let text = String::from_utf8_lossy(data);
    let docs = davit_goyaml::load_all(&text).map_err(|e| ChartError::Yaml {
        file: file.to_string(),
        message: e.go_message(),
    })?;
    Ok(docs
        .into_iter()
        .next()
        .map(|n| n.value)
        .unwrap_or(Yaml::Null))
}

fn map_get<'a>(y: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    match y {
        Yaml::Map(pairs) => pairs
            .iter()
            .rev()
            .find(|(k, _)| matches!(&k.value, Yaml::Str(s) if s == key))
            .map(|(_, v)| &v.value),
        _ => None,
    }
}

fn scalar(y: Option<&Yaml>) -> String {
    match y {
        Some(Yaml::Str(s)) => s.clone(),
        Some(Yaml::Int(i)) => i.to_string(),
        Some(Yaml::Uint(u)) => u.to_string(),
        Some(Yaml::Float(f)) => davit_gotmpl::gofmt::format_float(*f, 'g', -1),
        Some(Yaml::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn strings(y: Option<&Yaml>) -> Vec<String> {
    match y {
        Some(Yaml::Seq(items)) => items.iter().map(|n| scalar(Some(&n.value))).collect(),
        _ => Vec::new(),
    }
}

fn parse_metadata(data: &[u8], file: &str) -> Result<Metadata, ChartError> {
    let y = yaml_doc(data, file)?;
    let value = davit_gotmpl::funcs::yaml::yaml_json_to_value(&y);
    let annotations = match map_get(&y, "annotations") {
        Some(Yaml::Map(pairs)) => pairs
            .iter()
            .map(|(k, v)| (scalar(Some(&k.value)), scalar(Some(&v.value))))
            .collect(),
        _ => Vec::new(),
    };
    let maintainers = match &value {
        Value::Map(m, _) => match m.borrow().get("maintainers") {
            Some(Value::List(items, _)) => items.as_ref().clone(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    Ok(Metadata {
        api_version: scalar(map_get(&y, "apiVersion")),
        name: scalar(map_get(&y, "name")),
        version: scalar(map_get(&y, "version")),
        app_version: scalar(map_get(&y, "appVersion")),
        description: scalar(map_get(&y, "description")),
        kube_version: scalar(map_get(&y, "kubeVersion")),
        chart_type: scalar(map_get(&y, "type")),
        home: scalar(map_get(&y, "home")),
        icon: scalar(map_get(&y, "icon")),
        condition: scalar(map_get(&y, "condition")),
        tags: scalar(map_get(&y, "tags")),
        deprecated: matches!(map_get(&y, "deprecated"), Some(Yaml::Bool(true))),
        keywords: strings(map_get(&y, "keywords")),
        sources: strings(map_get(&y, "sources")),
        maintainers,
        annotations,
        dependencies: dependencies_of(map_get(&y, "dependencies")),
    })
}

fn parse_dependencies(data: &[u8], file: &str) -> Result<Vec<Dependency>, ChartError> {
    let y = yaml_doc(data, file)?;
    Ok(dependencies_of(map_get(&y, "dependencies")))
}

fn dependencies_of(y: Option<&Yaml>) -> Vec<Dependency> {
    let Some(Yaml::Seq(items)) = y else {
        return Vec::new();
    };
    items
        .iter()
        .map(|n| {
            let d = &n.value;
            let import_values = match map_get(d, "import-values") {
                Some(Yaml::Seq(iv)) => iv
                    .iter()
                    .filter_map(|i| match &i.value {
                        Yaml::Str(s) => Some(ImportValue::Exports(s.clone())),
                        m @ Yaml::Map(_) => Some(ImportValue::Map {
                            child: scalar(map_get(m, "child")),
                            parent: scalar(map_get(m, "parent")),
                        }),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            Dependency {
                name: scalar(map_get(d, "name")),
                version: scalar(map_get(d, "version")),
                repository: scalar(map_get(d, "repository")),
                condition: scalar(map_get(d, "condition")),
                tags: strings(map_get(d, "tags")),
                alias: scalar(map_get(d, "alias")),
                import_values,
            }
        })
        .collect()
}

/// Loads a chart archive (`.tgz`), as `helm template chart.tgz` does.
pub fn load_archive(
    data: &[u8],
    origin: &str,
    metadata_defaults: Option<&Metadata>,
) -> Result<Chart, ChartError> {
    load(untar(data, origin)?, origin, metadata_defaults)
}

/// A chart archive's files, its top folder stripped.
fn untar(data: &[u8], origin: &str) -> Result<Vec<ChartFile>, ChartError> {
    let bad = |e: std::io::Error| ChartError::Invalid {
        chart: origin.to_string(),
        message: format!("cannot read the chart archive: {e}"),
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(data));
    let mut out = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(bad)?
            .to_string_lossy()
            .replace('\\', "/");
        let Some((_, inner)) = path.split_once('/') else {
            continue;
        };
        if inner.split('/').any(|c| c == "..") {
            return Err(ChartError::Invalid {
                chart: origin.to_string(),
                message: format!("chart archive entry {path:?} leaves the chart"),
            });
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(bad)?;
        out.push(ChartFile {
            name: inner.to_string(),
            data,
        });
    }
    Ok(out)
}

/// `.Chart` as Helm 4 exposes it to templates.
pub fn metadata_value(m: &Metadata, is_root: bool) -> Value {
    let s = |x: &str| Value::from(x);
    let list = |v: &[String]| Value::list(v.iter().map(|x| Value::from(x.as_str())).collect());
    let mut out = Map::new();
    out.insert("APIVersion".into(), s(&m.api_version));
    out.insert(
        "Annotations".into(),
        Value::map(
            m.annotations
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        ),
    );
    out.insert("AppVersion".into(), s(&m.app_version));
    out.insert("Condition".into(), s(&m.condition));
    out.insert(
        "Dependencies".into(),
        Value::list(
            m.dependencies
                .iter()
                .map(|d| {
                    let mut dm = Map::new();
                    dm.insert("Name".into(), s(&d.name));
                    dm.insert("Version".into(), s(&d.version));
                    dm.insert("Repository".into(), s(&d.repository));
                    dm.insert("Condition".into(), s(&d.condition));
                    dm.insert("Tags".into(), list(&d.tags));
                    dm.insert("Alias".into(), s(&d.alias));
                    Value::map(dm)
                })
                .collect(),
        ),
    );
    out.insert("Deprecated".into(), Value::Bool(m.deprecated));
    out.insert("Description".into(), s(&m.description));
    out.insert("Home".into(), s(&m.home));
    out.insert("Icon".into(), s(&m.icon));
    out.insert("IsRoot".into(), Value::Bool(is_root));
    out.insert("Keywords".into(), list(&m.keywords));
    out.insert("KubeVersion".into(), s(&m.kube_version));
    out.insert("Maintainers".into(), Value::list(m.maintainers.clone()));
    out.insert("Name".into(), s(&m.name));
    out.insert("Sources".into(), list(&m.sources));
    out.insert("Tags".into(), s(&m.tags));
    out.insert("Type".into(), s(&m.chart_type));
    out.insert("Version".into(), s(&m.version));
    Value::map(out)
}

/// Every `crds/` file of the chart tree (disabled subcharts already
/// dropped), named as Helm names them (`chart/charts/sub/crds/x.yaml`).
pub fn crd_files(chart: &Chart) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect_crds(chart, chart.name(), &mut out);
    out
}

fn collect_crds(chart: &Chart, path: &str, out: &mut Vec<(String, String)>) {
    for f in chart.crds() {
        out.push((
            format!("{path}/{}", f.name),
            String::from_utf8_lossy(&f.data).into_owned(),
        ));
    }
    for sub in &chart.dependencies {
        collect_crds(sub, &format!("{path}/charts/{}", sub.name()), out);
    }
}
