//! `davit dismiss`: the release's resources (hooks too), its records, and
//! with `--with-namespace` the namespace.

use std::time::Duration;

use davit_kube::{Cluster, KubeOptions, Propagation, ResourceId};

use super::record::ids_of_manifest;
use super::{err, runtime, Event};
use crate::OpsError;

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
    runtime()?.block_on(async {
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
        for (mut id, _, _) in docs {
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
