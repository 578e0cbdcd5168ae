//! `davit cleanup` through the registry vendors' own APIs, against the
//! HTTP contract server `tests/contract/registry_vendors.py` (GitHub
//! Packages, Docker Hub, GitLab's registry), which answers as their
//! documentation says over the real test registry that holds the images.
//! Each run must leave exactly the tags the dry run said it would, page
//! through lists, wait out rate limits, and stop at the first deletion the
//! credentials are refused, reporting what it really deleted.

mod build_common;
mod cleanup_common;

use std::collections::BTreeSet;

use build_common::*;
use cleanup_common::*;
use serde_json::json;

#[test]
fn github_packages_versions_are_paged_rate_limits_waited_out_and_kept_tags_survive() {
    let s = scene();
    let owner = s.path.split('/').next().unwrap().to_string();
    let contract = Contract::start(json!({"github": {
        "owners": {owner.clone(): "Organization"},
        "tokens": {"full": {"login": "someone", "scopes": ["read:packages", "delete:packages"]}},
        "rate_limit_every": 5,
    }}));
    // More than a page of versions: 100 a page.
    contract.seed(&s.path, "keep-", 120);
    let before = s.tags();
    let planned = s.planned(&before);

    let out = run(
        &s,
        &[
            "--repo-container-registry",
            "github",
            "--repo-github-token",
            "full",
        ],
        &[("DAVIT_GITHUB_API_URL", &contract.url("/github"))],
    );
    let log = ok(&out);
    assert!(!log.contains("full"), "the token reached the log:\n{log}");
    assert!(log.contains("github registry's API"), "{log}");
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}");
    let st = &contract.stats()["github"];
    assert!(st["pages"].as_u64().unwrap() >= 2, "paged: {st}");
    assert!(st["rate_limited"].as_u64().unwrap() >= 1, "{st}");
    assert!(log.contains("rate-limited answers waited out"), "{log}");
    // The alias was given a version of its own before its deletion: the
    // kept stage's version was never deleted.
    for v in st["deleted_versions"].as_array().unwrap() {
        assert!(
            !v.as_array().unwrap().contains(&json!(s.kept_app)),
            "a version with a kept tag was deleted: {v}"
        );
    }
}

#[test]
fn a_github_token_without_delete_rights_stops_at_the_first_refusal_and_a_rerun_finishes() {
    let s = scene();
    let user = s.path.split('/').next().unwrap().to_string();
    let contract = Contract::start(json!({"github": {
        "owners": {user.clone(): "User"},
        "tokens": {
            "read-only": {"login": user.clone(), "scopes": ["read:packages"]},
            "revoked-after-two": {"login": user.clone(), "scopes": ["read:packages", "delete:packages"], "delete_limit": 2},
            "full": {"login": user.clone(), "scopes": ["read:packages", "delete:packages"]},
        },
    }}));
    let before = s.tags();
    let planned = s.planned(&before);
    let api = contract.url("/github");
    let env = [("DAVIT_GITHUB_API_URL", api.as_str())];
    let github = |token: &'static str| {
        vec![
            "--repo-container-registry",
            "github",
            "--parallel-tasks-limit",
            "1",
            "--repo-github-token",
            token,
        ]
    };

    let err = failed(&run(&s, &github("read-only"), &env));
    assert!(err.contains("delete:packages"), "werf's hint:\n{err}");
    assert!(err.contains("cleanup stopped"), "{err}");
    assert!(
        !err.contains("read-only"),
        "the token reached the log:\n{err}"
    );
    assert_eq!(s.tags(), before, "nothing is deleted");
    assert_eq!(
        contract.stats()["github"]["deletes"],
        1,
        "one refused deletion, then none"
    );
    let r = report(&s.p.dir, ".werf-cleanup-report.json");
    assert_eq!(r["deleted"], json!([]), "{r}");

    let out = run(&s, &github("revoked-after-two"), &env);
    assert!(!out.status.success());
    let r = report(&s.p.dir, ".werf-cleanup-report.json");
    let reported = tags_of(&r["deleted"], &before);
    let gone: BTreeSet<String> = before.difference(&s.tags()).cloned().collect();
    assert!(!reported.is_empty(), "{r}");
    assert!(
        reported.is_subset(&gone),
        "reported {reported:?}, gone {gone:?}"
    );
    assert!(
        gone.is_subset(&planned),
        "gone {gone:?}, planned {planned:?}"
    );
    let deleted_versions = contract.stats()["github"]["deleted_versions"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(deleted_versions, 2);

    // A run with the right token finishes the job.
    ok(&run(&s, &github("full"), &env));
    assert_eq!(s.tags(), expected_after(&before, &planned));
}

#[test]
fn docker_hub_deletes_tags_alone_after_a_login_and_a_wrong_password_deletes_nothing() {
    let s = scene();
    let contract = Contract::start(json!({"dockerhub": {
        "users": {"bob": {"password": "right", "can_delete": true}},
        "rate_limit_every": 3,
    }}));
    let before = s.tags();
    let planned = s.planned(&before);
    let api = contract.url("/hub");
    let env = [("DAVIT_DOCKER_HUB_API_URL", api.as_str())];
    let hub = |password: &'static str| {
        vec![
            "--repo-container-registry",
            "dockerhub",
            "--repo-docker-hub-username",
            "bob",
            "--repo-docker-hub-password",
            password,
        ]
    };

    let err = failed(&run(&s, &hub("wrong"), &env));
    assert!(err.contains("--repo-docker-hub-token"), "the hint:\n{err}");
    assert!(
        !err.contains("wrong"),
        "the password reached the log:\n{err}"
    );
    assert_eq!(s.tags(), before);

    let log = ok(&run(&s, &hub("right"), &env));
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}");
    let st = &contract.stats()["dockerhub"];
    assert!(st["rate_limited"].as_u64().unwrap() >= 1, "{st}");
    assert!(
        st["deleted_tags"]
            .as_array()
            .unwrap()
            .contains(&json!(ALIAS)),
        "{st}"
    );
}

#[test]
fn gitlab_deletes_tag_references_with_a_deployer_token_and_a_reader_is_refused() {
    let s = scene();
    let contract = Contract::start(json!({"gitlab": {
        "users": {
            "deployer": {"password": "d-secret", "actions": ["pull", "push", "delete"]},
            "reader": {"password": "r-secret", "actions": ["pull"]},
        },
        "rate_limit_every": 9,
    }}));
    let before = s.tags();
    let planned = s.planned(&before);
    let gitlab_host = format!("127.0.0.1:{}", contract.port);
    let repo = format!("{gitlab_host}/{}", s.path);
    let tmp = tempfile::tempdir().unwrap();
    let cleanup_as = |user: &str, password: &str| {
        let config = docker_config(tmp.path(), &gitlab_host, user, password);
        davit(
            &s.p.dir,
            &[
                "cleanup",
                "--repo",
                &repo,
                "--keep-stages-built-within-last-n-hours",
                "0",
                "--without-kube",
                "--repo-container-registry",
                "gitlab",
            ],
            &[("DOCKER_CONFIG", config.to_str().unwrap())],
        )
    };

    let err = failed(&cleanup_as("reader", "r-secret"));
    assert!(err.contains("cleanup stopped"), "{err}");
    assert!(
        !err.contains("r-secret"),
        "the password reached the log:\n{err}"
    );
    assert_eq!(s.tags(), before);

    let log = ok(&cleanup_as("deployer", "d-secret"));
    let st = &contract.stats()["gitlab"];
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}\n{st}");
    assert!(
        st["tag_deletes"].as_u64().unwrap() >= planned.len() as u64,
        "{st}"
    );
    assert!(st["rate_limited"].as_u64().unwrap() >= 1, "{st}");
}

#[test]
fn harbor_policy_violations_on_reads_are_waited_out() {
    let s = scene();
    let contract = Contract::start(json!({"gitlab": {
        "users": {"deployer": {"password": "d-secret", "actions": ["pull", "push", "delete"]}},
        "policy_violations": 1,
    }}));
    let before = s.tags();
    let planned = s.planned(&before);
    let harbor = format!("127.0.0.1:{}", contract.port);
    let tmp = tempfile::tempdir().unwrap();
    let config = docker_config(tmp.path(), &harbor, "deployer", "d-secret");
    let log = ok(&davit(
        &s.p.dir,
        &[
            "cleanup",
            "--repo",
            &format!("{harbor}/{}", s.path),
            "--keep-stages-built-within-last-n-hours",
            "0",
            "--without-kube",
            "--repo-container-registry",
            "harbor",
        ],
        &[("DOCKER_CONFIG", config.to_str().unwrap())],
    ));
    let st = &contract.stats()["gitlab"];
    assert_eq!(st["policy_violations"], 1, "{st}");
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}");
}

/// `davit cleanup` of `s` as an ECR repository whose API is `api`, with
/// no credentials file: `credentials` is what the run may use.
fn ecr_cleanup(s: &Scene, api: &str, credentials: &[(&str, &str)]) -> std::process::Output {
    let mut env_ = vec![
        ("DAVIT_ECR_API_URL", api),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ];
    env_.extend_from_slice(credentials);
    run(s, &["--repo-container-registry", "ecr"], &env_)
}

/// The log of a run that must have failed.
fn failed(out: &std::process::Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{err}");
    err
}

#[test]
fn ecr_deletes_tags_through_signed_batch_delete_image_and_a_denied_key_stops_at_once() {
    let s = scene();
    let contract = Contract::start(json!({"ecr": {
        "keys": {
            "AKIDDELETER": {"secret": "deleter-secret", "can_delete": true},
            "AKIDREADER": {"secret": "reader-secret", "can_delete": false},
        },
        "rate_limit_every": 4,
    }}));
    let before = s.tags();
    let planned = s.planned(&before);
    let api = contract.url("/ecr");
    let cleanup_as = |key: &str, secret: &str| {
        ecr_cleanup(
            &s,
            &api,
            &[
                ("AWS_ACCESS_KEY_ID", key),
                ("AWS_SECRET_ACCESS_KEY", secret),
            ],
        )
    };

    let err = failed(&cleanup_as("AKIDREADER", "reader-secret"));
    assert!(
        err.contains("AccessDeniedException") && err.contains("ecr:BatchDeleteImage"),
        "{err}"
    );
    assert!(!err.contains("reader-secret"), "the secret reached the log");
    assert_eq!(s.tags(), before);
    assert_eq!(contract.stats()["ecr"]["refused"], 1, "stopped at once");

    let err = failed(&cleanup_as("AKIDDELETER", "a-wrong-secret"));
    assert!(err.contains("InvalidSignatureException"), "{err}");
    assert_eq!(s.tags(), before);

    let log = ok(&cleanup_as("AKIDDELETER", "deleter-secret"));
    let st = &contract.stats()["ecr"];
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}\n{st}");
    assert!(
        st["deletes"].as_u64().unwrap() >= planned.len() as u64 - 2,
        "{st}"
    );
    assert!(st["rate_limited"].as_u64().unwrap() >= 1, "{st}");
    assert_eq!(st["bad_signatures"], 1, "only the wrong secret's: {st}");
}

#[test]
fn ecr_takes_the_runners_credentials_from_a_web_identity_the_container_endpoint_or_instance_metadata(
) {
    let s = scene();
    let contract = Contract::start(json!({
        "ecr": {"keys": {
            "ASIAINSTANCE": {"secret": "instance-secret", "session_token": "instance-session", "can_delete": true},
            "ASIATASK": {"secret": "task-secret", "session_token": "task-session", "can_delete": true},
            "ASIAIRSA": {"secret": "irsa-secret", "session_token": "irsa-session", "can_delete": true},
        }},
        "sts": {"role_arn": "arn:aws:iam::123456789012:role/ci-cleanup", "token": "oidc-jwt", "key": "ASIAIRSA"},
        "imds": {"role": "ci-runner", "key": "ASIAINSTANCE"},
        "ecs": {"authorization": "pod-identity-token", "key": "ASIATASK"},
    }));
    let api = contract.url("/ecr");
    let imds = contract.url("/imds");
    let ecs = contract.url("/ecs-credentials");
    let before = s.tags();
    let planned = s.planned(&before);
    // No keys in the environment or a file: the runner's own.
    // A container endpoint that refuses says so, naming no token.
    let err = failed(&ecr_cleanup(
        &s,
        &api,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a-wrong-token"),
        ],
    ));
    assert!(
        err.contains("container credentials endpoint") && err.contains("401"),
        "{err}"
    );
    assert!(!err.contains("a-wrong-token"), "the token reached the log");
    assert_eq!(s.tags(), before);

    // Instance metadata off, and nothing else: the usual error and hint.
    let err = failed(&ecr_cleanup(
        &s,
        &api,
        &[("AWS_EC2_METADATA_DISABLED", "true")],
    ));
    assert!(err.contains("no AWS credentials were found"), "{err}");
    assert!(
        err.contains("instance role"),
        "the hint names the runner's role: {err}"
    );

    // The task's temporary keys, session token signed.
    let log = ok(&ecr_cleanup(
        &s,
        &api,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "pod-identity-token"),
        ],
    ));
    let st = contract.stats();
    assert_eq!(st["ecr"]["refused"], 0, "{st}");
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}\n{st}");
    assert!(!log.contains("task-secret") && !log.contains("pod-identity-token"));

    // The instance role's (IMDSv2), on a second repository.
    let s = scene();
    let before = s.tags();
    let planned = s.planned(&before);
    let log = ok(&ecr_cleanup(
        &s,
        &api,
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str())],
    ));
    let st = contract.stats();
    assert!(st["imds"]["requests"].as_u64().unwrap() >= 3, "{st}");
    assert_eq!(st["ecr"]["refused"], 0, "{st}");
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}\n{st}");
    assert!(!log.contains("instance-secret") && !log.contains("instance-session"));

    // A web identity (EKS IRSA, CI OIDC) exchanged through STS; it comes
    // before the instance role, which is still offered here.
    let s = scene();
    let before = s.tags();
    let planned = s.planned(&before);
    let token_file = s.p.dir.join(".oidc-token");
    let sts = contract.url("/sts");
    let irsa = |token: &str, role: &str| {
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        ecr_cleanup(
            &s,
            &api,
            &[
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str()),
                ("AWS_ENDPOINT_URL_STS", sts.as_str()),
                ("AWS_WEB_IDENTITY_TOKEN_FILE", token_file.to_str().unwrap()),
                ("AWS_ROLE_ARN", role),
            ],
        )
    };
    let err = failed(&irsa("oidc-jwt", "arn:aws:iam::123456789012:role/another"));
    assert!(
        err.contains("AssumeRoleWithWebIdentity") && err.contains("AccessDenied"),
        "{err}"
    );
    assert!(!err.contains("oidc-jwt"), "the token reached the log");
    assert_eq!(s.tags(), before);
    let imds_before = contract.stats()["imds"]["requests"].clone();
    let log = ok(&irsa(
        "oidc-jwt",
        "arn:aws:iam::123456789012:role/ci-cleanup",
    ));
    let st = contract.stats();
    assert_eq!(
        st["imds"]["requests"], imds_before,
        "the web identity comes first"
    );
    assert_eq!(st["ecr"]["refused"], 0, "{st}");
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}\n{st}");
    assert!(!log.contains("irsa-secret") && !log.contains("oidc-jwt"));
}

#[test]
fn ecr_renews_the_runners_temporary_keys_when_they_expire_mid_run() {
    let s = scene();
    let contract = Contract::start(json!({
        "ecr": {"keys": {
            "ASIAOLD": {"secret": "old-secret", "session_token": "old-session", "can_delete": true, "expires_after": 1},
            "ASIANEW": {"secret": "new-secret", "session_token": "new-session", "can_delete": true},
        }},
        "imds": {"role": "ci-runner", "key": "ASIAOLD", "next_key": "ASIANEW"},
    }));
    let api = contract.url("/ecr");
    let imds = contract.url("/imds");
    let before = s.tags();
    let planned = s.planned(&before);
    assert!(
        planned.len() >= 3,
        "enough deletions to outlive the keys: {planned:?}"
    );
    let log = ok(&ecr_cleanup(
        &s,
        &api,
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str())],
    ));
    let st = contract.stats();
    assert!(st["ecr"]["expired"].as_u64().unwrap_or(0) >= 1, "{st}");
    assert_eq!(st["imds"]["credentials"], 2, "renewed once: {st}");
    assert_eq!(s.tags(), expected_after(&before, &planned), "{log}\n{st}");

    // Keys from the environment cannot be renewed: the run stops and says so.
    let s = scene();
    let before = s.tags();
    let contract = Contract::start(json!({"ecr": {"keys": {
        "ASIAENV": {"secret": "env-secret", "session_token": "env-session", "can_delete": true, "expires_after": 1},
    }}}));
    let api = contract.url("/ecr");
    let err = failed(&ecr_cleanup(
        &s,
        &api,
        &[
            ("AWS_ACCESS_KEY_ID", "ASIAENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-session"),
        ],
    ));
    assert!(err.contains("ExpiredTokenException"), "{err}");
    let left = s.tags();
    assert_eq!(
        before.difference(&left).count(),
        1,
        "only the deletion made before the keys expired: {err}"
    );
}
