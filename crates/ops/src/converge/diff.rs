//! `davit plan`: what a converge would change, without changing anything.
//! Each resource of the plan is applied with `dryRun=All` and compared
//! with what the cluster has; resources the previous revision had and the
//! chart no longer has are listed as deletions. Values of sensitive
//! resources (Secrets, `werf.io/sensitive`, `werf.io/sensitive-paths`) are
//! replaced by a short digest, so a change shows without its content.

use std::sync::Arc;

use davit_deploy::plan::{plan, DeployKind};
use davit_deploy::policy::{policy_of, DeployPolicy, Ownership};
use davit_kube::{Cluster, KubeError};
use davit_release::Status;
use serde_json::Value;
use sha2::Digest;

use super::execute::{object_for, replicas_on_creation};
use super::record::ids_of_manifest;
use super::{err, runtime, ConvergeOptions, FIELD_MANAGER};
use crate::render::RenderedRelease;
use crate::OpsError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    /// Deleted and created again (`before-creation`: hooks by default).
    Recreate,
    Delete,
    Unchanged,
    /// Left alone by `werf.io/resource-policy`.
    Skip,
}

impl Action {
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Recreate => "recreate",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
            Action::Skip => "skip",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Change {
    pub resource: String,
    pub action: Action,
    /// A unified diff of the YAML (sensitive values digested).
    pub diff: String,
}

/// What matters of an object for a diff: no server bookkeeping or status.
fn comparable(mut v: Value) -> Value {
    if let Some(meta) = v["metadata"].as_object_mut() {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            meta.remove(k);
        }
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("status");
    }
    v
}

fn digest(v: &Value) -> Value {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let hash = sha2::Sha256::digest(text.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    Value::String(format!("<sensitive, sha256 {hex}…>"))
}

fn hide_path(v: &mut Value, path: &[&str]) {
    match path.split_first() {
        None => *v = digest(v),
        Some((&"*", rest)) | Some((&"[*]", rest)) => match v {
            Value::Array(items) => items.iter_mut().for_each(|i| hide_path(i, rest)),
            Value::Object(m) => m.values_mut().for_each(|i| hide_path(i, rest)),
            _ => {}
        },
        Some((key, rest)) => {
            if let Some(next) = v.get_mut(*key) {
                hide_path(next, rest);
            }
        }
    }
}

/// Digests the values a plan must not show.
pub(crate) fn hide_sensitive(mut v: Value, policy: &DeployPolicy) -> Value {
    if policy.sensitive {
        for key in ["data", "stringData"] {
            if let Some(m) = v[key].as_object_mut() {
                for val in m.values_mut() {
                    *val = digest(val);
                }
            }
        }
    }
    for p in &policy.sensitive_paths {
        let p = p.trim_start_matches("$.").replace("[*]", ".*");
        let parts: Vec<&str> = p.split('.').filter(|s| !s.is_empty()).collect();
        hide_path(&mut v, &parts);
    }
    v
}

fn yaml(v: &Value) -> String {
    davit_gotmpl::funcs::yaml::to_yaml_json(&davit_gotmpl::Value::from_json(v))
}

fn unified(old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header("live", "planned")
        .to_string()
}

/// The changes a converge of `rel` would make.
pub fn plan_changes(
    rel: &RenderedRelease,
    options: &ConvergeOptions,
) -> Result<Vec<Change>, OpsError> {
    runtime()?.block_on(async {
        let cluster = Arc::new(Cluster::connect(&options.kube).await.map_err(err)?);
        let history = cluster
            .release_history(&rel.namespace, &rel.release)
            .await
            .map_err(err)?;
        let kind = if history
            .iter()
            .any(|r| matches!(r.status(), Status::Deployed | Status::Superseded))
        {
            DeployKind::Upgrade
        } else {
            DeployKind::Install
        };
        let p = plan(&rel.resources, kind, &rel.namespace).map_err(OpsError::DeployPlan)?;
        let mut out = Vec::new();
        // Kinds this deploy's CRDs bring cannot be looked up before they exist.
        let new_kinds: Vec<String> = p
            .stages
            .first()
            .filter(|s| s.name == "CRDs")
            .map(|s| {
                s.steps
                    .iter()
                    .filter_map(|st| {
                        let v = davit_chart::values::to_json(&st.resource.value);
                        v["spec"]["names"]["kind"].as_str().map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default();
        for step in p.steps() {
            let obj = object_for(step, rel, options);
            let shown = format!("{}/{}", step.resource.kind, step.resource.name);
            let id = match cluster.id_for(&obj, &rel.namespace).await {
                Ok(id) => id,
                Err(KubeError::UnknownKind { .. }) if new_kinds.contains(&step.resource.kind) => {
                    out.push(Change {
                        resource: shown,
                        action: Action::Create,
                        diff: unified("", &yaml(&hide_sensitive(obj, &step.policy))),
                    });
                    continue;
                }
                Err(e) => return Err(err(e)),
            };
            let resource = id.to_string();
            let live = cluster.get(&id).await.map_err(err)?;
            let mut obj = obj;
            replicas_on_creation(&mut obj, &step.policy, live.as_ref());
            let Some(live) = live else {
                let action = if step.policy.resource.skip_create {
                    Action::Skip
                } else {
                    Action::Create
                };
                let diff = match action {
                    Action::Create => unified("", &yaml(&hide_sensitive(obj, &step.policy))),
                    _ => String::new(),
                };
                out.push(Change {
                    resource,
                    action,
                    diff,
                });
                continue;
            };
            if step.policy.resource.skip_update {
                out.push(Change {
                    resource,
                    action: Action::Skip,
                    diff: String::new(),
                });
                continue;
            }
            let before = yaml(&hide_sensitive(comparable(live), &step.policy));
            if step.policy.delete.before_creation && !step.policy.resource.skip_recreate {
                let after = yaml(&hide_sensitive(obj, &step.policy));
                out.push(Change {
                    resource,
                    action: Action::Recreate,
                    diff: unified(&before, &after),
                });
                continue;
            }
            let planned = cluster
                .dry_run_apply(&obj, &rel.namespace, FIELD_MANAGER)
                .await
                .map_err(err)?;
            let after = yaml(&hide_sensitive(comparable(planned), &step.policy));
            let (action, diff) = if before == after {
                (Action::Unchanged, String::new())
            } else {
                (Action::Update, unified(&before, &after))
            };
            out.push(Change {
                resource,
                action,
                diff,
            });
        }
        if let Some(prev) = davit_release::current(&history) {
            for (id, obj, value) in ids_of_manifest(&prev.manifest, &prev.namespace) {
                let kept = rel.resources.iter().any(|r| {
                    r.kind == id.kind
                        && r.name == id.name
                        && (if r.namespace.is_empty() {
                            &rel.namespace
                        } else {
                            &r.namespace
                        }) == &id.namespace
                });
                if kept {
                    continue;
                }
                let resource = davit_deploy::Resource {
                    source: String::new(),
                    value,
                    api_version: id.api_version.clone(),
                    kind: id.kind.clone(),
                    name: id.name.clone(),
                    namespace: id.namespace.clone(),
                    is_crd_file: false,
                    hook: None,
                    hook_weight: 0,
                };
                let policy = policy_of(&resource).ok();
                if policy
                    .as_ref()
                    .is_some_and(|p| p.resource.skip_delete || p.ownership == Ownership::Anyone)
                {
                    continue;
                }
                let diff = match &policy {
                    Some(p) => unified(&yaml(&hide_sensitive(obj, p)), ""),
                    None => String::new(),
                };
                out.push(Change {
                    resource: id.to_string(),
                    action: Action::Delete,
                    diff,
                });
            }
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sensitive_values_are_digested() {
        let policy = DeployPolicy {
            sensitive: true,
            sensitive_paths: vec!["$.spec.env[*].value".into()],
            ..DeployPolicy::default()
        };
        let v = hide_sensitive(
            json!({"data": {"password": "aHVudGVyMg=="}, "stringData": {"x": "hunter2"},
                   "spec": {"env": [{"name": "A", "value": "topsecret"}]}}),
            &policy,
        );
        let text = v.to_string();
        assert!(
            !text.contains("hunter2")
                && !text.contains("aHVudGVyMg==")
                && !text.contains("topsecret"),
            "{text}"
        );
        assert!(text.contains("<sensitive, sha256"), "{text}");
        assert_eq!(v["spec"]["env"][0]["name"], "A");
        // Different values digest differently: the plan still shows a change.
        assert_ne!(digest(&json!("a")), digest(&json!("b")));
    }
}
