//! Helpers shared by the end-to-end `davit build` tests: a two-image
//! project in a real git repository, running the binary, and reading the
//! test registries over HTTP.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use davit_testkit::fixtures::{git, testenv as env, write};
use serde_json::Value;

/// A unique name, so every test run uses fresh registry repositories.
pub fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!("{label}-{nanos}-{}", std::process::id())
}

pub struct Project {
    pub _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub project: String,
}

/// Two images: `base` (not final) and `app`, which gets base's image name
/// as a build arg. `app` copies `app/hello.sh` from the commit.
pub fn project() -> Project {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    let project = unique("p");
    git(&dir, &["init", "-q"]);
    write(
        &dir,
        "werf.yaml",
        &format!(
            "project: {project}\nconfigVersion: 1\n---\nimage: base\ndockerfile: Dockerfile\ncontext: base\nfinal: false\nargs:\n  BASE: {}\n---\nimage: app\ndockerfile: Dockerfile\ncontext: app\ndependencies:\n- image: base\n  imports:\n  - type: ImageName\n    targetBuildArg: BASE_IMAGE\n",
            env("DAVIT_TEST_BASE_IMAGE")
        ),
    );
    write(
        &dir,
        "base/Dockerfile",
        "ARG BASE\nFROM $BASE\nRUN echo base > /base.txt\n",
    );
    write(
        &dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY hello.sh /hello.sh\nCMD [\"sh\", \"/hello.sh\"]\n",
    );
    write(&dir, "app/hello.sh", "echo hello; cat /base.txt\n");
    write(&dir, "app/README.md", "not copied\n");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "init"]);
    Project {
        _tmp: tmp,
        dir,
        project,
    }
}

pub fn davit(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_davit"));
    c.args(args).current_dir(dir);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.output().expect("run davit")
}

pub fn ok(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "davit failed:\n{stderr}{}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

pub fn report(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).expect("report")).expect("json")
}

pub fn rebuilt(r: &Value, image: &str) -> bool {
    r["Images"][image]["Rebuilt"].as_bool().expect("Rebuilt")
}

pub fn build(p: &Project, repo: &str, report_name: &str) -> (String, Value) {
    build_env(p, repo, report_name, &[])
}

/// `davit build --repo REPO` with a report, and extra environment.
pub fn build_env(
    p: &Project,
    repo: &str,
    report_name: &str,
    extra_env: &[(&str, &str)],
) -> (String, Value) {
    build_with(p, repo, report_name, &[], extra_env)
}

/// `davit build --repo REPO` with a report, more flags and environment;
/// it must succeed. Returns the log and the report.
pub fn build_with(
    p: &Project,
    repo: &str,
    report_name: &str,
    flags: &[&str],
    extra_env: &[(&str, &str)],
) -> (String, Value) {
    let mut args = vec![
        "build",
        "--repo",
        repo,
        "--save-build-report",
        "--build-report-path",
        report_name,
    ];
    args.extend_from_slice(flags);
    let log = ok(&davit(&p.dir, &args, extra_env));
    (log, report(&p.dir, report_name))
}

pub fn local_images_of(p: &Project, repo: &str) -> Vec<String> {
    let out = Command::new("docker")
        .args(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .output()
        .expect("docker images");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(&format!("{}:", p.project)) || l.starts_with(repo))
        .map(str::to_string)
        .collect()
}

/// Replaces `from` with `to` in werf.yaml, commits, builds `app` and
/// returns stderr of the (expected) failure.
pub fn failing_build_after_yaml_edit(p: &Project, repo: &str, from: &str, to: &str) -> String {
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(&p.dir, "werf.yaml", &yaml.replace(from, to));
    git(&p.dir, &["commit", "-qam", "edit werf.yaml"]);
    let out = davit(&p.dir, &["build", "--repo", repo, "app"], &[]);
    assert!(!out.status.success(), "the build must fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Removes every local image of the project: a fresh "host".
pub fn forget_local_images(p: &Project, repo: &str) {
    let names = local_images_of(p, repo);
    if !names.is_empty() {
        let st = Command::new("docker")
            // --no-prune: untagged parent layers may be the cache another
            // test's build is using right now.
            .args(["rmi", "--no-prune"])
            .args(&names)
            .output()
            .expect("docker rmi");
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    }
}

pub fn registry_tags(host: &str, path: &str) -> Vec<String> {
    let out = Command::new("curl")
        .args(["-sf", &format!("http://{host}/v2/{path}/tags/list")])
        .output()
        .expect("curl");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// werf's `meta-<hash>_<commit>_<stage id>` records among `tags`.
pub fn meta_records(tags: &[String]) -> Vec<&String> {
    tags.iter().filter(|t| t.starts_with("meta-")).collect()
}

pub fn head_commit(dir: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .output()
        .expect("git rev-parse");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Tags that are stages (`<56 hex>-<millis>`).
pub fn stage_tags(tags: &[String]) -> Vec<&String> {
    tags.iter()
        .filter(|t| t.len() == 70 && t.as_bytes()[56] == b'-')
        .collect()
}

pub fn manifest(host: &str, path: &str, tag: &str) -> Value {
    let out = Command::new("curl")
        .args([
            "-sf",
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json",
            &format!("http://{host}/v2/{path}/manifests/{tag}"),
        ])
        .output()
        .expect("curl manifest");
    assert!(out.status.success(), "tag {tag} has no manifest");
    serde_json::from_slice(&out.stdout).expect("manifest json")
}

/// The image config of `tag`.
pub fn image_config(host: &str, path: &str, tag: &str) -> Value {
    let m = manifest(host, path, tag);
    let digest = m["config"]["digest"].as_str().expect("config digest");
    let out = Command::new("curl")
        .args(["-sf", &format!("http://{host}/v2/{path}/blobs/{digest}")])
        .output()
        .expect("curl config");
    assert!(
        out.status.success(),
        "tag {tag}: config blob {digest} missing"
    );
    serde_json::from_slice(&out.stdout).expect("config json")
}

/// A label from the image config of `tag`.
pub fn config_label(host: &str, path: &str, tag: &str, label: &str) -> Option<String> {
    image_config(host, path, tag)["config"]["Labels"][label]
        .as_str()
        .map(str::to_string)
}

/// Every tag of the repository points at a manifest whose blobs all exist;
/// a manifest list's platform manifests exist with all their blobs.
pub fn assert_no_broken_tags(host: &str, path: &str) {
    for tag in registry_tags(host, path) {
        let m = manifest(host, path, &tag);
        match m["manifests"].as_array() {
            Some(children) => {
                for child in children {
                    let digest = child["digest"].as_str().expect("child digest");
                    assert_blobs_exist(
                        host,
                        path,
                        &format!("{tag} ({digest})"),
                        &manifest(host, path, digest),
                    );
                }
            }
            None => assert_blobs_exist(host, path, &tag, &m),
        }
    }
}

fn assert_blobs_exist(host: &str, path: &str, what: &str, m: &Value) {
    let mut digests = vec![m["config"]["digest"].as_str().expect("config").to_string()];
    for l in m["layers"].as_array().expect("layers") {
        digests.push(l["digest"].as_str().expect("layer digest").to_string());
    }
    for d in digests {
        let st = Command::new("curl")
            .args(["-sfI", &format!("http://{host}/v2/{path}/blobs/{d}")])
            .output()
            .expect("curl blob");
        assert!(st.status.success(), "{what} points at missing blob {d}");
    }
}

/// `(host, path, "host/path")`: the project's repository in the anonymous
/// test registry.
pub fn anon_repo(p: &Project) -> (String, String, String) {
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{}", p.project);
    let repo = format!("{host}/{path}");
    (host, path, repo)
}

/// Runs the image the report names for `image` (`docker run --rm`, then
/// `args`) and returns its standard output.
pub fn run_image(report: &Value, image: &str, args: &[&str]) -> String {
    let name = report["Images"][image]["DockerImageName"]
        .as_str()
        .unwrap_or_else(|| panic!("the report has no image {image}: {report}"));
    let out = Command::new("docker")
        .args(["run", "--rm", name])
        .args(args)
        .output()
        .expect("docker run");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs davit, which must fail, and returns its standard error.
pub fn failing(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> String {
    let out = davit(dir, args, extra_env);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "davit must fail:\n{err}");
    err
}

/// Turns `app` into a two-platform image (`FROM scratch`: no emulator
/// needed for the foreign one), committed.
pub fn make_multi_platform(p: &Project) {
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(
        &p.dir,
        "werf.yaml",
        &format!("{yaml}platform: [linux/arm64, linux/amd64]\n"),
    );
    write(
        &p.dir,
        "app/Dockerfile",
        "FROM scratch\nCOPY hello.sh /hello.sh\n",
    );
    git(&p.dir, &["commit", "-qam", "two platforms"]);
}
