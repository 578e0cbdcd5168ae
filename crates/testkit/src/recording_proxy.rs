//! A plain-HTTP proxy in front of a test registry that records every
//! request it forwards: method, path, status and the bytes of the
//! response body. Tests point davit at the proxy's address to prove what
//! davit asked the registry for (for example: no base layer was pulled).
//!
//! HTTP/1.1 with keep-alive: requests on one connection are forwarded one
//! at a time; bodies are framed by `Content-Length` or chunked encoding,
//! and a response without either ends with the connection.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// One forwarded request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub method: String,
    /// The request target as sent (path and query).
    pub path: String,
    pub status: u16,
    /// Bytes of the response body (0 for HEAD).
    pub body_bytes: u64,
}

/// A running proxy; it serves until the test process ends.
pub struct RecordingProxy {
    address: String,
    log: Arc<Mutex<Vec<Exchange>>>,
}

impl RecordingProxy {
    /// Listens on a free loopback port and forwards to `upstream`
    /// (`host:port`, plain HTTP).
    pub fn start(upstream: &str) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?.to_string();
        let log = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_string();
        let shared = Arc::clone(&log);
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = upstream.clone();
                let log = Arc::clone(&shared);
                thread::spawn(move || {
                    // A connection ends with an error when either side
                    // hangs up; what was recorded until then stays.
                    let _ = serve(client, &upstream, &log);
                });
            }
        });
        Ok(Self { address, log })
    }

    /// `127.0.0.1:<port>`: use it where the registry's host would go.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Everything forwarded so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Forgets what was recorded (between phases of a test).
    pub fn clear(&self) {
        if let Ok(mut l) = self.log.lock() {
            l.clear();
        }
    }
}

fn serve(client: TcpStream, upstream: &str, log: &Mutex<Vec<Exchange>>) -> io::Result<()> {
    let server = TcpStream::connect(upstream)?;
    let mut from_client = BufReader::new(client.try_clone()?);
    let mut to_client = client;
    let mut from_server = BufReader::new(server.try_clone()?);
    let mut to_server = server;
    while let Some(head) = read_head(&mut from_client)? {
        let (method, path) = request_line(&head.first);
        to_server.write_all(&head.raw)?;
        forward_body(&mut from_client, &mut to_server, &head, false)?;
        to_server.flush()?;

        let response = read_head(&mut from_server)?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no response"))?;
        let status = response
            .first
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        to_client.write_all(&response.raw)?;
        let bodiless = method == "HEAD" || status == 204 || status == 304 || status < 200;
        let body_bytes = if bodiless {
            0
        } else {
            forward_body(&mut from_server, &mut to_client, &response, true)?
        };
        to_client.flush()?;
        if let Ok(mut l) = log.lock() {
            l.push(Exchange {
                method,
                path,
                status,
                body_bytes,
            });
        }
    }
    let _ = to_server.shutdown(Shutdown::Both);
    Ok(())
}

struct Head {
    first: String,
    raw: Vec<u8>,
    content_length: Option<u64>,
    chunked: bool,
}

/// Reads a request or status line and its headers; `None` at a clean end
/// of the connection.
fn read_head(r: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut raw = Vec::new();
    let mut first = String::new();
    let mut content_length = None;
    let mut chunked = false;
    loop {
        let mut line = Vec::new();
        if r.read_until(b'\n', &mut line)? == 0 {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, "cut header"))
            };
        }
        raw.extend_from_slice(&line);
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if first.is_empty() {
            first = text.to_string();
            continue;
        }
        if text.is_empty() {
            break;
        }
        if let Some((name, value)) = text.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            }
        }
    }
    Ok(Some(Head {
        first,
        raw,
        content_length,
        chunked,
    }))
}

fn request_line(line: &str) -> (String, String) {
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    (method, path)
}

/// Copies one body; returns its payload bytes. A response without a
/// length runs to the end of the connection.
fn forward_body(
    from: &mut impl BufRead,
    to: &mut impl Write,
    head: &Head,
    is_response: bool,
) -> io::Result<u64> {
    if head.chunked {
        let mut payload = 0;
        loop {
            let mut size_line = Vec::new();
            from.read_until(b'\n', &mut size_line)?;
            to.write_all(&size_line)?;
            let text = String::from_utf8_lossy(&size_line);
            let hex = text.trim().split(';').next().unwrap_or("0");
            let size = u64::from_str_radix(hex, 16)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            if size == 0 {
                // Trailers end with an empty line.
                loop {
                    let mut line = Vec::new();
                    from.read_until(b'\n', &mut line)?;
                    to.write_all(&line)?;
                    if line == b"\r\n" || line == b"\n" || line.is_empty() {
                        return Ok(payload);
                    }
                }
            }
            payload += io::copy(&mut (&mut *from).take(size + 2), to)?.saturating_sub(2);
        }
    }
    match head.content_length {
        Some(n) => io::copy(&mut (&mut *from).take(n), to),
        None if is_response => io::copy(from, to),
        None => Ok(0),
    }
}
