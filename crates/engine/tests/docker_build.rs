//! Building a context archive from a real git commit with the real Docker
//! daemon of `scripts/testenv`. Needs `DOCKER_HOST` and
//! `DAVIT_TEST_BASE_IMAGE`; fails (never skips) without them.

use std::collections::BTreeMap;
use std::process::Command;

use davit_context::build_context;
use davit_engine::{BuildRequest, DockerEngine, DockerError};
use davit_git::Repo;
use davit_testkit::fixtures::{git, testenv};

fn base_image() -> String {
    testenv("DAVIT_TEST_BASE_IMAGE")
}

fn project(dockerfile: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let d = tmp.path();
    git(d, &["init", "-q"]);
    std::fs::create_dir_all(d.join("app/src")).expect("mkdir");
    std::fs::write(d.join("app/Dockerfile"), dockerfile).expect("write");
    std::fs::write(d.join("app/.dockerignore"), "*.secret\n").expect("write");
    std::fs::write(d.join("app/src/hello.txt"), "hello from git\n").expect("write");
    std::fs::write(d.join("app/token.secret"), "do not send\n").expect("write");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-qm", "init"]);
    // Only the commit counts.
    std::fs::write(d.join("app/src/hello.txt"), "edited on disk\n").expect("write");
    tmp
}

fn docker_run(image: &str, script: &str) -> String {
    let out = Command::new("docker")
        .args(["run", "--rm", image, "sh", "-c", script])
        .output()
        .expect("docker run");
    assert!(
        out.status.success(),
        "docker run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn builds_the_commit_context_with_args_and_labels() {
    let tmp = project(
        "ARG BASE\nFROM $BASE\nCOPY . /ctx\nARG GREETING=hi\nRUN echo \"$GREETING\" > /greeting\n",
    );
    let repo = Repo::discover(tmp.path()).expect("repo");
    let ctx = build_context(&repo, "app", "Dockerfile").expect("context");
    let args = BTreeMap::from([
        ("BASE".to_string(), base_image()),
        ("GREETING".to_string(), "hello davit".to_string()),
    ]);
    let labels = BTreeMap::from([("werf".to_string(), "test-project".to_string())]);
    let tag = "davit-test/docker-build:ok";
    let mut lines = Vec::new();
    let id = rt()
        .block_on(async {
            let engine = DockerEngine::connect().await?;
            let id = engine
                .build(
                    BuildRequest {
                        build_args: &args,
                        labels: &labels,
                        ..BuildRequest::classic(ctx.tar, tag)
                    },
                    |l| lines.push(l.to_string()),
                )
                .await?;
            assert_eq!(engine.image_id(tag).await?.as_deref(), Some(id.as_str()));
            let got = engine.image_labels(tag).await?;
            assert_eq!(got.get("werf").map(String::as_str), Some("test-project"));
            assert_eq!(engine.image_id("davit-test/absent:none").await?, None);
            Ok::<_, DockerError>(id)
        })
        .expect("build");
    assert!(id.starts_with("sha256:"), "{id}");
    assert!(lines.iter().any(|l| l.contains("RUN echo")), "{lines:?}");
    assert_eq!(docker_run(tag, "cat /greeting"), "hello davit\n");
    assert_eq!(
        docker_run(tag, "cat /ctx/src/hello.txt"),
        "hello from git\n"
    );
    assert_eq!(
        docker_run(tag, "ls -a /ctx | sort | tr '\\n' ' '"),
        ". .. .dockerignore Dockerfile src "
    );
}

#[test]
fn a_failing_instruction_is_reported_with_its_output() {
    let tmp = project("ARG BASE\nFROM $BASE\nRUN echo about to fail && exit 3\n");
    let repo = Repo::discover(tmp.path()).expect("repo");
    let ctx = build_context(&repo, "app", "Dockerfile").expect("context");
    let args = BTreeMap::from([("BASE".to_string(), base_image())]);
    let err = rt()
        .block_on(async {
            let engine = DockerEngine::connect().await?;
            engine
                .build(
                    BuildRequest {
                        build_args: &args,
                        ..BuildRequest::classic(ctx.tar, "davit-test/docker-build:fail")
                    },
                    |_| {},
                )
                .await
        })
        .expect_err("the build must fail");
    match &err {
        DockerError::BuildFailed { message, log_tail } => {
            assert!(message.contains("non-zero code: 3"), "{message}");
            assert!(
                log_tail.iter().any(|l| l.contains("about to fail")),
                "{log_tail:?}"
            );
        }
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn an_unreachable_daemon_gets_a_hint() {
    // A child process keeps the override away from the other tests.
    if std::env::var_os("DAVIT_CHILD_UNREACHABLE").is_some() {
        let err = rt()
            .block_on(DockerEngine::connect())
            .err()
            .expect("no daemon there");
        let msg = err.to_string();
        assert!(msg.contains("unix:///nonexistent/docker.sock"), "{msg}");
        assert!(
            msg.contains("hint: start dockerd or set DOCKER_HOST"),
            "{msg}"
        );
        return;
    }
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args([
            "--exact",
            "an_unreachable_daemon_gets_a_hint",
            "--nocapture",
        ])
        .env("DAVIT_CHILD_UNREACHABLE", "1")
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .output()
        .expect("run child");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
