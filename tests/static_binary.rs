//! The release binary of `scripts/dist`: statically linked, small, and
//! able to build from an empty root — a chroot holding only the binary,
//! /tmp and a CA file — into the TLS registry whose test CA it is given by
//! SSL_CERT_FILE (and refusing it without).

mod build_common;
mod ci_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use build_common::unique;
use ci_common::static_binary;
use davit_testkit::fixtures::{git, testenv as env, write};

#[test]
fn file_and_ldd_say_static_and_it_is_small() {
    let (_, binary) = static_binary();
    let file = Command::new("file").arg(&binary).output().expect("file");
    let file = String::from_utf8_lossy(&file.stdout);
    assert!(
        file.contains("static-pie linked") || file.contains("statically linked"),
        "{file}"
    );
    let ldd = Command::new("ldd").arg(&binary).output().expect("ldd");
    let ldd = format!(
        "{}{}",
        String::from_utf8_lossy(&ldd.stdout),
        String::from_utf8_lossy(&ldd.stderr)
    );
    assert!(
        ldd.contains("statically linked") || ldd.contains("not a dynamic executable"),
        "{ldd}"
    );
    let size = std::fs::metadata(&binary).expect("stat").len();
    assert!(
        size <= 25 * 1024 * 1024,
        "{size} bytes: over the 25 MB target"
    );
    let version = Command::new(&binary)
        .arg("version")
        .output()
        .expect("version");
    let version = String::from_utf8_lossy(&version.stdout);
    assert!(
        version.contains("x86_64-unknown-linux-musl") && version.contains("commit "),
        "{version}"
    );
}

#[test]
fn the_aarch64_binary_is_static_and_listed_in_the_checksums() {
    let dir = ci_common::dist_dir();
    let name = format!("davit-{}-aarch64-unknown-linux-musl", ci_common::version());
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS");
    assert!(sums.contains(&format!("  {name}\n")), "{sums}");
    let file = Command::new("file")
        .arg(dir.join(&name))
        .output()
        .expect("file");
    let file = String::from_utf8_lossy(&file.stdout);
    assert!(
        file.contains("ARM aarch64") && file.contains("statically linked"),
        "{file}"
    );
}

/// Unmounts the docker socket bound into the chroot, whatever happens.
struct Bound(PathBuf);

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn chroot_build(root: &Path, repo: &str, with_ca: bool) -> std::process::Output {
    // The child's environment is cleared: find chroot with ours.
    let chroot = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join("chroot"))
        .find(|p| p.is_file())
        .expect("chroot (coreutils) on PATH");
    let mut c = Command::new(chroot);
    c.arg(root)
        .args(["/davit", "build", "--dir", "/tmp/project", "--repo", repo])
        .env_clear()
        .env("HOME", "/tmp")
        .env("DOCKER_HOST", "unix:///tmp/docker.sock");
    if with_ca {
        c.env("SSL_CERT_FILE", "/ca.pem");
    }
    c.output().expect("run chroot")
}

#[test]
fn it_builds_from_an_empty_root_over_tls_with_the_ca_it_is_given() {
    let (_, binary) = static_binary();
    let root = tempfile::tempdir().expect("root");
    let r = root.path();
    std::fs::create_dir_all(r.join("tmp/project")).expect("mkdir");
    std::fs::copy(&binary, r.join("davit")).expect("copy davit");
    std::fs::copy(env("DAVIT_TEST_TLS_CA"), r.join("ca.pem")).expect("copy CA");
    let project = r.join("tmp/project");
    git(&project, &["init", "-q"]);
    write(
        &project,
        "werf.yaml",
        &format!(
            "project: {}\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\n",
            unique("chroot")
        ),
    );
    write(
        &project,
        "Dockerfile",
        &format!("FROM {}\nCOPY a.txt /a.txt\n", env("DAVIT_TEST_BASE_IMAGE")),
    );
    write(&project, "a.txt", "a\n");
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-qm", "init"]);
    let socket = env("DOCKER_HOST");
    let socket = socket.strip_prefix("unix://").expect("a unix socket");
    std::fs::write(r.join("tmp/docker.sock"), "").expect("mount point");
    let st = Command::new("mount")
        .args(["--bind", socket])
        .arg(r.join("tmp/docker.sock"))
        .status()
        .expect("mount");
    assert!(
        st.success(),
        "bind-mounting the docker socket needs root (CI has it)"
    );
    let _bound = Bound(r.join("tmp/docker.sock"));
    let entries: Vec<String> = std::fs::read_dir(r)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        entries.len(),
        3,
        "only the binary, the CA and /tmp: {entries:?}"
    );

    let repo = format!("{}/{}", env("DAVIT_TEST_REGISTRY_TLS"), unique("static"));
    let out = chroot_build(r, &repo, false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "an untrusted certificate must fail: {stderr}"
    );
    assert!(stderr.contains("SSL_CERT_FILE"), "{stderr}");

    let out = chroot_build(r, &repo, true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("app: built {repo}:")), "{stderr}");
}
