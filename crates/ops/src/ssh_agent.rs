//! werf's `--ssh-key`: an ssh-agent of the build's own that holds exactly
//! the given keys, forwarded into shell stages and BuildKit `ssh` builds
//! instead of the agent of `SSH_AUTH_SOCK`. davit runs OpenSSH's
//! `ssh-agent` and `ssh-add`; the agent stops when the build ends.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::OpsError;

/// `--ssh-key` paths, then the values of `WERF_SSH_KEY_<ANY>` variables
/// (sorted by name), as werf reads them.
pub fn ssh_keys(flags: &[PathBuf]) -> Vec<PathBuf> {
    let mut from_env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, v)| k.starts_with("WERF_SSH_KEY_") && !v.is_empty())
        .collect();
    from_env.sort();
    flags
        .iter()
        .cloned()
        .chain(from_env.into_iter().map(|(_, v)| PathBuf::from(v)))
        .collect()
}

/// A running agent with the keys loaded; stopped on drop.
pub struct SshAgent {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

fn agent_error(message: String) -> OpsError {
    OpsError::Usage(format!("--ssh-key: {message}"))
}

impl SshAgent {
    /// Starts an agent holding `keys`; `None` without keys.
    pub fn start(keys: &[PathBuf]) -> Result<Option<SshAgent>, OpsError> {
        if keys.is_empty() {
            return Ok(None);
        }
        for key in keys {
            if !key.is_file() {
                return Err(agent_error(format!("{} is not a file", key.display())));
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("davit-ssh-agent")
            .tempdir()
            .map_err(|e| agent_error(format!("a directory for the agent: {e}")))?;
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                agent_error(format!(
                    "starting ssh-agent: {e}\n  hint: install OpenSSH's client tools (ssh-agent, ssh-add), or load the keys into the agent of SSH_AUTH_SOCK yourself"
                ))
            })?;
        let mut agent = SshAgent {
            child,
            socket,
            _dir: dir,
        };
        agent.wait_for_socket()?;
        for key in keys {
            agent.add(key)?;
        }
        Ok(Some(agent))
    }

    fn wait_for_socket(&mut self) -> Result<(), OpsError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.socket.exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(agent_error(format!("ssh-agent exited ({status})")));
            }
            if Instant::now() > deadline {
                return Err(agent_error("ssh-agent did not start in 10 s".into()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Loads one key. A key with a passphrase cannot be loaded here
    /// (nothing prompts): `ssh-add` fails and says so.
    fn add(&self, key: &Path) -> Result<(), OpsError> {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .env_remove("SSH_ASKPASS")
            .env_remove("DISPLAY")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| agent_error(format!("running ssh-add: {e}")))?;
        if out.status.success() {
            return Ok(());
        }
        Err(agent_error(format!(
            "ssh-add {} failed: {}\n  hint: the key must be a private key without a passphrase",
            key.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }

    /// The agent's socket, for `SSH_AUTH_SOCK`.
    pub fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
