//! The deploy plan of a rendered release (spec §5.7): CRDs first, then the
//! `pre-*` hooks of this deploy by `helm.sh/hook-weight`, the release's
//! resources in groups of `werf.io/weight` (lower first; a group is ready
//! before the next starts), the `post-*` hooks, and finally the deletion of
//! what the previous revision had and this one does not. Pure.

use davit_gotmpl::Value;

use crate::manifests::Resource;

/// Install (no deployed revision yet) or upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployKind {
    Install,
    Upgrade,
    Rollback,
}

impl DeployKind {
    fn event(&self, when: &str) -> String {
        let base = match self {
            DeployKind::Install => "install",
            DeployKind::Upgrade => "upgrade",
            DeployKind::Rollback => "rollback",
        };
        format!("{when}-{base}")
    }
}

/// One resource of the plan, with what the deploy does with it.
#[derive(Clone, Debug)]
pub struct Step {
    pub resource: Resource,
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` (hooks; default `before-hook-creation`).
    pub delete_policies: Vec<String>,
    /// Not waited for (`werf.io/track-termination-mode: NonBlocking`).
    pub non_blocking: bool,
    /// `werf.io/fail-mode: IgnoreAndContinueDeployProcess`.
    pub ignore_failure: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub crds: Vec<Step>,
    pub pre_hooks: Vec<Vec<Step>>,
    pub resources: Vec<Vec<Step>>,
    pub post_hooks: Vec<Vec<Step>>,
}

fn annotation(r: &Resource, key: &str) -> Option<String> {
    let Value::Map(top, _) = &r.value else {
        return None;
    };
    let meta = top.borrow().get("metadata").cloned()?;
    let Value::Map(meta, _) = meta else {
        return None;
    };
    let ann = meta.borrow().get("annotations").cloned()?;
    let Value::Map(ann, _) = ann else { return None };
    let v = ann.borrow().get(key).cloned();
    match v {
        Some(Value::String(s)) => Some(s.to_string()),
        _ => None,
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn step(r: &Resource, weight_key: &str, hook: bool) -> Step {
    let weight = annotation(r, weight_key)
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(0);
    let mut delete_policies = annotation(r, "helm.sh/hook-delete-policy")
        .map(|p| list(&p))
        .unwrap_or_default();
    if hook && delete_policies.is_empty() {
        delete_policies.push("before-hook-creation".into());
    }
    Step {
        resource: r.clone(),
        weight,
        delete_policies,
        non_blocking: annotation(r, "werf.io/track-termination-mode").as_deref()
            == Some("NonBlocking"),
        ignore_failure: annotation(r, "werf.io/fail-mode").as_deref()
            == Some("IgnoreAndContinueDeployProcess"),
    }
}

/// Groups steps by weight, lower first, keeping the render order within.
fn by_weight(mut steps: Vec<Step>) -> Vec<Vec<Step>> {
    steps.sort_by_key(|s| s.weight);
    let mut out: Vec<Vec<Step>> = Vec::new();
    for s in steps {
        match out.last_mut() {
            Some(group) if group[0].weight == s.weight => group.push(s),
            _ => out.push(vec![s]),
        }
    }
    out
}

/// The hook events of a resource (`helm.sh/hook`).
pub fn hook_events(r: &Resource) -> Vec<String> {
    r.hook.as_deref().map(list).unwrap_or_default()
}

pub fn plan(resources: &[Resource], kind: DeployKind) -> Plan {
    let pre = kind.event("pre");
    let post = kind.event("post");
    let mut p = Plan::default();
    let (mut pre_hooks, mut post_hooks, mut general) = (Vec::new(), Vec::new(), Vec::new());
    for r in resources {
        if r.is_crd_file {
            p.crds.push(step(r, "werf.io/weight", false));
        } else if r.hook.is_some() {
            let events = hook_events(r);
            if events.contains(&pre) {
                pre_hooks.push(step(r, "helm.sh/hook-weight", true));
            }
            if events.contains(&post) {
                post_hooks.push(step(r, "helm.sh/hook-weight", true));
            }
        } else {
            general.push(step(r, "werf.io/weight", false));
        }
    }
    p.pre_hooks = by_weight(pre_hooks);
    p.resources = by_weight(general);
    p.post_hooks = by_weight(post_hooks);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::{parse_resources, ManifestOptions};

    fn resources(text: &str) -> Vec<Resource> {
        parse_resources(
            &[("c/templates/a.yaml".into(), text.into())],
            &[],
            &ManifestOptions {
                release_namespace: "ns",
                extra_annotations: &[],
                extra_labels: &[],
            },
        )
        .unwrap()
    }

    #[test]
    fn hooks_and_weights() {
        let rs = resources(
            "kind: Job\napiVersion: batch/v1\nmetadata:\n  name: pre\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-1\"\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: late\n  annotations:\n    werf.io/weight: \"10\"\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: first\n---\nkind: Job\napiVersion: batch/v1\nmetadata:\n  name: post\n  annotations:\n    helm.sh/hook: post-upgrade\n",
        );
        let install = plan(&rs, DeployKind::Install);
        assert_eq!(install.pre_hooks.len(), 1);
        assert_eq!(
            install.pre_hooks[0][0].delete_policies,
            vec!["before-hook-creation"]
        );
        assert!(install.post_hooks.is_empty());
        let names: Vec<Vec<&str>> = install
            .resources
            .iter()
            .map(|g| g.iter().map(|s| s.resource.name.as_str()).collect())
            .collect();
        assert_eq!(names, vec![vec!["first"], vec!["late"]]);
        let upgrade = plan(&rs, DeployKind::Upgrade);
        assert_eq!(upgrade.post_hooks[0][0].resource.name, "post");
    }
}
