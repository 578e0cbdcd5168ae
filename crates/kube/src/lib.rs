//! The Kubernetes cluster, for `converge` and `dismiss`, through `kube`:
//! the kubeconfig werf reads (`--kube-config`, `--kube-config-base64`,
//! `--kube-context`), discovery of every kind a chart uses, server-side
//! apply, deletion, the readiness of workloads, Helm's release Secrets and
//! werf's release lock.

pub mod images;
pub mod lock;
pub mod readiness;
pub mod releases;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams, PropagationPolicy,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};

#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("kubeconfig: {0}")]
    Config(String),
    #[error("the cluster has no kind {kind} in {api_version}: {message}\n  hint: install its CRD (a chart's crds/ folder is applied first), or check apiVersion")]
    UnknownKind {
        api_version: String,
        kind: String,
        message: String,
    },
    #[error("{operation} {what}: {message}")]
    Api {
        operation: &'static str,
        what: String,
        message: String,
    },
    #[error("{what}: field manager conflict: {message}\n  hint: another manager (kubectl, an operator) owns these fields; davit applies with force, so this is reported only when forcing is off")]
    Conflict { what: String, message: String },
    #[error("{0}")]
    Release(#[from] davit_release::ReleaseError),
    #[error("{0}")]
    Lock(String),
}

/// Which kubeconfig and context, as werf's flags say.
#[derive(Clone, Debug, Default)]
pub struct KubeOptions {
    /// `--kube-config` (`WERF_KUBE_CONFIG`, `WERF_KUBECONFIG`, `KUBECONFIG`).
    pub kubeconfig: Option<PathBuf>,
    /// `--kube-config-base64` (`WERF_KUBE_CONFIG_BASE64`).
    pub kubeconfig_base64: Option<String>,
    /// `--kube-context` (`WERF_KUBE_CONTEXT`).
    pub context: Option<String>,
}

/// A connected cluster with a discovery cache.
pub struct Cluster {
    pub client: kube::Client,
    kinds: Mutex<HashMap<(String, String), (ApiResource, bool)>>,
}

/// What identifies a resource.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ResourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(
                f,
                "{}/{} (namespace {})",
                self.kind, self.name, self.namespace
            )
        }
    }
}

fn api_err(operation: &'static str, what: impl ToString) -> impl FnOnce(kube::Error) -> KubeError {
    let what = what.to_string();
    move |e| KubeError::Api {
        operation,
        what,
        message: e.to_string(),
    }
}

impl Cluster {
    pub async fn connect(options: &KubeOptions) -> Result<Cluster, KubeError> {
        let cfg_err = |e: String| KubeError::Config(e);
        let kubeconfig = if let Some(b64) = &options.kubeconfig_base64 {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| cfg_err(format!("--kube-config-base64 is not base64: {e}")))?;
            let text = String::from_utf8_lossy(&raw).into_owned();
            Some(
                Kubeconfig::from_yaml(&text)
                    .map_err(|e| cfg_err(format!("--kube-config-base64: {e}")))?,
            )
        } else if let Some(path) = &options.kubeconfig {
            Some(
                Kubeconfig::read_from(path)
                    .map_err(|e| cfg_err(format!("{}: {e}", path.display())))?,
            )
        } else {
            None
        };
        let opts = KubeConfigOptions {
            context: options.context.clone(),
            ..Default::default()
        };
        let config = match kubeconfig {
            Some(k) => kube::Config::from_custom_kubeconfig(k, &opts)
                .await
                .map_err(|e| cfg_err(e.to_string()))?,
            None => kube::Config::from_kubeconfig(&opts)
                .await
                .map_err(|e| cfg_err(format!("{e} (set --kube-config or KUBECONFIG)")))?,
        };
        let client = kube::Client::try_from(config).map_err(|e| cfg_err(e.to_string()))?;
        Ok(Cluster {
            client,
            kinds: Mutex::new(HashMap::new()),
        })
    }

    /// The API resource of a kind, and whether it is namespaced.
    pub async fn resolve(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<(ApiResource, bool), KubeError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.lock().expect("discovery cache").get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (ar, caps): (ApiResource, ApiCapabilities) =
            kube::discovery::pinned_kind(&self.client, &gvk)
                .await
                .map_err(|e| KubeError::UnknownKind {
                    api_version: api_version.to_string(),
                    kind: kind.to_string(),
                    message: e.to_string(),
                })?;
        let namespaced = caps.scope == Scope::Namespaced;
        self.kinds
            .lock()
            .expect("discovery cache")
            .insert(key, (ar.clone(), namespaced));
        Ok((ar, namespaced))
    }

    /// Forgets discovered kinds (after CRDs are installed).
    pub fn forget_kinds(&self) {
        self.kinds.lock().expect("discovery cache").clear();
    }

    async fn api(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
    ) -> Result<(Api<DynamicObject>, bool), KubeError> {
        let (ar, namespaced) = self.resolve(api_version, kind).await?;
        // A namespaced kind with no namespace: every namespace's objects.
        let api = if namespaced && !namespace.is_empty() {
            Api::namespaced_with(self.client.clone(), namespace, &ar)
        } else {
            Api::all_with(self.client.clone(), &ar)
        };
        Ok((api, namespaced))
    }

    /// Whether a kind is namespaced (cluster-scoped kinds take no namespace).
    pub async fn is_namespaced(&self, api_version: &str, kind: &str) -> Result<bool, KubeError> {
        Ok(self.resolve(api_version, kind).await?.1)
    }

    /// Server-side apply of `object` (forced: davit owns what the chart says).
    pub async fn apply(
        &self,
        object: &serde_json::Value,
        namespace: &str,
        field_manager: &str,
    ) -> Result<DynamicObject, KubeError> {
        let id = id_of(object, namespace);
        let (api, _) = self.api(&id.api_version, &id.kind, &id.namespace).await?;
        let params = PatchParams::apply(field_manager).force();
        api.patch(&id.name, &params, &Patch::Apply(object))
            .await
            .map_err(|e| match &e {
                kube::Error::Api(s) if s.code == 409 => KubeError::Conflict {
                    what: id.to_string(),
                    message: s.message.clone(),
                },
                _ => KubeError::Api {
                    operation: "applying",
                    what: id.to_string(),
                    message: e.to_string(),
                },
            })
    }

    /// What a server-side apply of `object` would make of it (`dryRun=All`),
    /// without changing anything: for `davit plan`.
    pub async fn dry_run_apply(
        &self,
        object: &serde_json::Value,
        namespace: &str,
        field_manager: &str,
    ) -> Result<serde_json::Value, KubeError> {
        let id = id_of(object, namespace);
        let (api, _) = self.api(&id.api_version, &id.kind, &id.namespace).await?;
        let params = PatchParams::apply(field_manager).force().dry_run();
        let o = api
            .patch(&id.name, &params, &Patch::Apply(object))
            .await
            .map_err(api_err("planning", &id))?;
        Ok(with_kind(
            serde_json::to_value(o).unwrap_or_default(),
            &id.kind,
        ))
    }

    /// The apiVersion, kind and scope that a resource type names as werf's
    /// external dependencies write it: `type[.version.group]`, the type
    /// being a kind, its plural or its singular in any case
    /// (`deployment`, `Deployments.v1.apps`, `secret`).
    pub async fn resolve_type(&self, text: &str) -> Result<(String, String, bool), KubeError> {
        let (name, rest) = match text.split_once('.') {
            Some((n, r)) => (n.to_lowercase(), Some(r.to_string())),
            None => (text.to_lowercase(), None),
        };
        let (version, group) = match rest.as_deref().map(|r| r.split_once('.')) {
            None => (None, None),
            Some(Some((v, g))) => (Some(v.to_string()), Some(g.to_string())),
            Some(None) => (None, rest.clone()),
        };
        let discovery = kube::discovery::Discovery::new(self.client.clone())
            .run()
            .await
            .map_err(api_err("discovering the API of", text))?;
        for g in discovery.groups() {
            if group.as_deref().is_some_and(|want| g.name() != want) {
                continue;
            }
            for (ar, caps) in g.recommended_resources() {
                let versions_ok = version.as_deref().is_none_or(|v| ar.version == v);
                if versions_ok && (name == ar.kind.to_lowercase() || name == ar.plural) {
                    return Ok((
                        ar.api_version.clone(),
                        ar.kind.clone(),
                        caps.scope == Scope::Namespaced,
                    ));
                }
            }
        }
        Err(KubeError::UnknownKind {
            api_version: rest.unwrap_or_default(),
            kind: text.to_string(),
            message: "no resource type of that name".into(),
        })
    }

    /// The object as JSON, `kind` filled in (the API may omit it).
    pub async fn get(&self, id: &ResourceId) -> Result<Option<serde_json::Value>, KubeError> {
        let (api, _) = self.api(&id.api_version, &id.kind, &id.namespace).await?;
        let found = api
            .get_opt(&id.name)
            .await
            .map_err(api_err("reading", id))?;
        Ok(found.map(|o| with_kind(serde_json::to_value(o).unwrap_or_default(), &id.kind)))
    }

    /// The identity of a manifest in this cluster: its namespace defaulted
    /// to `namespace` for namespaced kinds, empty for cluster-scoped ones.
    pub async fn id_for(
        &self,
        object: &serde_json::Value,
        namespace: &str,
    ) -> Result<ResourceId, KubeError> {
        let mut id = id_of(object, namespace);
        if !self.is_namespaced(&id.api_version, &id.kind).await? {
            id.namespace.clear();
        }
        Ok(id)
    }

    /// Deletes a resource; false when it was already gone.
    pub async fn delete(
        &self,
        id: &ResourceId,
        propagation: Propagation,
    ) -> Result<bool, KubeError> {
        let (api, _) = match self.api(&id.api_version, &id.kind, &id.namespace).await {
            Ok(a) => a,
            // A kind the cluster no longer has: nothing of it is left.
            Err(KubeError::UnknownKind { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let params = DeleteParams {
            propagation_policy: Some(match propagation {
                Propagation::Foreground => PropagationPolicy::Foreground,
                Propagation::Background => PropagationPolicy::Background,
                Propagation::Orphan => PropagationPolicy::Orphan,
            }),
            ..Default::default()
        };
        match api.delete(&id.name, &params).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
            Err(e) => Err(api_err("deleting", id)(e)),
        }
    }

    /// Waits until a deleted resource is gone (finalizers, foreground
    /// deletion), up to `timeout`.
    pub async fn wait_gone(
        &self,
        id: &ResourceId,
        timeout: std::time::Duration,
    ) -> Result<bool, KubeError> {
        let start = std::time::Instant::now();
        loop {
            if self.get(id).await?.is_none() {
                return Ok(true);
            }
            if start.elapsed() > timeout {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    }

    /// Creates the namespace unless it exists.
    pub async fn ensure_namespace(&self, name: &str) -> Result<bool, KubeError> {
        use k8s_openapi::api::core::v1::Namespace;
        let api: Api<Namespace> = Api::all(self.client.clone());
        if api
            .get_opt(name)
            .await
            .map_err(api_err("reading namespace", name))?
            .is_some()
        {
            return Ok(false);
        }
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
        }))
        .expect("a namespace object");
        match api.create(&PostParams::default(), &ns).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(api_err("creating namespace", name)(e)),
        }
    }
}

/// `werf.io/delete-propagation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Foreground,
    Background,
    Orphan,
}

impl std::str::FromStr for Propagation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "Foreground" => Ok(Propagation::Foreground),
            "Background" => Ok(Propagation::Background),
            "Orphan" => Ok(Propagation::Orphan),
            other => Err(format!(
                "unknown delete propagation {other:?} (Foreground, Background or Orphan)"
            )),
        }
    }
}

/// `DynamicObject` serialises without `kind` when the API omitted it.
fn with_kind(mut v: serde_json::Value, kind: &str) -> serde_json::Value {
    if v["kind"].as_str().unwrap_or("").is_empty() {
        v["kind"] = serde_json::json!(kind);
    }
    v
}

/// The identity of a manifest, its namespace defaulted to `namespace`.
pub fn id_of(object: &serde_json::Value, namespace: &str) -> ResourceId {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("").to_string();
    let ns = s(&object["metadata"]["namespace"]);
    ResourceId {
        api_version: s(&object["apiVersion"]),
        kind: s(&object["kind"]),
        namespace: if ns.is_empty() {
            namespace.to_string()
        } else {
            ns
        },
        name: s(&object["metadata"]["name"]),
    }
}

impl Cluster {
    /// Objects of a kind in a namespace as JSON, optionally by label
    /// selector (untyped: big typed structs such as `Pod` would cost the
    /// binary several megabytes of deserialisation code).
    pub async fn list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        labels: Option<&str>,
    ) -> Result<Vec<serde_json::Value>, KubeError> {
        let (api, _) = self.api(api_version, kind, namespace).await?;
        let mut params = kube::api::ListParams::default();
        if let Some(l) = labels {
            params = params.labels(l);
        }
        let list = api
            .list(&params)
            .await
            .map_err(api_err("listing", format!("{kind} in {namespace}")))?;
        Ok(list
            .items
            .into_iter()
            .map(|o| with_kind(serde_json::to_value(o).unwrap_or_default(), kind))
            .collect())
    }

    /// The last `tail` lines of a pod's log, of one container or the
    /// default one (`None` when there are none).
    pub async fn pod_logs(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
        tail: u32,
    ) -> Option<String> {
        let container = container
            .map(|c| format!("&container={c}"))
            .unwrap_or_default();
        let req = http::Request::get(format!(
            "/api/v1/namespaces/{namespace}/pods/{pod}/log?tailLines={tail}{container}"
        ))
        .body(Vec::new())
        .ok()?;
        self.client.request_text(req).await.ok()
    }
}
