//! Helm's release history in the release namespace: Secrets labelled
//! `owner=helm,name=<release>`, read and written as Helm does.

use std::collections::BTreeMap;

use davit_release::{Release, SECRET_TYPE};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::ByteString;
use kube::api::{Api, DeleteParams, ListParams, PostParams};

use crate::{Cluster, KubeError};

impl Cluster {
    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Every revision of `release`, oldest first.
    pub async fn release_history(
        &self,
        namespace: &str,
        release: &str,
    ) -> Result<Vec<Release>, KubeError> {
        let list = self
            .secrets(namespace)
            .list(&ListParams::default().labels(&format!("owner=helm,name={release}")))
            .await
            .map_err(|e| KubeError::Api {
                operation: "listing the history of release",
                what: format!("{release} in namespace {namespace}"),
                message: e.to_string(),
            })?;
        let mut out = Vec::new();
        for s in list.items {
            let name = s.metadata.name.clone().unwrap_or_default();
            let Some(field) = s.data.as_ref().and_then(|d| d.get("release")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&field.0).into_owned();
            let mut release = Release::decode(&name, &text)?;
            release.storage_labels = s
                .metadata
                .labels
                .iter()
                .flatten()
                .filter(|(k, _)| !davit_release::SYSTEM_LABELS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            out.push(release);
        }
        out.sort_by_key(|r| r.version);
        Ok(out)
    }

    /// Writes (creates or replaces) a revision's Secret.
    pub async fn write_release(&self, release: &Release) -> Result<(), KubeError> {
        let api = self.secrets(&release.namespace);
        let name = release.secret_name();
        let labels: BTreeMap<String, String> = release.labels().into_iter().collect();
        let mut data = BTreeMap::new();
        data.insert(
            "release".to_string(),
            ByteString(release.encode().into_bytes()),
        );
        let mut secret = Secret {
            type_: Some(SECRET_TYPE.into()),
            data: Some(data),
            ..Default::default()
        };
        secret.metadata.name = Some(name.clone());
        secret.metadata.labels = Some(labels);
        let err = |operation: &'static str| {
            let name = name.clone();
            move |e: kube::Error| KubeError::Api {
                operation,
                what: format!("release record {name}"),
                message: e.to_string(),
            }
        };
        match api.get_opt(&name).await.map_err(err("reading"))? {
            Some(existing) => {
                secret.metadata.resource_version = existing.metadata.resource_version;
                api.replace(&name, &PostParams::default(), &secret)
                    .await
                    .map_err(err("replacing"))?;
            }
            None => {
                api.create(&PostParams::default(), &secret)
                    .await
                    .map_err(err("creating"))?;
            }
        }
        Ok(())
    }

    pub async fn delete_release(
        &self,
        namespace: &str,
        release: &str,
        version: i64,
    ) -> Result<(), KubeError> {
        let name = davit_release::secret_name(release, version);
        match self
            .secrets(namespace)
            .delete(&name, &DeleteParams::default())
            .await
        {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(KubeError::Api {
                operation: "deleting",
                what: format!("release record {name}"),
                message: e.to_string(),
            }),
        }
    }
}
