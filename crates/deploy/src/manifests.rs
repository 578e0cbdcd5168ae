//! The manifests as `werf render` prints them (spec §5.11 and what werf
//! v2.77.1 printed in the render vectors): every document parsed and
//! written back with sorted keys, `metadata.annotations`/`labels` always
//! present with the extra ones added, the release namespace dropped from
//! `metadata.namespace`, a Secret's `stringData` folded into `data`, and
//! the resources ordered: CRDs, then hooks, then the rest, each by kind,
//! namespace and name.

use base64::Engine;
use davit_chart::engine::split_manifests;
use davit_gotmpl::funcs::yaml::{to_yaml_json, yaml_json_to_value};
use davit_gotmpl::{Map, Value};
use davit_goyaml::Yaml;

use crate::DeployError;

/// One resource of the release.
#[derive(Clone, Debug)]
pub struct Resource {
    /// `chart/templates/x.yaml` or `chart/crds/x.yaml`.
    pub source: String,
    pub value: Value,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub is_crd_file: bool,
    pub hook: Option<String>,
    pub hook_weight: i64,
}

pub struct ManifestOptions<'a> {
    pub release_namespace: &'a str,
    pub extra_annotations: &'a [(String, String)],
    pub extra_labels: &'a [(String, String)],
}

fn field(v: &Value, key: &str) -> Option<Value> {
    match v {
        Value::Map(m, _) => m.borrow().get(key).cloned(),
        _ => None,
    }
}

fn text(v: Option<Value>) -> String {
    match v {
        Some(Value::String(s)) => s.to_string(),
        _ => String::new(),
    }
}

/// Parses every document of every rendered file into resources.
pub fn parse_resources(
    files: &[(String, String)],
    crd_files: &[(String, String)],
    options: &ManifestOptions<'_>,
) -> Result<Vec<Resource>, DeployError> {
    let mut out = Vec::new();
    for (source, body, is_crd) in crd_files
        .iter()
        .map(|(s, b)| (s, b, true))
        .chain(files.iter().map(|(s, b)| (s, b, false)))
    {
        for doc in split_manifests(body) {
            let parsed = davit_goyaml::load_all(&doc).map_err(|e| DeployError::Manifest {
                source_file: source.clone(),
                message: format!("YAML parse error: {}", e.go_message()),
                document: doc.lines().take(6).collect::<Vec<_>>().join("\n"),
            })?;
            let Some(node) = parsed.into_iter().next() else {
                continue;
            };
            let value = match &node.value {
                Yaml::Null => continue,
                Yaml::Map(_) => yaml_json_to_value(&node.value),
                _ => {
                    return Err(DeployError::Manifest {
                        source_file: source.clone(),
                        message: "a document is not a YAML mapping (a Kubernetes resource)".into(),
                        document: doc.lines().take(6).collect::<Vec<_>>().join("\n"),
                    })
                }
            };
            out.push(resource(source, value, is_crd, options)?);
        }
    }
    Ok(out)
}

fn resource(
    source: &str,
    value: Value,
    is_crd_file: bool,
    options: &ManifestOptions<'_>,
) -> Result<Resource, DeployError> {
    let kind = text(field(&value, "kind"));
    let api_version = text(field(&value, "apiVersion"));
    let metadata = field(&value, "metadata").unwrap_or(Value::Nil);
    let name = text(field(&metadata, "name"));
    let missing = |what: &str| DeployError::Manifest {
        source_file: source.to_string(),
        message: format!("a resource has no {what}"),
        document: davit_gotmpl::funcs::yaml::to_yaml_json(&value)
            .lines()
            .take(6)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    if kind.is_empty() {
        return Err(missing("kind"));
    }
    if api_version.is_empty() {
        return Err(missing("apiVersion"));
    }
    let Value::Map(top, _) = &value else {
        return Err(missing("body"));
    };
    let meta = match metadata {
        Value::Map(..) => metadata,
        _ => {
            let m = Value::empty_map();
            top.borrow_mut().insert("metadata".into(), m.clone());
            m
        }
    };
    if name.is_empty() {
        return Err(missing("metadata.name"));
    }
    let Value::Map(meta_map, _) = &meta else {
        unreachable!("metadata is a map")
    };
    let mut namespace = text(field(&meta, "namespace"));
    if !namespace.is_empty() && namespace == options.release_namespace {
        meta_map.borrow_mut().remove("namespace");
        namespace.clear();
    }
    let annotations = ensure_map(meta_map, "annotations");
    let labels = ensure_map(meta_map, "labels");
    let hook = text(field(&annotations, "helm.sh/hook"));
    let hook_weight = text(field(&annotations, "helm.sh/hook-weight"))
        .trim()
        .parse()
        .unwrap_or(0);
    add_all(&annotations, options.extra_annotations);
    add_all(&labels, options.extra_labels);
    if kind == "Secret" && api_version == "v1" {
        fold_string_data(top);
    }
    Ok(Resource {
        source: source.to_string(),
        api_version,
        kind,
        name,
        namespace,
        is_crd_file,
        hook: (!hook.is_empty()).then_some(hook),
        hook_weight,
        value,
    })
}

fn ensure_map(meta: &std::rc::Rc<std::cell::RefCell<Map>>, key: &str) -> Value {
    let existing = meta.borrow().get(key).cloned();
    match existing {
        Some(v @ Value::Map(..)) => v,
        _ => {
            let m = Value::empty_map();
            meta.borrow_mut().insert(key.to_string(), m.clone());
            m
        }
    }
}

fn add_all(map: &Value, pairs: &[(String, String)]) {
    if let Value::Map(m, _) = map {
        let mut m = m.borrow_mut();
        for (k, v) in pairs {
            m.insert(k.clone(), Value::from(v.as_str()));
        }
    }
}

/// Kubernetes merges `stringData` into `data`; werf renders the result.
fn fold_string_data(top: &std::rc::Rc<std::cell::RefCell<Map>>) {
    let string_data = top.borrow_mut().remove("stringData");
    let Some(Value::Map(sd, _)) = string_data else {
        return;
    };
    let data = ensure_map(top, "data");
    if let Value::Map(d, _) = &data {
        let mut d = d.borrow_mut();
        for (k, v) in sd.borrow().iter() {
            let raw = match v {
                Value::String(s) => s.to_string(),
                other => davit_gotmpl::gofmt::to_string_v(other),
            };
            d.insert(
                k.clone(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(raw)),
            );
        }
    }
}

/// werf's order: CRDs from `crds/`, hooks, then the rest; within each, by
/// kind, namespace and name (hooks by weight first).
pub fn sort(resources: &mut [Resource]) {
    resources.sort_by(|a, b| {
        let group = |r: &Resource| {
            if r.is_crd_file {
                0
            } else if r.hook.is_some() {
                1
            } else {
                2
            }
        };
        group(a)
            .cmp(&group(b))
            .then_with(|| a.hook_weight.cmp(&b.hook_weight))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// `---\n# Source: …\n<yaml>` for each resource.
pub fn print(resources: &[Resource]) -> String {
    let mut out = String::new();
    for r in resources {
        out.push_str("---\n# Source: ");
        out.push_str(&r.source);
        out.push('\n');
        out.push_str(to_yaml_json(&r.value).trim_end_matches('\n'));
        out.push('\n');
    }
    out
}
