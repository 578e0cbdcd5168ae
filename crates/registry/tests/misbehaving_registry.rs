//! What the real registry of `scripts/testenv` never does on demand:
//! paginated tag lists (Docker Hub, GHCR and GitLab send `Link` headers;
//! distribution 2.8 ignores `n`), `429` with `Retry-After`, passing `5xx`
//! errors, and slow answers under many parallel requests. A small local
//! HTTP server plays those documented responses; the client must cope.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use davit_registry::{Credentials, RegistryClient, RegistryError, RegistryOptions};

/// One HTTP answer: status line, extra headers, body.
struct Answer {
    status: &'static str,
    headers: Vec<String>,
    body: String,
}

fn answer(status: &'static str, headers: &[&str], body: &str) -> Answer {
    Answer {
        status,
        headers: headers.iter().map(|h| h.to_string()).collect(),
        body: body.to_string(),
    }
}

/// Serves `respond(path, request number)` on a random loopback port, one
/// thread per connection; returns the `host:port`.
fn serve(respond: impl Fn(&str, usize) -> Answer + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let respond = Arc::new(respond);
    let count = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let respond = respond.clone();
            let n = count.fetch_add(1, Ordering::SeqCst);
            std::thread::spawn(move || handle(stream, &*respond, n));
        }
    });
    addr
}

fn handle(mut stream: TcpStream, respond: &dyn Fn(&str, usize) -> Answer, n: usize) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let a = respond(&path, n);
    let mut head = format!(
        "HTTP/1.1 {}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n",
        a.status,
        a.body.len()
    );
    for h in &a.headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(a.body.as_bytes());
}

fn client(options: RegistryOptions) -> RegistryClient {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("config.json"), "{}").expect("config");
    let creds = Credentials::from_dir(dir.path()).expect("credentials");
    RegistryClient::new(creds, options).expect("client")
}

#[tokio::test]
async fn tag_lists_follow_link_pagination() {
    let host = serve(|path, _| {
        if path.contains("last=b") {
            answer("200 OK", &[], r#"{"name":"app","tags":["c"]}"#)
        } else {
            answer(
                "200 OK",
                &[r#"Link: </v2/app/tags/list?last=b&n=1000>; rel="next""#],
                r#"{"name":"app","tags":["a","b"]}"#,
            )
        }
    });
    let tags = client(RegistryOptions::default())
        .tags(&host, "app")
        .await
        .expect("tags");
    assert_eq!(tags, ["a", "b", "c"]);
}

#[tokio::test]
async fn too_many_requests_waits_as_retry_after_says() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    let host = serve(move |_, n| {
        seen.lock().expect("lock").push(Instant::now());
        if n == 0 {
            answer("429 Too Many Requests", &["Retry-After: 1"], "{}")
        } else {
            answer("200 OK", &["Docker-Content-Digest: sha256:abc"], "")
        }
    });
    let found = client(RegistryOptions::default())
        .manifest_head(&host, "app", "v1")
        .await
        .expect("the second answer succeeds");
    assert!(found.is_some());
    let times = times.lock().expect("lock");
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= Duration::from_millis(900),
        "the client waited {:?}, not the 1 s the registry asked for",
        times[1] - times[0]
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let host = serve(|_, n| {
        if n < 2 {
            answer("503 Service Unavailable", &[], "{}")
        } else {
            answer("200 OK", &["Docker-Content-Digest: sha256:abc"], "")
        }
    });
    let found = client(RegistryOptions::default())
        .manifest_head(&host, "app", "v1")
        .await
        .expect("the third answer succeeds");
    assert!(found.is_some());

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let host = serve(move |_, _| {
        counted.fetch_add(1, Ordering::SeqCst);
        answer(
            "500 Internal Server Error",
            &[],
            r#"{"errors":[{"code":"UNKNOWN"}]}"#,
        )
    });
    let options = RegistryOptions {
        attempts: 3,
        ..RegistryOptions::default()
    };
    let err = client(options)
        .manifest_get(&host, "app", "v1")
        .await
        .expect_err("always 500");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one request per attempt");
    match &err {
        RegistryError::Status {
            host: h, status, ..
        } => {
            assert_eq!((h.as_str(), *status), (host.as_str(), 500));
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test]
async fn requests_per_host_are_limited() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (now, max) = (in_flight.clone(), peak.clone());
    let host = serve(move |_, _| {
        let current = now.fetch_add(1, Ordering::SeqCst) + 1;
        max.fetch_max(current, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(150));
        now.fetch_sub(1, Ordering::SeqCst);
        answer("200 OK", &["Docker-Content-Digest: sha256:abc"], "")
    });
    let c = client(RegistryOptions {
        max_per_host: 2,
        ..RegistryOptions::default()
    });
    let heads = (0..8).map(|i| {
        let c = &c;
        let host = host.clone();
        async move { c.manifest_head(&host, "app", &format!("v{i}")).await }
    });
    for r in futures_util::future::join_all(heads).await {
        assert!(r.expect("head").is_some());
    }
    assert_eq!(
        peak.load(Ordering::SeqCst),
        2,
        "at most 2 requests at once, and 2 used"
    );
}

/// Quay answers a tag that expired after it was listed with 404 and the
/// code `TAG_EXPIRED` (not `MANIFEST_UNKNOWN`). werf's default
/// implementation fails on it and hints at `--repo-container-registry=quay`;
/// davit reads it as gone on every implementation, so cleanup needs no flag.
#[tokio::test]
async fn a_quay_tag_expired_after_listing_is_gone() {
    let host = serve(|_, _| {
        answer(
            "404 Not Found",
            &["Content-Type: application/json"],
            r#"{"errors":[{"code":"TAG_EXPIRED","detail":{},"message":"Tag v1 was deleted or has expired. To pull, revive via time machine"}]}"#,
        )
    });
    let c = client(RegistryOptions::default());
    assert!(c
        .manifest_get(&host, "app", "v1")
        .await
        .expect("get")
        .is_none());
    assert!(c
        .manifest_head(&host, "app", "v1")
        .await
        .expect("head")
        .is_none());
}
