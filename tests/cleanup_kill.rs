//! A cleanup killed at any moment loses nothing a full run keeps, and the
//! next run finishes the job: the same tags are left as after one full
//! run, and no `meta-*` record points at a deleted stage. The repository
//! is reached through the contract server's GitLab registry, slowed down
//! so that kills land in the middle of the deletions.

mod build_common;
mod cleanup_common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use build_common::*;
use cleanup_common::*;
use serde_json::json;

#[test]
fn a_cleanup_killed_at_any_point_loses_nothing_kept_and_the_next_run_finishes() {
    let s = scene();
    let contract = Contract::start(json!({"gitlab": {
        "users": {"deployer": {"password": "d-secret", "actions": ["pull", "push", "delete"]}},
        "delay_ms": 40,
    }}));
    // Old, unprotected stages: many deletions to interrupt.
    contract.seed(
        &s.path,
        "1111111111111111111111111111111111111111111111111111111a-1000000000",
        40,
    );
    let before = s.tags();
    let planned = s.planned(&before);
    assert!(planned.len() > 40, "{planned:?}");
    let expected = expected_after(&before, &planned);
    let kept: BTreeSet<String> = before.difference(&planned).cloned().collect();

    let host = format!("127.0.0.1:{}", contract.port);
    let repo = format!("{host}/{}", s.path);
    let tmp = tempfile::tempdir().unwrap();
    let config = docker_config(tmp.path(), &host, "deployer", "d-secret");
    let args = [
        "cleanup",
        "--repo",
        &repo,
        "--keep-stages-built-within-last-n-hours",
        "0",
        "--without-kube",
        "--repo-container-registry",
        "gitlab",
        "--parallel-tasks-limit",
        "2",
    ];

    // Kill later and later until a run ends by itself.
    let mut wait = Duration::from_millis(1200);
    let mut kills_mid_deletion = 0;
    let mut finished = false;
    for _ in 0..40 {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_davit"))
            .args(args)
            .current_dir(&s.p.dir)
            .env("DOCKER_CONFIG", &config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        while started.elapsed() < wait {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = match child.try_wait().unwrap() {
            Some(st) => Some(st),
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                // A deletion the registry had begun ends on its side (as in
                // a real registry); the next run must not race it, which
                // the test registry's emulation of tag deletion cannot take.
                std::thread::sleep(Duration::from_millis(600));
                None
            }
        };
        let now = s.tags();
        let missing: Vec<&String> = kept.difference(&now).collect();
        assert!(missing.is_empty(), "a kill lost kept tags: {missing:?}");
        let gone = before.difference(&now).count();
        if status.is_none() && gone > 0 && gone < planned.len() {
            kills_mid_deletion += 1;
        }
        if let Some(st) = status {
            assert!(st.success(), "a run after kills failed");
            finished = true;
            break;
        }
        wait += Duration::from_millis(250);
    }
    assert!(finished, "no run finished");
    assert!(
        kills_mid_deletion >= 2,
        "the kills must land in the middle of the deletions ({kills_mid_deletion} did)"
    );
    // The run that finished did what one full run does. The distribution
    // registry behind the contract server can fail a delete part-way and
    // leave a tag listed that it no longer serves (a killed run can stop
    // right there too): the next run deletes such a tag for good, so none
    // is left.
    let served = |t: &String| {
        let out = Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-I",
                "-H",
                "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json",
                &format!("http://{}/v2/{}/manifests/{t}", s.host, s.path),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout) == "200"
    };
    let (live, unserved): (BTreeSet<String>, BTreeSet<String>) =
        s.tags().into_iter().partition(|t| served(t));
    assert!(unserved.is_empty(), "listed but not served: {unserved:?}");
    assert_eq!(live, expected);
    let now: Vec<String> = live.into_iter().collect();
    for m in meta_records(&now) {
        let stage = m.rsplit('_').next().unwrap();
        assert!(
            now.iter().any(|t| t == stage),
            "{m} points at a deleted stage"
        );
    }
    // Every tag left is whole: its manifest and blobs are there.
    for t in &now {
        let m = manifest(&s.host, &s.path, t);
        assert!(m["schemaVersion"] == 2, "{t}: {m}");
    }
}
