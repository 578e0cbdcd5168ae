//! The images `scripts/dist --image REPO` builds with davit itself:
//! `davit` is FROM scratch (the binary and CA roots, no shell) and runs;
//! `davit-shell` adds the shell GitLab job scripts need.

mod ci_common;

use std::process::Command;

fn report() -> serde_json::Value {
    let path = ci_common::dist_dir().join("images.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run scripts/dist --image REPO (scripts/test does)",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("build report JSON")
}

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run docker")
}

#[test]
fn the_scratch_image_holds_only_the_binary_and_ca_roots_and_runs() {
    let r = report();
    let image = r["Images"]["davit"]["DockerImageName"]
        .as_str()
        .expect("davit image");
    let out = docker(&["run", "--rm", "--pull", "always", image, "version"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("davit ") && stdout.contains("x86_64-unknown-linux-musl"),
        "{stdout}"
    );
    let layers = docker(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        image,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&layers.stdout).trim(),
        "2",
        "CA roots and the binary"
    );
    let shell = docker(&[
        "run",
        "--rm",
        "--entrypoint",
        "/bin/sh",
        image,
        "-c",
        "true",
    ]);
    assert!(!shell.status.success(), "the scratch image has no shell");
}

#[test]
fn the_shell_image_runs_job_scripts() {
    let r = report();
    let image = r["Images"]["davit-shell"]["DockerImageName"]
        .as_str()
        .expect("davit-shell image");
    let out = docker(&[
        "run",
        "--rm",
        "--pull",
        "always",
        image,
        "sh",
        "-c",
        "davit version && test -f $SSL_CERT_FILE",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("davit "));
}
