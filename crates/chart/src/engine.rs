//! Helm's rendering engine on davit's Go template engine: one template set
//! for the chart and all its subcharts (deeper charts parsed first, so a
//! parent's `define` wins), every non-partial template executed with its own
//! chart's `.Values`, `.Chart`, `.Files` and `.Template`, `<no value>`
//! removed, errors worded as Helm words them.

use std::collections::BTreeMap;
use std::rc::Rc;

use davit_gotmpl::funcs::{helm_funcs, HelmOptions};
use davit_gotmpl::{FuncMap, Limits, Map, MissingKey, Template, Value};

use crate::chart::{metadata_value, Chart};
use crate::objects::{ApiVersions, HelmFiles, KubeVersion, DEFAULT_API_VERSIONS};
use crate::values::{as_map, empty};

/// `.Release`.
#[derive(Clone, Debug)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_install: bool,
    pub is_upgrade: bool,
}

/// `.Capabilities`.
#[derive(Clone, Debug)]
pub struct Capabilities {
    /// `v1.20.0`.
    pub kube_version: String,
    pub api_versions: Vec<String>,
    pub helm_version: String,
}

impl Capabilities {
    /// Helm's defaults without a cluster, for a given Kubernetes version,
    /// plus `extra` API versions (`--api-versions`, `--extra-apiversions`).
    pub fn new(kube_version: &str, extra: &[String]) -> Capabilities {
        let mut api_versions: Vec<String> = DEFAULT_API_VERSIONS
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        api_versions.extend(extra.iter().cloned());
        let kube_version = if kube_version.starts_with('v') {
            kube_version.to_string()
        } else {
            format!("v{kube_version}")
        };
        Capabilities {
            kube_version,
            api_versions,
            helm_version: "v4.3".into(),
        }
    }

    fn value(&self) -> Value {
        let mut helm = Map::new();
        helm.insert("Version".into(), Value::from(self.helm_version.as_str()));
        helm.insert("GitCommit".into(), Value::from(""));
        helm.insert("GitTreeState".into(), Value::from(""));
        helm.insert("GoVersion".into(), Value::from(""));
        let mut m = Map::new();
        m.insert(
            "KubeVersion".into(),
            Value::Object(Rc::new(KubeVersion {
                version: self.kube_version.clone(),
            })),
        );
        m.insert(
            "APIVersions".into(),
            Value::Object(Rc::new(ApiVersions {
                versions: self.api_versions.clone(),
            })),
        );
        m.insert("HelmVersion".into(), Value::map(helm));
        Value::map(m)
    }
}

/// Extra template functions a caller adds (werf's `werf_secret_file`).
pub type ExtraFuncs = Box<dyn Fn(&mut FuncMap)>;

pub struct RenderOptions {
    pub release: Release,
    pub capabilities: Capabilities,
    pub extra_funcs: Option<ExtraFuncs>,
}

/// What a render produced.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Template name (`chart/templates/x.yaml`) → output, for every template
    /// Helm renders into manifests (no partials, no `NOTES.txt`, no library
    /// charts), in Helm's render order.
    pub manifests: Vec<(String, String)>,
    /// The root chart's `NOTES.txt`, rendered.
    pub notes: Option<String>,
}

/// A template that failed, worded as Helm words it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RenderError {
    /// `chart/templates/x.yaml` when known.
    pub template: Option<String>,
    pub message: String,
}

struct Entry<'c> {
    name: String,
    data: String,
    chart: &'c Chart,
    chart_path: String,
    values: Value,
    files: HelmFiles,
    is_root: bool,
    /// Library charts' templates only contribute defines.
    library: bool,
}

/// Renders `chart` with its coalesced `values` (see [`crate::values::coalesce`]).
pub fn render(
    chart: &Chart,
    values: &Value,
    opts: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let mut entries = Vec::new();
    collect(chart, values, chart.name(), true, &mut entries);

    // Helm's order: deeper paths first, then by name; later parses win.
    entries.sort_by(|a, b| {
        let da = a.name.matches('/').count();
        let db = b.name.matches('/').count();
        db.cmp(&da).then_with(|| a.name.cmp(&b.name))
    });

    let mut funcs = helm_funcs(HelmOptions::default());
    if let Some(extra) = &opts.extra_funcs {
        extra(&mut funcs);
    }
    let set = Template::with_options("gotpl", funcs, MissingKey::Zero, Limits::default());
    for e in &entries {
        set.parse(&e.name, &e.data).map_err(|err| RenderError {
            template: Some(e.name.clone()),
            message: parse_error(&err.message),
        })?;
    }

    let release = release_value(&opts.release);
    let capabilities = opts.capabilities.value();
    let mut out = Rendered::default();
    for e in &entries {
        let base = e.name.rsplit('/').next().unwrap_or(&e.name);
        if base.starts_with('_') || e.library {
            continue;
        }
        let is_notes = base == "NOTES.txt";
        if is_notes && !e.is_root {
            continue;
        }
        let mut top = Map::new();
        top.insert("Values".into(), e.values.clone());
        top.insert("Release".into(), release.clone());
        top.insert("Capabilities".into(), capabilities.clone());
        top.insert("Chart".into(), metadata_value(&e.chart.metadata, e.is_root));
        top.insert("Files".into(), Value::Object(Rc::new(e.files.clone())));
        top.insert("Subcharts".into(), Value::empty_map());
        let mut tmpl = Map::new();
        tmpl.insert("Name".into(), Value::from(e.name.as_str()));
        tmpl.insert(
            "BasePath".into(),
            Value::from(format!("{}/templates", e.chart_path)),
        );
        top.insert("Template".into(), Value::map(tmpl));
        let text = set
            .execute(&e.name, &Value::map(top))
            .map_err(|err| RenderError {
                template: Some(e.name.clone()),
                message: exec_error(&err.message),
            })?
            .replace("<no value>", "");
        if is_notes {
            out.notes = Some(text);
        } else {
            out.manifests.push((e.name.clone(), text));
        }
    }
    Ok(out)
}

fn collect<'c>(
    chart: &'c Chart,
    values: &Value,
    path: &str,
    is_root: bool,
    out: &mut Vec<Entry<'c>>,
) {
    let files = HelmFiles::new(
        chart
            .files
            .iter()
            .map(|f| (f.name.clone(), Rc::from(f.data.as_slice())))
            .collect(),
    );
    for t in &chart.templates {
        out.push(Entry {
            name: format!("{path}/{}", t.name),
            data: String::from_utf8_lossy(&t.data).into_owned(),
            chart,
            chart_path: path.to_string(),
            values: values.clone(),
            files: files.clone(),
            is_root,
            library: chart.is_library(),
        });
    }
    for sub in &chart.dependencies {
        let sub_values = as_map(values)
            .and_then(|m| m.borrow().get(sub.name()).cloned())
            .filter(|v| as_map(v).is_some())
            .unwrap_or_else(empty);
        collect(
            sub,
            &sub_values,
            &format!("{path}/charts/{}", sub.name()),
            false,
            out,
        );
    }
}

fn release_value(r: &Release) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), Value::from(r.name.as_str()));
    m.insert("Namespace".into(), Value::from(r.namespace.as_str()));
    m.insert("Revision".into(), Value::Int(r.revision));
    m.insert("IsInstall".into(), Value::Bool(r.is_install));
    m.insert("IsUpgrade".into(), Value::Bool(r.is_upgrade));
    m.insert("Service".into(), Value::from("Helm"));
    Value::map(m)
}

/// `template: x.yaml:1: function "nope" not defined` →
/// `parse error at (x.yaml:1): function "nope" not defined`.
fn parse_error(message: &str) -> String {
    let tokens: Vec<&str> = message.splitn(3, ": ").collect();
    match tokens.as_slice() {
        ["template", location, rest] => format!("parse error at ({location}): {rest}"),
        _ => message.to_string(),
    }
}

/// `required` and `fail` become `execution error at (file:line:col): msg`;
/// other execution errors name the location, the action and the cause on
/// their own lines, as Helm 4 prints them.
fn exec_error(message: &str) -> String {
    let tokens: Vec<&str> = message.splitn(3, ": ").collect();
    let ["template", location, rest] = tokens.as_slice() else {
        return message.to_string();
    };
    for func in ["required", "fail"] {
        let marker = format!("error calling {func}: ");
        if let Some(i) = rest.find(&marker) {
            return format!(
                "execution error at ({location}): {}",
                &rest[i + marker.len()..]
            );
        }
    }
    // `executing "x" at <.a.b>: cause`
    if let Some(at) = rest.find(">: ") {
        return format!(
            "{location}\n  {}:\n    {}",
            &rest[..at + 1],
            &rest[at + 3..]
        );
    }
    format!("{location}: {rest}")
}

/// Splits a rendered template into its YAML documents as Helm does:
/// separated by `---` lines, trimmed, empty ones dropped.
pub fn split_manifests(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed.starts_with("---") && trimmed[3..].trim().is_empty() {
            docs.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push_str(line);
    }
    docs.push(cur);
    docs.into_iter()
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect()
}

/// A BTreeMap view of the manifests, for tests and tools.
pub fn by_template(r: &Rendered) -> BTreeMap<String, String> {
    r.manifests.iter().cloned().collect()
}

/// Helm's check of rendered manifests before it sorts them: every document
/// must be YAML, and a mapping (or only comments).
pub fn check_manifests(rendered: &Rendered) -> Result<(), RenderError> {
    for (name, text) in &rendered.manifests {
        for doc in split_manifests(text) {
            let bad = |message: String| RenderError {
                template: Some(name.clone()),
                message: format!("YAML parse error on {name}: {message}"),
            };
            let parsed = davit_goyaml::load_all(&doc)
                .map_err(|e| bad(format!("error converting YAML to JSON: {}", e.go_message())))?;
            match parsed.first().map(|n| &n.value) {
                None | Some(davit_goyaml::Yaml::Null) | Some(davit_goyaml::Yaml::Map(_)) => {}
                Some(other) => {
                    let kind = match other {
                        davit_goyaml::Yaml::Seq(_) => "array",
                        davit_goyaml::Yaml::Bool(_) => "bool",
                        davit_goyaml::Yaml::Str(_) => "string",
                        _ => "number",
                    };
                    return Err(bad(format!(
                        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type util.SimpleHead"
                    )));
                }
            }
        }
    }
    Ok(())
}
