//! `davit host cleanup` and `davit host purge` against the real daemon:
//! nothing goes while the volume is under the threshold; over it, the
//! project's images go, least recently used first, except those containers
//! were made from (unless forced); other images are never touched.

mod build_common;

use std::process::Command;

use build_common::*;
use davit_testkit::fixtures::testenv as env;

fn images_of(project: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args([
            "images",
            "-q",
            "--no-trunc",
            "--filter",
            &format!("label=werf={project}"),
        ])
        .output()
        .expect("docker images");
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn host_cleanup_frees_over_the_threshold_and_spares_images_in_use() {
    let p = project();
    ok(&davit(&p.dir, &["build", "--save-build-report"], &[]));
    let r = report(&p.dir, ".werf-build-report.json");
    let images = images_of(&p.project);
    assert!(images.len() >= 2, "the build left images: {images:?}");

    let host = |args: &[&str]| {
        let mut all = vec!["host"];
        all.extend(args);
        all.extend(["--project-name", &p.project]);
        ok(&davit(&p.dir, &all, &[]))
    };
    let log = host(&["cleanup", "--allowed-backend-storage-volume-usage", "100"]);
    assert!(log.contains("nothing to remove"), "{log}");
    assert_eq!(images_of(&p.project), images);

    // A container made from the app image keeps it.
    let app = r["Images"]["app"]["DockerImageName"].as_str().unwrap();
    let name = unique("host-cleanup");
    let st = Command::new("docker")
        .args(["create", "--name", &name, app])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let over = [
        "cleanup",
        "--allowed-backend-storage-volume-usage",
        "0",
        "--allowed-backend-storage-volume-usage-margin",
        "0",
    ];
    let mut dry = over.to_vec();
    dry.push("--dry-run");
    let log = host(&dry);
    assert!(log.contains("would remove"), "{log}");
    assert_eq!(images_of(&p.project), images, "a dry run removes nothing");

    let log = host(&over);
    assert!(log.contains("containers were made from it"), "{log}");
    let left = images_of(&p.project);
    let app_id = Command::new("docker")
        .args(["inspect", "-f", "{{.Image}}", &name])
        .output()
        .unwrap();
    let app_id = String::from_utf8_lossy(&app_id.stdout).trim().to_string();
    assert!(
        left.contains(&app_id),
        "the image in use stays: {left:?}\n{log}"
    );
    // What else stays is what it is built on (base, a final: false image).
    assert!(left.len() < images.len(), "{left:?}\n{log}");
    for id in left.iter().filter(|id| **id != app_id) {
        assert!(log.contains("a kept image is built on it"), "{id}\n{log}");
    }
    assert!(!log.contains("WARNING"), "{log}");
    // Other images are untouched.
    let base = Command::new("docker")
        .args(["image", "inspect", &env("DAVIT_TEST_BASE_IMAGE")])
        .status()
        .unwrap();
    assert!(base.success());

    let log = host(&["purge"]);
    assert!(log.contains("containers were made from it"), "{log}");
    assert!(images_of(&p.project).contains(&app_id));
    let _ = Command::new("docker").args(["rm", &name]).status();
    host(&["purge", "--force"]);
    assert!(images_of(&p.project).is_empty());
}

#[test]
fn host_purge_takes_davits_local_caches_and_locks() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("local_cache/stage-labels");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("x.json"), "{}").unwrap();
    std::fs::create_dir_all(home.path().join("davit-locks")).unwrap();
    let dir = home.path();
    let home_arg = dir.to_str().unwrap();
    let log = ok(&davit(
        dir,
        &["host", "purge", "--dry-run", "--home-dir", home_arg],
        &[],
    ));
    let local_cache = dir.join("local_cache");
    assert!(
        log.contains(&format!("would remove {}", local_cache.display())),
        "{log}"
    );
    assert!(log.contains("davit-locks"), "{log}");
    assert!(cache.join("x.json").exists(), "a dry run removes nothing");
    // A project's purge leaves what every project shares.
    let log = ok(&davit(
        dir,
        &[
            "host",
            "purge",
            "--home-dir",
            home_arg,
            "--project-name",
            &unique("none"),
        ],
        &[],
    ));
    assert!(!log.contains("local_cache"), "{log}");
    assert!(cache.join("x.json").exists());
}
