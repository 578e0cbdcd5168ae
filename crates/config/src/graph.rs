//! Image selection and the dependency graph (`config list`, `config graph`).

use crate::parse::{DependsOn, WerfConfig};

/// One image in `config graph` output.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GraphNode {
    pub image: String,
    #[serde(rename = "dependsOn", skip_serializing_if = "is_empty")]
    pub depends_on: DependsOn,
}

fn is_empty(d: &DependsOn) -> bool {
    d.from.is_none() && d.import.is_empty() && d.dependencies.is_empty()
}

/// Image names in config order, optionally only the final ones.
pub fn image_names(cfg: &WerfConfig, final_only: bool) -> Vec<String> {
    cfg.images
        .iter()
        .filter(|i| !final_only || i.is_final)
        .map(|i| i.name.clone())
        .collect()
}

pub fn graph(cfg: &WerfConfig) -> Vec<GraphNode> {
    cfg.images
        .iter()
        .map(|i| GraphNode {
            image: i.name.clone(),
            depends_on: i.depends_on.clone(),
        })
        .collect()
}

/// The graph as YAML text, one entry per image.
pub fn graph_yaml(nodes: &[GraphNode]) -> String {
    let mut out = String::new();
    for n in nodes {
        out.push_str(&format!("- image: {}\n", yaml_scalar(&n.image)));
        if is_empty(&n.depends_on) {
            continue;
        }
        out.push_str("  dependsOn:\n");
        if let Some(f) = &n.depends_on.from {
            out.push_str(&format!("    from: {}\n", yaml_scalar(f)));
        }
        for (key, list) in [
            ("import", &n.depends_on.import),
            ("dependencies", &n.depends_on.dependencies),
        ] {
            if !list.is_empty() {
                out.push_str(&format!("    {key}:\n"));
                for item in list {
                    out.push_str(&format!("    - {}\n", yaml_scalar(item)));
                }
            }
        }
    }
    out
}

fn yaml_scalar(s: &str) -> String {
    davit_goyaml::marshal(&davit_goyaml::Yaml::Str(s.to_string()))
        .trim_end()
        .to_string()
}
