//! What the cleanup tests share: a project with a bare `origin` and a
//! keep policy, commits built and pushed, cleanup runs and their reports.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::build_common::*;
use davit_testkit::fixtures::{git, write};
use serde_json::{json, Value};

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
    // The project's own home, so local caches stay with the test.
    let home = dir.join(".davit-home");
    let home = home.to_str().unwrap();
    let mut env_ = env_.to_vec();
    if !env_.iter().any(|(k, _)| *k == "WERF_HOME") {
        env_.push(("WERF_HOME", home));
    }
    let log = ok(&davit(dir, &args, &env_));
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

/// The HTTP contract server of the registry vendors
/// (`tests/contract/registry_vendors.py`), over the anonymous test registry.
pub struct Contract {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Contract {
    pub fn start(mut config: Value) -> Contract {
        config["registry"] = json!(davit_testkit::fixtures::testenv("DAVIT_TEST_REGISTRY_ANON"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contract.json");
        std::fs::write(&path, config.to_string()).unwrap();
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract/registry_vendors.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the contract server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the contract server did not start: {line:?}"));
        Contract {
            child,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn stats(&self) -> Value {
        let out = Command::new("curl")
            .args(["-sf", &self.url("/_stats")])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).expect("stats")
    }

    /// `count` tags `prefix000…` in `path`, each with a manifest of its own.
    pub fn seed(&self, path: &str, prefix: &str, count: usize) {
        self.admin(&format!("/_seed?repo={path}&prefix={prefix}&count={count}"));
    }

    /// A POST to the server's admin `path` (`/_seed…`, `/_release`).
    pub fn admin(&self, path: &str) {
        let st = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", "-X", "POST", &self.url(path)])
            .status()
            .unwrap();
        assert!(st.success(), "POST {path}");
    }
}

impl Drop for Contract {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A project with two builds pushed to `origin`, and a stage tag that a
/// kept stage's digest also carries (deleting it by digest would take the
/// kept one along). Returns the project, its repository and the tags.
pub struct Scene {
    pub p: Project,
    _origin: tempfile::TempDir,
    pub host: String,
    pub path: String,
    pub repo: String,
    pub kept_app: String,
}

pub const ALIAS: &str = "00000000000000000000000000000000000000000000000000000000-1000000000000";

pub fn scene() -> Scene {
    let (p, origin) = project_with_origin();
    let (host, path, repo) = anon_repo(&p);
    commit_build_push(&p, &repo, "one", &["--add-custom-tag", "old-%image%"]);
    let r2 = commit_build_push(&p, &repo, "two", &["--add-custom-tag", "latest"]);
    let kept_app = stage_of(&r2, "app");
    // An old, unprotected stage tag on the kept stage's manifest (its
    // exact bytes, so the digest is the same).
    let media = manifest(&host, &path, &kept_app)["mediaType"]
        .as_str()
        .unwrap()
        .to_string();
    let raw = Command::new("curl")
        .args([
            "-sf",
            "-H",
            &format!("Accept: {media}"),
            &format!("http://{host}/v2/{path}/manifests/{kept_app}"),
        ])
        .output()
        .unwrap()
        .stdout;
    let file = p.dir.join("kept-manifest.json");
    std::fs::write(&file, raw).unwrap();
    let st = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            &format!("Content-Type: {media}"),
            "--data-binary",
            &format!("@{}", file.display()),
            &format!("http://{host}/v2/{path}/manifests/{ALIAS}"),
        ])
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_file(&file).unwrap();
    Scene {
        p,
        _origin: origin,
        host,
        path,
        repo,
        kept_app,
    }
}

impl Scene {
    pub fn tags(&self) -> BTreeSet<String> {
        registry_tags(&self.host, &self.path).into_iter().collect()
    }

    /// The dry run's deletions, as tags of `before`.
    pub fn planned(&self, before: &BTreeSet<String>) -> BTreeSet<String> {
        let (_, dry) = cleanup(
            &self.p.dir,
            &self.repo,
            &["--without-kube", "--dry-run"],
            &[],
        );
        let planned = tags_of(&dry["deleted"], before);
        assert!(planned.contains(ALIAS), "{planned:?}");
        assert!(planned.contains("old-app"), "{planned:?}");
        assert!(!planned.contains(&self.kept_app));
        planned
    }
}

/// The tags a report's `deleted` items stand for.
pub fn tags_of(deleted: &Value, all: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in deleted.as_array().unwrap() {
        match d["type"].as_str().unwrap() {
            "imageMetadata" => {
                let suffix = format!(
                    "_{}_{}",
                    d["commit"].as_str().unwrap(),
                    d["stageID"].as_str().unwrap()
                );
                out.extend(
                    all.iter()
                        .filter(|t| t.starts_with("meta-") && t.ends_with(&suffix))
                        .cloned(),
                );
            }
            "customTag" => {
                let tag = d["tag"].as_str().unwrap();
                out.insert(tag.to_string());
                let record = format!("custom-tag-meta-{tag}");
                if all.contains(&record) {
                    out.insert(record);
                }
            }
            _ => {
                out.insert(d["tag"].as_str().unwrap().to_string());
            }
        }
    }
    out
}

pub fn expected_after(before: &BTreeSet<String>, planned: &BTreeSet<String>) -> BTreeSet<String> {
    let mut e: BTreeSet<String> = before.difference(planned).cloned().collect();
    e.insert("cleanup".into());
    e
}

pub fn run(s: &Scene, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut args = vec![
        "cleanup",
        "--repo",
        &s.repo,
        "--keep-stages-built-within-last-n-hours",
        "0",
        "--without-kube",
        "--save-cleanup-report",
    ];
    args.extend(extra);
    davit(&s.p.dir, &args, env)
}

pub fn docker_config(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
    use base64::Engine;
    let d = dir.join(format!("docker-config-{user}"));
    std::fs::create_dir_all(&d).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        d.join("config.json"),
        json!({"auths": {host: {"auth": auth}}}).to_string(),
    )
    .unwrap();
    d
}
