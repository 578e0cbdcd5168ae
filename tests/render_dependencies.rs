//! Chart dependencies that `charts/` does not vendor: a `file://` chart of
//! the project, a chart from an HTTP chart repository (packaged and indexed
//! by the real Helm, served over HTTP) and one from an OCI registry (pushed
//! by the real Helm to the test registry). `davit render` fetches them as
//! `Chart.lock` pins them, caches them by the lock's digest, and renders
//! from the cache when the repositories are gone.

mod build_common;
mod ci_common;

use std::path::Path;
use std::process::Command;

use build_common::{davit, ok, unique};
use ci_common::serve;
use davit_testkit::fixtures::{git, testenv as env, write};

fn helm(dir: &Path, args: &[&str]) {
    let out = Command::new(env("DAVIT_TEST_HELM"))
        .args(args)
        .current_dir(dir)
        .env("HELM_CACHE_HOME", dir.join(".helm-cache"))
        .env("HELM_CONFIG_HOME", dir.join(".helm-config"))
        .env(
            "HELM_REGISTRY_CONFIG",
            dir.join(".helm-config/registry.json"),
        )
        .output()
        .expect("run helm");
    assert!(
        out.status.success(),
        "helm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A chart with one ConfigMap named after the chart and a value.
fn chart(dir: &Path, name: &str, version: &str) {
    write(
        dir,
        &format!("{name}/Chart.yaml"),
        &format!("apiVersion: v2\nname: {name}\nversion: {version}\n"),
    );
    write(
        dir,
        &format!("{name}/values.yaml"),
        &format!("from: {name}-{version}\n"),
    );
    write(
        dir,
        &format!("{name}/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}\ndata:\n  from: {{ .Values.from }}\n  release: {{ .Release.Name }}\n",
    );
}

#[test]
fn lock_pinned_dependencies_are_fetched_cached_and_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    // An HTTP chart repository made by Helm.
    let repo_dir = work.join("repo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    chart(work, "webdep", "1.2.0");
    helm(work, &["package", "webdep", "-d", "repo"]);
    let server = serve(repo_dir.clone());
    let http_repo = format!("http://127.0.0.1:{}", server.port);
    helm(work, &["repo", "index", "repo", "--url", &http_repo]);
    // An OCI chart pushed by Helm.
    chart(work, "ocidep", "0.3.1");
    helm(work, &["package", "ocidep", "-d", "oci"]);
    let oci_repo = format!(
        "oci://{}/{}",
        env("DAVIT_TEST_REGISTRY_ANON"),
        unique("charts")
    );
    helm(
        work,
        &["push", "oci/ocidep-0.3.1.tgz", &oci_repo, "--plain-http"],
    );

    let project = work.join("project");
    let home = work.join("home");
    git(&project_dir(&project), &["init", "-q"]);
    write(&project, "werf.yaml", "project: deps\nconfigVersion: 1\n");
    chart(&project, "libs/localdep", "0.0.1");
    // `chart` named it after its path: name it localdep.
    write(
        &project,
        "libs/localdep/Chart.yaml",
        "apiVersion: v2\nname: localdep\nversion: 0.0.1\n",
    );
    write(
        &project,
        "libs/localdep/values.yaml",
        "from: localdep-0.0.1\n",
    );
    write(
        &project,
        ".helm/Chart.yaml",
        &format!(
            "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: webdep\n  version: ~1.2.0\n  repository: {http_repo}\n- name: ocidep\n  version: 0.3.1\n  repository: {oci_repo}\n- name: localdep\n  version: 0.0.1\n  repository: file://../libs/localdep\n"
        ),
    );
    write(
        &project,
        ".helm/Chart.lock",
        &format!(
            "dependencies:\n- name: webdep\n  repository: {http_repo}\n  version: 1.2.0\n- name: ocidep\n  repository: {oci_repo}\n  version: 0.3.1\n- name: localdep\n  repository: file://../libs/localdep\n  version: 0.0.1\ndigest: sha256:0000\ngenerated: \"2026-12-03T00:00:00Z\"\n"
        ),
    );
    write(
        &project,
        ".helm/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  web: {{ .Values.webdep.from }}\n",
    );
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-qm", "deps"]);

    let home_s = home.to_str().unwrap();
    let out = davit(&project, &["render", "--home-dir", home_s], &[]);
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    for (source, from) in [
        ("app/charts/webdep/templates/cm.yaml", "webdep-1.2.0"),
        ("app/charts/ocidep/templates/cm.yaml", "ocidep-0.3.1"),
        ("app/charts/localdep/templates/cm.yaml", "localdep-0.0.1"),
    ] {
        assert!(
            text.contains(&format!("# Source: {source}")),
            "{source}:\n{text}"
        );
        assert!(text.contains(&format!("from: {from}")), "{from}:\n{text}");
    }
    assert!(
        text.contains("web: webdep-1.2.0"),
        "parent sees the subchart's values:\n{text}"
    );
    assert!(!text.contains("Cannot automatically download"));
    let fetched = server.requests.lock().unwrap().clone();
    assert!(fetched.iter().any(|p| p == "/index.yaml"), "{fetched:?}");

    // The cache answers now: no repository is asked again.
    let before = server.requests.lock().unwrap().len();
    let out = davit(&project, &["render", "--home-dir", home_s], &[]);
    ok(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout), text);
    assert_eq!(
        server.requests.lock().unwrap().len(),
        before,
        "rendered from the cache"
    );
    let cached: Vec<String> = walk(&home.join("local_cache/helm_chart_dependencies/1"));
    assert!(
        cached
            .iter()
            .any(|p| p.ends_with("charts/webdep-1.2.0.tgz")),
        "{cached:?}"
    );
    assert!(
        cached
            .iter()
            .any(|p| p.ends_with("charts/ocidep-0.3.1.tgz")),
        "{cached:?}"
    );

    // A dependency the lock does not pin is an error with the fix.
    write(
        &project,
        ".helm/Chart.lock",
        &format!("dependencies:\n- name: webdep\n  repository: {http_repo}\n  version: 1.2.0\n"),
    );
    git(&project, &["commit", "-qam", "partial lock"]);
    let out = davit(&project, &["render", "--home-dir", home_s], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(".helm/Chart.lock") && err.contains("ocidep"),
        "{err}"
    );
    assert!(err.contains("helm dependency update"), "{err}");
}

fn project_dir(p: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(p).unwrap();
    p.to_path_buf()
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p.to_string_lossy().into_owned());
            }
        }
    }
    out
}
