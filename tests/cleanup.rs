//! `davit cleanup` against the real registry, real git repositories with a
//! bare `origin`, and the test control plane: a real run deletes exactly
//! what the dry run reported and nothing a kept tag shares, a second run
//! deletes nothing, and what Kubernetes runs (in any context of the
//! kubeconfig) is kept while a finished Job protects nothing.

mod build_common;
mod cleanup_common;
mod kube_common;

use std::collections::BTreeSet;
use std::path::Path;

use build_common::*;
use cleanup_common::*;
use davit_testkit::fixtures::testenv as env;
use serde_json::json;

#[test]
fn a_real_cleanup_deletes_what_the_dry_run_reported_and_a_second_deletes_nothing() {
    let (p, _origin) = project_with_origin();
    let (host, path, repo) = anon_repo(&p);
    let r1 = commit_build_push(&p, &repo, "one", &["--add-custom-tag", "old-%image%"]);
    let r2 = commit_build_push(&p, &repo, "two", &["--add-custom-tag", "latest"]);
    let (app1, app2, base) = (
        stage_of(&r1, "app"),
        stage_of(&r2, "app"),
        stage_of(&r2, "base"),
    );
    assert_ne!(app1, app2);
    let before: BTreeSet<String> = registry_tags(&host, &path).into_iter().collect();
    assert!(
        before.contains("old-app") && before.contains("latest"),
        "{before:?}"
    );

    let (log, dry) = cleanup(&p.dir, &repo, &["--without-kube", "--dry-run"], &[]);
    assert_eq!(dry["dryRun"], true);
    assert_eq!(
        before,
        registry_tags(&host, &path).into_iter().collect(),
        "a dry run deletes nothing"
    );
    let head = head_commit(&p.dir);
    assert!(
        log.contains(&format!(
            "{app2}: git policy (image app: origin/main at {}",
            &head[..12]
        )),
        "--explain names the reference and commit:\n{log}"
    );
    let dry_deleted = items(&dry, "deleted");
    assert!(
        dry_deleted.contains(&json!({"type": "stage", "tag": app1}).to_string()),
        "{dry}"
    );
    assert!(
        dry_deleted.contains(&json!({"type": "customTag", "tag": "old-app"}).to_string()),
        "{dry}"
    );

    let (_, real) = cleanup(&p.dir, &repo, &["--without-kube"], &[]);
    assert_eq!(real["dryRun"], false);
    assert_eq!(
        items(&real, "deleted"),
        dry_deleted,
        "the real run deletes what the dry run said"
    );
    assert_eq!(items(&real, "kept"), items(&dry, "kept"));

    let after: BTreeSet<String> = registry_tags(&host, &path).into_iter().collect();
    for gone in [
        &app1,
        &"old-app".to_string(),
        &"custom-tag-meta-old-app".to_string(),
    ] {
        assert!(!after.contains(gone), "{gone} is still there: {after:?}");
    }
    // What is kept is all there: the stages, the custom tag that shares the
    // kept stage's digest, the records.
    for kept in [
        &app2,
        &base,
        &"latest".to_string(),
        &"custom-tag-meta-latest".to_string(),
    ] {
        assert!(after.contains(kept), "{kept} was deleted: {after:?}");
    }
    for t in &after {
        assert!(before.contains(t) || t == "cleanup", "{t} appeared");
    }
    for m in meta_records(&after.iter().cloned().collect::<Vec<_>>()) {
        let stage = m.rsplit('_').next().unwrap();
        assert!(after.contains(stage), "{m} points at a deleted stage");
    }
    assert!(
        config_label(&host, &path, "cleanup", "lastcleanuptimestamp").is_some(),
        "the cleanup record"
    );
    assert_no_broken_tags(&host, &path);

    let (_, second) = cleanup(&p.dir, &repo, &["--without-kube"], &[]);
    assert!(
        second["deleted"].as_array().unwrap().is_empty(),
        "a second run deletes nothing: {second}"
    );
}

/// The registry requests a run's summary line counts.
fn requests_of(log: &str) -> u64 {
    log.lines()
        .rev()
        .find_map(|l| {
            l.strip_suffix(" registry requests")?
                .rsplit(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no request count in:\n{log}"))
}

#[test]
fn kept_stages_labels_come_from_the_local_cache_on_the_next_run() {
    let (p, _origin) = project_with_origin();
    let (_, _, repo) = anon_repo(&p);
    let r1 = commit_build_push(&p, &repo, "one", &[]);
    let r2 = commit_build_push(&p, &repo, "two", &[]);
    let (app1, app2) = (stage_of(&r1, "app"), stage_of(&r2, "app"));
    let home = tempfile::tempdir().unwrap();
    let home_env = [("WERF_HOME", home.path().to_str().unwrap())];
    let dry = ["--without-kube", "--dry-run"];

    let (cold_log, cold) = cleanup(&p.dir, &repo, &dry, &home_env);
    let (warm_log, warm) = cleanup(&p.dir, &repo, &dry, &home_env);
    assert_eq!(items(&warm, "deleted"), items(&cold, "deleted"));
    assert_eq!(items(&warm, "kept"), items(&cold, "kept"));
    assert!(
        items(&cold, "deleted").contains(&json!({"type": "stage", "tag": app1}).to_string()),
        "{cold}"
    );
    let kept = cold["kept"].as_array().unwrap().len() as u64;
    assert!(kept >= 2, "{cold}");
    assert!(
        !cold_log.contains("came from the local cache"),
        "{cold_log}"
    );
    assert!(
        warm_log.contains(&format!(
            "the labels of {kept} kept stage(s) came from the local cache"
        )),
        "{warm_log}"
    );
    assert_eq!(
        requests_of(&cold_log) - requests_of(&warm_log),
        2 * kept,
        "a kept stage's labels (its manifest and config) are read once:\n{cold_log}\n{warm_log}"
    );

    // The next run believes the cache: a parent named only there is kept.
    let dir = home.path().join("local_cache/stage-labels");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one cache file per repository: {files:?}");
    let mut cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(cache["repo"], repo.as_str());
    assert!(cache["stages"][&app2].is_object(), "{cache}");
    assert!(
        cache["stages"].get(&app1).is_none(),
        "only kept stages are read: {cache}"
    );
    cache["stages"][&app2]["werf.io/parent-stage-id"] = json!(app1);
    std::fs::write(&files[0], cache.to_string()).unwrap();
    let (log, r) = cleanup(&p.dir, &repo, &dry, &home_env);
    assert!(
        log.contains(&format!("{app1}: ancestor (of {app2})")),
        "{log}"
    );
    assert!(!items(&r, "deleted").contains(&json!({"type": "stage", "tag": app1}).to_string()));

    // A corrupt cache is an empty one, rewritten from the registry.
    std::fs::write(&files[0], b"{").unwrap();
    let (log, r) = cleanup(&p.dir, &repo, &dry, &home_env);
    assert_eq!(items(&r, "deleted"), items(&cold, "deleted"));
    assert_eq!(requests_of(&log), requests_of(&cold_log));
    let cache: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert!(cache["stages"][&app2].is_object(), "{cache}");
}

/// A kubeconfig with two contexts on the test control plane.
fn two_context_kubeconfig(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig-two");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: test\n  cluster: {{server: '{}', insecure-skip-tls-verify: true}}\nusers:\n- name: admin\n  user: {{token: {}}}\ncontexts:\n- name: first\n  context: {{cluster: test, user: admin}}\n- name: second\n  context: {{cluster: test, user: admin, namespace: default}}\ncurrent-context: first\n",
            env("DAVIT_TEST_KUBE_API"),
            env("DAVIT_TEST_KUBE_TOKEN")
        ),
    )
    .unwrap();
    path
}

#[test]
fn what_kubernetes_runs_is_kept_and_a_finished_job_protects_nothing() {
    let (p, _origin) = project_with_origin();
    let (_, _, repo) = anon_repo(&p);
    let r1 = commit_build_push(&p, &repo, "one", &[]);
    let r2 = commit_build_push(&p, &repo, "two", &[]);
    let _r3 = commit_build_push(&p, &repo, "three", &[]);
    let (running, finished) = (stage_of(&r1, "app"), stage_of(&r2, "app"));

    let ns_a = unique("cla").replace('_', "-");
    let ns_a = &ns_a[..ns_a.len().min(40)];
    let ns_b = unique("clb").replace('_', "-");
    let ns_b = &ns_b[..ns_b.len().min(40)];
    for ns in [ns_a, ns_b] {
        kube_common::request(
            "POST",
            "/api/v1/namespaces",
            "application/json",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        );
    }
    let created = kube_common::request(
        "POST",
        &format!("/apis/apps/v1/namespaces/{ns_a}/deployments"),
        "application/json",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "runs-one"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "one"}},
              "template": {"metadata": {"labels": {"app": "one"}},
                "spec": {"containers": [{"name": "app", "image": format!("{repo}:{running}")}]}}}}),
    );
    assert_eq!(created["metadata"]["name"], "runs-one", "{created}");
    let job = kube_common::request(
        "POST",
        &format!("/apis/batch/v1/namespaces/{ns_b}/jobs"),
        "application/json",
        &json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "ran-two"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
              "containers": [{"name": "app", "image": format!("{repo}:{finished}")}]}}}}),
    );
    assert_eq!(job["metadata"]["name"], "ran-two", "{job}");
    // kwok completes the Job.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let j =
            kube_common::get(&format!("/apis/batch/v1/namespaces/{ns_b}/jobs/ran-two")).unwrap();
        if j["status"]["succeeded"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job never completed: {j}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }

    let kubeconfig = two_context_kubeconfig(&p.dir);
    let (log, dry) = cleanup(
        &p.dir,
        &repo,
        &["--dry-run", "--kube-config", kubeconfig.to_str().unwrap()],
        &[],
    );
    let kept = items(&dry, "kept");
    assert!(
        kept.iter()
            .any(|k| k.contains(&running) && k.contains("used in Kubernetes")),
        "the running stage is kept: {dry}"
    );
    assert!(
        items(&dry, "deleted").contains(&json!({"type": "stage", "tag": finished}).to_string()),
        "a finished Job protects nothing: {dry}"
    );
    let line = log
        .lines()
        .find(|l| l.contains(&running) && l.contains("used in Kubernetes"))
        .unwrap_or_else(|| panic!("no explanation for {running}:\n{log}"));
    assert!(
        line.contains(&format!(
            "context/first ns/{ns_a} Deployment/runs-one container/app"
        )) && line.contains("context/second"),
        "both contexts scanned: {line}"
    );

    // Without Kubernetes access the run refuses rather than deleting what may run.
    let out = davit(
        &p.dir,
        &[
            "cleanup",
            "--repo",
            &repo,
            "--dry-run",
            "--kube-config",
            "/nonexistent/kubeconfig",
        ],
        &[],
    );
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("--without-kube"), "{text}");
}

#[test]
fn purge_deletes_every_stage_and_record() {
    let (p, _origin) = project_with_origin();
    let (host, path, repo) = anon_repo(&p);
    commit_build_push(&p, &repo, "one", &["--add-custom-tag", "latest"]);
    commit_build_push(&p, &repo, "two", &[]);
    let before = registry_tags(&host, &path);
    assert!(before.len() >= 6, "{before:?}");
    let out = davit(&p.dir, &["purge", "--repo", &repo, "--dry-run"], &[]);
    let log = ok(&out);
    assert!(log.contains("would delete custom tag latest"), "{log}");
    assert_eq!(
        registry_tags(&host, &path),
        before,
        "a dry run deletes nothing"
    );
    ok(&davit(
        &p.dir,
        &["purge", "--repo", &repo, "--save-cleanup-report"],
        &[],
    ));
    let after = registry_tags(&host, &path);
    assert!(after.is_empty(), "left after purge: {after:?}");
    let r = report(&p.dir, ".werf-cleanup-report.json");
    assert_eq!(r["command"], "purge");
    assert!(r["kept"].as_array().unwrap().is_empty());
    assert_eq!(
        r["deleted"].as_array().unwrap().len(),
        before.len() - 1,
        "every tag but the custom tag's record, which goes with its tag: {r}"
    );
}

/// Pushes werf's `import-metadata-<id>` record (a manifest-only image with
/// the labels werf v2's stapel imports write), with curl.
fn push_import_record(host: &str, path: &str, id: &str, labels: serde_json::Value) {
    let config = json!({
        "architecture": "amd64", "os": "linux", "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": []},
    });
    push_config_image(host, path, &format!("import-metadata-{id}"), &config);
}

fn curl_ok(args: &[&str]) -> String {
    let out = std::process::Command::new("curl")
        .arg("-sf")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "curl {args:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256_of(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("blob");
    std::fs::write(&file, bytes).unwrap();
    let sum = sha256_file(&file);
    format!("sha256:{sum}")
}

fn sha256_file(file: &Path) -> String {
    let sum = std::process::Command::new("sha256sum")
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8_lossy(&sum.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Pushes a manifest under `tag`; returns its digest.
fn push_manifest(host: &str, path: &str, tag: &str, media_type: &str, manifest: &str) -> String {
    curl_ok(&[
        "-o",
        "/dev/null",
        "-X",
        "PUT",
        "-H",
        &format!("Content-Type: {media_type}"),
        "--data-binary",
        manifest,
        &format!("http://{host}/v2/{path}/manifests/{tag}"),
    ]);
    sha256_of(manifest.as_bytes())
}

/// Pushes an image with no layers and the given config under `tag`;
/// returns the manifest's digest.
fn push_config_image(host: &str, path: &str, tag: &str, config: &serde_json::Value) -> String {
    let config = config.to_string();
    let digest = sha256_of(config.as_bytes());
    // An upload session, then the blob in one PUT.
    let headers = curl_ok(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-X",
        "POST",
        &format!("http://{host}/v2/{path}/blobs/uploads/"),
    ]);
    let location = headers
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("location")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no upload location: {headers}"));
    let location = if location.starts_with('/') {
        format!("http://{host}{location}")
    } else {
        location
    };
    let sep = if location.contains('?') { '&' } else { '?' };
    curl_ok(&[
        "-o",
        "/dev/null",
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        &config,
        &format!("{location}{sep}digest={digest}"),
    ]);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest, "size": config.len()},
        "layers": [],
    })
    .to_string();
    push_manifest(
        host,
        path,
        tag,
        "application/vnd.oci.image.manifest.v1+json",
        &manifest,
    )
}

#[test]
fn import_records_of_deleted_sources_go_and_those_of_kept_ones_stay() {
    let (p, _origin) = project_with_origin();
    let (host, path, repo) = anon_repo(&p);
    let r1 = commit_build_push(&p, &repo, "one", &[]);
    let r2 = commit_build_push(&p, &repo, "two", &[]);
    let (doomed, kept) = (stage_of(&r1, "app"), stage_of(&r2, "app"));
    let labels = |source: &str, checksum: &str| json!({"werf": p.project, "import-source-id": "x", "source-stage-id": source, "checksum": checksum});
    push_import_record(&host, &path, "kept", labels(&kept, "c-kept"));
    push_import_record(&host, &path, "doomed", labels(&doomed, "c-doomed"));
    // No labels werf reads: an unreadable record, which werf deletes.
    push_import_record(&host, &path, "broken", json!({"werf": p.project}));

    let (log, r) = cleanup(&p.dir, &repo, &["--without-kube"], &[]);
    let deleted = items(&r, "deleted");
    for id in ["doomed", "broken"] {
        assert!(
            deleted.contains(&json!({"type": "importMetadata", "id": id}).to_string()),
            "{id}: {r}\n{log}"
        );
    }
    let after = registry_tags(&host, &path);
    assert!(
        after.contains(&"import-metadata-kept".to_string()),
        "{after:?}"
    );
    assert!(!after.contains(&"import-metadata-doomed".to_string()));
    assert!(!after.contains(&"import-metadata-broken".to_string()));
    assert!(!after.contains(&doomed) && after.contains(&kept));
}

#[test]
fn final_and_cache_repo_copies_of_deleted_stages_go_with_their_custom_tags() {
    let (p, _origin) = project_with_origin();
    let (host, path, repo) = anon_repo(&p);
    let final_path = format!("{path}-final");
    let final_repo = format!("{host}/{final_path}");
    let cache_path = format!("{path}-cache");
    let cache_repo = format!("{host}/{cache_path}");
    let r1 = commit_build_push(
        &p,
        &repo,
        "one",
        &[
            "--final-repo",
            &final_repo,
            "--cache-repo",
            &cache_repo,
            "--add-custom-tag",
            "old-%image%",
        ],
    );
    let r2 = commit_build_push(
        &p,
        &repo,
        "two",
        &["--final-repo", &final_repo, "--cache-repo", &cache_repo],
    );
    let (app1, app2) = (stage_of(&r1, "app"), stage_of(&r2, "app"));
    let final_before = registry_tags(&host, &final_path);
    for t in [&app1, &app2, &"old-app".to_string()] {
        assert!(final_before.contains(t), "{t}: {final_before:?}");
    }
    // A copy whose stage the primary never had stays ("not found in repo").
    let stray = format!("{}-1000000000000", "f".repeat(56));
    let raw = std::process::Command::new("curl")
        .args(["-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"])
        .arg(format!("http://{host}/v2/{final_path}/manifests/{app2}"))
        .output()
        .unwrap();
    let media = manifest(&host, &final_path, &app2)["mediaType"]
        .as_str()
        .unwrap()
        .to_string();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("m.json");
    std::fs::write(&file, raw.stdout).unwrap();
    let st = std::process::Command::new("curl")
        .args(["-sf", "-o", "/dev/null", "-X", "PUT", "-H"])
        .arg(format!("Content-Type: {media}"))
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(format!("http://{host}/v2/{final_path}/manifests/{stray}"))
        .status()
        .unwrap();
    assert!(st.success());

    assert!(registry_tags(&host, &cache_path).contains(&app1));
    let args = [
        "--without-kube",
        "--final-repo",
        final_repo.as_str(),
        "--final-repo-container-registry",
        "default",
        "--cache-repo",
        cache_repo.as_str(),
    ];
    let (_, dry) = cleanup(&p.dir, &repo, &[&args[..], &["--dry-run"]].concat(), &[]);
    let (log, real) = cleanup(&p.dir, &repo, &args, &[]);
    assert_eq!(items(&real, "deleted"), items(&dry, "deleted"));
    assert_eq!(real["finalRepo"], json!(final_repo));
    let deleted = items(&real, "deleted");
    for item in [
        json!({"type": "stage", "tag": app1}),
        json!({"type": "finalStage", "tag": app1}),
        json!({"type": "customTag", "tag": "old-app"}),
    ] {
        assert!(deleted.contains(&item.to_string()), "{item}: {real}");
    }
    assert!(
        log.contains(&format!("{stray}: not found in repo")),
        "{log}"
    );
    let final_after = registry_tags(&host, &final_path);
    assert!(!final_after.contains(&app1), "{final_after:?}");
    assert!(!final_after.contains(&"old-app".to_string()));
    assert!(final_after.contains(&app2) && final_after.contains(&stray));
    assert_no_broken_tags(&host, &final_path);
    let cache_after = registry_tags(&host, &cache_path);
    assert!(!cache_after.contains(&app1), "{cache_after:?}");
    assert!(cache_after.contains(&app2), "{cache_after:?}");

    let (_, second) = cleanup(&p.dir, &repo, &args, &[]);
    assert!(second["deleted"].as_array().unwrap().is_empty(), "{second}");
}

/// A multi-platform image is a manifest list naming its platform stages'
/// manifests; werf protects those stages with the list ("image index
/// platform"), since deleting one breaks the list.
#[test]
fn a_kept_multi_platform_image_keeps_its_platform_stages() {
    let (p, _origin) = project_with_origin();
    make_multi_platform(&p);
    let (host, path, repo) = anon_repo(&p);
    let r = commit_build_push(&p, &repo, "one", &[]);
    let index = stage_of(&r, "app");
    assert_eq!(index.len(), 56, "a manifest list: {index}");

    let (log, _) = cleanup(&p.dir, &repo, &["--without-kube"], &[]);
    assert!(log.contains("image index platform"), "{log}");
    let list = manifest(&host, &path, &index);
    let entries = list["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{list}");
    for e in entries {
        let digest = e["digest"].as_str().unwrap();
        let m = manifest(&host, &path, digest);
        assert_eq!(
            m["schemaVersion"], 2,
            "{digest} of the kept list is gone: {log}"
        );
    }
    assert_no_broken_tags(&host, &path);
}

#[test]
fn a_multi_platform_stage_is_as_recent_as_its_newest_platform() {
    let (p, _origin) = project_with_origin();
    let (host, path, repo) = anon_repo(&p);
    commit_build_push(&p, &repo, "one", &[]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ten_days_ago = now - 10 * 24 * 3600;
    let rfc3339 = |secs: i64| {
        let out = std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // Two platform stages stored ten days ago (their tags say so); one of
    // them was created now (its config says so), and each is the only
    // platform of a manifest list.
    let platform = |n: u8, created: i64| {
        let tag = format!("{}-{}", format!("{n:02x}").repeat(28), ten_days_ago * 1000);
        let config = json!({
            "architecture": "amd64", "os": "linux", "created": rfc3339(created),
            "config": {"Labels": {"werf": "x"}}, "rootfs": {"type": "layers", "diff_ids": []},
        });
        let digest = push_config_image(&host, &path, &tag, &config);
        (tag, digest)
    };
    let index = |n: u8, platform_digest: &str| {
        let tag = format!("{n:02x}").repeat(28);
        let list = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": platform_digest, "size": 1,
                "platform": {"architecture": "amd64", "os": "linux"},
            }],
        });
        push_manifest(
            &host,
            &path,
            &tag,
            "application/vnd.oci.image.index.v1+json",
            &list.to_string(),
        );
        tag
    };
    let (old_platform, old_digest) = platform(0xa1, ten_days_ago);
    let (new_platform, new_digest) = platform(0xb1, now);
    let old_index = index(0xa2, &old_digest);
    let new_index = index(0xb2, &new_digest);

    let log = ok(&davit(
        &p.dir,
        &[
            "cleanup",
            "--repo",
            &repo,
            "--without-kube",
            "--keep-stages-built-within-last-n-hours",
            "2",
            "--explain",
            "--dry-run",
        ],
        &[("WERF_HOME", p.dir.join(".davit-home").to_str().unwrap())],
    ));
    let kept_line = |tag: &str| {
        log.lines()
            .find(|l| l.contains(&format!("{tag}: ")))
            .map(str::to_string)
    };
    assert!(
        kept_line(&new_index).is_some_and(|l| l.contains("built within last 2 hours")),
        "a list with a platform created now is kept:\n{log}"
    );
    assert!(
        kept_line(&new_platform).is_some_and(|l| l.contains("image index platform")),
        "{log}"
    );
    assert!(
        log.contains(&format!("would delete stage {old_index}")),
        "a list whose platforms are all older is not protected by the policy:\n{log}"
    );
    assert!(
        log.contains(&format!("would delete stage {old_platform}")),
        "{log}"
    );
    assert!(
        !log.contains(&format!("would delete stage {new_index}")),
        "{log}"
    );
}
