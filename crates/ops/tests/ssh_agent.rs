//! `--ssh-key`: an agent of the build's own holds exactly the given keys
//! (asked with OpenSSH's `ssh-add -l`), stops with the build, and a key it
//! cannot load is a clear error.

use std::path::Path;
use std::process::Command;

use davit_ops::ssh_agent::SshAgent;

fn keygen(dir: &Path, name: &str, passphrase: &str) -> std::path::PathBuf {
    let key = dir.join(name);
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-C", name, "-N", passphrase, "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen (openssh-client) runs");
    assert!(st.success());
    key
}

fn listed(socket: &Path) -> String {
    let out = Command::new("ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", socket)
        .output()
        .expect("ssh-add");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_agent_holds_the_keys_and_stops_with_the_build() {
    let dir = tempfile::tempdir().expect("tempdir");
    let one = keygen(dir.path(), "first-key", "");
    let two = keygen(dir.path(), "second-key", "");
    assert!(SshAgent::start(&[]).expect("no keys").is_none());
    let agent = SshAgent::start(&[one, two])
        .expect("start")
        .expect("an agent");
    let socket = agent.socket().to_path_buf();
    let keys = listed(&socket);
    assert!(
        keys.contains("first-key") && keys.contains("second-key"),
        "{keys}"
    );
    drop(agent);
    assert_eq!(listed(&socket), "");
}

#[test]
fn keys_it_cannot_load_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope");
    let err = SshAgent::start(&[missing])
        .err()
        .expect("an error")
        .to_string();
    assert!(err.contains("nope is not a file"), "{err}");
    let locked = keygen(dir.path(), "locked-key", "a passphrase");
    let err = SshAgent::start(&[locked])
        .err()
        .expect("an error")
        .to_string();
    assert!(err.contains("without a passphrase"), "{err}");
}
