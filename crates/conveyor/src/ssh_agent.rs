//! The ssh-agent of stapel shell stages: as werf does, the agent of
//! `SSH_AUTH_SOCK` is forwarded into the container (bind-mounted at
//! `/.werf/tmp/ssh-auth-sock`, with `SSH_AUTH_SOCK` pointing there), so
//! `git clone git@…` in `install` authenticates with the runner's keys.
//! Keys never enter the container or the image; the socket does not
//! either (a bind mount is not committed).

use std::path::Path;

/// Where shell stages find the agent, as in werf.
pub(super) const CONTAINER_SOCKET: &str = "/.werf/tmp/ssh-auth-sock";

/// The bind mount and the variable for a shell stage's container, when
/// `auth_sock` (the value of `SSH_AUTH_SOCK`) names a socket that exists.
pub(super) fn forward(auth_sock: Option<&std::ffi::OsStr>) -> Option<(String, String)> {
    let sock = Path::new(auth_sock?);
    if !sock.exists() {
        return None;
    }
    Some((
        format!("{}:{CONTAINER_SOCKET}", sock.display()),
        format!("SSH_AUTH_SOCK={CONTAINER_SOCKET}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_existing_socket_is_forwarded() {
        assert_eq!(forward(None), None);
        assert_eq!(forward(Some("/nonexistent/agent.sock".as_ref())), None);
        let dir = tempfile::tempdir().expect("tempdir");
        let sock = dir.path().join("agent.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind");
        let (bind, env) = forward(Some(sock.as_os_str())).expect("forwarded");
        assert_eq!(bind, format!("{}:/.werf/tmp/ssh-auth-sock", sock.display()));
        assert_eq!(env, "SSH_AUTH_SOCK=/.werf/tmp/ssh-auth-sock");
    }
}
