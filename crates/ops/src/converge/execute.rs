//! Running a deploy plan against the cluster: each stage's resources start
//! as soon as what they wait for is present or ready (weights, deploy
//! dependencies, external dependencies), are created, replaced or left
//! alone as their policies say, and are tracked until ready; then what
//! left the chart is deleted. One polling loop drives a stage, so the
//! status of everything awaited is known at each tick.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use davit_deploy::plan::{Plan, Stage, Step};
use davit_deploy::policy::{policy_of, DependencyState, DeployPolicy, FailMode, Ownership};
use davit_kube::readiness::{readiness, Readiness};
use davit_kube::{Cluster, KubeError, Propagation, ResourceId};
use davit_release::Release;
use serde_json::{json, Value};

use super::record::{ids_of_manifest, owned_by_release};
use super::track::{diagnose, pod_log_lines, pods_of, Poll, Tracker};
use super::{err, ConvergeOptions, Event, StatusRow, FIELD_MANAGER};
use crate::render::RenderedRelease;
use crate::OpsError;

const TICK: Duration = Duration::from_millis(300);

enum StepState {
    /// Not started: waiting for the steps or external resources it needs.
    Pending(String),
    Tracking(Box<Tracker>),
    /// Applied and not waited for (`NonBlocking`).
    Applied,
    Ready,
    /// Left alone (`skip-create`, `skip-update`) or failed and ignored.
    Settled,
}

/// What starting a step came to: its new state, notes to print, and the
/// resource applied (if one was).
struct Started {
    state: StepState,
    notes: Vec<String>,
    applied: Option<ResourceId>,
}

fn satisfies(state: &StepState, want: DependencyState) -> bool {
    match state {
        StepState::Pending(_) => false,
        StepState::Tracking(_) => want == DependencyState::Present,
        StepState::Applied | StepState::Ready | StepState::Settled => true,
    }
}

/// The object to apply: the manifest plus the release's ownership
/// metadata and the service and runtime annotations and labels.
pub(crate) fn object_for(step: &Step, rel: &RenderedRelease, options: &ConvergeOptions) -> Value {
    let mut obj = davit_chart::values::to_json(&step.resource.value);
    let meta = &mut obj["metadata"];
    if !meta.is_object() {
        *meta = json!({});
    }
    for key in ["annotations", "labels"] {
        if !meta[key].is_object() {
            meta[key] = json!({});
        }
    }
    for (k, v) in options
        .runtime_annotations
        .iter()
        .chain(&options.service_annotations)
    {
        meta["annotations"][k] = json!(v);
    }
    for (k, v) in &options.runtime_labels {
        meta["labels"][k] = json!(v);
    }
    if step.policy.ownership == Ownership::Release {
        owned_by_release(&mut obj, &rel.release, &rel.namespace);
    }
    obj
}

/// `werf.io/replicas-on-creation`: the count on creation; later applies
/// keep what is there (an autoscaler's count, a manual scale).
pub(crate) fn replicas_on_creation(obj: &mut Value, policy: &DeployPolicy, live: Option<&Value>) {
    let Some(n) = policy.replicas_on_creation else {
        return;
    };
    let replicas = match live {
        None => json!(n),
        Some(l) => l["spec"]["replicas"].clone(),
    };
    if replicas.is_null() {
        if let Some(spec) = obj["spec"].as_object_mut() {
            spec.remove("replicas");
        }
    } else {
        obj["spec"]["replicas"] = replicas;
    }
}

pub(crate) struct Executor<'a> {
    pub cluster: Arc<Cluster>,
    pub rel: &'a RenderedRelease,
    pub options: &'a ConvergeOptions,
    pub deadline: Option<Instant>,
}

impl Executor<'_> {
    fn timed_out(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    pub async fn run(
        &self,
        plan: &Plan,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), OpsError> {
        for stage in &plan.stages {
            on_event(Event::Stage(&stage.name));
            self.run_stage(stage, on_event).await?;
            if stage.name == "CRDs" {
                self.cluster.forget_kinds();
            }
        }
        Ok(())
    }

    async fn run_stage(
        &self,
        stage: &Stage,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), OpsError> {
        let n = stage.steps.len();
        let mut states: Vec<StepState> =
            (0..n).map(|_| StepState::Pending(String::new())).collect();
        // The failure a `HopeUntilEndOfDeployProcess` step last showed.
        let mut hoping: Vec<Option<String>> = vec![None; n];
        loop {
            // Something started or finished: what waited for it may start
            // at once, without a tick's sleep.
            let mut settled_now = false;
            let mut ready_to_start = Vec::new();
            for i in 0..n {
                if !matches!(states[i], StepState::Pending(_)) {
                    continue;
                }
                let step = &stage.steps[i];
                if let Some((j, _)) = step
                    .after
                    .iter()
                    .find(|(j, want)| !satisfies(&states[*j], *want))
                {
                    let r = &stage.steps[*j].resource;
                    states[i] = StepState::Pending(format!("after {}/{}", r.kind, r.name));
                    continue;
                }
                ready_to_start.push(i);
            }
            // Everything that may start, at once: one round trip, not one per resource.
            let started = futures_util::future::join_all(
                ready_to_start.iter().map(|i| self.start(&stage.steps[*i])),
            )
            .await;
            for (i, result) in ready_to_start.into_iter().zip(started) {
                let started = result?;
                for note in started.notes {
                    on_event(Event::Note(note));
                }
                if let Some(id) = &started.applied {
                    on_event(Event::Applied(id));
                    settled_now = true;
                }
                states[i] = started.state;
            }

            let mut rows = Vec::new();
            let cluster = &self.cluster;
            let polled: Vec<(usize, Result<Poll, OpsError>)> =
                futures_util::future::join_all(states.iter_mut().enumerate().filter_map(
                    |(i, state)| match state {
                        StepState::Tracking(t) => Some(async move { (i, t.poll(cluster).await) }),
                        _ => None,
                    },
                ))
                .await;
            for (i, state) in states.iter().enumerate() {
                if let StepState::Pending(why) = state {
                    let r = &stage.steps[i].resource;
                    rows.push(StatusRow {
                        resource: format!("{}/{}", r.kind, r.name),
                        state: "pending",
                        detail: why.clone(),
                    });
                }
            }
            for (i, poll) in polled {
                let step = &stage.steps[i];
                let StepState::Tracking(t) = &states[i] else {
                    continue;
                };
                match poll? {
                    Poll::Ready => {
                        hoping[i] = None;
                        on_event(Event::Ready(&t.id));
                        self.after_ready(step, t, on_event).await?;
                        states[i] = StepState::Ready;
                        settled_now = true;
                    }
                    Poll::Waiting(why) => {
                        hoping[i] = None;
                        rows.push(StatusRow {
                            resource: t.id.to_string(),
                            state: "waiting",
                            detail: why,
                        });
                    }
                    Poll::Failed(why) => match step.policy.tracking.fail_mode {
                        FailMode::FailWholeDeployProcessImmediately => {
                            return Err(self.failure(step, t, &why).await);
                        }
                        FailMode::HopeUntilEndOfDeployProcess => {
                            rows.push(StatusRow {
                                resource: t.id.to_string(),
                                state: "failing",
                                detail: why.clone(),
                            });
                            hoping[i] = Some(why);
                        }
                        FailMode::IgnoreAndContinueDeployProcess => {
                            on_event(Event::Note(format!(
                                "{} failed: {why} (ignored: werf.io/fail-mode IgnoreAndContinueDeployProcess)",
                                t.id
                            )));
                            if step.policy.delete.failed {
                                self.delete_quietly(&t.id).await?;
                            }
                            states[i] = StepState::Settled;
                            settled_now = true;
                        }
                    },
                }
            }

            let open: Vec<usize> = (0..n)
                .filter(|i| matches!(states[*i], StepState::Pending(_) | StepState::Tracking(_)))
                .collect();
            if open.is_empty() {
                return Ok(());
            }
            // Only hopeless waits left: what hoped has failed for good.
            let progressing = open.iter().any(|i| match &states[*i] {
                StepState::Tracking(_) => hoping[*i].is_none(),
                StepState::Pending(_) => stage.steps[*i]
                    .after
                    .iter()
                    .all(|(j, _)| hoping[*j].is_none()),
                _ => false,
            });
            if !progressing {
                if let Some(i) = open.iter().find(|i| hoping[**i].is_some()) {
                    if let StepState::Tracking(t) = &states[*i] {
                        let why = hoping[*i].clone().unwrap_or_default();
                        return Err(self.failure(&stage.steps[*i], t, &why).await);
                    }
                }
            }
            if self.timed_out() {
                return Err(self.timeout(stage, &states).await);
            }
            on_event(Event::Status(&rows));
            let startable = open.iter().any(|i| {
                matches!(states[*i], StepState::Pending(_))
                    && stage.steps[*i]
                        .after
                        .iter()
                        .all(|(j, want)| satisfies(&states[*j], *want))
            });
            if !(settled_now && startable) {
                tokio::time::sleep(TICK).await;
            }
        }
    }

    /// Why a step's external dependencies are not ready yet, if they are not.
    async fn external_unready(&self, step: &Step) -> Result<Option<String>, OpsError> {
        for ext in &step.policy.external {
            let (api_version, kind, namespaced) = self
                .cluster
                .resolve_type(&ext.resource_type)
                .await
                .map_err(err)?;
            let id = ResourceId {
                api_version,
                kind,
                namespace: if namespaced {
                    ext.namespace.clone().unwrap_or(self.rel.namespace.clone())
                } else {
                    String::new()
                },
                name: ext.name.clone(),
            };
            match self.cluster.get(&id).await.map_err(err)? {
                None => return Ok(Some(format!("external {id} does not exist yet"))),
                Some(obj) => match readiness(&obj) {
                    Readiness::Ready => {}
                    Readiness::Waiting(why) | Readiness::Failed(why) => {
                        return Ok(Some(format!("external {id}: {why}")))
                    }
                },
            }
        }
        Ok(None)
    }

    /// Creates or updates a step's resource as its policies say, unless
    /// an external dependency is not ready yet.
    async fn start(&self, step: &Step) -> Result<Started, OpsError> {
        let mut notes = Vec::new();
        if let Some(why) = self.external_unready(step).await? {
            return Ok(Started {
                state: StepState::Pending(why),
                notes,
                applied: None,
            });
        }
        let mut obj = object_for(step, self.rel, self.options);
        let id = self
            .cluster
            .id_for(&obj, &self.rel.namespace)
            .await
            .map_err(err)?;
        let mut live = self.cluster.get(&id).await.map_err(err)?;
        let policy = &step.policy;
        if let (Some(l), Ownership::Release) = (&live, policy.ownership) {
            self.check_owner(&id, l)?;
        }
        match (
            &live,
            policy.resource.skip_create,
            policy.resource.skip_update,
        ) {
            (None, true, _) => {
                notes.push(format!(
                    "{id}: not created (werf.io/resource-policy skip-create)"
                ));
                return Ok(Started {
                    state: StepState::Settled,
                    notes,
                    applied: None,
                });
            }
            (Some(_), _, true) => {
                notes.push(format!(
                    "{id}: left as it is (werf.io/resource-policy skip-update)"
                ));
                return Ok(Started {
                    state: StepState::Settled,
                    notes,
                    applied: None,
                });
            }
            _ => {}
        }
        if live.is_some() && policy.delete.before_creation && !policy.resource.skip_recreate {
            self.recreate_gap(&id).await?;
            live = None;
        }
        replicas_on_creation(&mut obj, policy, live.as_ref());
        match self
            .cluster
            .apply(&obj, &self.rel.namespace, FIELD_MANAGER)
            .await
        {
            Ok(_) => {}
            Err(e) if is_immutable(&e) && live.is_some() => {
                if policy.delete.before_creation_if_immutable && !policy.resource.skip_recreate {
                    notes.push(format!(
                        "{id}: an immutable field changed, recreating it (before-creation-if-immutable)"
                    ));
                    self.recreate_gap(&id).await?;
                    self.cluster
                        .apply(&obj, &self.rel.namespace, FIELD_MANAGER)
                        .await
                        .map_err(err)?;
                } else {
                    return Err(OpsError::Deploy(format!(
                        "{e}\n  hint: annotate it werf.io/delete-policy: before-creation-if-immutable to have it recreated"
                    )));
                }
            }
            Err(e) => return Err(err(e)),
        }
        let state = if policy.tracking.non_blocking {
            StepState::Applied
        } else {
            StepState::Tracking(Box::new(Tracker::new(id.clone(), policy.tracking.clone())))
        };
        Ok(Started {
            state,
            notes,
            applied: Some(id),
        })
    }

    /// A resource owned by another release is refused, not taken over.
    fn check_owner(&self, id: &ResourceId, live: &Value) -> Result<(), OpsError> {
        let ann = &live["metadata"]["annotations"];
        let owner = ann["meta.helm.sh/release-name"].as_str().unwrap_or("");
        let owner_ns = ann["meta.helm.sh/release-namespace"].as_str().unwrap_or("");
        if owner.is_empty() || (owner == self.rel.release && owner_ns == self.rel.namespace) {
            return Ok(());
        }
        Err(OpsError::Deploy(format!(
            "{id} belongs to release {owner} in namespace {owner_ns}, not to {} in {}\n  hint: rename it, dismiss the other release, or annotate it werf.io/ownership: anyone if several releases share it",
            self.rel.release, self.rel.namespace
        )))
    }

    /// Deletes a resource before it is created again, and waits until it is gone.
    async fn recreate_gap(&self, id: &ResourceId) -> Result<(), OpsError> {
        if self
            .cluster
            .delete(id, Propagation::Background)
            .await
            .map_err(err)?
            && !self
                .cluster
                .wait_gone(id, Duration::from_secs(60))
                .await
                .map_err(err)?
        {
            return Err(OpsError::Deploy(format!(
                "{id} was deleted to be created again, but is still there after 60 s (finalizers?)"
            )));
        }
        Ok(())
    }

    async fn delete_quietly(&self, id: &ResourceId) -> Result<(), OpsError> {
        self.cluster
            .delete(id, Propagation::Background)
            .await
            .map(|_| ())
            .map_err(err)
    }

    /// A ready Job's log lines (werf shows what hooks printed), and
    /// `succeeded` deletion.
    async fn after_ready(
        &self,
        step: &Step,
        t: &Tracker,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), OpsError> {
        if t.id.kind == "Job" && self.options.pod_logs {
            if let Some(obj) = &t.last_object {
                let pods = pods_of(&self.cluster, &t.id, obj).await?;
                let lines =
                    pod_log_lines(&self.cluster, &t.id.namespace, &pods, &t.tracking.logs).await;
                if !lines.is_empty() {
                    on_event(Event::Logs(&t.id, &lines));
                }
            }
        }
        if step.policy.delete.succeeded {
            self.delete_quietly(&t.id).await?;
        }
        Ok(())
    }

    async fn failure(&self, step: &Step, t: &Tracker, why: &str) -> OpsError {
        let logs = self.options.pod_logs.then_some(&t.tracking.logs);
        let report = diagnose(&self.cluster, &t.id, t.last_object.as_ref(), logs).await;
        if step.policy.delete.failed {
            let _ = self.delete_quietly(&t.id).await;
        }
        OpsError::Deploy(format!("{} failed: {why}{report}", t.id))
    }

    async fn timeout(&self, stage: &Stage, states: &[StepState]) -> OpsError {
        let mut out = String::new();
        for (step, state) in stage.steps.iter().zip(states) {
            match state {
                StepState::Tracking(t) => {
                    let logs = self.options.pod_logs.then_some(&t.tracking.logs);
                    let report = diagnose(&self.cluster, &t.id, t.last_object.as_ref(), logs).await;
                    let why = t
                        .last_object
                        .as_ref()
                        .map(|o| match readiness(o) {
                            Readiness::Waiting(w) | Readiness::Failed(w) => w,
                            Readiness::Ready => "ready".into(),
                        })
                        .unwrap_or_default();
                    out.push_str(&format!(
                        "\n{} is not ready within --timeout: {why}{report}",
                        t.id
                    ));
                }
                StepState::Pending(why) => out.push_str(&format!(
                    "\n{}/{} was never started: {why}",
                    step.resource.kind, step.resource.name
                )),
                _ => {}
            }
        }
        OpsError::Deploy(format!(
            "the {} stage did not finish within --timeout{out}",
            stage.name
        ))
    }

    /// Deletes what `previous` deployed and this release no longer has,
    /// unless a policy keeps it.
    pub async fn delete_stale(
        &self,
        previous: &Release,
        on_event: &mut dyn FnMut(Event<'_>),
    ) -> Result<(), OpsError> {
        let keep: BTreeSet<(String, String, String)> = self
            .rel
            .resources
            .iter()
            .map(|r| {
                let ns = if r.namespace.is_empty() {
                    &self.rel.namespace
                } else {
                    &r.namespace
                };
                (r.kind.clone(), ns.clone(), r.name.clone())
            })
            .collect();
        let mut stale = Vec::new();
        for (id, obj, value) in ids_of_manifest(&previous.manifest, &previous.namespace) {
            if keep.contains(&(id.kind.clone(), id.namespace.clone(), id.name.clone())) {
                continue;
            }
            // The release namespace is never deleted with a resource.
            if id.kind == "Namespace" && id.name == self.rel.namespace {
                continue;
            }
            let resource = davit_deploy::Resource {
                source: format!("revision {} of the release", previous.version),
                value,
                api_version: id.api_version.clone(),
                kind: id.kind.clone(),
                name: id.name.clone(),
                namespace: id.namespace.clone(),
                is_crd_file: false,
                hook: None,
                hook_weight: 0,
            };
            // A policy the older chart got wrong: delete as by default.
            let (kept, propagation) = match policy_of(&resource) {
                Ok(p) => (
                    p.resource.skip_delete || p.ownership == Ownership::Anyone,
                    p.propagation,
                ),
                Err(_) => (false, None),
            };
            if kept {
                continue;
            }
            let propagation = match propagation.as_deref() {
                Some(p) => p.parse().unwrap_or(self.options.propagation),
                None => self.options.propagation,
            };
            match self.cluster.id_for(&obj, &previous.namespace).await {
                Ok(id) => stale.push((id, propagation)),
                // A kind the cluster no longer has: nothing of it is left.
                Err(KubeError::UnknownKind { .. }) => {}
                Err(e) => return Err(err(e)),
            }
        }
        if !stale.is_empty() {
            on_event(Event::Stage("deleting resources that left the chart"));
        }
        for (id, propagation) in stale {
            if self.cluster.delete(&id, propagation).await.map_err(err)? {
                on_event(Event::Deleted(&id));
            }
        }
        Ok(())
    }
}

fn is_immutable(e: &KubeError) -> bool {
    matches!(e, KubeError::Api { message, .. } if message.contains("immutable"))
}
