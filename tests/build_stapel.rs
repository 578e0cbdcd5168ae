//! `davit build` of stapel images whose stages davit writes itself (`from`,
//! `gitArchive`, `gitLatestPatch`, `docker`, `imageSpec`): real git
//! repositories, the test registry, and the real dockerd only to run the
//! results. Every build runs with DOCKER_HOST pointing nowhere: a stage
//! that needed a pull or a container would fail.

mod build_common;

use std::path::Path;
use std::process::Command;

use build_common::*;
use davit_testkit::fixtures::{git, git_submodule, testenv as env, write};
use serde_json::Value;

const NO_DAEMON: (&str, &str) = ("DOCKER_HOST", "unix:///nonexistent/docker.sock");

fn stapel_project(images: &str) -> Project {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    let project = unique("stapel");
    git(&dir, &["init", "-q"]);
    write(
        &dir,
        "werf.yaml",
        &format!("project: {project}\nconfigVersion: 1\n{images}"),
    );
    Project {
        _tmp: tmp,
        dir,
        project,
    }
}

fn commit(p: &Project, message: &str) {
    git(&p.dir, &["add", "-A"]);
    git(&p.dir, &["commit", "-qm", message]);
}

/// `davit build` without a daemon; returns the log and the report.
fn build_daemonless(p: &Project, repo: &str, report: &str) -> (String, Value) {
    build_with(p, repo, report, &[], &[NO_DAEMON])
}

fn stage_names(report: &Value, image: &str) -> Vec<String> {
    report["Images"][image]["Stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["Name"].as_str().expect("name").to_string())
        .collect()
}

fn stage<'a>(report: &'a Value, image: &str, name: &str) -> &'a Value {
    report["Images"][image]["Stages"]
        .as_array()
        .expect("stages")
        .iter()
        .find(|s| s["Name"] == name)
        .unwrap_or_else(|| panic!("no stage {name} of {image}: {report}"))
}

/// The file system of an image without a shell (`from: scratch`): a
/// container is created (never started), exported through `pipe` (a
/// shell command reading the tar) and removed.
fn exported(report: &Value, image: &str, pipe: &str) -> String {
    let name = report["Images"][image]["DockerImageName"]
        .as_str()
        .expect("image name");
    let container = unique(image);
    let created = Command::new("docker")
        .args(["create", "--name", &container, name, "/none"])
        .output()
        .expect("docker create");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let export = Command::new("sh")
        .arg("-c")
        .arg(format!("docker export {container} | {pipe}"))
        .output()
        .expect("export");
    let _ = Command::new("docker").args(["rm", &container]).output();
    String::from_utf8_lossy(&export.stdout).into_owned()
}

/// Runs a shell script in the image and returns its output.
fn sh(report: &Value, image: &str, script: &str) -> String {
    let name = report["Images"][image]["DockerImageName"]
        .as_str()
        .expect("image name");
    let out = Command::new("docker")
        .args(["run", "--rm", "--entrypoint", "sh", name, "-c", script])
        .output()
        .expect("docker run");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn write_bytes(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, bytes).expect("write");
}

fn chmod(dir: &Path, rel: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.join(rel), std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// What the image holds under /app: `path kind mode size md5` per entry.
const LIST: &str = "cd /app && find . -mindepth 1 | sort | while read f; do \
  if [ -L \"$f\" ]; then echo \"$f link $(readlink \"$f\")\"; \
  elif [ -d \"$f\" ]; then echo \"$f dir\"; \
  else echo \"$f file $(stat -c %a \"$f\") $(md5sum < \"$f\" | cut -c1-32)\"; fi; done";

/// The same listing of the commit's files under app/, made on the host.
fn expected_listing(dir: &Path) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(LIST.replacen("cd /app", "cd app", 1))
        .current_dir(dir)
        .output()
        .expect("sh");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn commits_1_2_3_reach_the_image_exactly_without_a_daemon() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\ngit:\n- add: /app\n  to: /app\ndocker:\n  WORKDIR: /app\n  ENV:\n    GREETING: hi\n  CMD: [\"cat\", \"/app/hello.txt\"]\n"
    ));
    let (_, _, repo) = anon_repo(&p);
    write(&p.dir, "app/hello.txt", "hello\n");
    write(&p.dir, "app/run.sh", "#!/bin/sh\necho run\n");
    chmod(&p.dir, "app/run.sh", 0o755);
    write(&p.dir, "app/sub/deep/d.txt", "deep\n");
    write(&p.dir, "app/old-name.txt", "renamed later\n");
    std::os::unix::fs::symlink("hello.txt", p.dir.join("app/link")).expect("symlink");
    write_bytes(&p.dir, "app/bin.dat", &[0, 1, 2, 255, 254, 0, 10, 13]);
    write(&p.dir, "README.md", "outside the mapping\n");
    commit(&p, "c1");

    let (log, r1) = build_daemonless(&p, &repo, "r1.json");
    assert_eq!(r1["Images"]["app"]["ConfigType"], "stapel", "{log}");
    assert_eq!(
        stage_names(&r1, "app"),
        ["from", "gitArchive", "dockerInstructions"]
    );
    assert_eq!(sh(&r1, "app", LIST), expected_listing(&p.dir));
    assert_eq!(sh(&r1, "app", "echo $GREETING; pwd"), "hi\n/app\n");

    // Commit 2: changed, deleted (a whole directory), renamed, mode
    // changes both ways, a symlink retargeted, binary content changed.
    write(&p.dir, "app/hello.txt", "hello again\n");
    std::fs::remove_dir_all(p.dir.join("app/sub")).expect("rm");
    std::fs::rename(
        p.dir.join("app/old-name.txt"),
        p.dir.join("app/new-name.txt"),
    )
    .expect("mv");
    chmod(&p.dir, "app/run.sh", 0o644);
    write(&p.dir, "app/tool.sh", "#!/bin/sh\n");
    chmod(&p.dir, "app/tool.sh", 0o755);
    std::fs::remove_file(p.dir.join("app/link")).expect("rm link");
    std::os::unix::fs::symlink("run.sh", p.dir.join("app/link")).expect("symlink");
    write_bytes(&p.dir, "app/bin.dat", &[255, 0, 7]);
    commit(&p, "c2");
    let (log, r2) = build_daemonless(&p, &repo, "r2.json");
    assert_eq!(
        stage_names(&r2, "app"),
        ["from", "gitArchive", "gitLatestPatch", "dockerInstructions"],
        "{log}"
    );
    for name in ["from", "gitArchive"] {
        assert_eq!(stage(&r2, "app", name)["Rebuilt"], false, "{name}: {log}");
        assert_eq!(
            stage(&r2, "app", name)["DockerTag"],
            stage(&r1, "app", name)["DockerTag"]
        );
    }
    assert_eq!(stage(&r2, "app", "gitLatestPatch")["Rebuilt"], true);
    assert_eq!(sh(&r2, "app", LIST), expected_listing(&p.dir));

    // Commit 3: one more change; the patch is again from commit 1's
    // archive, and a file outside the mapping changes nothing.
    write(&p.dir, "app/new-name.txt", "third\n");
    commit(&p, "c3");
    let (_, r3) = build_daemonless(&p, &repo, "r3.json");
    assert_eq!(sh(&r3, "app", LIST), expected_listing(&p.dir));
    assert_eq!(
        stage(&r3, "app", "gitArchive")["DockerTag"],
        stage(&r1, "app", "gitArchive")["DockerTag"]
    );
    write(&p.dir, "README.md", "still outside\n");
    commit(&p, "c4");
    let (_, r4) = build_daemonless(&p, &repo, "r4.json");
    assert_eq!(r4["Images"]["app"]["Rebuilt"], false, "{r4}");
    assert_eq!(
        r4["Images"]["app"]["DockerTag"],
        r3["Images"]["app"]["DockerTag"]
    );

    // The plan agrees with the build, stage by stage.
    let out = davit(
        &p.dir,
        &["build", "--plan", "--output", "json", "--repo", &repo],
        &[NO_DAEMON],
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan json");
    let planned: Vec<String> = plan["images"][0]["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["stored"].as_str().expect("stored").to_string())
        .collect();
    let built: Vec<String> = r4["Images"]["app"]["Stages"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| s["DockerTag"].as_str().expect("tag").to_string())
        .collect();
    assert_eq!(planned, built);

    // History rewritten without commit 1: its archive is not reused.
    git(&p.dir, &["checkout", "-q", "--orphan", "rewritten"]);
    git(&p.dir, &["commit", "-qm", "rewritten"]);
    let (log, r5) = build_daemonless(&p, &repo, "r5.json");
    let archive = stage(&r5, "app", "gitArchive");
    assert_eq!(archive["Rebuilt"], true, "{log}");
    assert_ne!(
        archive["DockerTag"],
        stage(&r1, "app", "gitArchive")["DockerTag"]
    );
    assert_eq!(
        stage_names(&r5, "app"),
        ["from", "gitArchive", "dockerInstructions"]
    );
    assert_eq!(sh(&r5, "app", LIST), expected_listing(&p.dir));
}

#[test]
fn scratch_images_owners_and_images_built_on_images() {
    let p = stapel_project(
        "---\nimage: files\nfrom: scratch\ngit:\n- add: /site\n  to: /srv/site\n  owner: 1000\n  group: 2000\n  excludePaths: [drafts]\n---\nimage: web\nfromImage: base\ngit:\n- add: /site/index.html\n  to: /www/index.html\n  owner: app\n  group: grp\nimageSpec:\n  config:\n    labels:\n      role: web\n---\nimage: base\nfrom: BASE\nshell:\n  install:\n  - 'echo app:x:1234:4321::/:/bin/sh >> /etc/passwd'\n  - 'echo grp:x:4321: >> /etc/group'\ndocker:\n  ENV:\n    LAYER: base\n",
    );
    let text = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("read");
    write(
        &p.dir,
        "werf.yaml",
        &text.replace("BASE", &env("DAVIT_TEST_BASE_IMAGE")),
    );
    write(&p.dir, "site/index.html", "<h1>hi</h1>\n");
    write(&p.dir, "site/css/a.css", "body{}\n");
    write(&p.dir, "site/drafts/x.html", "draft\n");
    commit(&p, "c1");
    let (host, path, repo) = anon_repo(&p);
    let (log, r) = build_with(&p, &repo, "r.json", &[], &[]);

    // from: scratch: the image holds the mapped files and nothing else.
    let listing = exported(&r, "files", "tar -tv --numeric-owner");
    let ours: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains(" srv/site"))
        .collect();
    assert_eq!(
        ours.len(),
        4,
        "srv/site/, css/, css/a.css, index.html:\n{listing}"
    );
    assert!(ours.iter().all(|l| l.contains(" 1000/2000 ")), "{listing}");
    assert!(!listing.contains("drafts"), "excludePaths: {listing}");
    assert!(
        !listing.contains(" bin/"),
        "scratch has no base files: {listing}"
    );

    // web builds on base's last stage: one file mapped to a file path,
    // base's ENV kept, the imageSpec label added.
    assert_eq!(
        stage_names(&r, "web"),
        ["from", "gitArchive", "imageSpec"],
        "{log}"
    );
    assert_eq!(
        sh(&r, "web", "cat /www/index.html; echo $LAYER"),
        "<h1>hi</h1>\nbase\n"
    );
    let web_from = stage(&r, "web", "from")["DockerTag"]
        .as_str()
        .expect("tag")
        .to_string();
    assert_eq!(
        config_label(&host, &path, &web_from, "werf.io/parent-stage-id").as_deref(),
        r["Images"]["base"]["DockerTag"].as_str()
    );
    let web_tag = r["Images"]["web"]["DockerTag"]
        .as_str()
        .expect("tag")
        .to_string();
    assert_eq!(
        config_label(&host, &path, &web_tag, "role").as_deref(),
        Some("web")
    );
    // werf's labels, so werf finds and selects these stages too.
    let archive = stage(&r, "web", "gitArchive")["DockerTag"]
        .as_str()
        .expect("tag")
        .to_string();
    let config = image_config(&host, &path, &archive);
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["werf"], p.project.as_str());
    assert!(labels["werf-stage-content-digest"]
        .as_str()
        .is_some_and(|d| d.len() == 56));
    assert_eq!(labels["werf-project-repo-commit"], head_commit(&p.dir));
    let commit_labels: Vec<&String> = labels
        .as_object()
        .expect("labels")
        .keys()
        .filter(|k| k.starts_with("werf-git-") && k.ends_with("-commit"))
        .collect();
    assert_eq!(commit_labels.len(), 1, "{labels}");
}

#[test]
fn shell_stages_run_in_the_previous_stage_and_a_code_change_needs_no_daemon() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\nshell:\n  beforeInstall:\n  - echo before > /before.txt\n  install:\n  - cat /app/src/main.txt > /installed.txt\n  - echo \"built from $WERF_COMMIT_HASH\"\ngit:\n- add: /app\n  to: /app\n  stageDependencies:\n    install: src/**\ndocker:\n  CMD: [\"cat\", \"/installed.txt\"]\n"
    ));
    let (_, _, repo) = anon_repo(&p);
    write(&p.dir, "app/src/main.txt", "v1\n");
    write(&p.dir, "app/README", "doc\n");
    commit(&p, "c1");
    let (log, r1) = build_with(&p, &repo, "r1.json", &["--log-verbose"], &[]);
    assert_eq!(
        stage_names(&r1, "app"),
        [
            "from",
            "beforeInstall",
            "gitArchive",
            "install",
            "dockerInstructions"
        ]
    );
    assert!(
        log.contains(&format!("built from {}", head_commit(&p.dir))),
        "{log}"
    );
    assert_eq!(
        sh(
            &r1,
            "app",
            "cat /before.txt /installed.txt; echo $WERF_COMMIT_HASH"
        ),
        format!("before\nv1\n{}\n", head_commit(&p.dir))
    );

    // A change stageDependencies.install matches: install runs again on
    // the patched files; beforeInstall and gitArchive are reused.
    write(&p.dir, "app/src/main.txt", "v2\n");
    commit(&p, "c2");
    let (log, r2) = build_with(&p, &repo, "r2.json", &[], &[]);
    for name in ["from", "beforeInstall", "gitArchive"] {
        assert_eq!(stage(&r2, "app", name)["Rebuilt"], false, "{name}: {log}");
    }
    assert_eq!(stage(&r2, "app", "install")["Rebuilt"], true);
    assert_eq!(
        sh(&r2, "app", "cat /installed.txt /app/src/main.txt"),
        "v2\nv2\n"
    );

    // A change outside the masks: no shell stage runs, so no daemon is
    // needed; the new files arrive as a patch layer.
    write(&p.dir, "app/README", "doc 2\n");
    commit(&p, "c3");
    let (log, r3) = build_daemonless(&p, &repo, "r3.json");
    assert_eq!(
        stage(&r3, "app", "install")["DockerTag"],
        stage(&r2, "app", "install")["DockerTag"],
        "{log}"
    );
    assert_eq!(stage(&r3, "app", "gitLatestPatch")["Rebuilt"], true);
    assert_eq!(
        sh(&r3, "app", "cat /installed.txt /app/README"),
        "v2\ndoc 2\n"
    );

    // And a change that needs install again says what it needs.
    write(&p.dir, "app/src/main.txt", "v3\n");
    commit(&p, "c4");
    let err = failing(&p.dir, &["build", "--repo", &repo], &[NO_DAEMON]);
    assert!(err.contains("cannot reach the Docker daemon"), "{err}");
}

#[test]
fn failing_commands_and_shell_less_images_leave_no_stage() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let p = stapel_project(&format!(
        "---\nimage: broken\nfrom: {base}\nshell:\n  install:\n  - echo about to fail\n  - exit 3\n---\nimage: shellless\nfrom: scratch\ngit:\n- add: /x\n  to: /x\nshell:\n  setup: echo hi\n"
    ));
    write(&p.dir, "x", "x\n");
    commit(&p, "c1");
    let (host, path, repo) = anon_repo(&p);
    let err = failing(&p.dir, &["build", "--repo", &repo, "broken"], &[]);
    assert!(err.contains("image \"broken\""), "{err}");
    assert!(err.contains("exited with code 3"), "{err}");
    let err = failing(&p.dir, &["build", "--repo", &repo, "shellless"], &[]);
    assert!(err.contains("has no /bin/sh"), "{err}");
    // Only the stages before the failures exist: `from` of each and
    // shellless's gitArchive; no install or setup stage.
    let tags = registry_tags(&host, &path);
    assert_eq!(stage_tags(&tags).len(), 3, "{tags:?}");
    assert_no_broken_tags(&host, &path);
}

#[test]
fn mounts_serve_the_commands_and_stay_out_of_the_image() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let config = |version: &str| {
        format!(
            "---\nimage: tool\nfrom: {base}\nmount:\n- from: tmp_dir\n  to: /tmp/scratch\n- from: build_dir\n  to: /var/cache/build\nshell:\n  install:\n  - echo t > /tmp/scratch/t\n  - date +%s%N >> /var/cache/build/runs\n  - wc -l < /var/cache/build/runs > /runs-seen\n  installCacheVersion: \"{version}\"\n"
        )
    };
    let p = stapel_project(&config("1"));
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  stapel:\n    mount:\n      allowBuildDir: true\n",
    );
    commit(&p, "c1");
    let home = tempfile::tempdir().expect("home");
    let home_dir = home.path().to_str().expect("utf-8 path");
    let (host, path, repo) = anon_repo(&p);
    let (_, r1) = build_with(&p, &repo, "r1.json", &["--home-dir", home_dir], &[]);
    assert_eq!(sh(&r1, "tool", "cat /runs-seen"), "1\n");
    // Nothing of the mounts is in the image; the mount points are empty.
    assert_eq!(
        sh(
            &r1,
            "tool",
            "test -d /tmp/scratch && test -d /var/cache/build && find /tmp/scratch /var/cache/build -mindepth 1 | wc -l"
        )
        .trim(),
        "0"
    );
    let install = stage(&r1, "tool", "install")["DockerTag"]
        .as_str()
        .expect("tag")
        .to_string();
    assert_eq!(
        config_label(&host, &path, &install, "werf-mount-type-tmp-dir").as_deref(),
        Some("/tmp/scratch")
    );
    // build_dir is kept between builds of the project on this host.
    let text = format!("project: {}\nconfigVersion: 1\n{}", p.project, config("2"));
    write(&p.dir, "werf.yaml", &text);
    commit(&p, "c2");
    let (_, r2) = build_with(&p, &repo, "r2.json", &["--home-dir", home_dir], &[]);
    assert_eq!(sh(&r2, "tool", "cat /runs-seen"), "2\n");
}

#[test]
fn what_davit_cannot_build_yet_is_named() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let p = stapel_project(&format!(
        "---\nimage: tool\nfrom: {base}\nshell:\n  install: echo hi\n---\nimage: importer\nfrom: {base}\nimport:\n- from: {base}\n  add: /etc\n  to: /etc2\n  after: install\n"
    ));
    write(&p.dir, "x", "x\n");
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    // An import from a registry image reads its layers there.
    let (_, r) = build_with(&p, &repo, "r.json", &["importer"], &[NO_DAEMON]);
    assert_eq!(sh(&r, "importer", "head -c 5 /etc2/passwd"), "root:");
    let ansible = format!(
        "{}---\nimage: play\nfrom: {base}\nansible:\n  install:\n  - command: \"true\"\n",
        std::fs::read_to_string(p.dir.join("werf.yaml")).expect("read")
    );
    write(&p.dir, "werf.yaml", &ansible);
    commit(&p, "ansible");
    let err = failing(&p.dir, &["build", "--repo", &repo, "play"], &[]);
    assert!(err.contains("image \"play\": uses ansible"), "{err}");
    // A name the image does not have is an error, not root.
    let text = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("read");
    write(
        &p.dir,
        "werf.yaml",
        &format!(
            "{text}---\nimage: named\nfrom: scratch\ngit:\n- add: /x\n  to: /x\n  owner: app\n"
        ),
    );
    commit(&p, "c2");
    let err = failing(&p.dir, &["build", "--repo", &repo, "named"], &[NO_DAEMON]);
    assert!(
        err.contains("`owner: app`: no such name in the image's /etc/passwd"),
        "{err}"
    );
}

#[test]
fn stapel_and_dockerfile_images_build_on_each_other() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let p = stapel_project(&format!(
        "---\nimage: df-base\ndockerfile: Dockerfile\ncontext: df\nargs:\n  BASE: {base}\n---\nimage: mid\nfromImage: df-base\ngit:\n- add: /app\n  to: /app\n---\nimage: top\ndockerfile: Dockerfile\ncontext: top\ndependencies:\n- image: mid\n  imports:\n  - type: ImageName\n    targetBuildArg: MID\n"
    ));
    write(
        &p.dir,
        "df/Dockerfile",
        "ARG BASE\nFROM $BASE\nRUN echo from-dockerfile > /df.txt\n",
    );
    write(
        &p.dir,
        "top/Dockerfile",
        "ARG MID\nFROM $MID\nRUN cat /df.txt /app/a.txt > /top.txt\n",
    );
    write(&p.dir, "app/a.txt", "from-git\n");
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let (log, r) = build_with(&p, &repo, "r.json", &[], &[]);
    assert_eq!(r["Images"]["mid"]["ConfigType"], "stapel", "{log}");
    assert_eq!(r["Images"]["top"]["ConfigType"], "dockerfile");
    assert_eq!(sh(&r, "top", "cat /top.txt"), "from-dockerfile\nfrom-git\n");
    // mid's from stage is df-base's stage.
    let (host, path, _) = anon_repo(&p);
    let mid_from = stage(&r, "mid", "from")["DockerTag"]
        .as_str()
        .expect("tag")
        .to_string();
    assert_eq!(
        config_label(&host, &path, &mid_from, "werf.io/parent-stage-id").as_deref(),
        r["Images"]["df-base"]["DockerTag"].as_str()
    );
}

#[test]
fn imports_copy_files_and_an_identical_rebuild_of_the_source_changes_nothing() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let config = |version: &str| {
        format!(
            "---\nimage: builder\nfinal: false\nfrom: {base}\nshell:\n  install:\n  - mkdir -p /out/bin /out/skip\n  - printf tool > /out/bin/tool\n  - chmod 755 /out/bin/tool\n  - ln -s tool /out/bin/t\n  - echo no > /out/skip/x\n  installCacheVersion: \"{version}\"\n---\nimage: app\nfrom: {base}\nimport:\n- image: builder\n  add: /out\n  to: /opt/tool\n  excludePaths: [skip]\n  owner: 1234\n  after: install\n"
        )
    };
    let p = stapel_project(&config("1"));
    commit(&p, "c1");
    let (host, path, repo) = anon_repo(&p);
    // Before anything is built the plan cannot know the import checksum.
    let out = davit(
        &p.dir,
        &["build", "--plan", "--output", "json", "--repo", &repo],
        &[],
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan json");
    let app = plan["images"]
        .as_array()
        .expect("images")
        .iter()
        .find(|i| i["image"] == "app")
        .expect("app");
    assert!(app["stages"][1]["digest"].is_null(), "{plan}");

    let (log, r1) = build_with(&p, &repo, "r1.json", &[], &[]);
    assert_eq!(
        stage_names(&r1, "app"),
        ["from", "dependenciesAfterInstall"],
        "{log}"
    );
    assert_eq!(
        sh(&r1, "app", "cat /opt/tool/bin/tool; echo; stat -c '%a %u' /opt/tool/bin/tool; readlink /opt/tool/bin/t; test -e /opt/tool/skip || echo skipped"),
        "tool\n755 1234\ntool\nskipped\n"
    );
    let tags = registry_tags(&host, &path);
    let records: Vec<&String> = tags
        .iter()
        .filter(|t| t.starts_with("import-metadata-"))
        .collect();
    assert_eq!(records.len(), 1, "{tags:?}");
    let checksum = config_label(&host, &path, records[0], "checksum").expect("checksum label");
    let deps_tag = stage(&r1, "app", "dependenciesAfterInstall")["DockerTag"]
        .as_str()
        .expect("tag")
        .to_string();
    let labels = image_config(&host, &path, &deps_tag)["config"]["Labels"].clone();
    let recorded: Vec<&str> = labels
        .as_object()
        .expect("labels")
        .iter()
        .filter(|(k, _)| k.starts_with("werf-import-checksum-"))
        .filter_map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(recorded, [checksum.as_str()]);

    // The builder rebuilt to identical files: the importer is reused.
    let text = format!("project: {}\nconfigVersion: 1\n{}", p.project, config("2"));
    write(&p.dir, "werf.yaml", &text);
    commit(&p, "c2");
    let (log, r2) = build_with(&p, &repo, "r2.json", &[], &[]);
    assert_eq!(r2["Images"]["builder"]["Rebuilt"], true, "{log}");
    assert_eq!(r2["Images"]["app"]["Rebuilt"], false, "{log}");
    assert_eq!(
        r2["Images"]["app"]["DockerTag"],
        r1["Images"]["app"]["DockerTag"]
    );
    // And the plan now knows every digest.
    let out = davit(
        &p.dir,
        &["build", "--plan", "--output", "json", "--repo", &repo],
        &[],
    );
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan json");
    assert!(
        plan["images"]
            .as_array()
            .expect("images")
            .iter()
            .all(|i| i["upToDate"] == true),
        "{plan}"
    );
}

fn docker(args: &[&str], dir: &Path) {
    let out = Command::new("docker")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("docker");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn from_latest_follows_the_registry_tag() {
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let moving = format!("{host}/davit-test/{}:latest", unique("moving"));
    let tmp = tempfile::tempdir().expect("tempdir");
    docker(&["tag", &env("DAVIT_TEST_BASE_IMAGE"), &moving], tmp.path());
    docker(&["push", "-q", &moving], tmp.path());
    let images = format!(
        "---\nimage: latest\nfrom: {moving}\nfromLatest: true\ngit:\n- add: /x\n  to: /x\n---\nimage: pinned\nfrom: {moving}\ngit:\n- add: /x\n  to: /x\n"
    );
    let p = stapel_project(&images);
    write(&p.dir, "x", "x\n");
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  stapel:\n    allowFromLatest: true\n",
    );
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let (_, r1) = build_daemonless(&p, &repo, "r1.json");
    // The tag moves to another image.
    write(
        tmp.path(),
        "Dockerfile",
        &format!("FROM {moving}\nRUN echo moved > /moved\n"),
    );
    docker(&["build", "-q", "-t", &moving, "."], tmp.path());
    docker(&["push", "-q", &moving], tmp.path());
    let (log, r2) = build_daemonless(&p, &repo, "r2.json");
    assert_ne!(
        stage(&r2, "latest", "from")["DockerTag"],
        stage(&r1, "latest", "from")["DockerTag"],
        "{log}"
    );
    assert_eq!(sh(&r2, "latest", "cat /moved"), "moved\n");
    // Without fromLatest the digest is the reference as written.
    assert_eq!(
        stage(&r2, "pinned", "from")["DockerTag"],
        stage(&r1, "pinned", "from")["DockerTag"]
    );
}

#[test]
fn remote_git_over_file_urls_by_tag_and_branch() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let remote = tempfile::tempdir().expect("tempdir");
    let work = remote.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    write(&work, "lib/a.txt", "v1\n");
    write(&work, "lib/old.txt", "old\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "r1"]);
    git(&work, &["tag", "v1"]);
    git(
        remote.path(),
        &["clone", "-q", "--bare", "work", "origin.git"],
    );
    let origin = remote.path().join("origin.git");
    let url = format!("file://{}", origin.display());

    let p = stapel_project(&format!(
        "---\nimage: pinned\nfrom: {base}\ngit:\n- url: {url}\n  tag: v1\n  add: /lib\n  to: /lib\n---\nimage: tracking\nfrom: {base}\ngit:\n- url: {url}\n  branch: main\n  add: /lib\n  to: /lib\n- add: /local\n  to: /local\n"
    ));
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  stapel:\n    git:\n      allowBranch: true\n",
    );
    write(&p.dir, "local/l.txt", "local\n");
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let home = tempfile::tempdir().expect("home");
    let home_dir = home.path().to_str().expect("utf-8");
    let flags = ["--home-dir", home_dir];
    let (log, r1) = build_with(&p, &repo, "r1.json", &flags, &[NO_DAEMON]);
    assert_eq!(sh(&r1, "pinned", "cat /lib/a.txt"), "v1\n", "{log}");
    assert_eq!(
        sh(&r1, "tracking", "cat /lib/a.txt /local/l.txt"),
        "v1\nlocal\n"
    );

    // The remote's branch moves on: the tracking image gets a patch; the
    // image pinned to a tag stays as it was.
    write(&work, "lib/a.txt", "v2\n");
    std::fs::remove_file(work.join("lib/old.txt")).expect("rm");
    git(&work, &["commit", "-qam", "r2"]);
    git(
        &work,
        &["push", "-q", origin.to_str().expect("utf-8"), "main"],
    );
    let (log, r2) = build_with(&p, &repo, "r2.json", &flags, &[NO_DAEMON]);
    assert_eq!(r2["Images"]["pinned"]["Rebuilt"], false, "{log}");
    assert_eq!(
        stage_names(&r2, "tracking"),
        ["from", "gitArchive", "gitLatestPatch"],
        "{log}"
    );
    assert_eq!(
        sh(
            &r2,
            "tracking",
            "cat /lib/a.txt; test -e /lib/old.txt || echo gone"
        ),
        "v2\ngone\n"
    );
}

#[test]
fn a_large_change_becomes_git_cache_and_later_changes_patch_on_top() {
    let p = stapel_project("---\nimage: files\nfrom: scratch\ngit:\n- add: /data\n  to: /data\n");
    write(&p.dir, "data/small.txt", "1\n");
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let (_, r1) = build_daemonless(&p, &repo, "r1.json");
    assert_eq!(stage_names(&r1, "files"), ["from", "gitArchive"]);
    // 2 MiB of new content: a gitCache stage, nothing after it.
    let big: Vec<u8> = (0..2 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    write_bytes(&p.dir, "data/big.bin", &big);
    commit(&p, "c2");
    let (log, r2) = build_daemonless(&p, &repo, "r2.json");
    assert_eq!(
        stage_names(&r2, "files"),
        ["from", "gitArchive", "gitCache"],
        "{log}"
    );
    // A small change next: gitCache (same size in MiB, built on an
    // ancestor) is reused and the rest is a gitLatestPatch.
    write(&p.dir, "data/small.txt", "2\n");
    commit(&p, "c3");
    let (log, r3) = build_daemonless(&p, &repo, "r3.json");
    assert_eq!(
        stage_names(&r3, "files"),
        ["from", "gitArchive", "gitCache", "gitLatestPatch"],
        "{log}"
    );
    assert_eq!(
        stage(&r3, "files", "gitCache")["DockerTag"],
        stage(&r2, "files", "gitCache")["DockerTag"]
    );
    assert_eq!(stage(&r3, "files", "gitLatestPatch")["Rebuilt"], true);
}

#[test]
fn dependencies_give_a_stage_the_built_image_names() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let p = stapel_project(&format!(
        "---\nimage: lib\nfrom: scratch\ngit:\n- add: /lib\n  to: /lib\n---\nimage: app\nfrom: {base}\ndependencies:\n- image: lib\n  after: install\n  imports:\n  - type: ImageName\n    targetEnv: LIB_IMAGE\n  - type: ImageTag\n    targetEnv: LIB_TAG\nshell:\n  setup:\n  - echo \"$LIB_IMAGE\" > /dep.txt\n"
    ));
    write(&p.dir, "lib/x", "1\n");
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let (log, r1) = build_with(&p, &repo, "r1.json", &[], &[]);
    assert_eq!(
        stage_names(&r1, "app"),
        ["from", "dependenciesAfterInstall", "setup"],
        "{log}"
    );
    let lib = r1["Images"]["lib"]["DockerImageName"]
        .as_str()
        .expect("name");
    let lib_tag = r1["Images"]["lib"]["DockerTag"].as_str().expect("tag");
    assert_eq!(
        sh(&r1, "app", "cat /dep.txt; echo $LIB_TAG"),
        format!("{lib}\n{lib_tag}\n")
    );
    // A new lib image changes app's dependencies stage and what follows.
    write(&p.dir, "lib/x", "2\n");
    commit(&p, "c2");
    let (log, r2) = build_with(&p, &repo, "r2.json", &[], &[]);
    assert_eq!(stage(&r2, "app", "from")["Rebuilt"], false, "{log}");
    assert_eq!(
        stage(&r2, "app", "dependenciesAfterInstall")["Rebuilt"],
        true
    );
    let lib2 = r2["Images"]["lib"]["DockerImageName"]
        .as_str()
        .expect("name");
    assert_ne!(lib, lib2);
    assert_eq!(sh(&r2, "app", "cat /dep.txt"), format!("{lib2}\n"));
}

/// Containers the daemon created between two moments from images of
/// `project` (labelled `werf=<project>`, as every stage is).
fn containers_created(project: &str, since: &str, until: &str) -> usize {
    let label = format!("label=werf={project}");
    let out = Command::new("docker")
        .args([
            "events",
            "--since",
            since,
            "--until",
            until,
            "--filter",
            "type=container",
            "--filter",
            "event=create",
            "--filter",
            &label,
            "--format",
            "{{.ID}}",
        ])
        .output()
        .expect("docker events");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn unix_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    secs.to_string()
}

#[test]
fn local_storage_builds_the_same_stages_in_the_daemon() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\nshell:\n  install:\n  - cat /app/a.txt > /installed\ngit:\n- add: /app\n  to: /app\n  stageDependencies:\n    install: a.txt\n---\nimage: bare\nfrom: scratch\ngit:\n- add: /app\n  to: /srv\n"
    ));
    write(&p.dir, "app/a.txt", "one\n");
    write(&p.dir, "app/b.txt", "b\n");
    commit(&p, "c1");
    let report = |name: &str| -> Value {
        ok(&davit(
            &p.dir,
            &["build", "--save-build-report", "--build-report-path", name],
            &[],
        ));
        build_common::report(&p.dir, name)
    };
    let since = unix_now();
    let r1 = report("r1.json");
    std::thread::sleep(std::time::Duration::from_secs(1));
    // The counter sees the install stage's container of the first build.
    assert!(containers_created(&p.project, &since, &unix_now()) >= 1);
    let app = r1["Images"]["app"]["DockerImageName"]
        .as_str()
        .expect("name");
    assert!(app.starts_with(&format!("{}:", p.project)), "{app}");
    assert_eq!(sh(&r1, "app", "cat /installed /app/b.txt"), "one\nb\n");
    // A change outside stageDependencies: a patch layer loaded into the
    // daemon, no container.
    write(&p.dir, "app/b.txt", "b2\n");
    commit(&p, "c2");
    // Events have one-second resolution: the `docker run` above is done.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let since = unix_now();
    let r2 = report("r2.json");
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(containers_created(&p.project, &since, &unix_now()), 0);
    assert_eq!(stage(&r2, "app", "gitLatestPatch")["Rebuilt"], true);
    assert_eq!(sh(&r2, "app", "cat /installed /app/b.txt"), "one\nb2\n");
    assert_eq!(exported(&r2, "bare", "tar -x -O srv/b.txt"), "b2\n");
}

#[test]
fn artifacts_and_the_records_cleanup_reads() {
    let p = stapel_project(
        "---\nartifact: assets\nfrom: scratch\ngit:\n- add: /assets\n  to: /out\n---\nimage: site\nfrom: scratch\nimport:\n- artifact: assets\n  add: /out\n  to: /www\n  after: install\n",
    );
    write(&p.dir, "assets/index.html", "<p>hi</p>\n");
    commit(&p, "c1");
    let (host, path, repo) = anon_repo(&p);
    let (log, r) = build_with(
        &p,
        &repo,
        "r.json",
        &["--add-custom-tag", "%image%-latest"],
        &[NO_DAEMON],
    );
    // The artifact is not final and has no patch or docker stages.
    assert_eq!(r["Images"]["assets"]["Final"], false, "{log}");
    assert_eq!(stage_names(&r, "assets"), ["from", "gitArchive"]);
    assert_eq!(
        stage_names(&r, "site"),
        ["from", "dependenciesAfterInstall"]
    );
    // Records as for Dockerfile images: managed images, meta-* for the
    // commit, the import record, the custom tag of the final image only.
    let tags = registry_tags(&host, &path);
    for wanted in ["managed-image-assets", "managed-image-site", "site-latest"] {
        assert!(tags.iter().any(|t| t == wanted), "{wanted}: {tags:?}");
    }
    assert!(!tags.iter().any(|t| t == "assets-latest"), "{tags:?}");
    let commit = head_commit(&p.dir);
    let metas = meta_records(&tags)
        .into_iter()
        .filter(|t| t.contains(&commit))
        .count();
    assert_eq!(metas, 2, "{tags:?}");
    assert!(
        tags.iter().any(|t| t.starts_with("import-metadata-")),
        "{tags:?}"
    );
}

/// The no-pull proof, counted: after a commit that changes only
/// mapped files, with every earlier stage in the registry and none in the
/// local Docker, the build reads no layer of the earlier stages from the
/// registry (a recording proxy sees every request) and the daemon, though
/// reachable, creates no container. The mapping's owner is a name that
/// `beforeInstall` adds: it is found without the layers too.
#[test]
fn a_code_change_pulls_no_base_layer_and_starts_no_container() {
    use davit_testkit::recording_proxy::RecordingProxy;
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let proxy = RecordingProxy::start(&env("DAVIT_TEST_REGISTRY_ANON")).expect("proxy");
    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\nshell:\n  beforeInstall:\n  - head -c 4194304 /dev/urandom > /packages.bin\n  - echo 'app:x:1234:2345::/app:/bin/sh' >> /etc/passwd\n  - echo 'app:x:2345:' >> /etc/group\n  install:\n  - cat /app/deps.txt > /installed\ngit:\n- add: /app\n  to: /app\n  owner: app\n  group: app\n  stageDependencies:\n    install: deps.txt\n"
    ));
    let path = format!("davit-test/{}", p.project);
    let repo = format!("{}/{path}", proxy.address());
    write(&p.dir, "app/deps.txt", "deps\n");
    write(&p.dir, "app/main.txt", "v1\n");
    commit(&p, "c1");
    let (_, r1) = build_with(&p, &repo, "r1.json", &[], &[]);
    let install_tag = stage(&r1, "app", "install")["DockerTag"]
        .as_str()
        .expect("install tag")
        .to_string();
    // Every layer of the last stored stage: the base's, beforeInstall's
    // 4 MiB and install's.
    let earlier_layers: Vec<String> = manifest(proxy.address(), &path, &install_tag)["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["digest"].as_str().expect("digest").to_string())
        .collect();
    assert!(earlier_layers.len() >= 3, "{earlier_layers:?}");

    // A fresh runner: none of the project's images in the local Docker.
    forget_local_images(&p, &repo);
    write(&p.dir, "app/main.txt", "v2\n");
    commit(&p, "c2");
    std::thread::sleep(std::time::Duration::from_secs(1));
    let since = unix_now();
    proxy.clear();
    let (log, r2) = build_with(&p, &repo, "r2.json", &[], &[]);
    let exchanges = proxy.exchanges();
    std::thread::sleep(std::time::Duration::from_secs(1));
    assert_eq!(containers_created(&p.project, &since, &unix_now()), 0);
    assert_eq!(
        stage(&r2, "app", "install")["DockerTag"],
        install_tag.as_str()
    );
    assert_eq!(
        stage(&r2, "app", "gitLatestPatch")["Rebuilt"],
        true,
        "{log}"
    );

    // The proxy saw the build (so the count means something) …
    assert!(
        exchanges.iter().any(|e| e.method == "PUT"),
        "{exchanges:#?}"
    );
    // … and no read of an earlier layer, not even a range of one.
    let layer_reads: Vec<_> = exchanges
        .iter()
        .filter(|e| e.method == "GET" && earlier_layers.iter().any(|d| e.path.contains(d)))
        .collect();
    assert!(layer_reads.is_empty(), "{layer_reads:#?}");
    let downloaded: u64 = exchanges.iter().map(|e| e.body_bytes).sum();
    assert!(
        downloaded < 256 * 1024,
        "{downloaded} bytes read from the registry: {exchanges:#?}"
    );
    // The control: running the image makes the daemon pull it through the
    // proxy. It holds the earlier layers already (the images were untagged,
    // not pruned), so it reads only the new patch layer, and the proxy
    // records that read the way the filter above looks for it.
    let patch_tag = stage(&r2, "app", "gitLatestPatch")["DockerTag"]
        .as_str()
        .expect("patch tag")
        .to_string();
    let patch_layers = manifest(proxy.address(), &path, &patch_tag)["layers"]
        .as_array()
        .expect("layers")
        .clone();
    let patch_layer = patch_layers.last().expect("a patch layer")["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    assert!(!earlier_layers.contains(&patch_layer));
    proxy.clear();
    assert_eq!(sh(&r2, "app", "cat /installed /app/main.txt"), "deps\nv2\n");
    // The owner names came from the stages' own records, and are right.
    assert_eq!(
        sh(&r2, "app", "stat -c %u:%g /app/main.txt /app/deps.txt"),
        "1234:2345\n1234:2345\n"
    );
    let exchanges = proxy.exchanges();
    assert!(
        exchanges
            .iter()
            .any(|e| e.method == "GET" && e.path.contains(&patch_layer) && e.body_bytes > 0),
        "{exchanges:#?}"
    );
}

#[test]
fn submodules_reach_the_image_at_their_recorded_commits() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let lib_tmp = tempfile::tempdir().expect("tempdir");
    let lib = lib_tmp.path();
    git(lib, &["init", "-q", "-b", "main"]);
    write(lib, "inner/i.txt", "i1\n");
    write(lib, "top.txt", "top1\n");
    write(lib, "gone.txt", "gone\n");
    git(lib, &["add", "-A"]);
    git(lib, &["commit", "-qm", "lib 1"]);
    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\nshell:\n  install:\n  - cat /app/vendor/lib/inner/i.txt > /installed\ngit:\n- add: /\n  to: /app\n  excludePaths: [werf.yaml]\n  stageDependencies:\n    install: [\"vendor/lib/inner/*\"]\n"
    ));
    let (_, _, repo) = anon_repo(&p);
    write(&p.dir, "main.txt", "main\n");
    let lib_path = lib.display().to_string();
    git_submodule(&p.dir, &["add", "-q", &lib_path, "vendor/lib"]);
    commit(&p, "c1");
    let (log, r1) = build_with(&p, &repo, "r1.json", &[], &[]);
    assert_eq!(
        sh(
            &r1,
            "app",
            "cat /installed /app/vendor/lib/top.txt /app/vendor/lib/gone.txt; ls -A /app/vendor/lib"
        ),
        "i1\ntop1\ngone\ngone.txt\ninner\ntop.txt\n",
        "{log}"
    );

    // The submodule moves on: a file changed, one deleted, none that
    // install depends on. A patch, no install, no daemon.
    write(lib, "top.txt", "top2\n");
    git(lib, &["rm", "-q", "gone.txt"]);
    git(lib, &["commit", "-qam", "lib 2"]);
    git(&p.dir.join("vendor/lib"), &["pull", "-q", "origin", "main"]);
    commit(&p, "c2");
    let (log, r2) = build_daemonless(&p, &repo, "r2.json");
    assert_eq!(
        stage(&r2, "app", "install")["DockerTag"],
        stage(&r1, "app", "install")["DockerTag"],
        "{log}"
    );
    assert_eq!(stage(&r2, "app", "gitLatestPatch")["Rebuilt"], true);
    assert_eq!(
        sh(
            &r2,
            "app",
            "cat /app/vendor/lib/top.txt; test -e /app/vendor/lib/gone.txt || echo deleted"
        ),
        "top2\ndeleted\n"
    );

    // A change install depends on, inside the submodule: install runs on
    // the new files.
    write(lib, "inner/i.txt", "i2\n");
    git(lib, &["commit", "-qam", "lib 3"]);
    git(&p.dir.join("vendor/lib"), &["pull", "-q", "origin", "main"]);
    commit(&p, "c3");
    let (log, r3) = build_with(&p, &repo, "r3.json", &[], &[]);
    assert_eq!(stage(&r3, "app", "install")["Rebuilt"], true, "{log}");
    assert_eq!(sh(&r3, "app", "cat /installed"), "i2\n");

    // A clone whose submodule is not checked out, with its URL gone: the
    // error names the submodule and what to do.
    let clone_tmp = tempfile::tempdir().expect("tempdir");
    git(
        clone_tmp.path(),
        &["clone", "-q", &p.dir.display().to_string(), "c"],
    );
    drop(lib_tmp);
    let out = davit(
        &clone_tmp.path().join("c"),
        &["build", "--plan", "--repo", &repo],
        &[NO_DAEMON],
    );
    assert!(!out.status.success());
    // The plan names each image's error on standard output.
    let err = String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("submodule vendor/lib (commit "), "{err}");
    assert!(err.contains("git submodule update --init"), "{err}");
}

/// `tests/contract/git_http.py`: git's own `git http-backend` behind TLS
/// (the test CA) and HTTP Basic authentication.
struct GitHttpServer {
    child: std::process::Child,
    port: u16,
}

impl GitHttpServer {
    fn start(root: &Path, user: &str, password: &str) -> GitHttpServer {
        use std::io::BufRead;
        let testenv_dir = Path::new(&env("DAVIT_TEST_TLS_CA"))
            .parent()
            .expect("testenv dir")
            .to_path_buf();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/contract/git_http.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--root")
            .arg(root)
            .arg("--cert")
            .arg(testenv_dir.join("tls-server.pem"))
            .arg("--key")
            .arg(testenv_dir.join("tls-server.key"))
            .args(["--user", user, "--password", password])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs the git server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the git server did not start: {line:?}"));
        GitHttpServer { child, port }
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn remote_git_over_https_with_basic_auth() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let remote = tempfile::tempdir().expect("tempdir");
    let work = remote.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    write(&work, "lib/a.txt", "v1\n");
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-qm", "r1"]);
    let root = remote.path().join("root");
    std::fs::create_dir_all(&root).expect("mkdir");
    git(&root, &["clone", "-q", "--bare", "../work", "lib.git"]);
    let password = "s3cret-git-password";
    let server = GitHttpServer::start(&root, "deployer", password);
    let url = format!("https://127.0.0.1:{}/lib.git", server.port);

    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\ngit:\n- url: {url}\n  branch: main\n  add: /lib\n  to: /lib\n  basicAuth:\n    username: deployer\n    password:\n      env: LIB_GIT_PASSWORD\n"
    ));
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  stapel:\n    git:\n      allowBranch: true\n",
    );
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let home = tempfile::tempdir().expect("home");
    let home_dir = home.path().to_str().expect("utf-8");
    let flags = ["--home-dir", home_dir];
    let ca = env("DAVIT_TEST_TLS_CA");
    let trusted = ("SSL_CERT_FILE", ca.as_str());

    // Without the variable: the error names it; no request is made.
    let out = davit(
        &p.dir,
        &["build", "--repo", &repo, "--home-dir", home_dir],
        &[NO_DAEMON, trusted],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("LIB_GIT_PASSWORD, which is not set"), "{err}");

    // A wrong password: refused, and no password is shown.
    let out = davit(
        &p.dir,
        &["build", "--repo", &repo, "--home-dir", home_dir],
        &[NO_DAEMON, trusted, ("LIB_GIT_PASSWORD", "wrong-password")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&url), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");
    assert!(err.contains("HTTP status 401"), "{err}");
    assert!(err.contains("hint: check the mapping's basicAuth"), "{err}");

    // The right one: cloned over TLS and built.
    let good = ("LIB_GIT_PASSWORD", password);
    let (log, r1) = build_with(&p, &repo, "r1.json", &flags, &[NO_DAEMON, trusted, good]);
    assert!(!log.contains(password), "{log}");
    assert_eq!(sh(&r1, "app", "cat /lib/a.txt"), "v1\n", "{log}");

    // The branch moves: fetched, and a patch on top.
    write(&work, "lib/a.txt", "v2\n");
    git(&work, &["commit", "-qam", "r2"]);
    git(
        &work,
        &[
            "push",
            "-q",
            root.join("lib.git").to_str().expect("utf-8"),
            "main",
        ],
    );
    let (log, r2) = build_with(&p, &repo, "r2.json", &flags, &[NO_DAEMON, trusted, good]);
    assert_eq!(
        stage(&r2, "app", "gitLatestPatch")["Rebuilt"],
        true,
        "{log}"
    );
    assert_eq!(sh(&r2, "app", "cat /lib/a.txt"), "v2\n");

    // Credentials written into the URL work too, and are never shown.
    let in_url = format!(
        "https://deployer:{password}@127.0.0.1:{}/lib.git",
        server.port
    );
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    let yaml = yaml.replace(&format!("url: {url}"), &format!("url: {in_url}"));
    // A stageDependencies glob that matches nothing: werf's warning names
    // the repository, without the password.
    let yaml = yaml.replace(
        "  basicAuth:\n    username: deployer\n    password:\n      env: LIB_GIT_PASSWORD\n",
        "  stageDependencies:\n    install: [\"missing/**\"]\nshell:\n  install: [\"true\"]\n",
    );
    write(&p.dir, "werf.yaml", &yaml);
    commit(&p, "c2");
    let (log, r3) = build_with(&p, &repo, "r3.json", &flags, &[trusted]);
    assert!(
        log.contains("has not been found in https://***@127.0.0.1"),
        "{log}"
    );
    assert!(!log.contains(password), "{log}");
    assert_eq!(sh(&r3, "app", "cat /lib/a.txt"), "v2\n", "{log}");

    // The test CA is not trusted without SSL_CERT_FILE: a TLS error.
    let fresh_home = tempfile::tempdir().expect("home");
    let out = davit(
        &p.dir,
        &[
            "build",
            "--repo",
            &repo,
            "--home-dir",
            fresh_home.path().to_str().expect("utf-8"),
        ],
        &[NO_DAEMON, good],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert!(err.contains("SSL_CERT_FILE"), "{err}");
    drop(server);
}

/// werf's stapel `secrets`: files in /run/secrets/<id> while the shell
/// stages run, from a value, a variable and a file; never in a layer or
/// the log.
#[test]
fn secrets_reach_shell_stages_and_no_layer() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\nsecrets:\n- id: token\n  value: s3cret-value\n- env: DAVIT_TEST_SECRET_ENV\n- src: secret.txt\nshell:\n  install:\n  - test \"$(cat /run/secrets/token)\" = s3cret-value && echo token-ok\n  - wc -c < /run/secrets/DAVIT_TEST_SECRET_ENV > /env-length\n  - wc -c < /run/secrets/secret.txt > /file-length\n"
    ));
    write(
        &p.dir,
        "werf-giterminism.yaml",
        "giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowValueIds: [token]\n    allowEnvVariables: [DAVIT_TEST_SECRET_ENV]\n    allowFiles: [\"**/secret.txt\"]\n",
    );
    std::fs::write(p.dir.join("secret.txt"), "f1l3-secret").expect("write");
    std::fs::write(p.dir.join(".gitignore"), "secret.txt\n").expect("write");
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let secret_env = ("DAVIT_TEST_SECRET_ENV", "env-s3cret");
    let (log, r) = build_with(&p, &repo, "r.json", &["--log-verbose"], &[secret_env]);
    assert!(log.contains("token-ok"), "{log}");
    for value in ["s3cret-value", "env-s3cret", "f1l3-secret"] {
        assert!(!log.contains(value), "{value} in the log: {log}");
    }
    assert_eq!(
        sh(
            &r,
            "app",
            "cat /env-length /file-length; ls -A /run/secrets | wc -l"
        ),
        "10\n11\n0\n"
    );
    // No layer holds a value: the image as docker saves it.
    let name = r["Images"]["app"]["DockerImageName"]
        .as_str()
        .expect("name");
    let occurrences = |pattern: &str| -> usize {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "docker save {name} | tar -xO --wildcards '*layer.tar' 'blobs/*' 2>/dev/null | grep -c -a -e '{pattern}' || true"
            ))
            .output()
            .expect("docker save");
        let text = String::from_utf8_lossy(&out.stdout);
        text.trim().parse().unwrap_or_else(|_| panic!("{text}"))
    };
    // The control: what the layers do hold is found.
    assert!(occurrences("root:x:0:0") > 0);
    assert_eq!(occurrences("s3cret"), 0);
    assert_eq!(occurrences("f1l3-secret"), 0);
    // A stage to run again with a variable that is not set: named before
    // anything runs.
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(
        &p.dir,
        "werf.yaml",
        &yaml.replace("  install:\n", "  install:\n  - echo again\n"),
    );
    commit(&p, "c2");
    let out = davit(&p.dir, &["build", "--repo", &repo], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the environment variable \"DAVIT_TEST_SECRET_ENV\" is not set"),
        "{err}"
    );
}

/// Several platforms: each platform's stages, composed without a daemon
/// (`from: scratch` needs no emulator), and werf's manifest list naming
/// them; an import takes the same platform's stage of its source.
#[test]
fn a_stapel_image_for_several_platforms_is_a_manifest_list() {
    let p = stapel_project(
        "---\nimage: app\nfrom: scratch\nplatform: [linux/arm64, linux/amd64]\ngit:\n- add: /app\n  to: /app\ndocker:\n  CMD: [\"/app/run\"]\n---\nimage: user\nfrom: scratch\nplatform: [linux/arm64, linux/amd64]\nimport:\n- image: app\n  add: /app\n  to: /copied\n  after: install\n",
    );
    write(&p.dir, "app/a.txt", "a\n");
    commit(&p, "c1");
    let (host, path, repo) = anon_repo(&p);
    let by_platform = ("WERF_ENABLE_REPORT_BY_PLATFORM", "1");
    let (log, r) = build_with(&p, &repo, "r.json", &[], &[NO_DAEMON, by_platform]);
    let app = &r["Images"]["app"];
    let index_tag = app["DockerTag"].as_str().expect("tag");
    assert_eq!(index_tag.len(), 56, "{log}");
    let list = manifest(&host, &path, index_tag);
    let entries = list["manifests"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{list}");
    let mut archive_tags = Vec::new();
    for platform in ["linux/amd64", "linux/arm64"] {
        let arch = platform.rsplit('/').next().expect("arch");
        let own = &r["ImagesByPlatform"]["app"][platform];
        let entry = entries
            .iter()
            .find(|e| e["platform"]["architecture"] == arch)
            .unwrap_or_else(|| panic!("no {platform} entry: {list}"));
        assert_eq!(entry["digest"], own["DockerImageDigest"]);
        let tag = own["DockerTag"].as_str().expect("tag");
        let config = image_config(&host, &path, tag);
        assert_eq!(config["architecture"], arch, "{config}");
        assert_eq!(config["config"]["Cmd"][0], "/app/run");
        let archive = own["Stages"]
            .as_array()
            .expect("stages")
            .iter()
            .find(|s| s["Name"] == "gitArchive")
            .unwrap_or_else(|| panic!("no gitArchive: {own}"));
        archive_tags.push(archive["DockerTag"].clone());
        // The importer's stage for this platform took this platform's
        // files.
        let user = &r["ImagesByPlatform"]["user"][platform];
        let user_tag = user["DockerTag"].as_str().expect("tag");
        assert_eq!(image_config(&host, &path, user_tag)["architecture"], arch);
    }
    // werf's digests differ by platform, so each platform has its stages.
    assert_ne!(archive_tags[0], archive_tags[1]);
    assert_no_broken_tags(&host, &path);
    // The daemon pulls the list and runs its own platform's files.
    assert_eq!(
        exported(&r, "user", "tar -x -O copied/a.txt"),
        "a\n",
        "{log}"
    );
    // Nothing is rebuilt the next time; the list is the same.
    let (log, again) = build_with(&p, &repo, "again.json", &[], &[NO_DAEMON]);
    assert_eq!(again["Images"]["app"]["Rebuilt"], false, "{log}");
    assert_eq!(again["Images"]["app"]["DockerTag"], index_tag);
    // Local storage cannot hold a manifest list: said so.
    let out = davit(&p.dir, &["build"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("a multi-platform image needs a registry --repo"),
        "{err}"
    );
}

fn sha256_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Pushes `bytes` as a blob of `host/path` (a monolithic upload).
fn push_blob(host: &str, path: &str, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("blob");
    std::fs::write(&file, bytes).expect("write");
    let out = Command::new("curl")
        .args(["-sf", "-X", "POST", "-D", "-", "-o", "/dev/null"])
        .arg(format!("http://{host}/v2/{path}/blobs/uploads/"))
        .output()
        .expect("curl");
    let headers = String::from_utf8_lossy(&out.stdout);
    let location = headers
        .lines()
        .find_map(|l| {
            l.strip_prefix("Location: ")
                .or(l.strip_prefix("location: "))
        })
        .unwrap_or_else(|| panic!("no upload location: {headers}"))
        .trim()
        .to_string();
    let separator = if location.contains('?') { '&' } else { '?' };
    let url = if location.starts_with("http") {
        format!("{location}{separator}digest={digest}")
    } else {
        format!("http://{host}{location}{separator}digest={digest}")
    };
    let put = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
        ])
        .arg("--data-binary")
        .arg(format!("@{}", file.display()))
        .arg(url)
        .output()
        .expect("curl");
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    digest
}

/// A base image whose one layer is zstd-compressed: the owner names and
/// the files of an import are read from it, in the registry.
#[test]
fn zstd_layers_are_read_for_owner_names_and_imports() {
    let host = env("DAVIT_TEST_REGISTRY_ANON");
    let path = format!("davit-test/{}", unique("zstd-base"));
    let mut layer = tar::Builder::new(Vec::new());
    for (file, text) in [
        (
            "etc/passwd",
            "root:x:0:0::/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n",
        ),
        ("etc/group", "root:x:0:\napp:x:2345:\n"),
        ("opt/tool/version", "7\n"),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        layer
            .append_data(&mut h, file, text.as_bytes())
            .expect("tar");
    }
    let tar = layer.into_inner().expect("tar");
    let blob =
        ruzstd::encoding::compress_to_vec(&tar[..], ruzstd::encoding::CompressionLevel::Fastest);
    let layer_digest = push_blob(&host, &path, &blob);
    let config = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [sha256_digest(&tar)]}
    })
    .to_string();
    let config_digest = push_blob(&host, &path, config.as_bytes());
    let base_manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "digest": layer_digest, "size": blob.len()}]
    })
    .to_string();
    let put = Command::new("curl")
        .args([
            "-sf",
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/vnd.oci.image.manifest.v1+json",
        ])
        .args(["--data-binary", &base_manifest])
        .arg(format!("http://{host}/v2/{path}/manifests/v1"))
        .output()
        .expect("curl");
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let base = format!("{host}/{path}:v1");

    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\ngit:\n- add: /app\n  to: /app\n  owner: app\n  group: app\nimport:\n- from: {base}\n  add: /opt/tool\n  to: /opt/imported\n  after: install\n"
    ));
    write(&p.dir, "app/a.txt", "a\n");
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let (log, r) = build_daemonless(&p, &repo, "r.json");
    // The Docker engine here cannot unpack zstd layers, so the layers
    // davit wrote are read from the registry: the last layer of a stage.
    let (_, stage_path, _) = anon_repo(&p);
    let last_layer = |name: &str, pipe: &str| -> String {
        let tag = stage(&r, "app", name)["DockerTag"].as_str().expect("tag");
        let m = manifest(&host, &stage_path, tag);
        let layers = m["layers"].as_array().expect("layers");
        let digest = layers.last().expect("a layer")["digest"]
            .as_str()
            .expect("digest");
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "curl -sf http://{host}/v2/{stage_path}/blobs/{digest} | gzip -dc | {pipe}"
            ))
            .output()
            .expect("curl");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let listing = last_layer("gitArchive", "tar -tvf - app/a.txt");
    assert!(listing.contains("1234/2345"), "{listing}\n{log}");
    assert_eq!(
        last_layer("dependenciesAfterInstall", "tar -xO opt/imported/version"),
        "7\n"
    );
}

/// The ssh-agent of SSH_AUTH_SOCK reaches the shell stages, as in werf,
/// and leaves nothing of itself in the image but werf's variable.
#[test]
fn the_ssh_agent_is_forwarded_into_shell_stages() {
    let base = env("DAVIT_TEST_BASE_IMAGE");
    let dir = tempfile::tempdir().expect("tempdir");
    let sock = dir.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("ssh-agent (openssh-client) runs");
    for _ in 0..50 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let p = stapel_project(&format!(
        "---\nimage: app\nfrom: {base}\nshell:\n  install:\n  - test -S \"$SSH_AUTH_SOCK\" && echo \"agent at $SSH_AUTH_SOCK\"\n"
    ));
    commit(&p, "c1");
    let (_, _, repo) = anon_repo(&p);
    let sock_path = sock.display().to_string();
    let (log, r) = build_with(
        &p,
        &repo,
        "r.json",
        &["--log-verbose"],
        &[("SSH_AUTH_SOCK", sock_path.as_str())],
    );
    let _ = agent.kill();
    let _ = agent.wait();
    assert!(log.contains("agent at /.werf/tmp/ssh-auth-sock"), "{log}");
    // The socket was a bind mount: nothing of it is in the image.
    assert_eq!(
        sh(
            &r,
            "app",
            "test -S /.werf/tmp/ssh-auth-sock || echo no-socket"
        ),
        "no-socket\n"
    );

    // werf's --ssh-key: an agent of the build's own, with SSH_AUTH_SOCK
    // pointing nowhere.
    let key = dir.path().join("key");
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen");
    assert!(st.success());
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    write(
        &p.dir,
        "werf.yaml",
        &yaml.replace("  install:\n", "  install:\n  - echo again\n"),
    );
    commit(&p, "c2");
    let key_arg = key.display().to_string();
    let (log, _) = build_with(
        &p,
        &repo,
        "r2.json",
        &["--log-verbose", "--ssh-key", &key_arg],
        &[("SSH_AUTH_SOCK", "/nonexistent/agent.sock")],
    );
    assert!(log.contains("agent at /.werf/tmp/ssh-auth-sock"), "{log}");
}
