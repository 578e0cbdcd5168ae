//! Cleanup and build at the same time (there is no lock between them, as
//! in werf). Each side is stopped at a known request by the contract
//! server in front of the test registry while the other side acts:
//! - a build that chooses a stage while a cleanup plans to delete it
//!   writes its `meta-*` record, and the cleanup's second look at the tags
//!   spares the stage;
//! - a stage a cleanup deletes after a build chose it is found gone by the
//!   build's check after its records, and the build runs again.
//!
//! In both, what the build reports exists afterwards.

mod build_common;
mod cleanup_common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use build_common::*;
use cleanup_common::*;
use davit_testkit::fixtures::{git, testenv, write};
use serde_json::json;

/// A project of one image that copies `hello.sh` (no dependency: its
/// stage digest does not name the repository, so a build through the
/// contract server reuses what a build of the test registry stored), with
/// a bare `origin` and `main` keeping one image.
struct Race {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    host: String,
    path: String,
    /// The stage of commit "one", the cleanup's to delete once "two" is
    /// built and pushed.
    doomed: String,
}

fn commit(dir: &std::path::Path, text: &str) {
    write(dir, "hello.sh", &format!("echo {text}\n"));
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", text]);
}

fn doomed_stage() -> Race {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("p");
    let origin = tmp.path().join("origin.git");
    std::fs::create_dir_all(&dir).unwrap();
    git(
        tmp.path(),
        &["init", "-q", "--bare", origin.to_str().unwrap()],
    );
    git(&dir, &["init", "-q", "-b", "main"]);
    let remote = format!("file://{}", origin.display());
    git(&dir, &["remote", "add", "origin", &remote]);
    let project = unique("race");
    write(
        &dir,
        "werf.yaml",
        &format!(
            "project: {project}\nconfigVersion: 1\ncleanup:\n  keepPolicies:\n  - references: {{branch: main}}\n    imagesPerReference: {{last: 1}}\n---\nimage: app\ndockerfile: Dockerfile\n"
        ),
    );
    write(
        &dir,
        "Dockerfile",
        &format!(
            "FROM {}\nCOPY hello.sh /hello.sh\n",
            testenv("DAVIT_TEST_BASE_IMAGE")
        ),
    );
    write(&dir, ".gitignore", ".werf-*.json\n");
    let host = testenv("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{project}");
    let repo = format!("{host}/{path}");
    let mut doomed = String::new();
    for text in ["one", "two"] {
        commit(&dir, text);
        ok(&davit(
            &dir,
            &["build", "--repo", &repo, "--save-build-report"],
            &[],
        ));
        git(&dir, &["push", "-q", "origin", "main"]);
        if text == "one" {
            doomed = stage_of(&report(&dir, ".werf-build-report.json"), "app");
        }
    }
    Race {
        _tmp: tmp,
        dir,
        host,
        path,
        doomed,
    }
}

fn gitlab_holding(method: &str, contains: &str) -> Contract {
    Contract::start(json!({"gitlab": {
        "users": {"deployer": {"password": "d-secret", "actions": ["pull", "push", "delete"]}},
        "hold": {"method": method, "contains": contains, "count": 1},
    }}))
}

fn spawn_davit(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_davit"));
    c.args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().expect("run davit")
}

/// Waits until the contract server holds a request (the other process is
/// stopped where the test wants it).
fn wait_held(contract: &Contract, child: &mut Child) {
    let start = Instant::now();
    while contract.stats()["gitlab"]["held"] != 1 {
        if let Some(st) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut err).unwrap();
            }
            panic!("davit ended ({st}) before reaching the held request:\n{err}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no request held in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn release(contract: &Contract, child: Child) -> Output {
    contract.admin("/_release");
    child.wait_with_output().unwrap()
}

/// Commits "one" again (not pushed): its build reuses the doomed stage.
fn commit_one_again(r: &Race) {
    commit(&r.dir, "one");
}

/// The tags of a cleanup report's deleted items.
fn deleted_tags(r: &serde_json::Value) -> Vec<String> {
    r["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["tag"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn a_stage_a_build_chooses_while_a_cleanup_plans_is_spared() {
    let r = doomed_stage();
    let (host, path, stage) = (&r.host, &r.path, &r.doomed);
    let contract = gitlab_holding("HEAD", "/manifests/");
    let facade = format!("127.0.0.1:{}", contract.port);
    let tmp = tempfile::tempdir().unwrap();
    let config = docker_config(tmp.path(), &facade, "deployer", "d-secret");
    // The cleanup stops at its first HEAD: after planning, before deleting.
    let mut cleaning = spawn_davit(
        &r.dir,
        &[
            "cleanup",
            "--repo",
            &format!("{facade}/{path}"),
            "--keep-stages-built-within-last-n-hours",
            "0",
            "--without-kube",
            "--repo-container-registry",
            "gitlab",
            "--explain",
        ],
        &[("DOCKER_CONFIG", config.to_str().unwrap())],
    );
    wait_held(&contract, &mut cleaning);
    // Meanwhile a build of a new commit chooses the doomed stage.
    commit_one_again(&r);
    let repo = format!("{host}/{path}");
    ok(&davit(
        &r.dir,
        &["build", "--repo", &repo, "--save-build-report"],
        &[],
    ));
    let built = report(&r.dir, ".werf-build-report.json");
    assert_eq!(
        &stage_of(&built, "app"),
        stage,
        "the build reused the stage"
    );
    assert!(!rebuilt(&built, "app"));

    let log = ok(&release(&contract, cleaning));
    assert!(
        log.contains(&format!("kept {stage}: used by a build during the cleanup")),
        "{log}"
    );
    let tags = registry_tags(host, path);
    assert!(
        tags.contains(stage),
        "the reported stage was deleted: {log}"
    );
    assert_no_broken_tags(host, path);
    // The next cleanup keeps it only if git does: this commit is not
    // pushed, so the stage goes then, with the build's record.
    let (_, second) = cleanup(&r.dir, &repo, &["--without-kube"], &[]);
    assert!(deleted_tags(&second).contains(stage), "{second}");
}

#[test]
fn a_stage_deleted_after_a_build_chose_it_is_built_again() {
    let r = doomed_stage();
    let (host, path, stage) = (&r.host, &r.path, &r.doomed);
    let contract = gitlab_holding("PUT", "/manifests/meta-");
    let facade = format!("127.0.0.1:{}", contract.port);
    let tmp = tempfile::tempdir().unwrap();
    let config = docker_config(tmp.path(), &facade, "deployer", "d-secret");
    commit_one_again(&r);
    // The build stops at its first `meta-*` record: it chose the stage.
    let mut build = spawn_davit(
        &r.dir,
        &[
            "build",
            "--repo",
            &format!("{facade}/{path}"),
            "--save-build-report",
        ],
        &[("DOCKER_CONFIG", config.to_str().unwrap())],
    );
    wait_held(&contract, &mut build);
    // Meanwhile a cleanup (the new commit is not pushed) deletes it.
    let repo = format!("{host}/{path}");
    let (log, first) = cleanup(&r.dir, &repo, &["--without-kube"], &[]);
    assert!(deleted_tags(&first).contains(stage), "{log}");
    assert!(!registry_tags(host, path).contains(stage));

    let out = release(&contract, build);
    let log = ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        format!("{log}{err}").contains("building again with a fresh look at the storage"),
        "{log}\n{err}"
    );
    let built = report(&r.dir, ".werf-build-report.json");
    let reported = stage_of(&built, "app");
    assert_ne!(&reported, stage, "a new stage for the same content");
    assert!(rebuilt(&built, "app"));
    assert!(registry_tags(host, path).contains(&reported));
    assert_no_broken_tags(host, path);
}
