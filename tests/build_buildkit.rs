//! BuildKit builds through the daemon's session API: the default on a
//! daemon that has BuildKit, required by Dockerfiles that only BuildKit can
//! build (`RUN --mount`); `DOCKER_BUILDKIT` forces either builder.
//! Real git, dockerd and registries; fails (never skips) without them.

mod build_common;

use std::process::Command;

use build_common::*;
use davit_testkit::fixtures::{git, testenv as env, write};

/// `app` gets a Dockerfile that uses cache and bind mounts.
fn project_with_mounts() -> Project {
    let p = project();
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\n\
         RUN --mount=type=cache,target=/cache echo cached >> /cache/runs && cp /cache/runs /runs\n\
         RUN --mount=type=bind,source=hello.sh,target=/mnt/hello.sh cp /mnt/hello.sh /hello.sh\n\
         CMD [\"sh\", \"/hello.sh\"]\n",
    );
    git(&p.dir, &["commit", "-qam", "mounts"]);
    p
}

#[test]
fn run_mount_builds_with_buildkit_and_is_reused() {
    let p = project_with_mounts();
    let (host, path, repo) = anon_repo(&p);

    let (log, first) = build(&p, &repo, "first.json");
    assert!(rebuilt(&first, "app"), "{log}");
    // BuildKit's step names reach the log.
    assert!(log.contains("RUN --mount=type=cache"), "{log}");
    assert_eq!(run_image(&first, "app", &[]), "hello\nbase\n");
    // werf's labels are on the BuildKit-built stage too.
    let tag = first["Images"]["app"]["DockerTag"].as_str().expect("tag");
    assert_eq!(
        config_label(&host, &path, tag, "werf").as_deref(),
        Some(p.project.as_str())
    );
    assert!(config_label(&host, &path, tag, "werf-stage-content-digest").is_some());
    assert_no_broken_tags(&host, &path);

    let (log, second) = build(&p, &repo, "second.json");
    assert!(!rebuilt(&second, "app"), "{log}");
    assert_eq!(
        second["Images"]["app"]["DockerImageName"],
        first["Images"]["app"]["DockerImageName"]
    );
}

#[test]
fn docker_buildkit_forces_either_builder_and_both_give_one_digest() {
    let p = project_with_mounts();
    let (_, _, repo) = anon_repo(&p);
    let out = davit(
        &p.dir,
        &["build", "--repo", &repo, "app"],
        &[("DOCKER_BUILDKIT", "0")],
    );
    assert!(!out.status.success(), "the classic builder cannot mount");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("image \"app\"")
            && err.contains("app/Dockerfile")
            && err.contains("RUN --mount (line 3)")
            && err.contains("DOCKER_BUILDKIT=0"),
        "{err}"
    );

    // A plain Dockerfile builds with BuildKit by default (the daemon has
    // it); DOCKER_BUILDKIT=0 gives the classic builder and the same digest
    // (the builder is not an input).
    let plain = project();
    let (_, _, repo) = anon_repo(&plain);
    let (log, report) = build(&plain, &repo, "r.json");
    assert!(rebuilt(&report, "app"), "{log}");
    assert!(log.contains("[1/2] FROM"), "BuildKit step names: {log}");
    assert!(!log.contains("Step 1/"), "not the classic builder: {log}");
    let (log, again) = build_env(&plain, &repo, "again.json", &[("DOCKER_BUILDKIT", "0")]);
    assert!(!rebuilt(&again, "app"), "{log}");
    let classic = project();
    let classic_repo = format!(
        "{}/davit-test/{}",
        env("DAVIT_TEST_REGISTRY_ANON"),
        classic.project
    );
    let (log, r) = build_env(
        &classic,
        &classic_repo,
        "c.json",
        &[("DOCKER_BUILDKIT", "0")],
    );
    assert!(
        rebuilt(&r, "app") && log.contains("Step 1/"),
        "classic: {log}"
    );
    // `base` does not depend on the repository name, so its digest can be
    // compared across the two projects.
    assert_eq!(
        r["Images"]["base"]["DockerTag"].as_str().map(|t| &t[..56]),
        report["Images"]["base"]["DockerTag"]
            .as_str()
            .map(|t| &t[..56]),
        "both builders give the same digest"
    );

    // BuildKit's own Dockerfile errors name the file and line too.
    write(
        &plain.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\nCOPY --nope\n",
    );
    git(&plain.dir, &["commit", "-qam", "broken"]);
    let err = failing(&plain.dir, &["build", "--repo", &repo, "app"], &[]);
    assert!(
        err.contains("image \"app\": app/Dockerfile:3: COPY requires at least two arguments"),
        "{err}"
    );
}

/// Stops a child process however the test ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `app` reads three secrets (env, file, value) and the ssh agent; the
/// giterminism config allows them.
fn project_with_secrets(secret_file: &std::path::Path) -> Project {
    let p = project();
    let yaml = std::fs::read_to_string(p.dir.join("werf.yaml")).expect("werf.yaml");
    let yaml = format!(
        "{yaml}secrets:\n- env: DAVIT_TEST_SECRET\n- id: plain\n  value: from-werf-yaml\n- src: {}\nssh: default\n",
        secret_file.display()
    );
    write(&p.dir, "werf.yaml", &yaml);
    write(
        &p.dir,
        "werf-giterminism.yaml",
        &format!(
            "giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowEnvVariables: [DAVIT_TEST_SECRET]\n    allowValueIds: [plain]\n    allowFiles: [\"{}\"]\n",
            secret_file.display()
        ),
    );
    write(
        &p.dir,
        "app/Dockerfile",
        "ARG BASE_IMAGE\nFROM $BASE_IMAGE\n\
         RUN --mount=type=secret,id=DAVIT_TEST_SECRET cat /run/secrets/DAVIT_TEST_SECRET > /s1\n\
         RUN --mount=type=secret,id=plain cat /run/secrets/plain > /s2\n\
         RUN --mount=type=secret,id=file-secret.txt cat /run/secrets/file-secret.txt > /s3\n\
         RUN --mount=type=ssh test -S \"$SSH_AUTH_SOCK\" && echo agent > /s4\n\
         CMD [\"cat\", \"/s1\", \"/s2\", \"/s3\", \"/s4\"]\n",
    );
    git(&p.dir, &["add", "-A"]);
    git(&p.dir, &["commit", "-qm", "secrets"]);
    p
}

#[test]
fn secrets_and_ssh_reach_run_mounts_and_stay_out_of_digests_and_logs() {
    let secrets_dir = tempfile::tempdir().expect("tempdir");
    let secret_file = secrets_dir.path().join("file-secret.txt");
    std::fs::write(&secret_file, "from-a-file\n").expect("write secret");
    let agent_sock = secrets_dir.path().join("agent.sock");
    let _agent = KillOnDrop(
        Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(&agent_sock)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("ssh-agent (openssh-client) must be installed"),
    );
    for _ in 0..50 {
        if agent_sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let p = project_with_secrets(&secret_file);
    let (_, _, repo) = anon_repo(&p);
    let sock = agent_sock.to_string_lossy().into_owned();
    let envs = [
        ("DAVIT_TEST_SECRET", "from-the-env\n"),
        ("SSH_AUTH_SOCK", sock.as_str()),
    ];
    let (log, first) = build_env(&p, &repo, "first.json", &envs);
    assert!(rebuilt(&first, "app"), "{log}");
    assert_eq!(
        run_image(&first, "app", &[]),
        // The value secret is the YAML string itself, without a newline.
        "from-the-env\nfrom-werf-yamlfrom-a-file\nagent\n",
    );
    for secret in ["from-the-env", "from-werf-yaml", "from-a-file"] {
        assert!(!log.contains(secret), "a secret reached the log: {log}");
    }

    // Another secret value is not another stage: secrets are not inputs.
    let envs = [
        ("DAVIT_TEST_SECRET", "rotated\n"),
        ("SSH_AUTH_SOCK", sock.as_str()),
    ];
    let (log, second) = build_env(&p, &repo, "second.json", &envs);
    assert!(!rebuilt(&second, "app"), "{log}");

    // An unset secret variable is named before anything runs.
    write(&p.dir, "app/hello.sh", "echo changed\n");
    git(&p.dir, &["commit", "-qam", "rebuild"]);
    let err = failing(
        &p.dir,
        &["build", "--repo", &repo, "app"],
        &[("SSH_AUTH_SOCK", sock.as_str())],
    );
    assert!(
        err.contains("image \"app\"")
            && err.contains("secrets[0]")
            && err.contains("DAVIT_TEST_SECRET"),
        "{err}"
    );
}

/// Here-documents: on a daemon whose built-in Dockerfile frontend knows
/// them (Docker 23+) they build, and a changed body is a new stage (werf
/// would reuse the old one: its digest ignores heredoc bodies). Older
/// daemons — Debian's Docker 20.10 here — fail with a hint that says why.
#[test]
fn heredoc_dockerfiles_build_on_new_daemons_and_explain_old_ones() {
    let p = project();
    let (_, _, repo) = anon_repo(&p);
    let dockerfile = |v: &str| {
        format!("ARG BASE_IMAGE\nFROM $BASE_IMAGE\nRUN <<EOF\necho {v} > /v\nEOF\nCOPY <<EOF /note\ninline {v}\nEOF\n")
    };
    write(&p.dir, "app/Dockerfile", &dockerfile("v1"));
    git(&p.dir, &["commit", "-qam", "heredoc v1"]);
    let version = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .expect("docker version");
    let major: u32 = String::from_utf8_lossy(&version.stdout)
        .split('.')
        .next()
        .and_then(|m| m.trim().parse().ok())
        .expect("a server version");
    if major < 23 {
        let out = davit(&p.dir, &["build", "--repo", &repo, "app"], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success()
                && err.contains("app/Dockerfile:4")
                && err.contains("here-documents")
                && err.contains("Docker 23"),
            "{err}"
        );
    } else {
        let (log, first) = build(&p, &repo, "h1.json");
        assert_eq!(
            run_image(&first, "app", &["cat", "/v", "/note"]),
            "v1\ninline v1\n",
            "{log}"
        );
        write(&p.dir, "app/Dockerfile", &dockerfile("v2"));
        git(&p.dir, &["commit", "-qam", "heredoc v2"]);
        let (log, second) = build(&p, &repo, "h2.json");
        assert!(rebuilt(&second, "app"), "{log}");
        assert_eq!(
            run_image(&second, "app", &["cat", "/v", "/note"]),
            "v2\ninline v2\n"
        );
    }
    // The classic builder never takes here-documents.
    let out = davit(
        &p.dir,
        &["build", "--repo", &repo, "app"],
        &[("DOCKER_BUILDKIT", "0")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("here-document (line 3)"),
        "{err}"
    );
}
