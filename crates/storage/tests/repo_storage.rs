//! Stages storage in real registries (anonymous, basic auth, token auth)
//! from `scripts/testenv`: lookup by digest, optimistic publish under the
//! host lock, concurrent publishers, credential errors.

use std::path::Path;
use std::sync::Arc;

use davit_digest::hash::h3;
use davit_engine::{BuildRequest, DockerEngine};
use davit_registry::{Credentials, RegistryClient, RegistryOptions};
use davit_storage::{Published, RepoStorage, StorageError};
use davit_testkit::fixtures::testenv as env;

fn credentials(dir: &Path, host: &str, user: &str, password: &str) -> Credentials {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .expect("write config.json");
    Credentials::from_dir(dir).expect("read config.json")
}

/// A digest no earlier run has used.
fn fresh_digest(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    h3(&[label, &nanos.to_string(), &std::process::id().to_string()])
}

/// A small locally built image to publish.
async fn local_image(engine: &DockerEngine, name: &str) -> String {
    let dockerfile = format!(
        "FROM {}\nRUN echo {name} > /stage\n",
        env("DAVIT_TEST_BASE_IMAGE")
    );
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    tar.append_data(&mut header, "Dockerfile", dockerfile.as_bytes())
        .expect("tar");
    let tag = format!("davit-test/storage:{name}");
    engine
        .build(
            BuildRequest::classic(tar.into_inner().expect("tar"), &tag),
            |_| {},
        )
        .await
        .expect("build the local image");
    tag
}

fn storage(address: &str, creds: Credentials, locks: &Path) -> RepoStorage {
    let client = RegistryClient::new(creds.clone(), RegistryOptions::default()).expect("client");
    RepoStorage::new(address, Arc::new(client), creds, locks.to_path_buf()).expect("storage")
}

/// Publish, find, publish again: the second publish reuses the first stage.
async fn publish_and_reuse(store: &RepoStorage, engine: &DockerEngine, flavour: &str) {
    let image = local_image(engine, flavour).await;
    let digest = fresh_digest(flavour);
    assert!(store.stages(&digest, 0).await.expect("lookup").is_empty());
    let first = store
        .publish(engine, &image, "davit-test", &digest)
        .await
        .expect("publish");
    let Published::Pushed(id) = &first else {
        panic!("expected a push, got {first:?}")
    };
    assert_eq!(id.digest, digest);
    assert_eq!(
        store.stages(&digest, 0).await.expect("lookup"),
        std::slice::from_ref(id)
    );
    // A stage may not be older than its parent.
    assert!(store
        .stages(&digest, id.creation_ts + 1)
        .await
        .expect("lookup")
        .is_empty());
    let second = store
        .publish(engine, &image, "davit-test", &digest)
        .await
        .expect("publish again");
    assert_eq!(second, Published::AlreadyThere(id.clone()));
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn every_registry_flavour_stores_stages() {
    let locks = tempfile::tempdir().expect("tempdir");
    let cfg = tempfile::tempdir().expect("tempdir");
    let (user, password) = (
        env("DAVIT_TEST_REGISTRY_USER"),
        env("DAVIT_TEST_REGISTRY_PASSWORD"),
    );
    rt().block_on(async {
        let engine = DockerEngine::connect().await.expect("docker");
        let anon = env("DAVIT_TEST_REGISTRY_ANON");
        let store = storage(
            &format!("{anon}/davit-test/stages"),
            Credentials::default(),
            locks.path(),
        );
        publish_and_reuse(&store, &engine, "anonymous").await;
        for (flavour, host) in [
            ("basic", env("DAVIT_TEST_REGISTRY_BASIC")),
            ("token", env("DAVIT_TEST_REGISTRY_TOKEN")),
        ] {
            let creds = credentials(cfg.path(), &host, &user, &password);
            let store = storage(&format!("{host}/davit-test/stages"), creds, locks.path());
            publish_and_reuse(&store, &engine, flavour).await;
        }
    });
}

#[test]
fn concurrent_publishers_leave_one_stage() {
    let locks = tempfile::tempdir().expect("tempdir");
    let anon = env("DAVIT_TEST_REGISTRY_ANON");
    rt().block_on(async {
        let engine = DockerEngine::connect().await.expect("docker");
        let image = local_image(&engine, "concurrent").await;
        let digest = fresh_digest("concurrent");
        let a = storage(
            &format!("{anon}/davit-test/stages"),
            Credentials::default(),
            locks.path(),
        );
        let b = storage(
            &format!("{anon}/davit-test/stages"),
            Credentials::default(),
            locks.path(),
        );
        let (ra, rb) = tokio::join!(
            a.publish(&engine, &image, "davit-test", &digest),
            b.publish(&engine, &image, "davit-test", &digest)
        );
        let (ra, rb) = (ra.expect("publisher a"), rb.expect("publisher b"));
        assert_eq!(ra.id(), rb.id(), "{ra:?} {rb:?}");
        let pushes = [&ra, &rb]
            .iter()
            .filter(|r| matches!(r, Published::Pushed(_)))
            .count();
        assert_eq!(pushes, 1, "{ra:?} {rb:?}");
        assert_eq!(a.stages(&digest, 0).await.expect("lookup").len(), 1);
    });
}

#[test]
fn refused_credentials_name_host_and_source_not_secret() {
    let locks = tempfile::tempdir().expect("tempdir");
    let cfg = tempfile::tempdir().expect("tempdir");
    let host = env("DAVIT_TEST_REGISTRY_BASIC");
    let secret = "wrong-password-0123456789";
    let creds = credentials(cfg.path(), &host, "davit", secret);
    let store = storage(&format!("{host}/davit-test/stages"), creds, locks.path());
    let err = rt()
        .block_on(store.stages(&fresh_digest("refused"), 0))
        .expect_err("wrong password");
    let msg = err.to_string();
    assert!(matches!(err, StorageError::Registry(_)), "{msg}");
    assert!(msg.contains(&host), "{msg}");
    assert!(msg.contains("config.json"), "{msg}");
    assert!(!msg.contains(secret), "{msg}");
}

#[test]
fn bad_repo_addresses_are_refused() {
    let creds = Credentials::default();
    let client =
        Arc::new(RegistryClient::new(creds.clone(), RegistryOptions::default()).expect("client"));
    for bad in [
        "app",
        "registry.example.com/",
        "registry.example.com/App",
        "reg.io/app:tag",
        "noport/app",
    ] {
        let err = RepoStorage::new(bad, client.clone(), creds.clone(), "/tmp".into())
            .err()
            .unwrap_or_else(|| panic!("{bad} must be refused"));
        assert!(err.to_string().contains("REGISTRY_HOST/PATH"), "{err}");
    }
    assert!(RepoStorage::new("localhost:5000/a/b-c", client, creds, "/tmp".into()).is_ok());
}

/// A stage tag that a killed cleanup had pointed at a manifest of its own
/// (to delete it alone) is not a stage: a build does not reuse it.
#[test]
fn a_tag_a_cleanup_was_deleting_is_no_stage() {
    let locks = tempfile::tempdir().expect("tempdir");
    rt().block_on(async {
        let engine = DockerEngine::connect().await.expect("docker");
        let anon = env("DAVIT_TEST_REGISTRY_ANON");
        let store = storage(
            &format!("{anon}/davit-test/deleting"),
            Credentials::default(),
            locks.path(),
        );
        let image = local_image(&engine, "deleting").await;
        let digest = fresh_digest("deleting");
        let Published::Pushed(id) = store
            .publish(&engine, &image, "davit-test", &digest)
            .await
            .expect("publish")
        else {
            panic!("expected a push")
        };
        assert!(store.describe(&id).await.expect("describe").is_some());
        store
            .isolate_tag("davit-test", &id.to_string())
            .await
            .expect("isolate");
        assert_eq!(store.describe(&id).await.expect("describe"), None);
    });
}
