//! A daemon that closes the build's progress stream in the middle of its
//! last message, after the build finished (seen from the real dockerd in
//! CI: "bytes remaining on stream"): the build is the image the daemon
//! named, not an error. A stream cut before the build finished is still
//! an error. The daemon here is a small Engine API server on a Unix
//! socket, with a test of its own so nothing else shares DOCKER_HOST.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};

use davit_engine::{BuildRequest, DockerEngine};

const IMAGE_ID: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// Answers one connection: requests until the client or a build closes.
fn serve(stream: UnixStream, build_body: &'static str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("");
        let reply = |out: &mut UnixStream, content_type: &str, text: &str| {
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{text}",
                text.len()
            );
        };
        if path.ends_with("/_ping") {
            reply(&mut out, "text/plain", "OK");
        } else if path.ends_with("/version") {
            reply(
                &mut out,
                "application/json",
                r#"{"ApiVersion":"1.43","Os":"linux","Version":"fake"}"#,
            );
        } else if path.contains("/build") {
            // The stream ends in the middle of a message; the connection
            // closes.
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{build_body}"
            );
            return;
        } else if path.contains("/images/") && path.ends_with("/json") {
            reply(
                &mut out,
                "application/json",
                &format!(r#"{{"Id":"{IMAGE_ID}","RepoTags":["fake:tag"]}}"#),
            );
        } else {
            let _ = write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    }
}

fn build_through(body: &'static str) -> Result<String, davit_engine::DockerError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("docker.sock");
    let listener = UnixListener::bind(&socket).expect("bind");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || serve(stream, body));
        }
    });
    std::env::set_var("DOCKER_HOST", format!("unix://{}", socket.display()));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let engine = DockerEngine::connect().await?;
        engine
            .build(BuildRequest::classic(Vec::new(), "fake:tag"), |_| {})
            .await
    })
}

#[test]
fn a_stream_cut_after_the_build_finished_is_the_named_image_and_before_an_error() {
    let finished = "{\"stream\":\"Step 1/1 : FROM scratch\\n\"}\r\n{\"stream\":\"Successfully tagged fake:tag\\n\"}\r\n{\"stream\":\"trail";
    assert_eq!(build_through(finished).expect("the image"), IMAGE_ID);
    let unfinished = "{\"stream\":\"Step 1/1 : FROM scratch\\n\"}\r\n{\"stream\":\"trail";
    let err = build_through(unfinished)
        .expect_err("a cut build")
        .to_string();
    assert!(err.contains("bytes remaining on stream"), "{err}");
}
