//! The GitHub Action under act and the GitLab template under
//! gitlab-ci-local, both running the README's snippets against the local
//! registry: the action with `binary-path`, then with a verified download
//! from a local release server (and a checksum mismatch that must stop
//! it); the template's dotenv report feeding a downstream job.

mod build_common;
mod ci_common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;

use build_common::unique;
use ci_common::{readme_snippet, serve, static_binary, version};
use davit_testkit::fixtures::{git, testenv as env, write};

/// act runs share its cache folder: one at a time.
static ACT: Mutex<()> = Mutex::new(());

/// A git repository with a one-image werf project.
fn werf_project(dir: &Path, project: &str) {
    git(dir, &["init", "-q"]);
    write(
        dir,
        "werf.yaml",
        &format!("project: {project}\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\ncontext: app\n"),
    );
    write(
        dir,
        "app/Dockerfile",
        &format!(
            "FROM {}\nCOPY hello.txt /hello.txt\n",
            env("DAVIT_TEST_BASE_IMAGE")
        ),
    );
    write(dir, "app/hello.txt", "hello\n");
}

fn commit(dir: &Path) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "ci"]);
}

/// The README's workflow with the action taken from the checkout and the
/// test's inputs.
fn workflow(repo: &str, version: &str, extra_inputs: &[String]) -> String {
    let mut w = readme_snippet("github-workflow")
        .replace("uses: davit-ci/davit@v0.1.0", "uses: ./")
        .replace("--repo ghcr.io/acme/shop", &format!("--repo {repo}"));
    let inputs: String = extra_inputs
        .iter()
        .map(|i| format!("          {i}\n"))
        .collect();
    w = w.replacen(
        "          version: v0.1.0\n",
        &format!("          version: {version}\n{inputs}"),
        1,
    );
    w
}

fn act(dir: &Path, envs: &[(&str, String)]) -> Output {
    let mut c = Command::new(env("DAVIT_TEST_ACT"));
    c.args(["push", "-P", "ubuntu-latest=-self-hosted", "--env"])
        .arg(format!("DOCKER_HOST={}", env("DOCKER_HOST")))
        .current_dir(dir);
    for (k, v) in envs {
        c.arg("--env").arg(format!("{k}={v}"));
    }
    c.output().expect("run act")
}

fn action_repo(repo: &str, version: &str, inputs: &[String]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    werf_project(dir, &unique("act").to_lowercase().replace('_', "-"));
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/action.yml"),
        dir.join("action.yml"),
    )
    .expect("copy action.yml");
    write(
        dir,
        ".github/workflows/build.yml",
        &workflow(repo, version, inputs),
    );
    commit(dir);
    tmp
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_action_builds_with_a_given_binary() {
    let _one = ACT.lock().unwrap_or_else(|e| e.into_inner());
    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique("act"));
    let binary = env!("CARGO_BIN_EXE_davit");
    let tmp = action_repo(&repo, &version(), &[format!("binary-path: {binary}")]);
    let out = act(tmp.path(), &[]);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    // The later step reads the step output.
    assert!(log.contains(&format!("built {{\"app\":\"{repo}:")), "{log}");
    // The job summary file, as act reads it back.
    assert!(log.contains("### davit build: succeeded"), "{log}");
    assert!(log.contains("| app | `"), "{log}");
}

/// A release folder for the local server: `<version>/davit-<version>-<target>`
/// and `<version>/SHA256SUMS` (the real checksum, or `bad_sum`). Each test
/// uses its own version, so act's tool cache cannot answer for it.
fn release(sum: Option<&str>) -> (tempfile::TempDir, String, String) {
    let (_, binary) = static_binary();
    let version = format!("{}-test{}", version(), unique("").replace('-', ""));
    let name = format!("davit-{version}-x86_64-unknown-linux-musl");
    let releases = tempfile::tempdir().expect("tempdir");
    let dir = releases.path().join(&version);
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(&binary, dir.join(&name)).expect("copy binary");
    let real = Command::new("sha256sum")
        .arg(&binary)
        .output()
        .expect("sha256sum");
    let real = String::from_utf8_lossy(&real.stdout);
    let sum = sum.unwrap_or_else(|| real.split_whitespace().next().unwrap_or_default());
    std::fs::write(dir.join("SHA256SUMS"), format!("{sum}  {name}\n")).expect("sums");
    (releases, version, name)
}

/// One act run of the action downloading from a local release server.
struct DownloadRun {
    _releases: tempfile::TempDir,
    server: ci_common::FileServer,
    version: String,
    name: String,
    repo: String,
    repo_dir: tempfile::TempDir,
    out: Output,
}

fn download_run(sum: Option<&str>, label: &str) -> DownloadRun {
    let (releases, version, name) = release(sum);
    let server = serve(releases.path().to_path_buf());
    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique(label));
    let repo_dir = action_repo(
        &repo,
        &version,
        &[format!(
            "download-base-url: http://127.0.0.1:{}",
            server.port
        )],
    );
    let out = act(repo_dir.path(), &[]);
    DownloadRun {
        _releases: releases,
        server,
        version,
        name,
        repo,
        repo_dir,
        out,
    }
}

/// The cache path the action printed; its version folder is removed so
/// runs leave nothing behind in act's tool cache.
fn cached_binary(log: &str, version: &str) -> std::path::PathBuf {
    let line = log
        .lines()
        .find(|l| {
            l.contains(&format!(
                "davit {version}: downloaded, checksum verified, cached at "
            ))
        })
        .unwrap_or_else(|| panic!("the action says where it cached davit: {log}"));
    let path = line.rsplit("cached at ").next().unwrap_or_default().trim();
    std::path::PathBuf::from(path)
}

#[test]
fn the_action_downloads_verifies_and_caches_a_release() {
    let _one = ACT.lock().unwrap_or_else(|e| e.into_inner());
    let d = download_run(None, "act-dl");
    let (server, version, name, repo, tmp, out) =
        (d.server, d.version, d.name, d.repo, d.repo_dir, d.out);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    let cached = cached_binary(&log, &version);
    let version_dir = cached
        .parent()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf);
    let _cleanup = RemoveOnDrop(version_dir);
    assert!(cached.is_file(), "{}", cached.display());
    assert!(
        log.contains("x86_64-unknown-linux-musl"),
        "the static binary ran: {log}"
    );
    assert!(log.contains(&format!("built {{\"app\":\"{repo}:")), "{log}");
    let asked = server.requests.lock().expect("lock").clone();
    assert!(asked.contains(&format!("/{version}/{name}")), "{asked:?}");
    assert!(
        asked.contains(&format!("/{version}/SHA256SUMS")),
        "{asked:?}"
    );

    // A second run uses the cache: no download.
    let before = server.requests.lock().expect("lock").len();
    let out = act(tmp.path(), &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.requests.lock().expect("lock").len(), before);
}

struct RemoveOnDrop(Option<std::path::PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

#[test]
fn a_checksum_mismatch_stops_the_action_and_leaves_no_binary() {
    let _one = ACT.lock().unwrap_or_else(|e| e.into_inner());
    let d = download_run(Some(&"0".repeat(64)), "act-bad");
    let (server, version, name, out) = (d.server, d.version, d.name, d.out);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains(&format!("checksum mismatch for {name}")),
        "{log}"
    );
    assert!(!log.contains(&format!("{version}: downloaded")), "{log}");
    assert!(
        server
            .requests
            .lock()
            .expect("lock")
            .iter()
            .any(|p| p.ends_with(&name)),
        "the binary was downloaded before the check"
    );
    // No davit of that version anywhere in act's tool cache.
    let home = std::env::var("HOME").unwrap_or_default();
    let found = Command::new("find")
        .arg(format!("{home}/.cache/act"))
        .args(["-path", &format!("*{version}*"), "-name", "davit*"])
        .output()
        .expect("find");
    let found = String::from_utf8_lossy(&found.stdout);
    assert!(found.trim().is_empty(), "a binary was left behind: {found}");
}

#[test]
fn the_gitlab_template_hands_the_image_to_a_later_job() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    werf_project(dir, &unique("gcl").to_lowercase().replace('_', "-"));
    // gitlab-ci-local's docker executor needs its helper image from Docker
    // Hub, which this machine cannot pull: the jobs run with the shell
    // executor, so the copy drops the template's `image:` (nothing else).
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/gitlab-ci-templates/davit.gitlab-ci.yml"
    ))
    .expect("template");
    let image_block = "  image:\n    name: $DAVIT_IMAGE\n    entrypoint: [\"\"]\n";
    assert!(
        template.contains(image_block),
        "the template names its image"
    );
    write(
        dir,
        "ci/davit.gitlab-ci.yml",
        &template.replace(image_block, ""),
    );
    let pipeline = readme_snippet("gitlab-ci");
    let remote = pipeline
        .lines()
        .find(|l| l.contains("- remote:"))
        .expect("the snippet includes the template")
        .to_string();
    write(
        dir,
        ".gitlab-ci.yml",
        &pipeline.replace(&remote, "  - local: ci/davit.gitlab-ci.yml"),
    );
    write(dir, ".gitignore", "/.gitlab-ci-local\n");
    commit(dir);
    git(
        dir,
        &[
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/grp/app.git",
        ],
    );
    let (_, binary) = static_binary();
    let bin_dir = tempfile::tempdir().expect("bin");
    std::fs::copy(&binary, bin_dir.path().join("davit")).expect("copy davit");
    let image = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique("gcl"));
    let out = Command::new(env("DAVIT_TEST_GITLAB_CI_LOCAL"))
        .args(["--shell-executor-no-image", "--variable", "GITLAB_CI=true"])
        .arg("--variable")
        .arg(format!("CI_REGISTRY_IMAGE={image}"))
        .arg("--variable")
        .arg(format!("CI_REGISTRY={}", env("DAVIT_TEST_REGISTRY_ANON")))
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir.path().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .current_dir(dir)
        .output()
        .expect("run gitlab-ci-local");
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(&format!("app image is {image}:")), "{log}");
    assert!(log.contains("section_start:"), "{log}");
    assert!(dir.join("davit-annotations.json").is_file());
}

fn install_sh(base: &str, version: &str, dir: &Path) -> Output {
    Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/dist/install.sh"))
        .arg(version)
        .arg(dir)
        .env("DAVIT_DOWNLOAD_BASE_URL", base)
        .output()
        .expect("run install.sh")
}

#[test]
fn the_install_script_verifies_the_checksum_and_installs_atomically() {
    let (releases, version, _) = release(None);
    let server = serve(releases.path().to_path_buf());
    let base = format!("http://127.0.0.1:{}", server.port);
    let bin = tempfile::tempdir().expect("bin");
    let out = install_sh(&base, &version, bin.path());
    assert!(out.status.success(), "{}", text(&out));
    let installed = bin.path().join("davit");
    let v = Command::new(&installed)
        .arg("version")
        .output()
        .expect("run davit");
    assert!(String::from_utf8_lossy(&v.stdout).starts_with("davit "));

    let bad = "0".repeat(64);
    let (releases, version, _) = release(Some(&bad));
    let server = serve(releases.path().to_path_buf());
    let base = format!("http://127.0.0.1:{}", server.port);
    let empty = tempfile::tempdir().expect("bin");
    let out = install_sh(&base, &version, empty.path());
    assert!(!out.status.success());
    assert!(text(&out).contains("checksum mismatch"), "{}", text(&out));
    assert_eq!(
        std::fs::read_dir(empty.path()).expect("ls").count(),
        0,
        "nothing installed"
    );
}
