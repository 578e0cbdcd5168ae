//! `davit converge` and `dismiss`: a rendered release deployed to the
//! cluster in werf's order, tracked until ready, and recorded as Helm 3
//! release Secrets under werf's release lock; on failure the revision is
//! marked failed (and with `--atomic` the last good one restored).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use davit_deploy::plan::{plan, DeployKind, Step};
use davit_kube::readiness::{pod_problem, readiness, Readiness};
use davit_kube::{id_of, Cluster, KubeError, KubeOptions, Propagation, ResourceId};
use davit_release::{Hook, Info, Release, Status};
use serde_json::{json, Value};

use crate::render::RenderedRelease;
use crate::OpsError;

/// The field manager of davit's server-side applies: Helm 4's own, so that
/// `helm rollback` and `helm upgrade` of a release davit deployed own the
/// same fields instead of conflicting with davit's.
pub const FIELD_MANAGER: &str = "helm";

#[derive(Clone, Debug)]
pub struct ConvergeOptions {
    pub kube: KubeOptions,
    /// `--timeout`: for the whole deploy; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
    /// `--atomic`/`--auto-rollback`.
    pub atomic: bool,
    /// `--releases-history-max` (werf's default 5; 0 keeps all).
    pub history_max: usize,
    /// Not `--no-create-namespace`.
    pub create_namespace: bool,
    /// werf's service annotations (`werf.io/version`, `project.werf.io/*`,
    /// the CI ones): on every resource at apply time, not in the manifest.
    pub service_annotations: Vec<(String, String)>,
    pub propagation: Propagation,
    /// How long to wait for another deploy's lock.
    pub lock_wait: Duration,
    /// How often to report what is awaited.
    pub progress_period: Duration,
}

/// What a converge reports as it goes.
pub enum Event<'a> {
    Stage(&'a str),
    Applied(&'a ResourceId),
    Deleted(&'a ResourceId),
    Waiting(&'a ResourceId, &'a str),
    Ready(&'a ResourceId),
    Note(String),
}

#[derive(Clone, Debug)]
pub struct ConvergeResult {
    pub release: String,
    pub namespace: String,
    pub revision: i64,
    pub kind: DeployKind,
}

fn err(e: KubeError) -> OpsError {
    OpsError::Kube(Box::new(e))
}

/// Now, as Go's `time.Time` marshals to JSON (RFC 3339, nanoseconds).
fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    davit_gotmpl::funcs::date::GoTime::utc(d.as_secs() as i64, d.subsec_nanos())
        .format("2006-01-02T15:04:05.999999999Z07:00")
}

/// The object to apply: the manifest plus the release's ownership metadata
/// and werf's service annotations.
fn object_for(step: &Step, rel: &RenderedRelease, options: &ConvergeOptions) -> Value {
    let mut obj = davit_chart::values::to_json(&step.resource.value);
    let meta = &mut obj["metadata"];
    if !meta.is_object() {
        *meta = json!({});
    }
    if !meta["annotations"].is_object() {
        meta["annotations"] = json!({});
    }
    if !meta["labels"].is_object() {
        meta["labels"] = json!({});
    }
    for (k, v) in &options.service_annotations {
        meta["annotations"][k] = json!(v);
    }
    if step.resource.hook.is_none() && !step.resource.is_crd_file {
        owned_by_release(&mut obj, &rel.release, &rel.namespace);
    }
    obj
}

/// Helm's ownership metadata of a release's resource.
fn owned_by_release(obj: &mut Value, release: &str, namespace: &str) {
    obj["metadata"]["annotations"]["meta.helm.sh/release-name"] = json!(release);
    obj["metadata"]["annotations"]["meta.helm.sh/release-namespace"] = json!(namespace);
    obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] = json!("Helm");
}

/// The release record's manifest: the non-hook resources as rendered.
fn manifest_of(rel: &RenderedRelease) -> String {
    let general: Vec<davit_deploy::Resource> = rel
        .resources
        .iter()
        .filter(|r| r.hook.is_none() && !r.is_crd_file)
        .cloned()
        .collect();
    davit_deploy::manifests::print(&general)
}

fn hooks_of(rel: &RenderedRelease) -> Vec<Hook> {
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

fn chart_json(rel: &RenderedRelease) -> davit_release::Chart {
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

/// The resources of a stored manifest (for deletions and rollbacks).
fn ids_of_manifest(manifest: &str, namespace: &str) -> Vec<(ResourceId, Value)> {
    davit_chart::engine::split_manifests(manifest)
        .into_iter()
        .filter_map(|doc| {
            let y = davit_goyaml::load_all(&doc).ok()?.into_iter().next()?;
            let v = davit_chart::values::to_json(&davit_gotmpl::funcs::yaml::yaml_json_to_value(
                &y.value,
            ));
            v.is_object().then(|| (id_of(&v, namespace), v))
        })
        .collect()
}

struct Deployer<'a> {
    cluster: Arc<Cluster>,
    rel: &'a RenderedRelease,
    options: &'a ConvergeOptions,
    deadline: Option<Instant>,
}

impl Deployer<'_> {
    fn time_left(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    async fn apply_step(
        &self,
        step: &Step,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<ResourceId, OpsError> {
        let obj = object_for(step, self.rel, self.options);
        let mut id = id_of(&obj, &self.rel.namespace);
        if !self
            .cluster
            .is_namespaced(&id.api_version, &id.kind)
            .await
            .map_err(err)?
        {
            id.namespace.clear();
        }
        if step
            .delete_policies
            .iter()
            .any(|p| p == "before-hook-creation")
            && self
                .cluster
                .delete(&id, Propagation::Background)
                .await
                .map_err(err)?
        {
            self.cluster
                .wait_gone(&id, Duration::from_secs(60))
                .await
                .map_err(err)?;
        }
        self.cluster
            .apply(&obj, &self.rel.namespace, FIELD_MANAGER)
            .await
            .map_err(err)?;
        on_event(Event::Applied(&id));
        Ok(id)
    }

    /// Applies a group, then waits until each of it is ready.
    async fn group(
        &self,
        steps: &[Step],
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), OpsError> {
        let mut ids = Vec::new();
        for s in steps {
            ids.push((self.apply_step(s, on_event).await?, s));
        }
        for (id, s) in &ids {
            if s.non_blocking {
                continue;
            }
            match self.wait_ready(id, on_event).await {
                Ok(()) => {}
                Err(e) if s.ignore_failure => on_event(Event::Note(format!(
                    "{id}: {e} (fail-mode IgnoreAndContinueDeployProcess)"
                ))),
                Err(e) => return Err(e),
            }
            if s.delete_policies.iter().any(|p| p == "hook-succeeded") {
                self.cluster
                    .delete(id, Propagation::Background)
                    .await
                    .map_err(err)?;
            }
        }
        Ok(())
    }

    async fn wait_ready(
        &self,
        id: &ResourceId,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), OpsError> {
        let mut last_report = Instant::now() - self.options.progress_period;
        loop {
            let obj = self.cluster.get(id).await.map_err(err)?;
            let Some(obj) = obj else {
                return Err(OpsError::Deploy(format!(
                    "{id} disappeared while davit waited for it"
                )));
            };
            let value = obj;
            let state = match readiness(&value) {
                Readiness::Waiting(why) => match self.pod_failure(id, &value).await? {
                    Some(problem) => Readiness::Failed(problem),
                    None => Readiness::Waiting(why),
                },
                other => other,
            };
            match state {
                Readiness::Ready => {
                    on_event(Event::Ready(id));
                    return Ok(());
                }
                Readiness::Failed(why) => {
                    let report = self.diagnose(id, &value).await;
                    return Err(OpsError::Deploy(format!("{id} failed: {why}{report}")));
                }
                Readiness::Waiting(why) => {
                    if let Some(left) = self.time_left() {
                        if left.is_zero() {
                            let report = self.diagnose(id, &value).await;
                            return Err(OpsError::Deploy(format!(
                                "{id} is not ready within --timeout: {why}{report}"
                            )));
                        }
                    }
                    if last_report.elapsed() >= self.options.progress_period {
                        on_event(Event::Waiting(id, &why));
                        last_report = Instant::now();
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }
    }

    /// The workload's pods: a pod that failed on its own fails the deploy.
    async fn pod_failure(
        &self,
        id: &ResourceId,
        value: &Value,
    ) -> Result<Option<String>, OpsError> {
        for pod in self.pods_of(id, value).await? {
            if let Some(p) = pod_problem(&pod) {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    async fn pods_of(&self, id: &ResourceId, value: &Value) -> Result<Vec<Value>, OpsError> {
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
        self.cluster
            .list("v1", "Pod", &id.namespace, Some(&labels.join(",")))
            .await
            .map_err(err)
    }

    /// Pod states, warning events and recent log lines, for a failure.
    async fn diagnose(&self, id: &ResourceId, value: &Value) -> String {
        let mut out = String::new();
        let pods = self.pods_of(id, value).await.unwrap_or_default();
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
            names.push(name.clone());
            if let Some(logs) = self.cluster.pod_logs(&id.namespace, &name, 10).await {
                for line in logs.lines() {
                    out.push_str(&format!("\n    | {line}"));
                }
            }
        }
        if let Ok(events) = self.cluster.list("v1", "Event", &id.namespace, None).await {
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
}

/// Deploys `rel`. On failure the revision is recorded as failed, and with
/// `atomic` the previous deployed revision is applied again as a new one.
pub fn converge(
    rel: &RenderedRelease,
    options: &ConvergeOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<ConvergeResult, OpsError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(OpsError::Runtime)?;
    runtime.block_on(converge_async(rel, options, on_event))
}

async fn converge_async(
    rel: &RenderedRelease,
    options: &ConvergeOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<ConvergeResult, OpsError> {
    let cluster = Arc::new(Cluster::connect(&options.kube).await.map_err(err)?);
    if options.create_namespace
        && cluster
            .ensure_namespace(&rel.namespace)
            .await
            .map_err(err)?
    {
        on_event(Event::Note(format!("created namespace {}", rel.namespace)));
    }
    let lock_name = format!("release/{}", rel.release);
    let handle = cluster
        .lock(&rel.namespace, &lock_name, options.lock_wait, |why| {
            on_event(Event::Note(format!("waiting for the release lock: {why}")))
        })
        .await
        .map_err(err)?;
    let renewer = {
        let cluster = cluster.clone();
        let handle = handle.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(3)).await;
                if cluster.renew(&handle).await.is_err() {
                    break;
                }
            }
        })
    };
    let result = deploy_locked(cluster.clone(), rel, options, on_event).await;
    renewer.abort();
    let unlocked = cluster.unlock(&handle).await;
    let r = result?;
    unlocked.map_err(err)?;
    Ok(r)
}

async fn deploy_locked(
    cluster: Arc<Cluster>,
    rel: &RenderedRelease,
    options: &ConvergeOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<ConvergeResult, OpsError> {
    let history = cluster
        .release_history(&rel.namespace, &rel.release)
        .await
        .map_err(err)?;
    let previous = history
        .iter()
        .filter(|r| r.status() == Status::Deployed)
        .max_by_key(|r| r.version)
        .cloned();
    let kind = if history
        .iter()
        .any(|r| matches!(r.status(), Status::Deployed | Status::Superseded))
    {
        DeployKind::Upgrade
    } else {
        DeployKind::Install
    };
    let revision = history.iter().map(|r| r.version).max().unwrap_or(0) + 1;
    let now = now_rfc3339();
    let first = history
        .first()
        .map(|r| r.info.first_deployed.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| now.clone());
    let mut record = Release {
        name: rel.release.clone(),
        namespace: rel.namespace.clone(),
        version: revision,
        info: Info {
            first_deployed: first,
            last_deployed: now,
            description: match kind {
                DeployKind::Install => "Install in progress".into(),
                _ => "Upgrade in progress".into(),
            },
            status: Some(if kind == DeployKind::Install {
                Status::PendingInstall
            } else {
                Status::PendingUpgrade
            }),
            notes: rel.notes.clone().unwrap_or_default(),
            annotations: Some(
                options
                    .service_annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect(),
            ),
            ..Default::default()
        },
        chart: chart_json(rel),
        config: rel.config.clone(),
        manifest: manifest_of(rel),
        hooks: hooks_of(rel),
        labels: Value::Null,
        apply_method: Some("ssa".into()),
    };
    cluster.write_release(&record).await.map_err(err)?;
    on_event(Event::Note(format!(
        "release {} revision {revision} ({}) in namespace {}",
        rel.release,
        if kind == DeployKind::Install {
            "install"
        } else {
            "upgrade"
        },
        rel.namespace
    )));

    let deployer = Deployer {
        cluster: cluster.clone(),
        rel,
        options,
        deadline: options.timeout.map(|t| Instant::now() + t),
    };
    let outcome = run_plan(&deployer, kind, previous.as_ref(), on_event).await;
    match outcome {
        Ok(()) => {
            record.info.status = Some(Status::Deployed);
            record.info.description = match kind {
                DeployKind::Install => "Install complete".into(),
                _ => "Upgrade complete".into(),
            };
            cluster.write_release(&record).await.map_err(err)?;
            for mut old in history
                .into_iter()
                .filter(|r| r.status() == Status::Deployed)
            {
                old.info.status = Some(Status::Superseded);
                cluster.write_release(&old).await.map_err(err)?;
            }
            prune(&cluster, rel, options).await?;
            Ok(ConvergeResult {
                release: rel.release.clone(),
                namespace: rel.namespace.clone(),
                revision,
                kind,
            })
        }
        Err(e) => {
            record.info.status = Some(Status::Failed);
            // The first line: `helm history` prints descriptions in a table.
            let first_line = e.to_string().lines().next().unwrap_or("").to_string();
            record.info.description = format!(
                "{} failed: {first_line}",
                if kind == DeployKind::Install {
                    "Install"
                } else {
                    "Upgrade"
                }
            );
            cluster.write_release(&record).await.map_err(err)?;
            match (options.atomic, previous) {
                (true, Some(prev)) => {
                    on_event(Event::Stage("rollback"));
                    let rolled = rollback(&deployer, &prev, revision + 1, on_event).await;
                    match rolled {
                        Ok(()) => Err(OpsError::Deploy(format!(
                            "{e}\nrolled back: revision {} restores revision {} (--atomic)",
                            revision + 1,
                            prev.version
                        ))),
                        Err(re) => Err(OpsError::Deploy(format!(
                            "{e}\nthe rollback to revision {} failed too: {re}",
                            prev.version
                        ))),
                    }
                }
                (true, None) => Err(OpsError::Deploy(format!(
                    "{e}\nnothing to roll back to: this was the first revision (--atomic)"
                ))),
                _ => Err(e),
            }
        }
    }
}

async fn run_plan(
    d: &Deployer<'_>,
    kind: DeployKind,
    previous: Option<&Release>,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    let p = plan(&d.rel.resources, kind);
    if !p.crds.is_empty() {
        on_event(Event::Stage("CRDs"));
        d.group(&p.crds, on_event).await?;
        d.cluster.forget_kinds();
    }
    for (i, g) in p.pre_hooks.iter().enumerate() {
        on_event(Event::Stage(if i == 0 {
            "pre hooks"
        } else {
            "pre hooks (next weight)"
        }));
        d.group(g, on_event).await?;
    }
    for g in &p.resources {
        on_event(Event::Stage(&format!("resources (weight {})", g[0].weight)));
        d.group(g, on_event).await?;
    }
    for g in &p.post_hooks {
        on_event(Event::Stage("post hooks"));
        d.group(g, on_event).await?;
    }
    // What the previous revision had and this one does not.
    if let Some(prev) = previous {
        let keep: BTreeSet<(String, String, String)> = d
            .rel
            .resources
            .iter()
            .map(|r| {
                (
                    r.kind.clone(),
                    if r.namespace.is_empty() {
                        d.rel.namespace.clone()
                    } else {
                        r.namespace.clone()
                    },
                    r.name.clone(),
                )
            })
            .collect();
        let mut stale = Vec::new();
        for (id, obj) in ids_of_manifest(&prev.manifest, &prev.namespace) {
            if keep.contains(&(id.kind.clone(), id.namespace.clone(), id.name.clone())) {
                continue;
            }
            let policy = obj["metadata"]["annotations"]["helm.sh/resource-policy"]
                .as_str()
                .unwrap_or("");
            let werf_policy = obj["metadata"]["annotations"]["werf.io/resource-policy"]
                .as_str()
                .unwrap_or("");
            if policy == "keep"
                || werf_policy.contains("keep")
                || werf_policy.contains("skip-delete")
            {
                continue;
            }
            match d.cluster.id_for(&obj, &prev.namespace).await {
                Ok(id) => stale.push(id),
                // A kind the cluster no longer has: nothing of it is left.
                Err(KubeError::UnknownKind { .. }) => {}
                Err(e) => return Err(err(e)),
            }
        }
        if !stale.is_empty() {
            on_event(Event::Stage("deleting resources that left the chart"));
        }
        for mut id in stale {
            if !d
                .cluster
                .is_namespaced(&id.api_version, &id.kind)
                .await
                .unwrap_or(true)
            {
                id.namespace.clear();
            }
            if d.cluster
                .delete(&id, d.options.propagation)
                .await
                .map_err(err)?
            {
                on_event(Event::Deleted(&id));
            }
        }
    }
    Ok(())
}

/// Applies a previous revision's manifest again and records it as
/// `revision` (status deployed, "Rollback to N").
async fn rollback(
    d: &Deployer<'_>,
    prev: &Release,
    revision: i64,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    for (_, mut obj) in ids_of_manifest(&prev.manifest, &prev.namespace) {
        owned_by_release(&mut obj, &prev.name, &prev.namespace);
        let id = d.cluster.id_for(&obj, &prev.namespace).await.map_err(err)?;
        d.cluster
            .apply(&obj, &prev.namespace, FIELD_MANAGER)
            .await
            .map_err(err)?;
        on_event(Event::Applied(&id));
    }
    let mut record = prev.clone();
    record.version = revision;
    record.info.status = Some(Status::Deployed);
    record.info.description = format!("Rollback to {}", prev.version);
    record.info.last_deployed = now_rfc3339();
    d.cluster.write_release(&record).await.map_err(err)?;
    let mut old = prev.clone();
    old.info.status = Some(Status::Superseded);
    d.cluster.write_release(&old).await.map_err(err)?;
    Ok(())
}

async fn prune(
    cluster: &Cluster,
    rel: &RenderedRelease,
    options: &ConvergeOptions,
) -> Result<(), OpsError> {
    let history = cluster
        .release_history(&rel.namespace, &rel.release)
        .await
        .map_err(err)?;
    for v in davit_release::to_prune(&history, options.history_max) {
        cluster
            .delete_release(&rel.namespace, &rel.release, v)
            .await
            .map_err(err)?;
    }
    Ok(())
}

/// `davit dismiss`: what the release's last revision deployed (hooks too,
/// with `with_hooks`), its release records, and the namespace with
/// `with_namespace`.
pub fn dismiss(
    kube: &KubeOptions,
    release: &str,
    namespace: &str,
    with_hooks: bool,
    with_namespace: bool,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(OpsError::Runtime)?;
    runtime.block_on(async {
        let cluster = Cluster::connect(kube).await.map_err(err)?;
        let history = cluster
            .release_history(namespace, release)
            .await
            .map_err(err)?;
        let Some(last) = davit_release::current(&history).cloned() else {
            if !with_namespace {
                return Err(OpsError::Deploy(format!(
                    "release {release} not found in namespace {namespace}"
                )));
            }
            return delete_namespace(&cluster, namespace, on_event).await;
        };
        let mut docs = ids_of_manifest(&last.manifest, namespace);
        if with_hooks {
            for h in &last.hooks {
                docs.extend(ids_of_manifest(&h.manifest, namespace));
            }
        }
        docs.reverse();
        let mut deleted = Vec::new();
        for (mut id, _) in docs {
            if !cluster
                .is_namespaced(&id.api_version, &id.kind)
                .await
                .unwrap_or(true)
            {
                id.namespace.clear();
            }
            if cluster
                .delete(&id, Propagation::Foreground)
                .await
                .map_err(err)?
            {
                on_event(Event::Deleted(&id));
                deleted.push(id);
            }
        }
        // Foreground deletion finishes when the dependents are gone.
        for id in &deleted {
            if !cluster
                .wait_gone(id, Duration::from_secs(120))
                .await
                .map_err(err)?
            {
                on_event(Event::Note(format!(
                    "{id} is still being deleted (finalizers)"
                )));
            }
        }
        for r in &history {
            cluster
                .delete_release(namespace, release, r.version)
                .await
                .map_err(err)?;
        }
        on_event(Event::Note(format!("release {release} uninstalled")));
        if with_namespace {
            delete_namespace(&cluster, namespace, on_event).await?;
        }
        Ok(())
    })
}

async fn delete_namespace(
    cluster: &Cluster,
    namespace: &str,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    let id = ResourceId {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: String::new(),
        name: namespace.into(),
    };
    if cluster
        .delete(&id, Propagation::Background)
        .await
        .map_err(err)?
    {
        on_event(Event::Deleted(&id));
    }
    Ok(())
}
