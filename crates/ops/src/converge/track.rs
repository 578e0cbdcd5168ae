//! Tracking one applied resource until it is ready (spec §5.8): its own
//! readiness rule, its pods' failures counted against
//! `werf.io/failures-allowed-per-replica`, `werf.io/no-activity-timeout`,
//! and on failure (or when a Job finishes) the pods' states, their log
//! lines as the log annotations filter them, and the warning events.

use std::collections::BTreeSet;
use std::time::Instant;

use davit_deploy::policy::{LogPolicy, Tracking};
use davit_kube::readiness::{pod_problem, readiness, Readiness};
use davit_kube::{Cluster, ResourceId};
use serde_json::Value;

use super::err;
use crate::OpsError;

/// How many log lines of each container a report shows.
const LOG_TAIL: u32 = 20;

pub(crate) enum Poll {
    Ready,
    Waiting(String),
    Failed(String),
}

pub(crate) struct Tracker {
    pub id: ResourceId,
    pub tracking: Tracking,
    /// What was last seen: a change is activity.
    last_seen: String,
    last_activity: Instant,
    /// Pod failures seen, one per pod and restart.
    failures: BTreeSet<String>,
    pub last_object: Option<Value>,
}

impl Tracker {
    pub fn new(id: ResourceId, tracking: Tracking) -> Tracker {
        Tracker {
            id,
            tracking,
            last_seen: String::new(),
            last_activity: Instant::now(),
            failures: BTreeSet::new(),
            last_object: None,
        }
    }

    /// One look at the resource and its pods.
    pub async fn poll(&mut self, cluster: &Cluster) -> Result<Poll, OpsError> {
        let Some(obj) = cluster.get(&self.id).await.map_err(err)? else {
            return Ok(Poll::Failed(format!(
                "{} disappeared while davit waited for it",
                self.id
            )));
        };
        let state = readiness(&obj);
        let why = match state {
            Readiness::Ready => {
                self.last_object = Some(obj);
                return Ok(Poll::Ready);
            }
            Readiness::Failed(why) => {
                self.last_object = Some(obj);
                return Ok(Poll::Failed(why));
            }
            Readiness::Waiting(why) => why,
        };
        let pods = pods_of(cluster, &self.id, &obj).await?;
        let mut problem = None;
        let mut seen = why.clone();
        for pod in &pods {
            let name = pod["metadata"]["name"].as_str().unwrap_or("");
            let restarts: i64 = pod["status"]["containerStatuses"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                .sum();
            seen.push_str(&format!(
                " {name}:{}:{restarts}",
                pod["status"]["phase"].as_str().unwrap_or("")
            ));
            if let Some(p) = pod_problem(pod) {
                self.failures.insert(format!("{name}#{restarts}"));
                problem = Some(p);
            }
        }
        if seen != self.last_seen {
            self.last_seen = seen;
            self.last_activity = Instant::now();
        }
        let replicas = obj["spec"]["replicas"]
            .as_i64()
            .or(obj["spec"]["parallelism"].as_i64())
            .unwrap_or(1)
            .max(1) as usize;
        let allowed = self.tracking.failures_allowed_per_replica as usize * replicas;
        self.last_object = Some(obj);
        if let Some(p) = problem {
            if self.failures.len() > allowed {
                return Ok(Poll::Failed(format!(
                    "{p} ({} pod failures, {allowed} allowed: werf.io/failures-allowed-per-replica is {} per replica)",
                    self.failures.len(),
                    self.tracking.failures_allowed_per_replica
                )));
            }
        }
        if self.last_activity.elapsed() > self.tracking.no_activity_timeout {
            return Ok(Poll::Failed(format!(
                "no activity for {}s: {why} (werf.io/no-activity-timeout)",
                self.tracking.no_activity_timeout.as_secs()
            )));
        }
        Ok(Poll::Waiting(why))
    }
}

/// The pods of a workload, by its selector (a Job's by `job-name`).
pub(crate) async fn pods_of(
    cluster: &Cluster,
    id: &ResourceId,
    value: &Value,
) -> Result<Vec<Value>, OpsError> {
    if !matches!(
        id.kind.as_str(),
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job"
    ) {
        return Ok(Vec::new());
    }
    let selector = &value["spec"]["selector"]["matchLabels"];
    let labels: Vec<String> = match (selector.as_object(), id.kind.as_str()) {
        (Some(m), _) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect(),
        (None, "Job") => vec![format!("job-name={}", id.name)],
        _ => return Ok(Vec::new()),
    };
    cluster
        .list("v1", "Pod", &id.namespace, Some(&labels.join(",")))
        .await
        .map_err(err)
}

/// `lines` as the log annotations filter them for `container`.
pub(crate) fn filter_log(policy: &LogPolicy, container: &str, lines: &str) -> Vec<String> {
    let (keep, drop) = policy.regexes_for(container);
    // Validated when the policy was read.
    let keep = keep.and_then(|r| regex::Regex::new(r).ok());
    let drop = drop.and_then(|r| regex::Regex::new(r).ok());
    lines
        .lines()
        .filter(|l| keep.as_ref().is_none_or(|r| r.is_match(l)))
        .filter(|l| drop.as_ref().is_none_or(|r| !r.is_match(l)))
        .map(str::to_string)
        .collect()
}

/// The log lines of `pods` worth showing, as `pod/container | line`.
pub(crate) async fn pod_log_lines(
    cluster: &Cluster,
    namespace: &str,
    pods: &[Value],
    policy: &LogPolicy,
) -> Vec<String> {
    let mut out = Vec::new();
    for pod in pods.iter().take(policy.replicas) {
        let name = pod["metadata"]["name"].as_str().unwrap_or("");
        for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
            let container = c["name"].as_str().unwrap_or("");
            if !policy.shows_container(container) {
                continue;
            }
            let Some(text) = cluster
                .pod_logs(namespace, name, Some(container), LOG_TAIL)
                .await
            else {
                continue;
            };
            for line in filter_log(policy, container, &text) {
                out.push(format!("{name}/{container} | {line}"));
            }
        }
    }
    out
}

/// Pod states, log lines and warning events, for a failure report.
pub(crate) async fn diagnose(
    cluster: &Cluster,
    id: &ResourceId,
    value: Option<&Value>,
    logs: Option<&LogPolicy>,
) -> String {
    let mut out = String::new();
    let pods = match value {
        Some(v) => pods_of(cluster, id, v).await.unwrap_or_default(),
        None => Vec::new(),
    };
    let mut names = vec![id.name.clone()];
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap_or("").to_string();
        let mut states = Vec::new();
        for cs in p["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let state = cs["state"]
                .as_object()
                .and_then(|m| m.keys().next().cloned())
                .unwrap_or_default();
            let reason = cs["state"][&state]["reason"].as_str().unwrap_or("");
            states.push(format!(
                "{} {state} {reason}",
                cs["name"].as_str().unwrap_or("")
            ));
        }
        out.push_str(&format!(
            "\n  pod {name}: {} {}",
            p["status"]["phase"].as_str().unwrap_or("Pending"),
            states.join(", ")
        ));
        names.push(name);
    }
    if let Some(policy) = logs {
        for line in pod_log_lines(cluster, &id.namespace, &pods, policy).await {
            out.push_str(&format!("\n    {line}"));
        }
    }
    if let Ok(events) = cluster.list("v1", "Event", &id.namespace, None).await {
        for e in events
            .iter()
            .rev()
            .filter(|e| {
                e["type"] == "Warning"
                    && e["involvedObject"]["name"]
                        .as_str()
                        .is_some_and(|n| names.iter().any(|m| m == n))
            })
            .take(10)
        {
            out.push_str(&format!(
                "\n  event {}: {} {}",
                e["involvedObject"]["name"].as_str().unwrap_or(""),
                e["reason"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_filters() {
        let mut p = LogPolicy {
            regex: Some("^ERR".into()),
            ..LogPolicy::default()
        };
        assert_eq!(
            filter_log(&p, "c", "ok\nERR one\nERR two"),
            vec!["ERR one", "ERR two"]
        );
        p.regex_skip_for.push(("c".into(), "two".into()));
        assert_eq!(filter_log(&p, "c", "ok\nERR one\nERR two"), vec!["ERR one"]);
        assert_eq!(filter_log(&p, "d", "ok\nERR one\nERR two").len(), 2);
    }
}
