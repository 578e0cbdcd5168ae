//! Helpers for the tests that run real CI tooling: the README's snippets,
//! the release binaries of `scripts/dist`, and a static file server for
//! release downloads.

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The fenced YAML block after `<!-- snippet: NAME` in README.md: the
/// tests run what users copy.
pub fn readme_snippet(name: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("read README.md");
    let start = readme
        .find(&format!("<!-- snippet: {name}"))
        .unwrap_or_else(|| panic!("README.md has no snippet {name}"));
    let rest = &readme[start..];
    let open = rest
        .find("```yaml\n")
        .expect("a yaml block after the marker")
        + 8;
    let close = rest[open..].find("```").expect("the block closes");
    rest[open..open + close].to_string()
}

/// `scripts/dist`'s output folder (`DAVIT_DIST_DIR`, set by scripts/test).
pub fn dist_dir() -> PathBuf {
    let dir = std::env::var("DAVIT_DIST_DIR").unwrap_or_else(|_| {
        panic!("DAVIT_DIST_DIR is not set: run scripts/dist, then export DAVIT_DIST_DIR=dist/out (scripts/test does this)")
    });
    let dir = PathBuf::from(dir);
    let dir = if dir.is_absolute() {
        dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
    };
    assert!(
        dir.join("SHA256SUMS").is_file(),
        "{} has no SHA256SUMS: run scripts/dist",
        dir.display()
    );
    dir
}

pub fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// The static x86_64 release binary's file name and path.
pub fn static_binary() -> (String, PathBuf) {
    let name = format!("davit-{}-x86_64-unknown-linux-musl", version());
    let path = dist_dir().join(&name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/dist",
        path.display()
    );
    (name, path)
}

/// A static file server on 127.0.0.1 for `root`, recording the paths
/// asked for. It stops when the test process ends.
pub struct FileServer {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<String>>>,
}

pub fn serve(root: PathBuf) -> FileServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(match stream.try_clone() {
                Ok(s) => s,
                Err(_) => continue,
            });
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
                    break;
                }
            }
            seen.lock().expect("lock").push(path.clone());
            let file = root.join(path.trim_start_matches('/'));
            let mut stream = stream;
            let _ = match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    stream
                        .write_all(head.as_bytes())
                        .and_then(|_| stream.write_all(&body))
                }
                _ => stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    FileServer { port, requests }
}
