//! What the cleanup tests share: a project with a bare `origin` and a
//! keep policy, commits built and pushed, cleanup runs and their reports.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;

use crate::build_common::*;
use davit_testkit::fixtures::{git, write};
use serde_json::Value;

/// The project of `build_common` with a bare `origin`, and a keep policy
/// of one image for `main`.
pub fn project_with_origin() -> (Project, tempfile::TempDir) {
    let p = project();
    let origin = tempfile::tempdir().unwrap();
    git(origin.path(), &["init", "-q", "--bare"]);
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).unwrap();
    let yaml = yaml.replacen(
        "configVersion: 1\n",
        "configVersion: 1\ncleanup:\n  keepPolicies:\n  - references: {branch: main}\n    imagesPerReference: {last: 1}\n",
        1,
    );
    write(&p.dir, "werf.yaml", &yaml);
    git(&p.dir, &["branch", "-M", "main"]);
    git(&p.dir, &["add", "-A"]);
    git(&p.dir, &["commit", "-qm", "policy"]);
    git(
        &p.dir,
        &[
            "remote",
            "add",
            "origin",
            &format!("file://{}", origin.path().display()),
        ],
    );
    (p, origin)
}

/// A new commit of `app/hello.sh`, built (with `extra` flags) and pushed.
pub fn commit_build_push(p: &Project, repo: &str, text: &str, extra: &[&str]) -> Value {
    write(&p.dir, "app/hello.sh", &format!("echo {text}\n"));
    git(&p.dir, &["add", "-A"]);
    git(&p.dir, &["commit", "-qm", text]);
    let mut args = vec!["build", "--repo", repo, "--save-build-report"];
    args.extend(extra);
    ok(&davit(&p.dir, &args, &[]));
    git(&p.dir, &["push", "-q", "origin", "main"]);
    report(&p.dir, ".werf-build-report.json")
}

pub fn cleanup(dir: &Path, repo: &str, extra: &[&str], env_: &[(&str, &str)]) -> (String, Value) {
    let mut args = vec![
        "cleanup",
        "--repo",
        repo,
        "--keep-stages-built-within-last-n-hours",
        "0",
        "--save-cleanup-report",
        "--explain",
    ];
    args.extend(extra);
    let log = ok(&davit(dir, &args, env_));
    (log, report(dir, ".werf-cleanup-report.json"))
}

pub fn items(r: &Value, key: &str) -> BTreeSet<String> {
    r[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect()
}

pub fn stage_of(r: &Value, image: &str) -> String {
    r["Images"][image]["DockerTag"]
        .as_str()
        .unwrap()
        .to_string()
}
