//! The deploy plan of a rendered release (spec §5.7): its stages in werf's
//! order (CRDs from `crds/`, the `pre-*` stage, the main stage, the
//! `post-*` stage), each resource in the stages its `helm.sh/hook` or
//! `werf.io/deploy-on` names, and within a stage the order to keep: a
//! `werf.io/weight` group waits until the lower groups are ready, and a
//! `werf.io/deploy-dependency-*` replaces the weight with the resources it
//! names. Deletion of what left the chart is the caller's (it needs the
//! previous revision). Pure.

use crate::manifests::Resource;
use crate::policy::{policy_of, DependencyState, DeployPolicy};
use crate::DeployError;

/// What kind of deploy: it picks the events resources deploy on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployKind {
    Install,
    Upgrade,
    Rollback,
}

impl DeployKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeployKind::Install => "install",
            DeployKind::Upgrade => "upgrade",
            DeployKind::Rollback => "rollback",
        }
    }
}

/// One resource of a stage.
#[derive(Clone, Debug)]
pub struct Step {
    pub resource: Resource,
    pub policy: DeployPolicy,
    /// Steps of the same stage (by index) this one waits for, and for what.
    pub after: Vec<(usize, DependencyState)>,
}

#[derive(Clone, Debug)]
pub struct Stage {
    /// `CRDs`, `pre-install`, `install`, `post-install`, …
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub stages: Vec<Stage>,
}

impl Plan {
    pub fn steps(&self) -> impl Iterator<Item = &Step> {
        self.stages.iter().flat_map(|s| s.steps.iter())
    }
}

/// The hook events of a resource (`helm.sh/hook`).
pub fn hook_events(r: &Resource) -> Vec<String> {
    r.hook
        .as_deref()
        .map(|h| {
            h.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The plan of `resources` (rendered, in werf's order) for a deploy of
/// `kind` into `namespace`.
pub fn plan(
    resources: &[Resource],
    kind: DeployKind,
    namespace: &str,
) -> Result<Plan, DeployError> {
    let base = kind.as_str();
    let names = [
        "CRDs".to_string(),
        format!("pre-{base}"),
        base.to_string(),
        format!("post-{base}"),
    ];
    let mut members: [Vec<(Resource, DeployPolicy)>; 4] = Default::default();
    for r in resources {
        let policy = policy_of(r)?;
        if r.is_crd_file {
            members[0].push((r.clone(), policy));
            continue;
        }
        for (i, name) in names.iter().enumerate().skip(1) {
            if policy.deploy_on.iter().any(|e| e == name) {
                members[i].push((r.clone(), policy.clone()));
            }
        }
    }
    let mut p = Plan::default();
    for (name, steps) in names.into_iter().zip(members) {
        if !steps.is_empty() {
            p.stages.push(order_stage(name, steps, namespace)?);
        }
    }
    Ok(p)
}

/// Orders one stage: weight groups for resources without dependencies,
/// their named resources for the others; a cycle is an error.
fn order_stage(
    name: String,
    members: Vec<(Resource, DeployPolicy)>,
    namespace: &str,
) -> Result<Stage, DeployError> {
    let mut weights: Vec<i64> = members
        .iter()
        .filter(|(_, p)| p.dependencies.is_empty())
        .map(|(_, p)| p.weight)
        .collect();
    weights.sort_unstable();
    weights.dedup();
    let mut steps: Vec<Step> = Vec::new();
    for (i, (resource, policy)) in members.iter().enumerate() {
        let mut after = Vec::new();
        if policy.dependencies.is_empty() {
            // The next lower weight group, which waited for the ones below.
            let lower = weights.iter().rev().find(|w| **w < policy.weight);
            if let Some(lower) = lower {
                for (j, (_, q)) in members.iter().enumerate() {
                    if q.dependencies.is_empty() && q.weight == *lower {
                        after.push((j, DependencyState::Ready));
                    }
                }
            }
        } else {
            for d in &policy.dependencies {
                for (j, (other, _)) in members.iter().enumerate() {
                    if j != i && d.matches(other, namespace) {
                        after.push((j, d.state));
                    }
                }
            }
        }
        steps.push(Step {
            resource: resource.clone(),
            policy: policy.clone(),
            after,
        });
    }
    if let Some(cycle) = find_cycle(&steps) {
        return Err(DeployError::Cycle {
            stage: name,
            resources: cycle
                .iter()
                .map(|i| {
                    let r = &steps[*i].resource;
                    format!("{}/{} ({})", r.kind, r.name, r.source)
                })
                .collect(),
        });
    }
    Ok(Stage { name, steps })
}

/// A dependency cycle among `steps`, as step indices, if there is one.
fn find_cycle(steps: &[Step]) -> Option<Vec<usize>> {
    // 0 unvisited, 1 on the current path, 2 done.
    fn visit(i: usize, steps: &[Step], state: &mut [u8], path: &mut Vec<usize>) -> bool {
        state[i] = 1;
        path.push(i);
        for (j, _) in &steps[i].after {
            if state[*j] == 1 {
                let start = path.iter().position(|p| p == j).unwrap_or(0);
                path.drain(..start);
                return true;
            }
            if state[*j] == 0 && visit(*j, steps, state, path) {
                return true;
            }
        }
        path.pop();
        state[i] = 2;
        false
    }
    let mut state = vec![0u8; steps.len()];
    for i in 0..steps.len() {
        let mut path = Vec::new();
        if state[i] == 0 && visit(i, steps, &mut state, &mut path) {
            return Some(path);
        }
    }
    None
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

    fn names(stage: &Stage) -> Vec<&str> {
        stage
            .steps
            .iter()
            .map(|s| s.resource.name.as_str())
            .collect()
    }

    fn after<'a>(stage: &'a Stage, name: &str) -> Vec<&'a str> {
        let s = stage
            .steps
            .iter()
            .find(|s| s.resource.name == name)
            .unwrap();
        s.after
            .iter()
            .map(|(j, _)| stage.steps[*j].resource.name.as_str())
            .collect()
    }

    const CHART: &str = "kind: Job\napiVersion: batch/v1\nmetadata:\n  name: pre\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-1\"\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: late\n  annotations:\n    werf.io/weight: \"10\"\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: first\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: also-first\n---\nkind: Job\napiVersion: batch/v1\nmetadata:\n  name: post\n  annotations:\n    helm.sh/hook: post-upgrade\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: early-config\n  annotations:\n    werf.io/deploy-on: pre-install\n";

    #[test]
    fn stages_follow_hooks_and_deploy_on() {
        let rs = resources(CHART);
        let install = plan(&rs, DeployKind::Install, "ns").unwrap();
        let stages: Vec<&str> = install.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(stages, vec!["pre-install", "install"]);
        assert_eq!(names(&install.stages[0]), vec!["pre", "early-config"]);
        assert!(install.stages[0].steps[0].policy.delete.before_creation);
        let upgrade = plan(&rs, DeployKind::Upgrade, "ns").unwrap();
        let stages: Vec<&str> = upgrade.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(stages, vec!["pre-upgrade", "upgrade", "post-upgrade"]);
        assert_eq!(names(&upgrade.stages[2]), vec!["post"]);
    }

    #[test]
    fn weights_wait_for_the_group_below() {
        let rs = resources(CHART);
        let install = plan(&rs, DeployKind::Install, "ns").unwrap();
        let main = &install.stages[1];
        assert_eq!(after(main, "late"), vec!["first", "also-first"]);
        assert!(after(main, "first").is_empty());
        assert!(after(main, "also-first").is_empty());
    }

    #[test]
    fn dependencies_replace_weights_and_cycles_are_refused() {
        let rs = resources(
            "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: a\n  annotations:\n    werf.io/weight: \"-5\"\n    werf.io/deploy-dependency-b: state=present,kind=ConfigMap,name=b\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: b\n  annotations:\n    werf.io/weight: \"3\"\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: c\n",
        );
        let p = plan(&rs, DeployKind::Install, "ns").unwrap();
        let main = &p.stages[0];
        assert_eq!(after(main, "a"), vec!["b"]);
        assert_eq!(main.steps[0].after[0].1, DependencyState::Present);
        assert_eq!(after(main, "b"), vec!["c"]);

        let cyclic = resources(
            "kind: ConfigMap\napiVersion: v1\nmetadata:\n  name: a\n  annotations:\n    werf.io/deploy-dependency-b: state=ready,name=b\n---\nkind: ConfigMap\napiVersion: v1\nmetadata:\n  name: b\n  annotations:\n    werf.io/deploy-dependency-a: state=ready,name=a\n",
        );
        let e = plan(&cyclic, DeployKind::Install, "ns")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ConfigMap/a") && e.contains("ConfigMap/b"),
            "{e}"
        );
    }
}
