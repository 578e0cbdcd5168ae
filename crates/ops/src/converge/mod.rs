//! `davit converge` and `dismiss`: a rendered release deployed to the
//! cluster in werf's order, tracked until ready, and recorded as Helm 3
//! release Secrets under werf's release lock; on failure the revision is
//! marked failed (and with `--atomic` the last good one restored).

mod diff;
mod dismiss;
mod execute;
pub(crate) mod record;
mod track;

use std::sync::Arc;
use std::time::{Duration, Instant};

use davit_deploy::plan::{plan, DeployKind};
use davit_kube::{Cluster, KubeError, KubeOptions, Propagation, ResourceId};
use davit_release::{Info, Release, Status};
use serde_json::{json, Value};

pub use diff::{plan_changes, Action, Change};
pub use dismiss::dismiss;
use execute::Executor;
use record::{chart_json, hooks_of, ids_of_manifest, manifest_of, now_rfc3339, owned_by_release};

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
    /// the CI ones): on every resource at apply time, not in the manifest,
    /// and in the release's `info.annotations`.
    pub service_annotations: Vec<(String, String)>,
    /// `--runtime-annotations`, `--runtime-labels`: on every resource at
    /// apply time, not in the manifest.
    pub runtime_annotations: Vec<(String, String)>,
    pub runtime_labels: Vec<(String, String)>,
    /// `--release-label`: on the release's Secrets.
    pub release_labels: Vec<(String, String)>,
    /// `--release-info-annotations`: in the release's `info.annotations`.
    pub release_info_annotations: Vec<(String, String)>,
    pub propagation: Propagation,
    /// How long to wait for another deploy's lock.
    pub lock_wait: Duration,
    /// Show pods' log lines (finished Jobs, failures); not `--no-pod-logs`.
    pub pod_logs: bool,
}

/// One line of the status of what a deploy waits for.
#[derive(Clone, Debug)]
pub struct StatusRow {
    pub resource: String,
    /// `pending` (not started), `waiting` (applied, not ready) or `failing`.
    pub state: &'static str,
    pub detail: String,
}

/// What a converge reports as it goes.
pub enum Event<'a> {
    Stage(&'a str),
    Applied(&'a ResourceId),
    Deleted(&'a ResourceId),
    Ready(&'a ResourceId),
    /// Everything still awaited, at every tick of the tracking loop.
    Status(&'a [StatusRow]),
    /// Log lines of a resource's pods (a finished Job).
    Logs(&'a ResourceId, &'a [String]),
    Note(String),
}

#[derive(Clone, Debug)]
pub struct ConvergeResult {
    pub release: String,
    pub namespace: String,
    pub revision: i64,
    pub kind: DeployKind,
}

pub(crate) fn err(e: KubeError) -> OpsError {
    OpsError::Kube(Box::new(e))
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, OpsError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(OpsError::Runtime)
}

/// Deploys `rel`. On failure the revision is recorded as failed, and with
/// `atomic` the previous deployed revision is applied again as a new one.
pub fn converge(
    rel: &RenderedRelease,
    options: &ConvergeOptions,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<ConvergeResult, OpsError> {
    // Bad deploy annotations fail before anything is touched.
    plan(&rel.resources, DeployKind::Install, &rel.namespace).map_err(OpsError::DeployPlan)?;
    runtime()?.block_on(converge_async(rel, options, on_event))
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

fn kind_word(kind: DeployKind) -> &'static str {
    match kind {
        DeployKind::Install => "Install",
        DeployKind::Upgrade => "Upgrade",
        DeployKind::Rollback => "Rollback",
    }
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
    if let Some(stuck) = history.iter().find(|r| {
        matches!(
            r.status(),
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }) {
        // Holding the lock means no deploy is running: a pending revision
        // was left by one that was killed. It is failed, as werf does.
        let mut stuck = stuck.clone();
        on_event(Event::Note(format!(
            "revision {} was left {} by an interrupted deploy; marking it failed",
            stuck.version,
            stuck.status().as_str()
        )));
        stuck.info.status = Some(Status::Failed);
        stuck.info.description = "Interrupted: the deploy was stopped before it finished".into();
        cluster.write_release(&stuck).await.map_err(err)?;
    }
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
    let deploy_plan = plan(&rel.resources, kind, &rel.namespace).map_err(OpsError::DeployPlan)?;
    let revision = history.iter().map(|r| r.version).max().unwrap_or(0) + 1;
    let now = now_rfc3339();
    let first = history
        .first()
        .map(|r| r.info.first_deployed.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| now.clone());
    let mut info_annotations: serde_json::Map<String, Value> = options
        .release_info_annotations
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    for (k, v) in &options.service_annotations {
        info_annotations.insert(k.clone(), json!(v));
    }
    let mut record = Release {
        name: rel.release.clone(),
        namespace: rel.namespace.clone(),
        version: revision,
        info: Info {
            first_deployed: first,
            last_deployed: now,
            description: format!("{} in progress", kind_word(kind)),
            status: Some(if kind == DeployKind::Install {
                Status::PendingInstall
            } else {
                Status::PendingUpgrade
            }),
            notes: rel.notes.clone().unwrap_or_default(),
            annotations: Some(info_annotations.into_iter().collect()),
            ..Default::default()
        },
        chart: chart_json(rel),
        config: rel.config.clone(),
        manifest: manifest_of(rel),
        hooks: hooks_of(rel),
        labels: Value::Null,
        apply_method: Some("ssa".into()),
        storage_labels: options.release_labels.clone(),
        other: Default::default(),
    };
    cluster.write_release(&record).await.map_err(err)?;
    on_event(Event::Note(format!(
        "release {} revision {revision} ({}) in namespace {}",
        rel.release,
        kind.as_str(),
        rel.namespace
    )));

    let executor = Executor {
        cluster: cluster.clone(),
        rel,
        options,
        deadline: options.timeout.map(|t| Instant::now() + t),
    };
    let mut outcome = executor.run(&deploy_plan, on_event).await;
    if let (Ok(()), Some(prev)) = (&outcome, &previous) {
        outcome = executor.delete_stale(prev, on_event).await;
    }
    match outcome {
        Ok(()) => {
            record.info.status = Some(Status::Deployed);
            record.info.description = format!("{} complete", kind_word(kind));
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
            record.info.description = format!("{} failed: {first_line}", kind_word(kind));
            cluster.write_release(&record).await.map_err(err)?;
            match (options.atomic, previous) {
                (true, Some(prev)) => {
                    on_event(Event::Stage("rollback"));
                    let rolled = rollback(&executor, &prev, revision + 1, on_event).await;
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
                _ => Err(OpsError::Deploy(format!(
                    "{e}\nrevision {revision} is recorded as failed; the cluster holds what was applied before the failure (--atomic restores the last good revision)"
                ))),
            }
        }
    }
}

/// Applies a previous revision's manifest again and records it as
/// `revision` (status deployed, "Rollback to N").
async fn rollback(
    d: &Executor<'_>,
    prev: &Release,
    revision: i64,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<(), OpsError> {
    for (_, mut obj, _) in ids_of_manifest(&prev.manifest, &prev.namespace) {
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
