//! The registry client against the three real registries of
//! `scripts/testenv` (anonymous, htpasswd basic auth, bearer tokens from a
//! real token server). `scripts/test` starts them; running this test alone
//! needs `scripts/testenv up` and `eval "$(scripts/testenv env)"` first.

use std::path::Path;

use davit_registry::{Credentials, RegistryClient, RegistryError, RegistryOptions};

struct Env {
    anon: String,
    basic: String,
    token: String,
    user: String,
    password: String,
}

fn env() -> Env {
    let get = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("{k} is not set: run `scripts/testenv up` and `eval \"$(scripts/testenv env)\"` (scripts/test does this)")
        })
    };
    Env {
        anon: get("DAVIT_TEST_REGISTRY_ANON"),
        basic: get("DAVIT_TEST_REGISTRY_BASIC"),
        token: get("DAVIT_TEST_REGISTRY_TOKEN"),
        user: get("DAVIT_TEST_REGISTRY_USER"),
        password: get("DAVIT_TEST_REGISTRY_PASSWORD"),
    }
}

fn docker_config(dir: &Path, json: &str) -> Credentials {
    std::fs::write(dir.join("config.json"), json).expect("write config.json");
    Credentials::from_dir(dir).expect("read config.json")
}

fn auths(host: &str, user: &str, password: &str) -> String {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#)
}

/// Copies the base image's manifest to a new tag, checks it, lists it,
/// deletes it: every manifest and tag operation on one registry.
async fn roundtrip(client: &RegistryClient, host: &str, tag: &str) {
    let (desc, body) = client
        .manifest_get(host, "davit/busybox", "local")
        .await
        .expect("get the base image manifest")
        .expect("the base image is in the registry");
    assert!(desc.digest.starts_with("sha256:"));
    let put = client
        .manifest_put(host, "davit/busybox", tag, &desc.media_type, body.clone())
        .await
        .expect("put under a new tag");
    assert_eq!(put.digest, desc.digest);
    let head = client
        .manifest_head(host, "davit/busybox", tag)
        .await
        .expect("head")
        .expect("the new tag exists");
    assert_eq!(head.digest, desc.digest);
    let tags = client.tags(host, "davit/busybox").await.expect("list tags");
    assert!(
        tags.iter().any(|t| t == tag) && tags.iter().any(|t| t == "local"),
        "{tags:?}"
    );
    assert!(client
        .manifest_head(host, "davit/busybox", "no-such-tag")
        .await
        .expect("head")
        .is_none());
    assert!(client
        .tags(host, "no/such-repo")
        .await
        .expect("tags of a missing repo")
        .is_empty());
    // Deleting by digest removes every tag of that manifest, so delete a copy
    // with a distinct digest: the same manifest with trailing whitespace,
    // as much as the tag is long, so that two roundtrips on one registry
    // (token and OAuth2) never delete each other's copy.
    let mut copy = body;
    copy.extend(std::iter::repeat_n(b' ', tag.len()));
    copy.push(b'\n');
    let copy_desc = client
        .manifest_put(
            host,
            "davit/busybox",
            &format!("{tag}-copy"),
            &desc.media_type,
            copy,
        )
        .await
        .expect("put a copy");
    assert_ne!(copy_desc.digest, desc.digest);
    assert!(client
        .manifest_delete(host, "davit/busybox", &copy_desc.digest)
        .await
        .expect("delete"));
    assert!(!client
        .manifest_delete(host, "davit/busybox", &copy_desc.digest)
        .await
        .expect("a second delete finds nothing"));
    assert!(client
        .manifest_head(host, "davit/busybox", &format!("{tag}-copy"))
        .await
        .expect("head")
        .is_none());
    assert!(client
        .manifest_head(host, "davit/busybox", "local")
        .await
        .expect("head")
        .is_some());
}

#[tokio::test]
async fn anonymous_registry() {
    let e = env();
    let dir = tempfile::tempdir().expect("tempdir");
    let client = RegistryClient::new(docker_config(dir.path(), "{}"), RegistryOptions::default())
        .expect("client");
    roundtrip(&client, &e.anon, "anon-roundtrip").await;
}

#[tokio::test]
async fn basic_auth_from_docker_config() {
    let e = env();
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = docker_config(dir.path(), &auths(&e.basic, &e.user, &e.password));
    let client = RegistryClient::new(creds, RegistryOptions::default()).expect("client");
    roundtrip(&client, &e.basic, "basic-roundtrip").await;
}

#[tokio::test]
async fn bearer_token_from_a_credential_helper() {
    let e = env();
    let dir = tempfile::tempdir().expect("tempdir");
    // A real docker-credential helper on PATH, answering for the token registry.
    let helper = dir.path().join("docker-credential-davittest");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\nread host\necho '{{\"ServerURL\":\"'$host'\",\"Username\":\"{}\",\"Secret\":\"{}\"}}'\n", e.user, e.password),
    )
    .expect("write helper");
    std::process::Command::new("chmod")
        .arg("+x")
        .arg(&helper)
        .status()
        .expect("chmod");
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::env::set_var("PATH", path);
    let creds = docker_config(
        dir.path(),
        &format!(r#"{{"credHelpers":{{"{}":"davittest"}}}}"#, e.token),
    );
    let client = RegistryClient::new(creds, RegistryOptions::default()).expect("client");
    roundtrip(&client, &e.token, "token-roundtrip").await;
}

/// An identity token (`docker login` for OAuth2 registries stores it as
/// `identitytoken`) is exchanged with the OAuth2 form POST; a wrong one is
/// refused without showing it.
#[tokio::test]
async fn identity_tokens_use_the_oauth2_refresh_flow() {
    let e = env();
    let refresh = std::env::var("DAVIT_TEST_REGISTRY_REFRESH_TOKEN")
        .expect("DAVIT_TEST_REGISTRY_REFRESH_TOKEN: run `scripts/testenv up`");
    let config = |token: &str| {
        format!(
            r#"{{"auths":{{"{}":{{"identitytoken":"{token}"}}}}}}"#,
            e.token
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let client = RegistryClient::new(
        docker_config(dir.path(), &config(&refresh)),
        RegistryOptions::default(),
    )
    .expect("client");
    roundtrip(&client, &e.token, "oauth2-roundtrip").await;

    let bad = tempfile::tempdir().expect("tempdir");
    let client = RegistryClient::new(
        docker_config(bad.path(), &config("not-the-refresh-token")),
        RegistryOptions::default(),
    )
    .expect("client");
    let msg = client
        .manifest_head(&e.token, "davit/busybox", "local")
        .await
        .expect_err("a wrong identity token fails")
        .to_string();
    assert!(msg.contains("tried bearer token"), "{msg}");
    assert!(!msg.contains("not-the-refresh-token"), "{msg}");
}

#[tokio::test]
async fn refused_credentials_name_host_method_and_source_but_not_the_secret() {
    let e = env();
    for host in [&e.basic, &e.token] {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = docker_config(dir.path(), &auths(host, &e.user, "wrong-secret-value"));
        let client = RegistryClient::new(creds, RegistryOptions::default()).expect("client");
        let err = client
            .manifest_head(host, "davit/busybox", "local")
            .await
            .expect_err("wrong password must fail");
        let msg = err.to_string();
        assert!(matches!(err, RegistryError::Unauthorized { .. }), "{msg}");
        assert!(
            msg.starts_with(&format!(
                "{host}: checking davit/busybox:local: authentication failed"
            )),
            "{msg}"
        );
        assert!(
            msg.contains(if host == &e.basic {
                "tried basic"
            } else {
                "tried bearer token"
            }),
            "{msg}"
        );
        assert!(
            msg.contains(&format!(
                "{}/config.json (auths.{host})",
                dir.path().display()
            )),
            "{msg}"
        );
        assert!(!msg.contains("wrong-secret-value"), "{msg}");
        // No credentials at all says so.
        let empty = tempfile::tempdir().expect("tempdir");
        let client = RegistryClient::new(
            docker_config(empty.path(), "{}"),
            RegistryOptions::default(),
        )
        .expect("client");
        let msg = client
            .manifest_head(host, "davit/busybox", "local")
            .await
            .expect_err("no credentials")
            .to_string();
        assert!(msg.contains("no credentials found for this host"), "{msg}");
    }
}

/// An image copied between two registries (different hosts, so no mount):
/// its layer goes across in several chunks and arrives intact; the tag is
/// written last.
#[tokio::test]
async fn images_are_streamed_between_registries_in_chunks() {
    let e = env();
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = docker_config(dir.path(), &auths(&e.basic, &e.user, &e.password));
    let options = RegistryOptions {
        chunk_size: 256 << 10,
        ..RegistryOptions::default()
    };
    let client = RegistryClient::new(creds, options).expect("client");
    let (_, body) = client
        .manifest_get(&e.anon, "davit/busybox", "local")
        .await
        .expect("manifest")
        .expect("base image");
    let manifest: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let layer = manifest["layers"][0]["digest"].as_str().expect("layer");
    let size = manifest["layers"][0]["size"].as_u64().expect("size");
    assert!(
        size > 2 * (256 << 10),
        "the layer spans chunks: {size} bytes"
    );
    let target = format!("davit-test/streamed-{}", std::process::id());
    let digest = client
        .copy_image((&e.anon, "davit/busybox"), (&e.basic, &target), "local")
        .await
        .expect("copy");
    let copied = client
        .blob_get(&e.basic, &target, layer)
        .await
        .expect("read back")
        .expect("the layer arrived");
    assert_eq!(copied.len() as u64, size);
    let head = client
        .manifest_head(&e.basic, &target, "local")
        .await
        .expect("head")
        .expect("tagged");
    assert_eq!(head.digest, digest);
    // A blob the source does not have is reported, not invented.
    let missing = format!("sha256:{}", "0".repeat(64));
    assert!(!client
        .blob_copy_streamed((&e.anon, "davit/busybox"), (&e.basic, &target), &missing)
        .await
        .expect("a missing blob is not an error of the transfer"));
}
