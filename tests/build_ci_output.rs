//! Native CI output of a real `davit build`: GitHub's step outputs, job
//! summary and annotations, GitLab's sections, dotenv and annotations
//! reports — for a successful build, a partly failed one and a config
//! error.

mod build_common;

use std::path::Path;

use build_common::{davit, project, unique};
use davit_testkit::fixtures::{git, testenv as env, write};

struct GitHubFiles {
    _tmp: tempfile::TempDir,
    output: String,
    summary: String,
}

fn github_files() -> GitHubFiles {
    let tmp = tempfile::tempdir().expect("tempdir");
    let output = tmp.path().join("output").to_string_lossy().into_owned();
    let summary = tmp.path().join("summary").to_string_lossy().into_owned();
    GitHubFiles {
        _tmp: tmp,
        output,
        summary,
    }
}

fn github_build(dir: &Path, repo: &str, files: &GitHubFiles) -> std::process::Output {
    davit(
        dir,
        &["build", "--repo", repo],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", &files.output),
            ("GITHUB_STEP_SUMMARY", &files.summary),
        ],
    )
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn github_gets_outputs_a_summary_and_groups() {
    let p = project();
    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique("ci-out"));
    let files = github_files();
    let out = github_build(&p.dir, &repo, &files);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("::group::Building images\n"), "{stdout}");
    assert!(stdout.contains("::endgroup::"), "{stdout}");
    let outputs = read(&files.output);
    for key in [
        "app-name=app",
        "app-tag=",
        "app-digest=sha256:",
        &format!("app-ref={repo}:"),
        "base-ref=",
        "images={",
        "report<<",
    ] {
        assert!(outputs.contains(key), "{key}: {outputs}");
    }
    let summary = read(&files.summary);
    assert!(summary.contains("### davit build: succeeded"), "{summary}");
    assert!(summary.contains("| app | `"), "{summary}");
    assert!(
        summary.contains("**2 images**: 2 built, 0 reused"),
        "{summary}"
    );
}

#[test]
fn github_annotates_a_partly_failed_build_and_keeps_what_finished() {
    let p = project();
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUN exit 3\n",
    );
    git(&p.dir, &["commit", "-qam", "break app"]);
    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique("ci-out"));
    let files = github_files();
    let out = github_build(&p.dir, &repo, &files);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("::error::image \"app\""), "{stdout}");
    let outputs = read(&files.output);
    assert!(
        outputs.contains("base-ref="),
        "the finished image is an output: {outputs}"
    );
    assert!(!outputs.contains("app-ref="), "{outputs}");
    let summary = read(&files.summary);
    assert!(
        summary.starts_with("### davit build: failed\n\n- :x: "),
        "{summary}"
    );
    assert!(summary.contains("| base |"), "{summary}");
}

#[test]
fn github_annotates_a_config_error_at_its_line_relative_to_the_repository() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    write(
        dir,
        "svc/werf.yaml",
        "project: p\nconfigVersion: 1\n---\nimage: app\ndockerfil: Dockerfile\n",
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "init"]);
    let files = github_files();
    let out = github_build(&dir.join("svc"), "127.0.0.1:5055/x", &files);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("::error file=svc/werf.yaml,line=5,col=1::unknown key `dockerfil`"),
        "{stdout}"
    );
    assert!(read(&files.summary).contains("- :x: `svc/werf.yaml:5`"));
}

#[test]
fn gitlab_gets_sections_a_dotenv_and_an_annotations_report() {
    let p = project();
    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique("ci-out"));
    let out = davit(
        &p.dir,
        &["build"],
        &[
            ("GITLAB_CI", "true"),
            ("CI_REGISTRY", env("DAVIT_TEST_REGISTRY_ANON").as_str()),
            ("CI_REGISTRY_IMAGE", repo.as_str()),
            ("CI_PROJECT_URL", "https://gitlab.example.com/grp/app"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("no --repo: using the gitlab registry"),
        "{stderr}"
    );
    assert!(
        stderr.contains("section_start:") && stderr.contains(":build\r\x1b[0KBuilding images"),
        "{stderr}"
    );
    assert!(stderr.contains("section_end:"), "{stderr}");
    let dotenv = std::fs::read_to_string(p.dir.join("davit-build.env")).expect("dotenv");
    assert!(
        dotenv.starts_with(&format!("WERF_APP_DOCKER_IMAGE_NAME={repo}:")),
        "{dotenv}"
    );
    let annotations: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.dir.join("davit-annotations.json")).expect("annotations"),
    )
    .expect("json");
    assert_eq!(
        annotations["davit build"][0]["external_link"]["url"],
        "https://gitlab.example.com/grp/app/container_registry"
    );
    // --ci-output none writes nothing for CI.
    std::fs::remove_file(p.dir.join("davit-build.env")).expect("rm");
    let out = davit(
        &p.dir,
        &["build", "--repo", &repo, "--ci-output", "none"],
        &[("GITLAB_CI", "true")],
    );
    assert!(out.status.success());
    assert!(!p.dir.join("davit-build.env").exists());
}

#[test]
fn github_masks_registry_passwords_and_secret_values_before_anything_prints() {
    let p = project();
    let secret_value = format!("s3cret-{}", unique("v"));
    write(
        &p.dir,
        "werf.yaml",
        &std::fs::read_to_string(p.dir.join("werf.yaml"))
            .expect("werf.yaml")
            .replace(
                "image: app\n",
                &format!("image: app\nsecrets:\n- id: token\n  value: {secret_value}\n"),
            ),
    );
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowValueIds: [token]\n",
    );
    git(&p.dir, &["add", "-A"]);
    git(&p.dir, &["commit", "-qm", "secret"]);
    let config = tempfile::tempdir().expect("docker config");
    let user = env("DAVIT_TEST_REGISTRY_USER");
    let password = env("DAVIT_TEST_REGISTRY_PASSWORD");
    let basic = env("DAVIT_TEST_REGISTRY_BASIC");
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    std::fs::write(
        config.path().join("config.json"),
        format!("{{\"auths\":{{\"{basic}\":{{\"auth\":\"{auth}\"}}}}}}"),
    )
    .expect("config.json");
    let repo = format!("{basic}/{}", unique("ci-mask"));
    let files = github_files();
    let out = davit(
        &p.dir,
        &["build", "--repo", &repo],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_OUTPUT", &files.output),
            ("GITHUB_STEP_SUMMARY", &files.summary),
            ("DOCKER_CONFIG", &config.path().to_string_lossy()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let group = stdout
        .find("::group::Building images")
        .expect("the build group");
    for value in [&password, &secret_value] {
        let mask = stdout
            .find(&format!("::add-mask::{value}\n"))
            .unwrap_or_else(|| panic!("no mask for a secret: {stdout}"));
        assert!(mask < group, "masks come before the build prints: {stdout}");
    }
}

#[test]
fn github_annotates_a_dockerfile_error_at_its_line() {
    let p = project();
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUNN echo hi\n",
    );
    git(&p.dir, &["commit", "-qam", "typo"]);
    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique("ci-df"));
    let files = github_files();
    let out = github_build(&p.dir, &repo, &files);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("::error file=app/Dockerfile,line=3::"),
        "{stdout}"
    );
}

#[test]
fn davits_own_reports_in_the_work_tree_are_not_uncommitted_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    write(
        dir,
        "werf.yaml",
        &format!(
            "project: {}\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\n",
            unique("own")
        ),
    );
    write(
        dir,
        "Dockerfile",
        &format!("FROM {}\nCOPY . /app\n", env("DAVIT_TEST_BASE_IMAGE")),
    );
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "init"]);
    write(dir, "davit-build.env", "WERF_APP_DOCKER_IMAGE_NAME=x\n");
    write(dir, "davit-annotations.json", "{}\n");
    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique("own"));
    let out = davit(dir, &["build", "--repo", &repo, "--ci-output", "none"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Any other untracked file is still refused.
    write(dir, "notes.txt", "x\n");
    let out = davit(dir, &["build", "--repo", &repo, "--ci-output", "none"], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the untracked file \"notes.txt\" must be committed"),
        "{stderr}"
    );
}
