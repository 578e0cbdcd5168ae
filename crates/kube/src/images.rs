//! The images a cluster runs, for `cleanup`'s Kubernetes policy (spec
//! §3.7): the containers and init containers of Pods that have not
//! finished, ReplicationControllers, Deployments, StatefulSets,
//! DaemonSets, ReplicaSets, CronJobs and Jobs that have not finished, in
//! every context of the kubeconfig (or one) and every namespace (or the
//! ones given).

use std::collections::BTreeMap;

use kube::config::Kubeconfig;
use serde_json::Value;

use crate::{Cluster, KubeError, KubeOptions};

/// The contexts of the kubeconfig the options name.
pub fn contexts(options: &KubeOptions) -> Result<Vec<String>, KubeError> {
    let cfg = if let Some(b64) = &options.kubeconfig_base64 {
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| KubeError::Config(format!("--kube-config-base64 is not base64: {e}")))?;
        Kubeconfig::from_yaml(&String::from_utf8_lossy(&raw))
            .map_err(|e| KubeError::Config(format!("--kube-config-base64: {e}")))?
    } else if let Some(path) = &options.kubeconfig {
        Kubeconfig::read_from(path)
            .map_err(|e| KubeError::Config(format!("{}: {e}", path.display())))?
    } else {
        Kubeconfig::read().map_err(|e| {
            KubeError::Config(format!(
                "{e} (set --kube-config or KUBECONFIG, or pass --without-kube)"
            ))
        })?
    };
    Ok(cfg.contexts.into_iter().map(|c| c.name).collect())
}

fn finished_job(job: &Value) -> bool {
    job["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
}

fn add_containers(out: &mut BTreeMap<String, Vec<String>>, spec: &Value, user: &str) {
    for key in ["containers", "initContainers"] {
        for c in spec[key].as_array().into_iter().flatten() {
            if let Some(image) = c["image"].as_str() {
                out.entry(image.to_string()).or_default().push(format!(
                    "{user} container/{}",
                    c["name"].as_str().unwrap_or("")
                ));
            }
        }
    }
}

/// Every image in use → the resources using it
/// (`context/<c> ns/<ns> <kind>/<name> container/<c>`).
pub async fn images_in_use(
    options: &KubeOptions,
    only_context: Option<&str>,
    namespaces: &[String],
) -> Result<BTreeMap<String, Vec<String>>, KubeError> {
    let names = match only_context {
        Some(c) => vec![c.to_string()],
        None => contexts(options)?,
    };
    let all_namespaces = [String::new()];
    let namespaces: &[String] = if namespaces.is_empty() {
        &all_namespaces
    } else {
        namespaces
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for context in names {
        let cluster = Cluster::connect(&KubeOptions {
            context: Some(context.clone()),
            ..options.clone()
        })
        .await?;
        for ns in namespaces {
            for (api_version, kind) in [
                ("v1", "Pod"),
                ("v1", "ReplicationController"),
                ("apps/v1", "Deployment"),
                ("apps/v1", "StatefulSet"),
                ("apps/v1", "DaemonSet"),
                ("apps/v1", "ReplicaSet"),
                ("batch/v1", "CronJob"),
                ("batch/v1", "Job"),
            ] {
                for obj in cluster.list(api_version, kind, ns, None).await? {
                    if kind == "Job" && finished_job(&obj) {
                        continue;
                    }
                    // A pod that has finished runs nothing (a finished Job's
                    // pods stay until deleted); werf counts them.
                    if kind == "Pod"
                        && matches!(
                            obj["status"]["phase"].as_str(),
                            Some("Succeeded" | "Failed")
                        )
                    {
                        continue;
                    }
                    let spec = match kind {
                        "Pod" => &obj["spec"],
                        "CronJob" => &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                        _ => &obj["spec"]["template"]["spec"],
                    };
                    let user = format!(
                        "context/{context} ns/{} {kind}/{}",
                        obj["metadata"]["namespace"].as_str().unwrap_or(""),
                        obj["metadata"]["name"].as_str().unwrap_or("")
                    );
                    add_containers(&mut out, spec, &user);
                }
            }
        }
    }
    Ok(out)
}
