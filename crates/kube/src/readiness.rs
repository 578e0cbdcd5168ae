//! When a resource is ready, from its status as the API server reports it
//! (the rules kubedog applies, as werf documents them): Deployments,
//! StatefulSets and DaemonSets when every replica is updated and available,
//! Jobs when complete, Pods when ready or succeeded, everything else when
//! it exists. Pure.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Still progressing; the text says what is awaited.
    Waiting(String),
    /// Will not become ready by waiting.
    Failed(String),
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn condition<'a>(obj: &'a Value, kind: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn observed(obj: &Value) -> bool {
    let generation = int(&obj["metadata"]["generation"]);
    generation == 0 || int(&obj["status"]["observedGeneration"]) >= generation
}

/// The readiness of `obj` (a full object from the API server).
pub fn readiness(obj: &Value) -> Readiness {
    let kind = obj["kind"].as_str().unwrap_or("");
    match kind {
        "Deployment" => deployment(obj),
        "StatefulSet" => stateful_set(obj),
        "DaemonSet" => daemon_set(obj),
        "Job" => job(obj),
        "Pod" => pod(obj),
        "CustomResourceDefinition" => match condition(obj, "Established") {
            Some(c) if c["status"] == "True" => Readiness::Ready,
            _ => Readiness::Waiting("not established yet".into()),
        },
        _ => Readiness::Ready,
    }
}

fn deployment(obj: &Value) -> Readiness {
    if !observed(obj) {
        return Readiness::Waiting("the controller has not seen the new spec yet".into());
    }
    if let Some(c) = condition(obj, "Progressing") {
        if c["reason"] == "ProgressDeadlineExceeded" {
            return Readiness::Failed(format!(
                "progress deadline exceeded: {}",
                c["message"].as_str().unwrap_or("")
            ));
        }
    }
    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let s = &obj["status"];
    let (updated, available, total) = (
        int(&s["updatedReplicas"]),
        int(&s["availableReplicas"]),
        int(&s["replicas"]),
    );
    if updated >= want && available >= want && total <= want {
        Readiness::Ready
    } else {
        Readiness::Waiting(format!(
            "{available}/{want} available, {updated}/{want} updated, {total} in all"
        ))
    }
}

fn stateful_set(obj: &Value) -> Readiness {
    if !observed(obj) {
        return Readiness::Waiting("the controller has not seen the new spec yet".into());
    }
    let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let s = &obj["status"];
    let ready = int(&s["readyReplicas"]);
    let updated = int(&s["updatedReplicas"]);
    let same_revision = s["currentRevision"] == s["updateRevision"];
    if ready >= want && (updated >= want || same_revision) {
        Readiness::Ready
    } else {
        Readiness::Waiting(format!("{ready}/{want} ready, {updated}/{want} updated"))
    }
}

fn daemon_set(obj: &Value) -> Readiness {
    if !observed(obj) {
        return Readiness::Waiting("the controller has not seen the new spec yet".into());
    }
    let s = &obj["status"];
    let want = int(&s["desiredNumberScheduled"]);
    let ready = int(&s["numberReady"]);
    let updated = int(&s["updatedNumberScheduled"]);
    if ready >= want && updated >= want {
        Readiness::Ready
    } else {
        Readiness::Waiting(format!("{ready}/{want} ready, {updated}/{want} updated"))
    }
}

fn job(obj: &Value) -> Readiness {
    if let Some(c) = condition(obj, "Failed") {
        if c["status"] == "True" {
            return Readiness::Failed(format!(
                "the job failed: {} {}",
                c["reason"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or("")
            ));
        }
    }
    if condition(obj, "Complete").is_some_and(|c| c["status"] == "True") {
        return Readiness::Ready;
    }
    let want = obj["spec"]["completions"].as_i64().unwrap_or(1);
    let done = int(&obj["status"]["succeeded"]);
    if done >= want {
        Readiness::Ready
    } else {
        Readiness::Waiting(format!("{done}/{want} completed"))
    }
}

/// A pod's own problem, if it has one (a failed container, a waiting
/// reason that will not resolve by itself).
pub fn pod_problem(pod: &Value) -> Option<String> {
    for cs in pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = cs["name"].as_str().unwrap_or("");
        let waiting = &cs["state"]["waiting"];
        if let Some(reason) = waiting["reason"].as_str() {
            if matches!(
                reason,
                "CrashLoopBackOff"
                    | "ErrImagePull"
                    | "ImagePullBackOff"
                    | "InvalidImageName"
                    | "CreateContainerConfigError"
                    | "CreateContainerError"
            ) {
                return Some(format!(
                    "pod {}: container {name}: {reason}: {}",
                    pod["metadata"]["name"].as_str().unwrap_or(""),
                    waiting["message"].as_str().unwrap_or("")
                ));
            }
        }
        let terminated = &cs["state"]["terminated"];
        if terminated.is_object() && int(&terminated["exitCode"]) != 0 {
            return Some(format!(
                "pod {}: container {name} exited with {}: {} {}",
                pod["metadata"]["name"].as_str().unwrap_or(""),
                int(&terminated["exitCode"]),
                terminated["reason"].as_str().unwrap_or(""),
                terminated["message"].as_str().unwrap_or("")
            ));
        }
    }
    if pod["status"]["phase"] == "Failed" {
        return Some(format!(
            "pod {} failed: {}",
            pod["metadata"]["name"].as_str().unwrap_or(""),
            pod["status"]["message"]
                .as_str()
                .or(pod["status"]["reason"].as_str())
                .unwrap_or("no reason given")
        ));
    }
    None
}

fn pod(obj: &Value) -> Readiness {
    if let Some(problem) = pod_problem(obj) {
        return Readiness::Failed(problem);
    }
    match obj["status"]["phase"].as_str() {
        Some("Succeeded") => Readiness::Ready,
        Some("Running") if condition(obj, "Ready").is_some_and(|c| c["status"] == "True") => {
            Readiness::Ready
        }
        phase => Readiness::Waiting(format!("phase {}", phase.unwrap_or("Pending"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments() {
        let d = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "updatedReplicas": 2, "availableReplicas": 2, "replicas": 2}});
        assert_eq!(readiness(&d), Readiness::Ready);
        let old = json!({"kind": "Deployment", "metadata": {"generation": 3}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "updatedReplicas": 2, "availableReplicas": 2, "replicas": 2}});
        assert!(matches!(readiness(&old), Readiness::Waiting(_)));
        let rolling = json!({"kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "updatedReplicas": 2, "availableReplicas": 2, "replicas": 3}});
        assert!(matches!(readiness(&rolling), Readiness::Waiting(_)));
        let stuck = json!({"kind": "Deployment", "metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "x"}]}});
        assert!(matches!(readiness(&stuck), Readiness::Failed(_)));
    }

    #[test]
    fn jobs_pods_and_the_rest() {
        assert_eq!(
            readiness(&json!({"kind": "Job", "status": {"succeeded": 1}})),
            Readiness::Ready
        );
        assert!(matches!(
            readiness(
                &json!({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True"}]}})
            ),
            Readiness::Failed(_)
        ));
        let crash = json!({"kind": "Pod", "metadata": {"name": "p"}, "status": {"phase": "Running",
            "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert!(matches!(readiness(&crash), Readiness::Failed(_)));
        assert_eq!(readiness(&json!({"kind": "ConfigMap"})), Readiness::Ready);
    }
}
