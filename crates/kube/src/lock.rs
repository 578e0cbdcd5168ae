//! werf's release lock (spec §5.9, §6.3): lockgate's lease, an annotation
//! `lockgate.io/<sha3-224 of the lock name>` on the ConfigMap
//! `werf-synchronization` in the release namespace, holding a JSON lease
//! that expires 10 s after its last renewal. Taking the same annotation
//! with the same rules excludes werf's converges of the release as well as
//! davit's. Updates are whole-object PUTs guarded by resourceVersion.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use serde_json::json;
use sha3::Digest;

use crate::{Cluster, KubeError};

pub const CONFIG_MAP: &str = "werf-synchronization";
const TTL_SECONDS: i64 = 10;

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `lockgate.io/<hex(sha3-224(name))>`.
pub fn annotation_key(lock_name: &str) -> String {
    let digest = sha3::Sha3_224::digest(lock_name.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("lockgate.io/{hex}")
}

/// A held lock; renew it at least every few seconds, release it at the end.
#[derive(Clone, Debug)]
pub struct LockHandle {
    pub namespace: String,
    pub name: String,
    pub uuid: String,
}

fn lease(uuid: &str, name: &str) -> String {
    json!({
        "uuid": uuid,
        "lockName": name,
        "ExpireAtTimestamp": now() + TTL_SECONDS,
        "SharedHoldersCount": 1,
        "IsShared": false,
        "QueueMembers": {}
    })
    .to_string()
}

enum Attempt {
    Acquired,
    Held(String),
    Conflict,
}

impl Cluster {
    fn config_maps(&self, namespace: &str) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn lock_object(&self, namespace: &str) -> Result<ConfigMap, KubeError> {
        let api = self.config_maps(namespace);
        let err = |e: kube::Error| KubeError::Lock(format!("{namespace}/{CONFIG_MAP}: {e}"));
        if let Some(cm) = api.get_opt(CONFIG_MAP).await.map_err(err)? {
            return Ok(cm);
        }
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(CONFIG_MAP.into());
        match api.create(&PostParams::default(), &cm).await {
            Ok(cm) => Ok(cm),
            Err(kube::Error::Api(s)) if s.code == 409 => api.get(CONFIG_MAP).await.map_err(err),
            Err(e) => Err(err(e)),
        }
    }

    async fn try_lock(
        &self,
        namespace: &str,
        name: &str,
        uuid: &str,
    ) -> Result<Attempt, KubeError> {
        let key = annotation_key(name);
        let mut cm = self.lock_object(namespace).await?;
        let annotations = cm.metadata.annotations.get_or_insert_with(Default::default);
        if let Some(existing) = annotations.get(&key) {
            let v: serde_json::Value = serde_json::from_str(existing).unwrap_or_default();
            let expires = v["ExpireAtTimestamp"].as_i64().unwrap_or(0);
            let holder = v["uuid"].as_str().unwrap_or("");
            if holder != uuid && now() <= expires {
                return Ok(Attempt::Held(format!(
                    "held by another deploy (lease {holder}, expires in {} s unless renewed)",
                    expires - now()
                )));
            }
        }
        annotations.insert(key, lease(uuid, name));
        match self
            .config_maps(namespace)
            .replace(CONFIG_MAP, &PostParams::default(), &cm)
            .await
        {
            Ok(_) => Ok(Attempt::Acquired),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Attempt::Conflict),
            Err(e) => Err(KubeError::Lock(format!("{namespace}/{CONFIG_MAP}: {e}"))),
        }
    }

    /// Takes the lock `name` (werf's `release/<release>`), waiting up to
    /// `wait`; `on_wait` hears why once per wait.
    pub async fn lock(
        &self,
        namespace: &str,
        name: &str,
        wait: Duration,
        mut on_wait: impl FnMut(&str),
    ) -> Result<LockHandle, KubeError> {
        let uuid = uuid::Uuid::new_v4().to_string();
        let start = std::time::Instant::now();
        let mut told = false;
        loop {
            match self.try_lock(namespace, name, &uuid).await? {
                Attempt::Acquired => {
                    return Ok(LockHandle {
                        namespace: namespace.into(),
                        name: name.into(),
                        uuid,
                    })
                }
                Attempt::Conflict => tokio::time::sleep(Duration::from_secs(1)).await,
                Attempt::Held(why) => {
                    if start.elapsed() >= wait {
                        return Err(KubeError::Lock(format!(
                            "lock {name} in {namespace}/{CONFIG_MAP} is {why}; gave up after {} s\n  hint: another converge of this release is running; retry when it ends",
                            wait.as_secs()
                        )));
                    }
                    if !told {
                        on_wait(&why);
                        told = true;
                    }
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    }

    /// Extends the lease; an error means the lock was lost.
    pub async fn renew(&self, handle: &LockHandle) -> Result<(), KubeError> {
        for _ in 0..10 {
            match self
                .try_lock(&handle.namespace, &handle.name, &handle.uuid)
                .await?
            {
                Attempt::Acquired => return Ok(()),
                Attempt::Conflict => tokio::time::sleep(Duration::from_millis(300)).await,
                Attempt::Held(why) => {
                    return Err(KubeError::Lock(format!(
                        "lost the lock {}: {why}",
                        handle.name
                    )))
                }
            }
        }
        Err(KubeError::Lock(format!(
            "could not renew the lock {}",
            handle.name
        )))
    }

    /// Releases the lock (removes the lease if it is still ours).
    pub async fn unlock(&self, handle: &LockHandle) -> Result<(), KubeError> {
        let key = annotation_key(&handle.name);
        for _ in 0..10 {
            let mut cm = self.lock_object(&handle.namespace).await?;
            let Some(annotations) = cm.metadata.annotations.as_mut() else {
                return Ok(());
            };
            let ours = annotations
                .get(&key)
                .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
                .is_some_and(|v| v["uuid"] == handle.uuid.as_str());
            if !ours {
                return Ok(());
            }
            annotations.remove(&key);
            match self
                .config_maps(&handle.namespace)
                .replace(CONFIG_MAP, &PostParams::default(), &cm)
                .await
            {
                Ok(_) => return Ok(()),
                Err(kube::Error::Api(s)) if s.code == 409 => continue,
                Err(e) => return Err(KubeError::Lock(e.to_string())),
            }
        }
        Err(KubeError::Lock(format!(
            "could not release the lock {}",
            handle.name
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn annotation_key_is_sha3_224_hex() {
        // sha3-224("release/app"), 56 hex characters.
        let k = super::annotation_key("release/app");
        assert!(k.starts_with("lockgate.io/"));
        assert_eq!(k.len(), "lockgate.io/".len() + 56);
    }
}
