//! Fetching the remote repositories of stapel git mappings (`git[].url`)
//! and of submodules into davit's cache: a bare clone per URL, fetched
//! again before each build, with gix. `file://` and local paths and
//! `ssh://` (through `ssh`) use gix's transports; http(s) uses gix's
//! generic HTTP transport over davit's own reqwest client (`http`), with
//! the registry client's TLS setup (rustls over ring, Mozilla's roots
//! built in, `SSL_CERT_FILE`/`SSL_CERT_DIR` honoured) and werf's
//! `basicAuth`. No git credential helper is asked and nothing prompts: a
//! remote that wants credentials and gets none fails.
//!
//! Reading what was fetched is `davit_git::remote`'s; this crate is the
//! only one that reaches the network for git.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use davit_git::remote::{cache_path, host, remote_error, REMOTE_HEAD};
use davit_git::GitError;
use gix::credentials::helper::Action;
use gix::credentials::protocol::Outcome;
use gix::protocol::transport::client::blocking_io::Transport;
use gix::remote::{Connection, Direction};

mod http;

/// werf's `basicAuth` of a git mapping: sent to an http(s) remote.
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// The user and password written into a URL (`https://user:pw@host/…`),
/// as werf's go-git would send them.
pub fn url_credentials(url: &str) -> Option<BasicAuth> {
    let (_, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (username, password) = userinfo.split_once(':')?;
    Some(BasicAuth {
        username: percent_decode(username),
        password: percent_decode(password),
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_http(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Branches and tags as they are on the remote, and its HEAD.
const REFSPECS: [&str; 3] = [
    "+refs/heads/*:refs/heads/*",
    "+refs/tags/*:refs/tags/*",
    "+HEAD:refs/davit/remote-head",
];

/// Clones `url` into the cache, or fetches it when the clone exists;
/// returns the clone's path. `auth` is sent to http(s) remotes that ask
/// for it.
pub fn update(cache: &Path, url: &str, auth: Option<&BasicAuth>) -> Result<PathBuf, GitError> {
    debug_assert!(REFSPECS[2].ends_with(REMOTE_HEAD));
    let path = cache_path(cache, url);
    let fresh = !path.join("HEAD").is_file();
    // A thread of its own: reqwest's blocking client runs (and must be
    // dropped) outside any async runtime, and builds call this from one.
    let result = std::thread::scope(|scope| {
        scope
            .spawn(|| fetch_into(&path, fresh, url, auth))
            .join()
            .unwrap_or_else(|_| {
                Err(GitError::Remote {
                    url: davit_git::remote::redact(url),
                    message: "the fetch stopped unexpectedly".into(),
                })
            })
    });
    if fresh && result.is_err() {
        // Leave no half-made clone for the next run to trust.
        let _ = std::fs::remove_dir_all(&path);
    }
    result.map(|()| path)
}

fn fetch_into(
    path: &Path,
    fresh: bool,
    url: &str,
    auth: Option<&BasicAuth>,
) -> Result<(), GitError> {
    let repo = if fresh {
        std::fs::create_dir_all(path).map_err(|e| remote_error(url, e))?;
        gix::init_bare(path).map_err(|e| remote_error(url, e))?
    } else {
        gix::open(path).map_err(|e| remote_error(url, e))?
    };
    let remote = repo
        .remote_at(url)
        .map_err(|e| remote_error(url, e))?
        .with_refspecs(REFSPECS, Direction::Fetch)
        .map_err(|e| remote_error(url, e))?;
    if is_http(url) {
        let parsed =
            gix::url::parse(gix::bstr::BStr::new(url)).map_err(|e| remote_error(url, e))?;
        let transport = gix_transport::client::blocking_io::http::connect_http(
            http::Client::new(),
            parsed,
            gix::protocol::transport::Protocol::V2,
            false,
        );
        receive(remote.to_connection_with_transport(transport), url, auth)
    } else {
        let connection = remote
            .connect(Direction::Fetch)
            .map_err(|e| remote_error(url, e))?;
        receive(connection, url, auth)
    }
}

/// Fetches over `connection`, answering a credentials request with `auth`
/// only.
fn receive<T: Transport>(
    mut connection: Connection<'_, '_, '_, T>,
    url: &str,
    auth: Option<&BasicAuth>,
) -> Result<(), GitError> {
    let auth = auth.cloned();
    connection.set_credentials(move |action| match (action, &auth) {
        (Action::Get(context), Some(auth)) => Ok(Some(Outcome {
            identity: gix::sec::identity::Account {
                username: auth.username.clone(),
                password: auth.password.clone(),
                oauth_refresh_token: None,
            },
            next: context.into(),
        })),
        _ => Ok(None),
    });
    let interrupt = AtomicBool::new(false);
    connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| remote_error(url, e))?
        .receive(gix::progress::Discard, &interrupt)
        .map_err(|e| remote_error(url, e))?;
    Ok(())
}

/// The remotes one run has fetched: each URL is fetched once, however
/// many images (or submodules) read it, and never by two images at once.
#[derive(Debug, Default)]
pub struct Fetched {
    done: Mutex<HashMap<String, PathBuf>>,
}

impl Fetched {
    /// [`update`], once per URL in this run.
    pub fn update(
        &self,
        cache: &Path,
        url: &str,
        auth: Option<&BasicAuth>,
    ) -> Result<PathBuf, GitError> {
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(path) = done.get(url) {
            return Ok(path.clone());
        }
        let path = update(cache, url, auth)?;
        done.insert(url.to_string(), path.clone());
        Ok(path)
    }

    /// The fetcher `Repo::with_submodules` takes: submodules are cloned
    /// into `cache`; `auth` (the superproject's) is sent only to the host
    /// of `superproject_url`.
    pub fn submodule_fetcher<'a>(
        &'a self,
        cache: &'a Path,
        superproject_url: Option<&'a str>,
        auth: Option<&'a BasicAuth>,
    ) -> impl Fn(&str) -> Result<PathBuf, GitError> + 'a {
        move |url: &str| {
            let same_host = superproject_url.is_some_and(|s| host(s) == host(url));
            self.update(cache, url, auth.filter(|_| same_host))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_read_and_never_shown() {
        assert_eq!(
            url_credentials("https://ci:p%40ss@git.example.com/g/p.git"),
            Some(BasicAuth {
                username: "ci".into(),
                password: "p@ss".into()
            })
        );
        assert_eq!(url_credentials("https://git@git.example.com/p"), None);
        assert_eq!(url_credentials("file:///srv/x.git"), None);
        let shown = format!(
            "{:?}",
            BasicAuth {
                username: "u".into(),
                password: "hidden".into()
            }
        );
        assert!(!shown.contains("hidden"), "{shown}");
    }
}
