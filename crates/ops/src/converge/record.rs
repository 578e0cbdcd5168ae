//! The release record of a deploy (Helm 3/4's `Release`): the manifest
//! and hooks as rendered, the chart's metadata and values, the times as Go
//! writes them; and the resources of a stored manifest read back.

use davit_kube::{id_of, ResourceId};
use davit_release::Hook;
use serde_json::{json, Value};

use crate::render::RenderedRelease;

/// Now, as Go's `time.Time` marshals to JSON (RFC 3339, nanoseconds).
pub(crate) fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    davit_gotmpl::funcs::date::GoTime::utc(d.as_secs() as i64, d.subsec_nanos())
        .format("2006-01-02T15:04:05.999999999Z07:00")
}

/// Helm's ownership metadata of a release's resource.
pub(crate) fn owned_by_release(obj: &mut Value, release: &str, namespace: &str) {
    let meta = &mut obj["metadata"];
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    if !meta["labels"].is_object() {
        meta["labels"] = json!({});
    }
    meta["annotations"]["meta.helm.sh/release-name"] = json!(release);
    meta["annotations"]["meta.helm.sh/release-namespace"] = json!(namespace);
    meta["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
}

/// The release record's manifest: the non-hook resources as rendered.
pub(crate) fn manifest_of(rel: &RenderedRelease) -> String {
    let general: Vec<davit_deploy::Resource> = rel
        .resources
        .iter()
        .filter(|r| r.hook.is_none() && !r.is_crd_file)
        .cloned()
        .collect();
    davit_deploy::manifests::print(&general)
}

pub(crate) fn hooks_of(rel: &RenderedRelease) -> Vec<Hook> {
    rel.resources
        .iter()
        .filter(|r| r.hook.is_some())
        .map(|r| Hook {
            name: r.name.clone(),
            kind: r.kind.clone(),
            path: r.source.clone(),
            manifest: davit_deploy::manifests::print(std::slice::from_ref(r)),
            events: davit_deploy::plan::hook_events(r),
            weight: r.hook_weight,
            ..Default::default()
        })
        .collect()
}

pub(crate) fn chart_json(rel: &RenderedRelease) -> davit_release::Chart {
    let m = &rel.chart;
    davit_release::Chart {
        metadata: json!({
            "name": m.name, "version": m.version, "appVersion": m.app_version,
            "apiVersion": m.api_version, "description": m.description, "type": m.chart_type,
        }),
        values: rel.chart_values.clone(),
        ..Default::default()
    }
}

/// The resources of a stored manifest (for deletions and rollbacks): the
/// identity, the object as JSON and as a template value.
pub(crate) fn ids_of_manifest(
    manifest: &str,
    namespace: &str,
) -> Vec<(ResourceId, Value, davit_gotmpl::Value)> {
    davit_chart::engine::split_manifests(manifest)
        .into_iter()
        .filter_map(|doc| {
            let y = davit_goyaml::load_all(&doc).ok()?.into_iter().next()?;
            let value = davit_gotmpl::funcs::yaml::yaml_json_to_value(&y.value);
            let v = davit_chart::values::to_json(&value);
            v.is_object().then(|| (id_of(&v, namespace), v, value))
        })
        .collect()
}
