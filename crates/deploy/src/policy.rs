//! werf's deploy annotations (spec §5.7) read into one policy per
//! resource: when it deploys (`werf.io/deploy-on`, `helm.sh/hook`), in
//! what order (weights, `werf.io/deploy-dependency-*`, external
//! dependencies), who owns it, how it is created, replaced and deleted,
//! and how it is tracked. A value werf would refuse is an error naming the
//! template, the resource and the annotation. Pure.

use std::time::Duration;

use davit_gotmpl::Value;

use crate::manifests::Resource;
use crate::DeployError;

/// `werf.io/ownership`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// The release's: Helm's ownership metadata is set, and the resource
    /// is deleted when it leaves the chart.
    Release,
    /// Nobody's: applied, never adopted or deleted by the release
    /// (the default of hooks and `crds/`).
    Anyone,
}

/// `werf.io/fail-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    FailWholeDeployProcessImmediately,
    /// Keep waiting; fail only if still failed when everything else is done.
    HopeUntilEndOfDeployProcess,
    /// Report the failure and carry on.
    IgnoreAndContinueDeployProcess,
}

/// `werf.io/delete-policy` (hooks: `helm.sh/hook-delete-policy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeletePolicy {
    pub before_creation: bool,
    pub before_creation_if_immutable: bool,
    pub succeeded: bool,
    pub failed: bool,
}

/// `werf.io/resource-policy` (and `helm.sh/resource-policy: keep`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourcePolicy {
    pub skip_create: bool,
    pub skip_update: bool,
    pub skip_recreate: bool,
    pub skip_delete: bool,
}

/// What a dependency waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DependencyState {
    /// Applied.
    Present,
    /// Applied and ready.
    Ready,
}

/// `werf.io/deploy-dependency-<id>`: resources of the same stage that
/// must be present or ready first; every given field must match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub id: String,
    pub state: DependencyState,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub kind: Option<String>,
    pub group: Option<String>,
    pub version: Option<String>,
}

impl Dependency {
    /// Whether `r` (in release namespace `namespace`) is what this names.
    pub fn matches(&self, r: &Resource, namespace: &str) -> bool {
        let (group, version) = match r.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", r.api_version.as_str()),
        };
        let ns = if r.namespace.is_empty() {
            namespace
        } else {
            &r.namespace
        };
        let eq = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        eq(&self.name, &r.name)
            && eq(&self.namespace, ns)
            && self
                .kind
                .as_deref()
                .is_none_or(|k| k.eq_ignore_ascii_case(&r.kind))
            && eq(&self.group, group)
            && eq(&self.version, version)
    }
}

/// `<id>.external-dependency.werf.io/resource` (`type[.version.group]/name`)
/// and `…/namespace`: a resource outside the release that must be ready
/// before this one is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalDependency {
    pub id: String,
    /// `deployment`, `deployments.v1.apps`, `Secret`: resolved by discovery.
    pub resource_type: String,
    pub name: String,
    pub namespace: Option<String>,
}

/// The log annotations: which pods' and containers' lines are shown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPolicy {
    /// `werf.io/skip-logs`.
    pub skip: bool,
    /// `werf.io/skip-logs-for-containers`.
    pub skip_containers: Vec<String>,
    /// `werf.io/show-logs-only-for-containers` (empty: all).
    pub only_containers: Vec<String>,
    /// `werf.io/log-regex`: only lines matching.
    pub regex: Option<String>,
    /// `werf.io/log-regex-for-<container>`.
    pub regex_for: Vec<(String, String)>,
    /// `werf.io/log-regex-skip`: lines matching are dropped.
    pub regex_skip: Option<String>,
    /// `werf.io/log-regex-skip-for-<container>`.
    pub regex_skip_for: Vec<(String, String)>,
    /// `werf.io/show-logs-only-for-number-of-replicas` (default 1).
    pub replicas: usize,
}

impl Default for LogPolicy {
    fn default() -> Self {
        LogPolicy {
            skip: false,
            skip_containers: Vec::new(),
            only_containers: Vec::new(),
            regex: None,
            regex_for: Vec::new(),
            regex_skip: None,
            regex_skip_for: Vec::new(),
            replicas: 1,
        }
    }
}

impl LogPolicy {
    /// Whether the lines of `container` are shown at all.
    pub fn shows_container(&self, container: &str) -> bool {
        !self.skip
            && !self.skip_containers.iter().any(|c| c == container)
            && (self.only_containers.is_empty()
                || self.only_containers.iter().any(|c| c == container))
    }

    /// The regexes for `container`: (keep only, drop).
    pub fn regexes_for(&self, container: &str) -> (Option<&str>, Option<&str>) {
        fn find<'a>(
            list: &'a [(String, String)],
            all: &'a Option<String>,
            container: &str,
        ) -> Option<&'a str> {
            list.iter()
                .find(|(c, _)| c == container)
                .map(|(_, r)| r.as_str())
                .or(all.as_deref())
        }
        (
            find(&self.regex_for, &self.regex, container),
            find(&self.regex_skip_for, &self.regex_skip, container),
        )
    }
}

/// How a resource is tracked once applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracking {
    /// `werf.io/track-termination-mode: NonBlocking`: not waited for.
    pub non_blocking: bool,
    pub fail_mode: FailMode,
    /// `werf.io/failures-allowed-per-replica` (default 1).
    pub failures_allowed_per_replica: u32,
    /// `werf.io/no-activity-timeout` (default 4m).
    pub no_activity_timeout: Duration,
    /// `werf.io/ignore-readiness-probe-fails-for-<container>`.
    pub ignore_readiness_probe_fails: Vec<(String, Duration)>,
    pub logs: LogPolicy,
}

/// Everything the deploy annotations say about one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployPolicy {
    /// `helm.sh/hook-weight` for hooks, `werf.io/weight` otherwise.
    pub weight: i64,
    /// The events it deploys on: `helm.sh/hook`, else `werf.io/deploy-on`,
    /// else install, upgrade and rollback.
    pub deploy_on: Vec<String>,
    pub ownership: Ownership,
    pub delete: DeletePolicy,
    pub resource: ResourcePolicy,
    /// `werf.io/delete-propagation` (else `--delete-propagation`).
    pub propagation: Option<String>,
    /// `werf.io/replicas-on-creation`.
    pub replicas_on_creation: Option<i64>,
    pub dependencies: Vec<Dependency>,
    pub external: Vec<ExternalDependency>,
    pub tracking: Tracking,
    /// `werf.io/sensitive` (Secrets are sensitive unless it says false).
    pub sensitive: bool,
    /// `werf.io/sensitive-paths`: JSON paths hidden in `davit plan`.
    pub sensitive_paths: Vec<String>,
}

impl Default for Tracking {
    fn default() -> Self {
        Tracking {
            non_blocking: false,
            fail_mode: FailMode::FailWholeDeployProcessImmediately,
            failures_allowed_per_replica: 1,
            no_activity_timeout: Duration::from_secs(240),
            ignore_readiness_probe_fails: Vec::new(),
            logs: LogPolicy::default(),
        }
    }
}

/// The policy of a general resource without deploy annotations.
impl Default for DeployPolicy {
    fn default() -> Self {
        DeployPolicy {
            weight: 0,
            deploy_on: vec!["install".into(), "upgrade".into(), "rollback".into()],
            ownership: Ownership::Release,
            delete: DeletePolicy::default(),
            resource: ResourcePolicy::default(),
            propagation: None,
            replicas_on_creation: None,
            dependencies: Vec::new(),
            external: Vec::new(),
            tracking: Tracking::default(),
            sensitive: false,
            sensitive_paths: Vec::new(),
        }
    }
}

pub const DEPLOY_EVENTS: &[&str] = &[
    "pre-install",
    "install",
    "post-install",
    "pre-upgrade",
    "upgrade",
    "post-upgrade",
    "pre-rollback",
    "rollback",
    "post-rollback",
    "pre-delete",
    "delete",
    "post-delete",
];

/// The annotations of a resource, in document order.
pub fn annotations(r: &Resource) -> Vec<(String, String)> {
    let Value::Map(top, _) = &r.value else {
        return Vec::new();
    };
    let Some(Value::Map(meta, _)) = top.borrow().get("metadata").cloned() else {
        return Vec::new();
    };
    let Some(Value::Map(ann, _)) = meta.borrow().get("annotations").cloned() else {
        return Vec::new();
    };
    let ann = ann.borrow();
    ann.iter()
        .filter_map(|(k, v)| match v {
            Value::String(s) => Some((k.to_string(), s.to_string())),
            _ => None,
        })
        .collect()
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A Go duration (`300ms`, `4m`, `1h30m`, `90s`); a bare number is seconds.
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let nanos = davit_gotmpl::funcs::date::parse_duration(t).ok()?;
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

struct Reader<'a> {
    resource: &'a Resource,
    annotations: Vec<(String, String)>,
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn bad(&self, key: &str, value: &str, hint: &str) -> DeployError {
        DeployError::Annotation {
            source_file: self.resource.source.clone(),
            resource: format!("{}/{}", self.resource.kind, self.resource.name),
            key: key.to_string(),
            value: value.to_string(),
            hint: hint.to_string(),
        }
    }

    fn int(&self, key: &str) -> Result<Option<i64>, DeployError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.bad(key, v, "an integer, as a string: \"5\"")),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, DeployError> {
        match self.get(key) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(self.bad(key, v, "\"true\" or \"false\"")),
        }
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, DeployError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse_go_duration(v)
                .map(Some)
                .ok_or_else(|| self.bad(key, v, "a Go duration: 30s, 4m, 1h30m")),
        }
    }

    fn regex(&self, key: &str, value: &str) -> Result<String, DeployError> {
        regex::Regex::new(value)
            .map(|_| value.to_string())
            .map_err(|e| self.bad(key, value, &format!("a regular expression: {e}")))
    }

    /// `(suffix, value)` of every annotation `prefix<suffix>`.
    fn with_prefix<'k>(&'k self, prefix: &'k str) -> impl Iterator<Item = (&'k str, &'k str)> {
        self.annotations
            .iter()
            .filter_map(move |(k, v)| Some((k.strip_prefix(prefix)?, v.as_str())))
    }
}

/// Reads the deploy policy of `r`.
pub fn policy_of(r: &Resource) -> Result<DeployPolicy, DeployError> {
    let a = Reader {
        resource: r,
        annotations: annotations(r),
    };
    let hook = r.hook.is_some();

    let weight = if hook {
        a.int("helm.sh/hook-weight")?
    } else {
        a.int("werf.io/weight")?
    }
    .unwrap_or(0);

    let deploy_on = match (&r.hook, a.get("werf.io/deploy-on")) {
        (Some(events), _) => list(events),
        (None, Some(v)) => {
            let events = list(v);
            for e in &events {
                if !DEPLOY_EVENTS.contains(&e.as_str()) {
                    return Err(a.bad(
                        "werf.io/deploy-on",
                        v,
                        &format!("events among {}", DEPLOY_EVENTS.join(", ")),
                    ));
                }
            }
            events
        }
        (None, None) => vec!["install".into(), "upgrade".into(), "rollback".into()],
    };

    let ownership = match a.get("werf.io/ownership") {
        Some("release") => Ownership::Release,
        Some("anyone") => Ownership::Anyone,
        Some(v) => return Err(a.bad("werf.io/ownership", v, "\"release\" or \"anyone\"")),
        None if hook || r.is_crd_file => Ownership::Anyone,
        None => Ownership::Release,
    };

    let mut delete = DeletePolicy::default();
    if let Some(v) = a.get("werf.io/delete-policy") {
        for p in list(v) {
            match p.as_str() {
                "before-creation" => delete.before_creation = true,
                "before-creation-if-immutable" => delete.before_creation_if_immutable = true,
                "succeeded" => delete.succeeded = true,
                "failed" => delete.failed = true,
                _ => {
                    return Err(a.bad(
                        "werf.io/delete-policy",
                        v,
                        "before-creation, before-creation-if-immutable, succeeded, failed",
                    ))
                }
            }
        }
    } else if hook {
        let helm = a.get("helm.sh/hook-delete-policy").map(list);
        match helm {
            // Helm's default for hooks.
            None => delete.before_creation = true,
            Some(ps) => {
                for p in ps {
                    match p.as_str() {
                        "before-hook-creation" => delete.before_creation = true,
                        "hook-succeeded" => delete.succeeded = true,
                        "hook-failed" => delete.failed = true,
                        _ => {
                            return Err(a.bad(
                                "helm.sh/hook-delete-policy",
                                &p,
                                "before-hook-creation, hook-succeeded, hook-failed",
                            ))
                        }
                    }
                }
            }
        }
    }

    let mut resource = ResourcePolicy::default();
    match a.get("werf.io/resource-policy") {
        Some(v) => {
            for p in list(v) {
                match p.as_str() {
                    "skip-create" => resource.skip_create = true,
                    "skip-update" => resource.skip_update = true,
                    "skip-recreate" => resource.skip_recreate = true,
                    "skip-delete" | "keep" => resource.skip_delete = true,
                    _ => {
                        return Err(a.bad(
                            "werf.io/resource-policy",
                            v,
                            "skip-create, skip-update, skip-recreate, skip-delete, keep",
                        ))
                    }
                }
            }
        }
        None => resource.skip_delete = a.get("helm.sh/resource-policy") == Some("keep"),
    }

    let propagation = match a.get("werf.io/delete-propagation") {
        None => None,
        Some(v @ ("Foreground" | "Background" | "Orphan")) => Some(v.to_string()),
        Some(v) => {
            return Err(a.bad(
                "werf.io/delete-propagation",
                v,
                "Foreground, Background or Orphan",
            ))
        }
    };

    let replicas_on_creation = a.int("werf.io/replicas-on-creation")?;

    let mut dependencies = Vec::new();
    let legacy = a
        .annotations
        .iter()
        .filter_map(|(k, v)| Some((k.strip_suffix(".dependency.werf.io")?, v.as_str())));
    for (id, v) in a.with_prefix("werf.io/deploy-dependency-").chain(legacy) {
        dependencies.push(dependency(&a, id, v)?);
    }

    let mut external = Vec::new();
    for (k, v) in &a.annotations {
        let Some(id) = k.strip_suffix(".external-dependency.werf.io/resource") else {
            continue;
        };
        let Some((resource_type, name)) = v.split_once('/') else {
            return Err(a.bad(k, v, "type[.version.group]/name, as deployment/app"));
        };
        if resource_type.is_empty() || name.is_empty() {
            return Err(a.bad(k, v, "type[.version.group]/name, as deployment/app"));
        }
        external.push(ExternalDependency {
            id: id.to_string(),
            resource_type: resource_type.to_string(),
            name: name.to_string(),
            namespace: a
                .get(&format!("{id}.external-dependency.werf.io/namespace"))
                .map(str::to_string),
        });
    }

    let tracking = tracking(&a)?;
    let sensitive = a.bool("werf.io/sensitive")?.unwrap_or(r.kind == "Secret");
    let sensitive_paths = a
        .get("werf.io/sensitive-paths")
        .map(list)
        .unwrap_or_default();

    Ok(DeployPolicy {
        weight,
        deploy_on,
        ownership,
        delete,
        resource,
        propagation,
        replicas_on_creation,
        dependencies,
        external,
        tracking,
        sensitive,
        sensitive_paths,
    })
}

fn dependency(a: &Reader<'_>, id: &str, value: &str) -> Result<Dependency, DeployError> {
    let key = format!("werf.io/deploy-dependency-{id}");
    let mut d = Dependency {
        id: id.to_string(),
        state: DependencyState::Ready,
        name: None,
        namespace: None,
        kind: None,
        group: None,
        version: None,
    };
    let mut has_state = false;
    for part in list(value) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(a.bad(
                &key,
                value,
                "state=ready|present[,name=…][,namespace=…][,kind=…][,group=…][,version=…]",
            ));
        };
        let v = Some(v.trim().to_string());
        match k.trim() {
            "state" => {
                has_state = true;
                d.state = match v.as_deref() {
                    Some("ready") => DependencyState::Ready,
                    Some("present") => DependencyState::Present,
                    _ => return Err(a.bad(&key, value, "state is ready or present")),
                }
            }
            "name" => d.name = v,
            "namespace" => d.namespace = v,
            "kind" => d.kind = v,
            "group" => d.group = v,
            "version" => d.version = v,
            _ => {
                return Err(a.bad(
                    &key,
                    value,
                    "keys are state, name, namespace, kind, group and version",
                ))
            }
        }
    }
    if !has_state {
        return Err(a.bad(&key, value, "state=ready or state=present is required"));
    }
    Ok(d)
}

fn tracking(a: &Reader<'_>) -> Result<Tracking, DeployError> {
    let non_blocking = match a.get("werf.io/track-termination-mode") {
        None | Some("WaitUntilResourceReady") => false,
        Some("NonBlocking") => true,
        Some(v) => {
            return Err(a.bad(
                "werf.io/track-termination-mode",
                v,
                "WaitUntilResourceReady or NonBlocking",
            ))
        }
    };
    let fail_mode = match a.get("werf.io/fail-mode") {
        None | Some("FailWholeDeployProcessImmediately") => {
            FailMode::FailWholeDeployProcessImmediately
        }
        Some("HopeUntilEndOfDeployProcess") => FailMode::HopeUntilEndOfDeployProcess,
        Some("IgnoreAndContinueDeployProcess") => FailMode::IgnoreAndContinueDeployProcess,
        Some(v) => return Err(a.bad(
            "werf.io/fail-mode",
            v,
            "FailWholeDeployProcessImmediately, HopeUntilEndOfDeployProcess or IgnoreAndContinueDeployProcess",
        )),
    };
    let failures_allowed_per_replica = match a.int("werf.io/failures-allowed-per-replica")? {
        None => 1,
        Some(n) if n >= 0 => n as u32,
        Some(n) => {
            return Err(a.bad(
                "werf.io/failures-allowed-per-replica",
                &n.to_string(),
                "zero or more",
            ))
        }
    };
    let no_activity_timeout = a
        .duration("werf.io/no-activity-timeout")?
        .unwrap_or(Duration::from_secs(240));
    let mut ignore_readiness_probe_fails = Vec::new();
    for (c, v) in a.with_prefix("werf.io/ignore-readiness-probe-fails-for-") {
        let d = parse_go_duration(v).ok_or_else(|| {
            a.bad(
                &format!("werf.io/ignore-readiness-probe-fails-for-{c}"),
                v,
                "a Go duration: 30s, 4m",
            )
        })?;
        ignore_readiness_probe_fails.push((c.to_string(), d));
    }

    let mut logs = LogPolicy {
        skip: a.bool("werf.io/skip-logs")?.unwrap_or(false),
        skip_containers: a
            .get("werf.io/skip-logs-for-containers")
            .map(list)
            .unwrap_or_default(),
        only_containers: a
            .get("werf.io/show-logs-only-for-containers")
            .map(list)
            .unwrap_or_default(),
        ..LogPolicy::default()
    };
    if let Some(v) = a.get("werf.io/log-regex") {
        logs.regex = Some(a.regex("werf.io/log-regex", v)?);
    }
    if let Some(v) = a.get("werf.io/log-regex-skip") {
        logs.regex_skip = Some(a.regex("werf.io/log-regex-skip", v)?);
    }
    for (c, v) in a.with_prefix("werf.io/log-regex-for-") {
        let r = a.regex(&format!("werf.io/log-regex-for-{c}"), v)?;
        logs.regex_for.push((c.to_string(), r));
    }
    for (c, v) in a.with_prefix("werf.io/log-regex-skip-for-") {
        let r = a.regex(&format!("werf.io/log-regex-skip-for-{c}"), v)?;
        logs.regex_skip_for.push((c.to_string(), r));
    }
    if let Some(n) = a.int("werf.io/show-logs-only-for-number-of-replicas")? {
        logs.replicas = n.max(0) as usize;
    }
    Ok(Tracking {
        non_blocking,
        fail_mode,
        failures_allowed_per_replica,
        no_activity_timeout,
        ignore_readiness_probe_fails,
        logs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifests::{parse_resources, ManifestOptions};

    fn one(annotations: &str, kind: &str) -> Result<DeployPolicy, DeployError> {
        let doc = format!(
            "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: x\n  annotations:\n{annotations}"
        );
        let rs = parse_resources(
            &[("c/templates/a.yaml".into(), doc)],
            &[],
            &ManifestOptions {
                release_namespace: "ns",
                extra_annotations: &[],
                extra_labels: &[],
            },
        )
        .unwrap();
        policy_of(&rs[0])
    }

    #[test]
    fn defaults() {
        let p = one("    a: b\n", "ConfigMap").unwrap();
        assert_eq!(p.weight, 0);
        assert_eq!(p.deploy_on, vec!["install", "upgrade", "rollback"]);
        assert_eq!(p.ownership, Ownership::Release);
        assert_eq!(p.tracking.failures_allowed_per_replica, 1);
        assert_eq!(p.tracking.no_activity_timeout, Duration::from_secs(240));
        assert!(!p.sensitive);
        assert!(one("    a: b\n", "Secret").unwrap().sensitive);
    }

    #[test]
    fn hooks_take_events_weights_and_delete_policies_from_helm() {
        let p = one(
            "    helm.sh/hook: pre-install,post-upgrade\n    helm.sh/hook-weight: \"-3\"\n    werf.io/weight: \"9\"\n",
            "Pod",
        )
        .unwrap();
        assert_eq!(p.deploy_on, vec!["pre-install", "post-upgrade"]);
        assert_eq!(p.weight, -3);
        assert!(p.delete.before_creation);
        assert_eq!(p.ownership, Ownership::Anyone);
        let p = one(
            "    helm.sh/hook: post-install\n    helm.sh/hook-delete-policy: hook-succeeded,hook-failed\n",
            "Pod",
        )
        .unwrap();
        assert!(!p.delete.before_creation && p.delete.succeeded && p.delete.failed);
    }

    #[test]
    fn werf_annotations() {
        let p = one(
            "    werf.io/deploy-on: pre-install,upgrade\n    werf.io/deploy-dependency-db: state=present,kind=StatefulSet,name=db\n    a.dependency.werf.io: state=ready,name=x\n    dep1.external-dependency.werf.io/resource: deployment.v1.apps/ext\n    dep1.external-dependency.werf.io/namespace: other\n    werf.io/replicas-on-creation: \"3\"\n    werf.io/resource-policy: skip-update,keep\n    werf.io/ownership: anyone\n    werf.io/no-activity-timeout: 1m30s\n    werf.io/fail-mode: HopeUntilEndOfDeployProcess\n    werf.io/log-regex-for-app: ^ERR\n    werf.io/skip-logs-for-containers: sidecar\n",
            "Deployment",
        )
        .unwrap();
        assert_eq!(p.deploy_on, vec!["pre-install", "upgrade"]);
        assert_eq!(p.dependencies.len(), 2);
        assert_eq!(p.dependencies[0].state, DependencyState::Present);
        assert_eq!(p.dependencies[0].kind.as_deref(), Some("StatefulSet"));
        assert_eq!(p.dependencies[1].state, DependencyState::Ready);
        assert_eq!(
            p.external,
            vec![ExternalDependency {
                id: "dep1".into(),
                resource_type: "deployment.v1.apps".into(),
                name: "ext".into(),
                namespace: Some("other".into())
            }]
        );
        assert_eq!(p.replicas_on_creation, Some(3));
        assert!(p.resource.skip_update && p.resource.skip_delete && !p.resource.skip_create);
        assert_eq!(p.ownership, Ownership::Anyone);
        assert_eq!(p.tracking.no_activity_timeout, Duration::from_secs(90));
        assert_eq!(p.tracking.fail_mode, FailMode::HopeUntilEndOfDeployProcess);
        assert_eq!(p.tracking.logs.regexes_for("app"), (Some("^ERR"), None));
        assert!(!p.tracking.logs.shows_container("sidecar"));
        assert!(p.tracking.logs.shows_container("app"));
    }

    #[test]
    fn bad_values_name_the_template_resource_and_annotation() {
        let e = one("    werf.io/weight: heavy\n", "ConfigMap")
            .unwrap_err()
            .to_string();
        assert!(e.contains("c/templates/a.yaml"), "{e}");
        assert!(e.contains("ConfigMap/x"), "{e}");
        assert!(e.contains("werf.io/weight"), "{e}");
        assert!(e.contains("hint"), "{e}");
        for bad in [
            "    werf.io/deploy-on: sometimes\n",
            "    werf.io/deploy-dependency-a: name=x\n",
            "    werf.io/deploy-dependency-a: state=maybe\n",
            "    werf.io/fail-mode: Panic\n",
            "    werf.io/no-activity-timeout: soon\n",
            "    werf.io/log-regex: \"(\"\n",
            "    x.external-dependency.werf.io/resource: deployment\n",
            "    werf.io/resource-policy: never\n",
        ] {
            assert!(one(bad, "ConfigMap").is_err(), "{bad}");
        }
    }

    #[test]
    fn dependency_matching() {
        let rs = parse_resources(
            &[(
                "c/templates/a.yaml".into(),
                "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\n".into(),
            )],
            &[],
            &ManifestOptions {
                release_namespace: "ns",
                extra_annotations: &[],
                extra_labels: &[],
            },
        )
        .unwrap();
        let mut d = Dependency {
            id: "a".into(),
            state: DependencyState::Ready,
            name: Some("db".into()),
            namespace: None,
            kind: Some("statefulset".into()),
            group: Some("apps".into()),
            version: None,
        };
        assert!(d.matches(&rs[0], "ns"));
        d.namespace = Some("ns".into());
        assert!(d.matches(&rs[0], "ns"));
        d.group = Some("batch".into());
        assert!(!d.matches(&rs[0], "ns"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("4m"), Some(Duration::from_secs(240)));
        assert_eq!(parse_go_duration("1h1s"), Some(Duration::from_secs(3601)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("20"), Some(Duration::from_secs(20)));
        assert_eq!(parse_go_duration("4x"), None);
        assert_eq!(parse_go_duration(""), None);
    }
}
