//! `davit render` and `davit helm secret` end to end, on real git
//! repositories: giterminism for the chart, errors that name the file and
//! line, `--show-only`/`--output`, secrets encrypted by the CLI and read by
//! render, key rotation, and `--repo` with a real registry and daemon
//! (`--require-built-images`, `--use-build-report`).

mod build_common;

use std::path::Path;
use std::process::Output;

use build_common::{davit, ok, unique};
use davit_testkit::fixtures::{git, testenv as env, write};

const KEY: &str = "92f12f50b78d2910d0c23cb354252970";
const OTHER_KEY: &str = "0123456789abcdef0123456789abcdef";

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn commit(dir: &Path, msg: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", msg]);
}

/// A project with one Dockerfile image and a chart that uses it.
fn project(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q"]);
    write(
        dir,
        "werf.yaml",
        &format!("project: {name}\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\n"),
    );
    write(
        dir,
        "Dockerfile",
        &format!(
            "FROM {}\nCOPY app.txt /app.txt\n",
            env("DAVIT_TEST_BASE_IMAGE")
        ),
    );
    write(dir, "app.txt", "app\n");
    write(dir, ".helm/values.yaml", "replicas: 2\n");
    write(
        dir,
        ".helm/templates/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n      - name: app\n        image: {{ .Values.werf.image.app }}\n",
    );
    write(
        dir,
        ".helm/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  env: {{ .Values.werf.env | default \"none\" | quote }}\n",
    );
    commit(dir, "init");
    tmp
}

#[test]
fn renders_the_commit_and_refuses_uncommitted_chart_changes() {
    let p = project("render-git");
    let dir = p.path();
    let out = davit(dir, &["render"], &[]);
    ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("# Source: render-git/templates/deploy.yaml"),
        "{text}"
    );
    assert!(text.contains("image: REPO:TAG"), "{text}");
    assert!(text.contains("replicas: 2"), "{text}");
    // ConfigMap sorts before Deployment.
    assert!(
        text.find("kind: ConfigMap") < text.find("kind: Deployment"),
        "{text}"
    );

    write(dir, ".helm/values.yaml", "replicas: 5\n");
    let out = davit(dir, &["render"], &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(".helm/values.yaml") && err.contains("uncommitted"),
        "{err}"
    );
    assert!(err.contains("--dev"), "the hint names --dev: {err}");

    let out = davit(dir, &["render", "--dev"], &[]);
    ok(&out);
    assert!(stdout(&out).contains("replicas: 5"));
}

#[test]
fn template_errors_name_the_file_and_line() {
    let p = project("render-errors");
    let dir = p.path();
    write(
        dir,
        ".helm/templates/bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  v: {{ required \"set .Values.needed\" .Values.needed }}\n",
    );
    commit(dir, "bad");
    let out = davit(dir, &["render"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(
            "execution error at (render-errors/templates/bad.yaml:6:8): set .Values.needed"
        ),
        "{err}"
    );
    let out = davit(dir, &["render", "--set", "needed=yes"], &[]);
    ok(&out);

    write(
        dir,
        ".helm/templates/bad.yaml",
        "{{ .Values.x | nosuchfunc }}\n",
    );
    commit(dir, "parse");
    let err = stderr(&davit(dir, &["render"], &[]));
    assert!(
        err.contains("parse error at (render-errors/templates/bad.yaml:1): function \"nosuchfunc\" not defined"),
        "{err}"
    );

    write(dir, ".helm/templates/bad.yaml", "just a string\n");
    commit(dir, "not a resource");
    let err = stderr(&davit(dir, &["render"], &[]));
    assert!(err.contains("render-errors/templates/bad.yaml"), "{err}");
    assert!(err.contains("not a YAML mapping"), "{err}");
}

#[test]
fn show_only_output_env_and_annotations() {
    let p = project("render-flags");
    let dir = p.path();
    let file = dir.join("out.yaml");
    let out = davit(
        dir,
        &[
            "render",
            "--show-only",
            "templates/cm.yaml",
            "--env",
            "staging",
            "--add-label",
            "team=a",
            "--output",
            file.to_str().unwrap(),
        ],
        &[("WERF_ADD_ANNOTATION_X", "owner=ops")],
    );
    ok(&out);
    assert!(stdout(&out).is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("Deployment"), "{text}");
    assert!(text.contains("env: staging"), "{text}");
    assert!(
        text.contains("owner: ops") && text.contains("team: a"),
        "{text}"
    );

    let out = davit(dir, &["render", "--show-only", "templates/nope.yaml"], &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("templates/nope.yaml"));
}

#[test]
fn secrets_from_the_cli_are_read_by_render_and_rotate() {
    let p = project("render-secrets");
    let dir = p.path();
    write(dir, "plain.yaml", "db:\n  password: s3cr3t\n");
    let out = davit(
        dir,
        &[
            "helm",
            "secret",
            "values",
            "encrypt",
            "plain.yaml",
            "-o",
            ".helm/secret-values.yaml",
        ],
        &[("WERF_SECRET_KEY", KEY)],
    );
    ok(&out);
    let encrypted = std::fs::read_to_string(dir.join(".helm/secret-values.yaml")).unwrap();
    assert!(encrypted.contains("password: 1000") && !encrypted.contains("s3cr3t"));
    std::fs::remove_file(dir.join("plain.yaml")).unwrap();
    write(dir, "token.txt", "tok-123\n");
    ok(&davit(
        dir,
        &[
            "helm",
            "secret",
            "file",
            "encrypt",
            "token.txt",
            "-o",
            ".helm/secret/token",
        ],
        &[("WERF_SECRET_KEY", KEY)],
    ));
    std::fs::remove_file(dir.join("token.txt")).unwrap();
    write(
        dir,
        ".helm/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: {{ .Values.db.password }}\n  token: {{ werf_secret_file \"token\" | quote }}\n",
    );
    commit(dir, "secrets");

    let out = davit(
        dir,
        &["render", "--show-only", "templates/secret.yaml"],
        &[("WERF_SECRET_KEY", KEY)],
    );
    ok(&out);
    let text = stdout(&out);
    // stringData is folded into data, base64.
    assert!(text.contains("password: czNjcjN0"), "{text}");
    assert!(text.contains("token: dG9rLTEyMwo="), "{text}");

    let out = davit(dir, &["render"], &[("WERF_SECRET_KEY", OTHER_KEY)]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(".helm/secret-values.yaml") && err.contains("does not match"),
        "{err}"
    );
    assert!(
        !err.contains("1000") && !err.contains("s3cr3t"),
        "no secret material in errors: {err}"
    );

    let out = davit(dir, &["render"], &[("HOME", dir.to_str().unwrap())]);
    assert!(stderr(&out).contains("required encryption key not found"));
    ok(&davit(
        dir,
        &["render", "--ignore-secret-key"],
        &[("HOME", dir.to_str().unwrap())],
    ));

    let out = davit(
        dir,
        &["helm", "secret", "rotate-secret-key"],
        &[("WERF_OLD_SECRET_KEY", KEY), ("WERF_SECRET_KEY", OTHER_KEY)],
    );
    ok(&out);
    assert!(stderr(&out).contains("rotated .helm/secret-values.yaml"));
    assert!(stderr(&out).contains("rotated .helm/secret/token"));
    let out = davit(
        dir,
        &["render", "--dev", "--show-only", "templates/secret.yaml"],
        &[("WERF_SECRET_KEY", OTHER_KEY)],
    );
    ok(&out);
    assert!(stdout(&out).contains("password: czNjcjN0"));
    // A wrong old key changes nothing.
    let before = std::fs::read_to_string(dir.join(".helm/secret-values.yaml")).unwrap();
    let out = davit(
        dir,
        &["helm", "secret", "rotate-secret-key"],
        &[("WERF_OLD_SECRET_KEY", KEY), ("WERF_SECRET_KEY", OTHER_KEY)],
    );
    assert!(!out.status.success());
    assert_eq!(
        before,
        std::fs::read_to_string(dir.join(".helm/secret-values.yaml")).unwrap()
    );
}

#[test]
fn repo_builds_or_requires_built_images_or_reads_a_report() {
    let p = project("render-repo");
    let dir = p.path();
    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_ANON"), unique("render"));
    let out = davit(
        dir,
        &["render", "--repo", &repo, "--require-built-images"],
        &[],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("--require-built-images") && err.contains("not in the stages storage"),
        "{err}"
    );

    let out = davit(dir, &["build", "--repo", &repo, "--save-build-report"], &[]);
    ok(&out);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join(".werf-build-report.json")).unwrap(),
    )
    .unwrap();
    let image = report["Images"]["app"]["DockerImageName"]
        .as_str()
        .unwrap()
        .to_string();

    let out = davit(
        dir,
        &["render", "--repo", &repo, "--require-built-images"],
        &[],
    );
    ok(&out);
    assert!(
        stdout(&out).contains(&format!("image: {image}")),
        "{}",
        stdout(&out)
    );

    let out = davit(dir, &["render", "--use-build-report"], &[]);
    ok(&out);
    assert!(stdout(&out).contains(&format!("image: {image}")));
}
