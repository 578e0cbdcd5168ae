//! `davit build` end to end: real git repositories, the real dockerd and
//! registries of `scripts/testenv`. Fails (never skips) without them.

mod build_common;

use std::path::Path;
use std::process::Command;

use build_common::*;
use davit_testkit::fixtures::{git, testenv as env, write};
use serde_json::Value;

#[test]
fn builds_once_then_reuses_everywhere() {
    let p = project();
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{}", p.project);
    let repo = format!("{host}/{path}");

    let (log, first) = build(&p, &repo, "first.json");
    assert!(rebuilt(&first, "base") && rebuilt(&first, "app"), "{log}");
    assert_eq!(first["Images"]["app"]["Final"], true);
    assert_eq!(first["Images"]["base"]["Final"], false);
    let app_name = first["Images"]["app"]["DockerImageName"]
        .as_str()
        .expect("name");
    assert!(app_name.starts_with(&format!("{repo}:")), "{app_name}");
    assert!(log.contains("└ app: built"), "{log}");
    // The plan: base first, app (which depends on it) in the next set.
    let plan = log
        .find("│ - (1/2) image base")
        .expect("plan lists base first");
    let set1 = log.find("│ Set #1:").expect("a second set");
    let app = log.find("│ - (2/2) image app").expect("plan lists app");
    assert!(plan < set1 && set1 < app, "{log}");
    // The image works and carries the committed file.
    let run = Command::new("docker")
        .args(["run", "--rm", app_name])
        .output()
        .expect("docker run");
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello\nbase\n");

    // Second run on the same host: nothing built.
    let (log, second) = build(&p, &repo, "second.json");
    assert!(
        !rebuilt(&second, "base") && !rebuilt(&second, "app"),
        "{log}"
    );
    assert!(log.contains("└ app: reused"), "{log}");
    for img in ["base", "app"] {
        assert_eq!(
            first["Images"][img]["DockerImageName"],
            second["Images"][img]["DockerImageName"]
        );
        assert_eq!(
            first["Images"][img]["DockerImageDigest"],
            second["Images"][img]["DockerImageDigest"]
        );
    }

    // A second "host": no local images at all. Nothing is built or pulled.
    forget_local_images(&p, &repo);
    let (log, third) = build(&p, &repo, "third.json");
    assert!(!rebuilt(&third, "base") && !rebuilt(&third, "app"), "{log}");
    assert!(
        local_images_of(&p, &repo).is_empty(),
        "nothing may be pulled: {:?}",
        local_images_of(&p, &repo)
    );
    let mut a = second.clone();
    let mut b = third.clone();
    for r in [&mut a, &mut b] {
        for img in ["base", "app"] {
            r["Images"][img]["BuildTime"] = Value::Null;
            r["Images"][img]["Stages"][0]["BuildTime"] = Value::Null;
        }
    }
    assert_eq!(a, b, "the report of the second host equals the first");

    // One stage per digest in the registry, and the managed-image records
    // (manifest-only images labelled with the project) for cleanup.
    let tags = registry_tags(&host, &path);
    assert_eq!(stage_tags(&tags).len(), 2, "{tags:?}");
    for img in ["base", "app"] {
        let tag = format!("managed-image-{img}");
        assert!(tags.contains(&tag), "{tags:?}");
        assert_eq!(
            config_label(&host, &path, &tag, "werf").as_deref(),
            Some(p.project.as_str())
        );
    }
    // The image↔commit records for cleanup's git-history policy: one per
    // image and commit, however often the commit is built.
    let commit1 = head_commit(&p.dir);
    let meta = meta_records(&tags);
    assert_eq!(meta.len(), 2, "{tags:?}");
    for img in ["base", "app"] {
        let stage = first["Images"][img]["DockerTag"].as_str().expect("tag");
        let tag = meta
            .iter()
            .find(|t| t.ends_with(&format!("_{commit1}_{stage}")))
            .unwrap_or_else(|| panic!("no meta record for {img}: {meta:?}"));
        assert_eq!(
            config_label(&host, &path, tag, "werf").as_deref(),
            Some(p.project.as_str())
        );
    }
    assert_no_broken_tags(&host, &path);

    // A file that only `app` copies changes: only `app` is rebuilt.
    write(&p.dir, "app/hello.sh", "echo changed; cat /base.txt\n");
    git(&p.dir, &["commit", "-qam", "change app"]);
    let (log, fourth) = build(&p, &repo, "fourth.json");
    assert!(!rebuilt(&fourth, "base"), "{log}");
    assert!(rebuilt(&fourth, "app"), "{log}");
    // The new commit is recorded for both images, the reused base too.
    let commit2 = head_commit(&p.dir);
    let tags = registry_tags(&host, &path);
    let meta = meta_records(&tags);
    assert_eq!(meta.len(), 4, "{meta:?}");
    for img in ["base", "app"] {
        let stage = fourth["Images"][img]["DockerTag"].as_str().expect("tag");
        assert!(
            meta.iter()
                .any(|t| t.ends_with(&format!("_{commit2}_{stage}"))),
            "no meta record for {img} at {commit2}: {meta:?}"
        );
    }
    // A file in the context that no COPY names changes nothing.
    write(&p.dir, "app/README.md", "still not copied\n");
    git(&p.dir, &["commit", "-qam", "docs"]);
    let (log, fifth) = build(&p, &repo, "fifth.json");
    assert!(!rebuilt(&fifth, "app"), "{log}");

    // Sequential mode prints no plan and builds the same.
    let out = davit(&p.dir, &["build", "--repo", &repo, "--parallel=false"], &[]);
    let log = ok(&out);
    assert!(!log.contains("Concurrent build plan"), "{log}");
    assert!(log.contains("└ app: reused"), "{log}");
}

#[test]
fn cleanup_settings_turn_the_commit_records_off() {
    let p = project();
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(
        &p.dir,
        "werf.yaml",
        &yaml.replacen(
            "configVersion: 1\n",
            "configVersion: 1\ncleanup:\n  disableGitHistoryBasedPolicy: true\n",
            1,
        ),
    );
    git(&p.dir, &["commit", "-qam", "no git-history policy"]);
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{}", p.project);
    let (log, _) = build(&p, &format!("{host}/{path}"), "r.json");
    let tags = registry_tags(&host, &path);
    assert!(meta_records(&tags).is_empty(), "{log}\n{tags:?}");
    assert!(tags.contains(&"managed-image-app".to_string()), "{tags:?}");
}

#[test]
fn concurrent_builds_leave_one_stage_per_digest() {
    let p = project();
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{}", p.project);
    let repo = format!("{host}/{path}");
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_davit"))
            .args(["build", "--repo", &repo])
            .current_dir(&p.dir)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn davit")
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tags = registry_tags(&host, &path);
    assert_eq!(
        stage_tags(&tags).len(),
        2,
        "one stage per image digest: {tags:?}"
    );
    assert_eq!(
        meta_records(&tags).len(),
        2,
        "one record per image: {tags:?}"
    );
}

#[test]
fn token_registry_and_env_report() {
    registry_with_login("DAVIT_TEST_REGISTRY_TOKEN");
}

#[test]
fn basic_auth_registry_and_env_report() {
    registry_with_login("DAVIT_TEST_REGISTRY_BASIC");
}

/// Build, `.env` report, and a fresh host that must pull with the
/// credentials of `docker login`, against the registry in `host_var`.
fn registry_with_login(host_var: &str) {
    let p = project();
    let host = env(host_var);
    let repo = format!("{host}/davit-test/{}", p.project);
    let cfg = tempfile::tempdir().expect("tempdir");
    let login = Command::new("docker")
        .args([
            "login",
            "-u",
            &env("DAVIT_TEST_REGISTRY_USER"),
            "--password-stdin",
            &host,
        ])
        .env("DOCKER_CONFIG", cfg.path())
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin
                .take()
                .expect("stdin")
                .write_all(env("DAVIT_TEST_REGISTRY_PASSWORD").as_bytes())?;
            c.wait_with_output()
        })
        .expect("docker login");
    assert!(
        login.status.success(),
        "{}",
        String::from_utf8_lossy(&login.stderr)
    );
    let cfg_dir = cfg.path().to_string_lossy().into_owned();
    let docker_config = [("DOCKER_CONFIG", cfg_dir.as_str())];
    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &repo,
            "--save-build-report",
            "--build-report-path",
            "r.env",
        ],
        &docker_config,
    );
    let log = ok(&out);
    assert!(!log.contains(&env("DAVIT_TEST_REGISTRY_PASSWORD")), "{log}");
    let envfile = std::fs::read_to_string(p.dir.join("r.env")).expect("env report");
    assert!(
        envfile.contains(&format!("WERF_APP_DOCKER_IMAGE_NAME={repo}:")),
        "{envfile}"
    );
    assert!(envfile.contains("WERF_BASE_FINAL=false"), "{envfile}");
    assert_eq!(envfile.lines().count(), 14, "{envfile}");

    // A fresh host rebuilds `app` on top of `base`, which the daemon must
    // pull from the token registry with the user's credentials.
    forget_local_images(&p, &repo);
    write(&p.dir, "app/hello.sh", "echo rebuilt; cat /base.txt\n");
    git(&p.dir, &["commit", "-qam", "change app"]);
    let (log, r) = build_env(&p, &repo, "r2.json", &docker_config);
    assert!(!rebuilt(&r, "base") && rebuilt(&r, "app"), "{log}");
}

#[test]
fn bad_input_is_named() {
    let p = project();
    let anon = env("DAVIT_TEST_REGISTRY_ANON");
    let repo = format!("{anon}/davit-test/{}", p.project);

    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &repo,
            "--save-build-report",
            "--build-report-path",
            "r.txt",
        ],
        &[],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("extension must be either .json or .env"),
        "{err}"
    );

    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY --nope\n",
    );
    git(&p.dir, &["commit", "-qam", "broken"]);
    let err = failing(&p.dir, &["build", "--repo", &repo, "app"], &[]);
    assert!(
        err.contains("image \"app\": app/Dockerfile:3: COPY requires at least two arguments"),
        "{err}"
    );
    // davit's own parser: an unknown target names the file too.
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\n",
    );
    let err =
        failing_build_after_yaml_edit(&p, &repo, "context: app\n", "context: app\ntarget: nope\n");
    assert!(
        err.contains("image \"app\": app/Dockerfile: nope is not a valid target build stage"),
        "{err}"
    );

    // Not supported yet: refused with the image named, never ignored.
    let err = failing_build_after_yaml_edit(&p, &repo, "target: nope\n", "staged: true\n");
    assert!(
        err.contains("image \"app\": `staged: true` is not supported by davit yet"),
        "{err}"
    );

    let out = davit(&p.dir, &["build", "--repo", &repo, "nosuch"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"nosuch\"") && err.contains("no such image"),
        "{err}"
    );
}

/// Starts `davit build`, kills it `delay_ms` after the build step is done
/// (while it publishes), and returns whether it was killed before it
/// finished.
fn build_and_kill(dir: &Path, repo: &str, delay_ms: u64) -> bool {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_davit"))
        .args(["build", "--repo", repo])
        .current_dir(dir)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn davit");
    let stderr = child.stderr.take().expect("stderr");
    for line in std::io::BufReader::new(stderr).lines() {
        if line.expect("line").contains("Successfully tagged") {
            std::thread::sleep(std::time::Duration::from_millis(delay_ms));
            let _ = child.kill();
            break;
        }
    }
    !child.wait().expect("wait").success()
}

#[test]
fn killed_during_publish_leaves_no_broken_tag_and_the_rerun_succeeds() {
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let mut killed = 0;
    // 0 ms: before the push starts; 300 ms: while the 40 MB layer uploads
    // (the push takes about 0.7 s here).
    for delay_ms in [0, 300] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let project = unique("kill");
        git(dir, &["init", "-q"]);
        write(
            dir,
            "werf.yaml",
            &format!(
                "project: {project}\nconfigVersion: 1\n---\nimage: big\ndockerfile: Dockerfile\nargs:\n  BASE: {}\n",
                env("DAVIT_TEST_BASE_IMAGE")
            ),
        );
        // A 40 MB layer of random bytes makes the push take a while.
        write(
            dir,
            "Dockerfile",
            &format!("ARG BASE\nFROM $BASE\nRUN head -c 40000000 /dev/urandom > /big && echo {project}\n"),
        );
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-qm", "init"]);
        let path = format!("davit-test/{project}");
        let repo = format!("{host}/{path}");

        if build_and_kill(dir, &repo, delay_ms) {
            killed += 1;
        }
        assert_no_broken_tags(&host, &path);

        let out = davit(dir, &["build", "--repo", &repo, "--save-build-report"], &[]);
        ok(&out);
        assert_no_broken_tags(&host, &path);
        let r = report(dir, ".werf-build-report.json");
        let tag = r["Images"]["big"]["DockerTag"].as_str().expect("tag");
        assert!(registry_tags(&host, &path).iter().any(|t| t == tag));
    }
    assert!(
        killed > 0,
        "no run was interrupted; the test proved nothing"
    );
}

#[test]
fn without_repo_stages_live_in_the_local_daemon() {
    let p = project();
    let (log, first) = {
        let out = davit(
            &p.dir,
            &["build", "--save-build-report"],
            &[("WERF_REPO", "")],
        );
        let log = ok(&out);
        (log, report(&p.dir, ".werf-build-report.json"))
    };
    assert!(rebuilt(&first, "base") && rebuilt(&first, "app"), "{log}");
    let app = &first["Images"]["app"];
    assert_eq!(app["DockerRepo"], p.project.as_str());
    assert_eq!(app["DockerImageDigest"], "");
    let name = app["DockerImageName"].as_str().expect("name");
    assert!(name.starts_with(&format!("{}:", p.project)), "{name}");
    let id = Command::new("docker")
        .args(["image", "inspect", "-f", "{{.Id}}", name])
        .output()
        .expect("inspect");
    assert_eq!(
        String::from_utf8_lossy(&id.stdout).trim(),
        app["DockerImageID"].as_str().expect("id")
    );

    let out = davit(
        &p.dir,
        &["build", "--save-build-report"],
        &[("WERF_REPO", "")],
    );
    let log = ok(&out);
    let second = report(&p.dir, ".werf-build-report.json");
    assert!(
        !rebuilt(&second, "base") && !rebuilt(&second, "app"),
        "{log}"
    );
    assert_eq!(
        second["Images"]["app"]["DockerImageName"],
        app["DockerImageName"]
    );
}

#[test]
fn final_repo_gets_final_images_and_the_report_points_there() {
    let p = project();
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{}", p.project);
    let repo = format!("{host}/{path}");
    let final_path = format!("davit-test/{}-final", p.project);
    let final_repo = format!("{host}/{final_path}");
    let run = |report_name: &str, final_repo: &str| {
        let out = davit(
            &p.dir,
            &[
                "build",
                "--repo",
                &repo,
                "--final-repo",
                final_repo,
                "--save-build-report",
                "--build-report-path",
                report_name,
            ],
            &[],
        );
        let log = ok(&out);
        (log, report(&p.dir, report_name))
    };
    let (log, r) = run("f1.json", &final_repo);
    let app = &r["Images"]["app"];
    let tag = app["DockerTag"].as_str().expect("tag");
    assert_eq!(app["DockerRepo"], final_repo.as_str(), "{log}");
    assert_eq!(
        app["DockerImageName"],
        format!("{final_repo}:{tag}").as_str()
    );
    assert_eq!(
        app["Stages"][0]["DockerImageName"],
        format!("{repo}:{tag}").as_str()
    );
    // Only final images go there.
    assert_eq!(registry_tags(&host, &final_path), vec![tag.to_string()]);
    assert_eq!(r["Images"]["base"]["DockerRepo"], repo.as_str());
    assert_no_broken_tags(&host, &final_path);

    // A second final repo, filled from reused stages without the daemon:
    // nothing local, nothing pulled.
    forget_local_images(&p, &repo);
    let second_path = format!("{final_path}-2");
    let second = format!("{host}/{second_path}");
    let (log, r2) = run("f2.json", &second);
    assert!(!rebuilt(&r2, "app"), "{log}");
    assert_eq!(registry_tags(&host, &second_path), vec![tag.to_string()]);
    assert_eq!(
        r2["Images"]["app"]["DockerImageDigest"],
        r["Images"]["app"]["DockerImageDigest"]
    );
    assert_no_broken_tags(&host, &second_path);
    assert!(local_images_of(&p, &repo).is_empty());

    let out = davit(
        &p.dir,
        &["build", "--final-repo", &final_repo],
        &[("WERF_REPO", "")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("need --repo"), "{err}");
}

#[test]
fn secondary_repo_stages_are_copied_not_built_and_cache_repos_receive_stores() {
    let p = project();
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let first_path = format!("davit-test/{}-a", p.project);
    let first = format!("{host}/{first_path}");
    // Fill a repository the normal way.
    let (_, r1) = build(&p, &first, "s1.json");
    assert!(rebuilt(&r1, "app"));

    // A new primary with the first one as secondary: nothing is built, the
    // stages are copied (same tags), and the cache repo receives them.
    forget_local_images(&p, &first);
    let second_path = format!("davit-test/{}-b", p.project);
    let second = format!("{host}/{second_path}");
    let cache_path = format!("davit-test/{}-cache", p.project);
    let cache = format!("{host}/{cache_path}");
    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &second,
            "--secondary-repo",
            &first,
            "--cache-repo",
            &cache,
            "--save-build-report",
            "--build-report-path",
            "s2.json",
        ],
        &[],
    );
    let log = ok(&out);
    let r2 = report(&p.dir, "s2.json");
    // base: same digest, so its stage is copied with its ID, not built.
    assert_eq!(
        r1["Images"]["base"]["DockerTag"],
        r2["Images"]["base"]["DockerTag"]
    );
    assert_eq!(r2["Images"]["base"]["Stages"][0]["SourceType"], "secondary");
    assert!(
        log.contains("└ base: copied from a secondary repo"),
        "{log}"
    );
    assert!(
        !log.contains("RUN echo base"),
        "base must not be built: {log}"
    );
    // app gets base's image name as a build arg, and that name contains
    // the repository, so its digest differs here and it is built (as in werf).
    assert_ne!(
        r1["Images"]["app"]["DockerTag"],
        r2["Images"]["app"]["DockerTag"]
    );
    assert!(rebuilt(&r2, "app"));
    for img in ["base", "app"] {
        let tag = r2["Images"][img]["DockerTag"]
            .as_str()
            .expect("tag")
            .to_string();
        assert!(registry_tags(&host, &second_path).contains(&tag));
        assert!(
            registry_tags(&host, &cache_path).contains(&tag),
            "{img} in the cache repo"
        );
    }
    assert_no_broken_tags(&host, &second_path);
    assert_no_broken_tags(&host, &cache_path);
    // Nothing was pulled from the secondary repository.
    assert!(
        !local_images_of(&p, &first)
            .iter()
            .any(|i| i.starts_with(&format!("{first}:"))),
        "{:?}",
        local_images_of(&p, &first)
    );
}

#[test]
fn context_add_files_come_from_the_work_tree_when_allowed() {
    let p = project();
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(
        &p.dir,
        "werf.yaml",
        &yaml.replace(
            "context: app\n",
            "context: app\ncontextAddFiles:\n- generated.txt\n",
        ),
    );
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY hello.sh generated.txt /\n",
    );
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  dockerfile:\n    allowContextAddFiles: [app/generated.txt]\n",
    );
    git(&p.dir, &["add", "-A"]);
    git(&p.dir, &["commit", "-qm", "add files"]);
    // Never committed: only on disk.
    write(&p.dir, "app/generated.txt", "v1\n");
    let (_, _, repo) = anon_repo(&p);
    let (log, r1) = build(&p, &repo, "a1.json");
    assert_eq!(
        run_image(&r1, "app", &["cat", "/generated.txt"]),
        "v1\n",
        "{log}"
    );

    // The file is part of the digest: a change rebuilds app only.
    write(&p.dir, "app/generated.txt", "v2\n");
    let (log, r2) = build(&p, &repo, "a2.json");
    assert!(rebuilt(&r2, "app") && !rebuilt(&r2, "base"), "{log}");
    assert_ne!(
        r1["Images"]["app"]["DockerTag"],
        r2["Images"]["app"]["DockerTag"]
    );

    // Missing on disk: the error names the key and the path.
    std::fs::remove_file(p.dir.join("app/generated.txt")).expect("rm");
    let out = davit(&p.dir, &["build", "--repo", &repo], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("contextAddFiles: \"app/generated.txt\" does not exist"),
        "{err}"
    );

    // Not allowed by werf-giterminism.yaml: refused when werf.yaml loads.
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\n",
    );
    git(&p.dir, &["commit", "-qam", "disallow"]);
    write(&p.dir, "app/generated.txt", "v1\n");
    let out = davit(&p.dir, &["build", "--repo", &repo], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("allowContextAddFiles"),
        "{err}"
    );
}

#[test]
fn uncommitted_sources_are_refused_unless_giterminism_allows_the_dockerfile() {
    let p = project();
    let (_, _, repo) = anon_repo(&p);
    // A file app's COPY takes, changed on disk only.
    write(&p.dir, "app/hello.sh", "echo not committed\n");
    let err = failing(&p.dir, &["build", "--repo", &repo], &[]);
    assert!(
        err.contains("image \"app\": the file \"app/hello.sh\" must be committed"),
        "{err}"
    );
    assert!(err.contains("hint: commit the changes"), "{err}");
    // A file no COPY takes may differ.
    git(&p.dir, &["checkout", "--", "app/hello.sh"]);
    write(&p.dir, "app/README.md", "edited, never copied\n");
    write(&p.dir, "app/notes.txt", "untracked, never copied\n");
    let (log, _) = build(&p, &repo, "u1.json");
    assert!(log.contains("└ app:"), "{log}");
    // An untracked file that a COPY pattern matches is refused too.
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY *.sh /\n",
    );
    git(&p.dir, &["commit", "-qam", "copy every script"]);
    write(&p.dir, "app/extra.sh", "echo untracked\n");
    let out = davit(&p.dir, &["build", "--repo", &repo], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the untracked file \"app/extra.sh\" must be committed"),
        "{err}"
    );
    std::fs::remove_file(p.dir.join("app/extra.sh")).expect("rm");

    // An uncommitted Dockerfile is read from disk when werf-giterminism.yaml allows it.
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  dockerfile:\n    allowUncommitted: [app/Dockerfile]\n",
    );
    git(&p.dir, &["add", "werf-giterminism.yaml"]);
    git(&p.dir, &["commit", "-qm", "allow uncommitted Dockerfile"]);
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY hello.sh /hello.sh\nRUN echo from-disk > /marker\n",
    );
    let (log, r) = build(&p, &repo, "u2.json");
    assert!(rebuilt(&r, "app"), "{log}");
    assert_eq!(
        run_image(&r, "app", &["cat", "/marker"]),
        "from-disk\n",
        "{log}"
    );
}

#[test]
fn an_uncommitted_dockerignore_is_refused_unless_giterminism_allows_it() {
    let p = project();
    let (_, _, repo) = anon_repo(&p);
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY . /app/\nCMD [\"ls\", \"/app\"]\n",
    );
    git(&p.dir, &["commit", "-qam", "copy the whole context"]);
    // An untracked .dockerignore would change what the image gets.
    write(&p.dir, "app/.dockerignore", "README.md\n");
    let err = failing(&p.dir, &["build", "--repo", &repo], &[]);
    assert!(
        err.contains("the untracked file \"app/.dockerignore\" must be committed"),
        "{err}"
    );
    // Committed, then changed on disk: refused as modified.
    git(&p.dir, &["add", "app/.dockerignore"]);
    git(&p.dir, &["commit", "-qm", "dockerignore"]);
    write(&p.dir, "app/.dockerignore", "README.md\nhello.sh\n");
    let out = davit(&p.dir, &["build", "--repo", &repo], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the file \"app/.dockerignore\" must be committed"),
        "{err}"
    );
    // Allowed: the version on disk is used.
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  dockerfile:\n    allowUncommittedDockerignoreFiles: [app/.dockerignore]\n",
    );
    git(&p.dir, &["add", "werf-giterminism.yaml"]);
    git(&p.dir, &["commit", "-qm", "allow the dockerignore"]);
    let (log, r) = build(&p, &repo, "d.json");
    assert_eq!(run_image(&r, "app", &[]), "Dockerfile\n", "{log}");
}

#[test]
fn a_terminal_gets_spinners_and_ci_logs_get_lines() {
    let p = project();
    let (_, _, repo) = anon_repo(&p);
    // `script` gives davit a pseudo-terminal as stderr.
    let cmd = format!("{} build --repo {repo}", env!("CARGO_BIN_EXE_davit"));
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .current_dir(&p.dir)
        .env("TERM", "xterm")
        .output()
        .expect("run script (util-linux)");
    let tty = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{tty}");
    assert!(
        tty.contains("\u{1b}[2K"),
        "spinners redraw their line: {tty:?}"
    );
    assert!(tty.contains("└ app: built"), "{tty}");
    assert!(
        !tty.contains("│ app: "),
        "builder lines stay in the spinner: {tty}"
    );

    // A pipe (CI logs) gets plain lines, builder output included.
    write(&p.dir, "app/hello.sh", "echo again\n");
    git(&p.dir, &["commit", "-qam", "again"]);
    let (log, _) = build(&p, &repo, "t.json");
    assert!(!log.contains('\u{1b}'), "no escape codes in logs: {log:?}");
    assert!(
        log.lines()
            .any(|l| l.starts_with("│ app: ") && l.contains("COPY hello.sh")),
        "{log}"
    );
}

#[test]
fn an_unreadable_stage_is_rejected_and_rebuilt() {
    let p = project();
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{}", p.project);
    let repo = format!("{host}/{path}");
    let (_, r1) = build(&p, &repo, "r1.json");
    let broken = r1["Images"]["app"]["DockerTag"]
        .as_str()
        .expect("tag")
        .to_string();
    // Break the stage: delete its config blob from the registry.
    let config = manifest(&host, &path, &broken)["config"]["digest"]
        .as_str()
        .expect("config digest")
        .to_string();
    let del = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "DELETE",
            &format!("http://{host}/v2/{path}/blobs/{config}"),
        ])
        .status()
        .expect("curl");
    assert!(del.success(), "the test registry allows deletes");

    let (log, r2) = build(&p, &repo, "r2.json");
    assert!(
        log.contains(&format!("warning: app: stage {broken} cannot be read")),
        "{log}"
    );
    assert!(rebuilt(&r2, "app") && !rebuilt(&r2, "base"), "{log}");
    let fresh = r2["Images"]["app"]["DockerTag"].as_str().expect("tag");
    assert_ne!(fresh, broken);
    assert!(registry_tags(&host, &path).contains(&format!("{broken}-rejected")));

    // The rejected stage is never selected again.
    let (log, r3) = build(&p, &repo, "r3.json");
    assert!(!log.contains("warning"), "{log}");
    assert_eq!(r3["Images"]["app"]["DockerTag"], fresh);
}

#[test]
fn log_debug_adds_stage_cache_and_operations_to_the_report() {
    let p = project();
    let (_, _, repo) = anon_repo(&p);
    let run = |name: &str, debug: bool| {
        let mut args = vec![
            "build",
            "--repo",
            &repo,
            "--save-build-report",
            "--build-report-path",
            name,
        ];
        if debug {
            args.push("--log-debug");
        }
        ok(&davit(&p.dir, &args, &[]));
        report(&p.dir, name)
    };
    let first = run("first.json", true);
    assert_eq!(first["StageCache"], serde_json::json!({"built": 2}));
    let ops = &first["Operations"];
    for op in ["image build", "image push"] {
        assert_eq!(ops[op]["Count"], 2, "{ops}");
        let total = ops[op]["TotalTimeSeconds"].as_f64().expect("total");
        let wall = ops[op]["WallTimeSeconds"].as_f64().expect("wall");
        let max = ops[op]["MaxTimeSeconds"].as_f64().expect("max");
        assert!(
            total > 0.0 && wall <= total + 1e-9 && max <= total + 1e-9,
            "{ops}"
        );
    }
    // Nothing built: the cache says so and no operation ran.
    let second = run("second.json", true);
    assert_eq!(
        second["StageCache"],
        serde_json::json!({"found in repo stages storage": 2})
    );
    assert!(second.get("Operations").is_none(), "{second}");
    // Without --log-debug neither section is written, as in werf.
    let third = run("third.json", false);
    assert!(third.get("StageCache").is_none() && third.get("Operations").is_none());
}

/// werf's common build flags work as drop-ins: --platform (checked before
/// any work), --synchronization, --home-dir, --tmp-dir and --docker-config.
#[test]
fn werfs_common_build_flags_are_accepted() {
    let p = project();
    let host = env("DAVIT_TEST_REGISTRY_BASIC");
    let repo = format!("{host}/davit-test/{}", p.project);
    let home = tempfile::tempdir().expect("home");
    let creds = tempfile::tempdir().expect("docker config");
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        env("DAVIT_TEST_REGISTRY_USER"),
        env("DAVIT_TEST_REGISTRY_PASSWORD")
    ));
    std::fs::write(
        creds.path().join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#),
    )
    .expect("config.json");
    let home_dir = home.path().to_string_lossy().into_owned();
    let creds_dir = creds.path().to_string_lossy().into_owned();
    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &repo,
            "--platform",
            "linux/amd64",
            "--synchronization",
            "https://synchronization.werf.io",
            "--home-dir",
            &home_dir,
            "--tmp-dir",
            &home_dir,
            "--docker-config",
            &creds_dir,
        ],
        // The default docker config has no credentials for this registry.
        &[("DOCKER_CONFIG", "/nonexistent")],
    );
    let log = ok(&out);
    assert!(log.contains("davit uses no lock server"), "{log}");
    assert!(
        home.path().join("davit-locks").is_dir(),
        "locks under --home-dir"
    );

    for (args, env_vars, expected) in [
        (vec!["--platform", "a/b/c/d"], vec![], "invalid platform"),
        (
            vec![],
            vec![("DOCKER_DEFAULT_PLATFORM", "linux/")],
            "invalid platform",
        ),
    ] {
        let mut all = vec!["build", "--repo", &repo];
        all.extend(args);
        let err = failing(&p.dir, &all, &env_vars);
        assert!(err.contains(expected), "{err}");
    }
}

/// `--dev` builds the work tree (tracked changes and untracked files,
/// minus `--dev-ignore`) and records no commit; `--loose-giterminism`
/// takes the context from the commit without checking the work tree.
#[test]
fn dev_mode_builds_the_work_tree_and_loose_mode_the_commit_unchecked() {
    let p = project();
    let (host, path, repo) = anon_repo(&p);
    let output_of = |r: &serde_json::Value| run_image(r, "app", &[]);
    write(&p.dir, "app/hello.sh", "echo uncommitted; cat /base.txt\n");
    let (log, dev) = build_env(&p, &repo, "dev.json", &[("WERF_DEV", "true")]);
    assert_eq!(output_of(&dev), "uncommitted\nbase\n", "{log}");
    assert!(
        meta_records(&registry_tags(&host, &path)).is_empty(),
        "a dev build belongs to no commit"
    );
    let (log, again) = build_env(&p, &repo, "dev2.json", &[("WERF_DEV", "true")]);
    assert!(
        !rebuilt(&again, "app"),
        "the same work tree is reused: {log}"
    );

    // --dev-ignore keeps the committed version of a path.
    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &repo,
            "--dev",
            "--dev-ignore",
            "app/hello.sh",
            "--save-build-report",
            "--build-report-path",
            "ignored.json",
        ],
        &[],
    );
    ok(&out);
    assert_eq!(output_of(&report(&p.dir, "ignored.json")), "hello\nbase\n");

    // Loose: no uncommitted-file error, and the commit's content.
    let (log, loose) = build_env(
        &p,
        &repo,
        "loose.json",
        &[("WERF_LOOSE_GITERMINISM", "true")],
    );
    assert_eq!(output_of(&loose), "hello\nbase\n", "{log}");
    // Without either, the same work tree is refused.
    let out = davit(&p.dir, &["build", "--repo", &repo], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be committed"));
}

/// werf's retry on an unexpected storage state: a stage found in the
/// registry loses a layer before it is copied to the final repository. The
/// stage is rejected, the build runs again with a fresh tag list, rebuilds
/// it, and the final repository gets a whole image.
#[test]
fn a_stage_that_breaks_while_in_use_is_rejected_and_the_build_retried() {
    let p = project();
    let (host, path, repo) = anon_repo(&p);
    let first_final = format!("{repo}-final1");
    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &repo,
            "--final-repo",
            &first_final,
            "--save-build-report",
        ],
        &[],
    );
    ok(&out);
    let first = report(&p.dir, ".werf-build-report.json");
    let stage = first["Images"]["app"]["DockerTag"]
        .as_str()
        .expect("tag")
        .to_string();
    // The app stage's own layer (its COPY) disappears from the primary.
    let layers = manifest(&host, &path, &stage)["layers"].clone();
    let top = layers
        .as_array()
        .and_then(|l| l.last())
        .and_then(|l| l["digest"].as_str())
        .expect("top layer")
        .to_string();
    let deleted = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "DELETE",
            &format!("http://{host}/v2/{path}/blobs/{top}"),
        ])
        .status()
        .expect("curl");
    assert!(deleted.success(), "the registry deletes blobs");

    let second_final_path = format!("{path}-final2");
    let second_final = format!("{host}/{second_final_path}");
    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &repo,
            "--final-repo",
            &second_final,
            "--save-build-report",
        ],
        &[],
    );
    let log = ok(&out);
    assert!(
        log.contains("changed in the stages storage while in use")
            && log.contains("attempt 2 of 4"),
        "{log}"
    );
    let second = report(&p.dir, ".werf-build-report.json");
    assert!(rebuilt(&second, "app"), "{log}");
    assert_ne!(second["Images"]["app"]["DockerTag"], stage.as_str());
    assert!(
        registry_tags(&host, &path).contains(&format!("{stage}-rejected")),
        "the broken stage is rejected"
    );
    assert_no_broken_tags(&host, &second_final_path);
    assert_eq!(run_image(&second, "app", &[]), "hello\nbase\n");
}

/// An image for another platform: `platform:` in werf.yaml (or
/// `--platform`) selects it, the digest includes it as werf's does, and the
/// stored image is for that architecture. A `FROM scratch` image needs no
/// emulator to build for arm64.
#[test]
fn one_other_platform_is_built_for_and_part_of_the_digest() {
    let p = project();
    let (host, path, repo) = anon_repo(&p);
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(
        &p.dir,
        "werf.yaml",
        &format!("{yaml}platform: [linux/arm64/v8]\n"),
    );
    write(
        &p.dir,
        "app/Dockerfile",
        "FROM scratch\nCOPY hello.sh /hello.sh\n",
    );
    git(&p.dir, &["commit", "-qam", "arm64 app"]);
    let (log, arm) = build(&p, &repo, "arm.json");
    let app = &arm["Images"]["app"];
    assert_eq!(app["TargetPlatform"], "linux/arm64", "{log}");
    let tag = app["DockerTag"].as_str().expect("tag");
    let config = image_config(&host, &path, tag);
    assert_eq!(
        (config["os"].as_str(), config["architecture"].as_str()),
        (Some("linux"), Some("arm64"))
    );
    // --platform wins over werf.yaml; the amd64 stage is another digest.
    let (log, amd) = build_env(&p, &repo, "amd.json", &[("WERF_PLATFORM", "linux/amd64")]);
    assert_eq!(
        amd["Images"]["app"]["TargetPlatform"], "linux/amd64",
        "{log}"
    );
    let amd_tag = amd["Images"]["app"]["DockerTag"].as_str().expect("tag");
    assert_ne!(&tag[..56], &amd_tag[..56]);
    assert_eq!(
        image_config(&host, &path, amd_tag)["architecture"].as_str(),
        Some("amd64")
    );
    // The arm64 stage is reused on the next run.
    let (log, again) = build(&p, &repo, "again.json");
    assert!(!rebuilt(&again, "app"), "{log}");
    assert_eq!(again["Images"]["app"]["DockerTag"], tag);
}
