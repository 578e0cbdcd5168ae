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
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use build_common::*;
use cleanup_common::*;
use serde_json::{json, Value};

struct Contract {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Contract {
    fn start(mut config: Value) -> Contract {
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

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn stats(&self) -> Value {
        let out = Command::new("curl")
            .args(["-sf", &self.url("/_stats")])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).expect("stats")
    }

    /// `count` tags `prefix000…` in `path`, each with a manifest of its own.
    fn seed(&self, path: &str, prefix: &str, count: usize) {
        let st = Command::new("curl")
            .args([
                "-sf",
                "-X",
                "POST",
                &self.url(&format!("/_seed?repo={path}&prefix={prefix}&count={count}")),
            ])
            .status()
            .unwrap();
        assert!(st.success(), "seeding {path}");
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
struct Scene {
    p: Project,
    _origin: tempfile::TempDir,
    host: String,
    path: String,
    repo: String,
    kept_app: String,
}

const ALIAS: &str = "00000000000000000000000000000000000000000000000000000000-1000000000000";

fn scene() -> Scene {
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
    fn tags(&self) -> BTreeSet<String> {
        registry_tags(&self.host, &self.path).into_iter().collect()
    }

    /// The dry run's deletions, as tags of `before`.
    fn planned(&self, before: &BTreeSet<String>) -> BTreeSet<String> {
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
fn tags_of(deleted: &Value, all: &BTreeSet<String>) -> BTreeSet<String> {
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

fn expected_after(before: &BTreeSet<String>, planned: &BTreeSet<String>) -> BTreeSet<String> {
    let mut e: BTreeSet<String> = before.difference(planned).cloned().collect();
    e.insert("cleanup".into());
    e
}

fn run(s: &Scene, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
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

fn docker_config(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
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

    let out = run(&s, &github("read-only"), &env);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{err}");
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

    let out = run(&s, &hub("wrong"), &env);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success());
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

    let out = cleanup_as("reader", "r-secret");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{err}");
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
