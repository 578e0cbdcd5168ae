//! `davit ci-env` with a real registry: the temporary DOCKER_CONFIG logs
//! into the token-auth test registry with GitLab's job token, a build
//! pushes through it, a wrong token fails the login, and the user's own
//! docker config is never modified.

mod build_common;

use std::process::{Command, Output};

use build_common::{project, unique};
use davit_testkit::fixtures::testenv as env;

/// `davit ci-env ARGS` with only these variables (as the werf vectors run
/// it), in `dir`.
fn ci_env(
    dir: &std::path::Path,
    home: &std::path::Path,
    vars: &[(&str, &str)],
    args: &[&str],
) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_davit"));
    c.arg("ci-env").args(args).current_dir(dir).env_clear();
    c.env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("DOCKER_HOST", env("DOCKER_HOST"));
    for (k, v) in vars {
        c.env(k, v);
    }
    c.output().expect("run davit ci-env")
}

fn gitlab_vars<'a>(image: &'a str, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("GITLAB_CI", "true"),
        ("CI", "true"),
        ("CI_REGISTRY", image.split('/').next().unwrap_or_default()),
        ("CI_REGISTRY_IMAGE", image),
        ("CI_JOB_TOKEN", token),
        ("CI_COMMIT_SHA", "0123456789012345678901234567890123456789"),
    ]
}

fn docker_config_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("export DOCKER_CONFIG=\""))
        .and_then(|v| v.strip_suffix('"'))
        .expect("DOCKER_CONFIG line")
        .to_string()
}

#[test]
fn the_temporary_docker_config_logs_into_the_token_registry() {
    let p = project();
    let home = tempfile::tempdir().expect("home");
    let user_config = home.path().join(".docker/config.json");
    std::fs::create_dir_all(user_config.parent().expect("parent")).expect("mkdir");
    let original = r#"{"auths":{"other.example.com":{"auth":"b3RoZXI6ZmFrZQ=="}}}"#;
    std::fs::write(&user_config, original).expect("write user config");
    let registry = env("DAVIT_TEST_REGISTRY_TOKEN");
    let image = format!("{registry}/{}", unique("ci-env"));
    let token = env("DAVIT_TEST_GITLAB_JOB_TOKEN");

    let out = ci_env(
        &p.dir,
        home.path(),
        &gitlab_vars(&image, &token),
        &["gitlab"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("export WERF_REPO=\"{image}\"")),
        "{stdout}"
    );
    let dc = docker_config_of(&stdout);
    let written: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{dc}/config.json")).expect("temporary config"),
    )
    .expect("json");
    assert!(
        written["auths"][registry.as_str()]["auth"].is_string(),
        "{written}"
    );
    assert!(
        written["auths"]["other.example.com"].is_object(),
        "the user's auths are copied"
    );
    assert_eq!(
        std::fs::read_to_string(&user_config).expect("user config"),
        original,
        "the user's own docker config is never modified"
    );

    // A build pushes into the token registry with nothing but that config.
    let build = build_common::davit(
        &p.dir,
        &["build", "--repo", &image],
        &[("DOCKER_CONFIG", dc.as_str())],
    );
    build_common::ok(&build);

    // A wrong token fails the login, and the token is not printed.
    let out = ci_env(
        &p.dir,
        home.path(),
        &gitlab_vars(&image, "wrong-job-token"),
        &["gitlab"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "Error: unable to login into docker repo/registry {registry}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-job-token"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn without_an_argument_the_ci_system_is_detected() {
    let p = project();
    let home = tempfile::tempdir().expect("home");
    let vars = [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REPOSITORY", "Acme/Shop"),
        ("GITHUB_SHA", "0123456789012345678901234567890123456789"),
    ];
    let out = ci_env(&p.dir, home.path(), &vars, &["--as-env-file"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let text = std::fs::read_to_string(&path).expect("env file");
    assert!(
        text.contains(&format!("WERF_REPO=ghcr.io/acme/shop/{}\n", p.project)),
        "{text}"
    );
    let out = ci_env(&p.dir, home.path(), &[], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no CI system detected"));
}
