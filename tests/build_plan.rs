//! `davit build --plan` end to end: real git repositories and the test
//! registry. For Dockerfile images the plan must name exactly the stages a
//! build then reports; for stapel images the digests follow werf's rules
//! (the `from` vector of the spec, `stageDependencies` masks), unsupported
//! features are named, and a registry plan needs no Docker daemon.

mod build_common;

use build_common::*;
use davit_testkit::fixtures::{git, testenv as env, write};
use serde_json::Value;

fn plan_json(dir: &std::path::Path, repo: &str, extra: &[&str], env: &[(&str, &str)]) -> Value {
    let mut args = vec!["build", "--plan", "--output", "json", "--repo", repo];
    args.extend_from_slice(extra);
    let out = davit(dir, &args, env);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "plan is not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn image<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["images"]
        .as_array()
        .expect("images")
        .iter()
        .find(|i| i["image"] == name)
        .unwrap_or_else(|| panic!("no image {name} in {plan}"))
}

fn stage_digest(plan: &Value, img: &str, stage: &str) -> String {
    image(plan, img)["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == stage)
        .and_then(|s| s["digest"].as_str())
        .unwrap_or_else(|| panic!("no digest of {img}/{stage} in {plan}"))
        .to_string()
}

#[test]
fn a_dockerfile_plan_names_the_stages_the_build_uses() {
    let p = project();
    let (_, _, repo) = anon_repo(&p);
    let before = plan_json(&p.dir, &repo, &[], &[]);
    let base = image(&before, "base");
    assert_eq!(base["upToDate"], false, "{before}");
    assert!(base["stages"][0]["digest"].is_string(), "{before}");
    assert!(base["stages"][0]["stored"].is_null(), "{before}");
    // app's digest includes base's built image, which does not exist yet.
    let app = &image(&before, "app")["stages"][0];
    assert!(app["digest"].is_null(), "{before}");
    assert!(
        app["note"].as_str().unwrap_or("").contains("\"base\""),
        "{before}"
    );

    let (_, report) = build(&p, &repo, "report.json");
    let after = plan_json(&p.dir, &repo, &[], &[]);
    for name in ["base", "app"] {
        let planned = image(&after, name);
        assert_eq!(planned["upToDate"], true, "{after}");
        let stored = planned["stages"][0]["stored"].as_str().expect("stored");
        let built = report["Images"][name]["DockerImageName"]
            .as_str()
            .expect("name");
        assert_eq!(built, format!("{repo}:{stored}"), "{name}: {after}");
    }
    assert_eq!(
        stage_digest(&before, "base", "dockerfile"),
        stage_digest(&after, "base", "dockerfile")
    );
    // Text output says the same, one line per stage.
    let text = ok_stdout(&p.dir, &["build", "--plan", "--repo", &repo]);
    assert!(
        text.contains("base (dockerfile, linux/amd64): up to date"),
        "{text}"
    );
}

fn ok_stdout(dir: &std::path::Path, args: &[&str]) -> String {
    let out = davit(dir, args, &[]);
    ok(&out);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const STAPEL: &str = "configVersion: 1
---
image: base
from: alpine:3.18
shell:
  beforeInstall: apk add --no-cache curl
  install: make -C /app install
  setup: echo ready
git:
- add: /app
  to: /app
  stageDependencies:
    install: src/**
---
image: child
fromImage: base
docker:
  CMD: [\"/app/run\"]
---
image: tool
from: alpine:3.18
ansible:
  install:
  - command: \"true\"
";

fn stapel_project() -> Project {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    let project = unique("stapel");
    git(&dir, &["init", "-q"]);
    write(&dir, "werf.yaml", &format!("project: {project}\n{STAPEL}"));
    write(&dir, "app/src/main.c", "int main() { return 0; }\n");
    write(&dir, "app/README.md", "docs\n");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "c1"]);
    Project {
        _tmp: tmp,
        dir,
        project,
    }
}

fn commit_change(p: &Project, file: &str, text: &str) {
    write(&p.dir, file, text);
    git(&p.dir, &["commit", "-qam", file]);
}

#[test]
fn a_stapel_plan_follows_werfs_digests_and_names_what_is_unsupported() {
    let p = stapel_project();
    let (_, _, repo) = anon_repo(&p);
    // No daemon: a registry plan only reads the registry.
    let no_daemon = [("DOCKER_HOST", "unix:///nonexistent/docker.sock")];
    let out = davit(
        &p.dir,
        &["build", "--plan", "--output", "json", "--repo", &repo],
        &no_daemon,
    );
    assert_eq!(out.status.code(), Some(1), "ansible makes the plan fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 image(s) cannot be planned: tool"),
        "{stderr}"
    );
    let c1: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        image(&c1, "tool")["problem"],
        "uses ansible, which davit does not support yet"
    );
    let names: Vec<&str> = image(&c1, "base")["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        ["from", "beforeInstall", "gitArchive", "install", "setup"]
    );
    // ../shared/spec/werf-build.md §4.1: `from: alpine:3.18`.
    assert_eq!(
        stage_digest(&c1, "base", "from"),
        "3dbd6d44689162ca0ebbdef149f0c467c9ba147c6e9a7759164efc0a"
    );
    // child builds on base's content: its from stage follows base's last.
    let child: Vec<&str> = image(&c1, "child")["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(child, ["from", "dockerInstructions"]);
}

/// The label werf records a mapping's commit in: `werf-git-<paramshash>-commit`
/// for the mapping `add: /app, to: /app` (spec §4.4).
fn app_commit_label() -> String {
    use sha2::Digest;
    let key = "own_own:::/app:::app:::::::::::::::::::::";
    let hash: String = sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("werf-git-{hash}-commit")
}

/// Puts a stage into the registry as a build would leave it: an image
/// tagged `<digest>-<ts>` with werf's labels (the git stages carry the
/// commit they were built from).
fn store_stage(repo: &str, digest: &str, ts: i64, commit: &str) -> String {
    let tmp = tempfile::tempdir().expect("tempdir");
    let label = app_commit_label();
    write(
        tmp.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nLABEL werf-stage-content-digest={digest}c {label}={commit}\n",
            env("DAVIT_TEST_BASE_IMAGE")
        ),
    );
    let tag = format!("{repo}:{digest}-{ts}");
    for args in [
        vec!["build", "-q", "-t", tag.as_str(), "."],
        vec!["push", "-q", tag.as_str()],
    ] {
        let out = std::process::Command::new("docker")
            .args(&args)
            .current_dir(tmp.path())
            .output()
            .expect("docker");
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    format!("{digest}-{ts}")
}

fn stage<'a>(plan: &'a Value, img: &str, name: &str) -> &'a Value {
    image(plan, img)["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {img}/{name} in {plan}"))
}

#[test]
fn stored_git_stages_are_found_by_history() {
    let p = stapel_project();
    let (_, _, repo) = anon_repo(&p);
    let stages = ["from", "beforeInstall", "gitArchive", "install", "setup"];
    let c1 = plan_json(&p.dir, &repo, &["base"], &[]);
    let commit1 = head_commit(&p.dir);
    let mut stored = Vec::new();
    for (i, name) in stages.iter().enumerate() {
        let digest = stage_digest(&c1, "base", name);
        stored.push(store_stage(
            &repo,
            &digest,
            1_700_000_000_000 + i as i64,
            &commit1,
        ));
    }
    let again = plan_json(&p.dir, &repo, &["base"], &[]);
    assert_eq!(image(&again, "base")["upToDate"], true, "{again}");

    // A change outside every mask: the user stages are found as built on
    // commit 1; only the git patch (README.md is mapped) is new.
    commit_change(&p, "app/README.md", "more docs\n");
    let c2 = plan_json(&p.dir, &repo, &["base"], &[]);
    for (name, id) in stages.iter().zip(&stored) {
        assert_eq!(
            stage(&c2, "base", name)["stored"],
            id.as_str(),
            "{name}: {c2}"
        );
    }
    let patch = stage(&c2, "base", "gitLatestPatch");
    assert!(
        patch["digest"].is_string() && patch["stored"].is_null(),
        "{c2}"
    );

    // A change stageDependencies.install matches: install and setup are
    // new; beforeInstall and gitArchive are still the stored ones.
    commit_change(&p, "app/src/main.c", "int main() { return 1; }\n");
    let c3 = plan_json(&p.dir, &repo, &["base"], &[]);
    for (name, id) in stages.iter().zip(&stored).take(3) {
        assert_eq!(
            stage(&c3, "base", name)["stored"],
            id.as_str(),
            "{name}: {c3}"
        );
    }
    for name in ["install", "setup"] {
        assert!(stage(&c3, "base", name)["stored"].is_null(), "{name}: {c3}");
        assert_ne!(
            stage_digest(&c3, "base", name),
            stage_digest(&c1, "base", name)
        );
    }

    // History rewritten without commit 1: the gitArchive stored on it is
    // not reused, though its digest is the same.
    git(&p.dir, &["checkout", "-q", "--orphan", "rewritten"]);
    git(&p.dir, &["commit", "-qm", "rewritten"]);
    let c4 = plan_json(&p.dir, &repo, &["base"], &[]);
    assert_eq!(
        stage(&c4, "base", "beforeInstall")["stored"],
        stored[1].as_str()
    );
    let archive = stage(&c4, "base", "gitArchive");
    assert_eq!(archive["digest"], stage_digest(&c1, "base", "gitArchive"));
    assert!(archive["stored"].is_null(), "{c4}");
}

#[test]
fn a_mapping_that_takes_nothing_is_werfs_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    write(
        dir,
        "werf.yaml",
        "project: p\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\ngit:\n- add: /missing\n  to: /app\n",
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "c1"]);
    let repo = format!(
        "{}/davit-test/{}",
        env("DAVIT_TEST_REGISTRY_ANON"),
        unique("nofiles")
    );
    let out = davit(dir, &["build", "--plan", "--repo", &repo], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"git.add: /missing\" in werf.yaml matches no files"),
        "{stdout}"
    );
}
