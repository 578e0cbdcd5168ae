//! The HTTP client behind gix's smart-HTTP transport: one blocking
//! reqwest client with the registry client's TLS setup. gix writes a POST
//! body before it reads the answer, so a request is sent when its headers
//! (or body) are first read: the body written so far goes with it.

use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gix::protocol::transport::client::blocking_io::http::{
    GetResponse, Http, PostBodyDataKind, PostResponse,
};
use gix::protocol::transport::client::AuthenticationRequired;

/// The client; built on the first request.
#[derive(Default)]
pub(crate) struct Client {
    client: Option<reqwest::blocking::Client>,
}

impl Client {
    pub(crate) fn new() -> Client {
        Client::default()
    }

    fn client(&mut self) -> Result<reqwest::blocking::Client, io::Error> {
        if let Some(c) = &self.client {
            return Ok(c.clone());
        }
        // reqwest is built without a default crypto provider: use ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bundled = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter_map(|der| reqwest::Certificate::from_der(der.as_ref()).ok());
        let client = reqwest::blocking::Client::builder()
            .user_agent(concat!("davit/", env!("CARGO_PKG_VERSION")))
            .tls_certs_merge(bundled)
            .connect_timeout(Duration::from_secs(20))
            .timeout(None)
            .build()
            .map_err(io::Error::other)?;
        self.client = Some(client.clone());
        Ok(client)
    }

    fn request(
        &mut self,
        method: reqwest::Method,
        url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
        body: Option<Arc<Mutex<Vec<u8>>>>,
    ) -> Shared {
        let state = match self.client() {
            Ok(client) => {
                let mut request = client.request(method, url);
                for line in headers {
                    if let Some((name, value)) = line.as_ref().split_once(':') {
                        request = request.header(name.trim(), value.trim());
                    }
                }
                State::Pending {
                    request: Box::new(request),
                    body,
                }
            }
            Err(e) => State::Failed(Some(e)),
        };
        Arc::new(Mutex::new(state))
    }
}

enum State {
    Pending {
        request: Box<reqwest::blocking::RequestBuilder>,
        body: Option<Arc<Mutex<Vec<u8>>>>,
    },
    /// What each part's reader has not taken yet.
    Sent {
        headers: Option<Reader>,
        body: Option<Reader>,
    },
    /// The error goes to the first reader (gix reads the headers first).
    Failed(Option<io::Error>),
}

type Shared = Arc<Mutex<State>>;
type Reader = Box<dyn BufRead + Send>;

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sends a pending request; what it answered replaces it.
fn send(state: &mut State) {
    let State::Pending { .. } = state else {
        return;
    };
    let State::Pending { request, body } = std::mem::replace(state, State::Failed(None)) else {
        return;
    };
    let request = *request;
    let request = match body {
        Some(body) => {
            let bytes = body.lock().map(|b| b.clone()).unwrap_or_default();
            request.body(bytes)
        }
        None => request,
    };
    *state = match request.send() {
        Ok(response) if response.status() == reqwest::StatusCode::UNAUTHORIZED => {
            let www_authenticate = response
                .headers()
                .get_all(reqwest::header::WWW_AUTHENTICATE)
                .iter()
                .map(|v| v.as_bytes().into())
                .collect();
            State::Failed(Some(io::Error::new(
                io::ErrorKind::PermissionDenied,
                AuthenticationRequired { www_authenticate },
            )))
        }
        Ok(response) if !response.status().is_success() => State::Failed(Some(io::Error::other(
            format!("Received HTTP status {}", response.status().as_str()),
        ))),
        Ok(response) => {
            let mut headers = Vec::new();
            for (name, value) in response.headers() {
                headers.extend_from_slice(name.as_str().as_bytes());
                headers.push(b':');
                headers.extend_from_slice(value.as_bytes());
                headers.push(b'\n');
            }
            State::Sent {
                headers: Some(Box::new(Cursor::new(headers))),
                body: Some(Box::new(BufReader::new(response))),
            }
        }
        Err(e) => State::Failed(Some(io::Error::other(e))),
    };
}

fn failed(slot: &mut Option<io::Error>) -> io::Error {
    slot.take()
        .unwrap_or_else(|| io::Error::other("the HTTP request failed"))
}

#[derive(Clone, Copy)]
enum Part {
    /// The response headers, one `name:value` line each.
    Headers,
    /// The response body, streamed.
    Body,
}

/// One part of a response; reading it sends the request.
pub(crate) struct ResponsePart {
    shared: Shared,
    part: Part,
    reader: Option<Reader>,
}

impl ResponsePart {
    fn new(shared: &Shared, part: Part) -> ResponsePart {
        ResponsePart {
            shared: Arc::clone(shared),
            part,
            reader: None,
        }
    }

    fn reader(&mut self) -> io::Result<&mut Reader> {
        if self.reader.is_none() {
            let mut state = lock(&self.shared);
            send(&mut state);
            let taken = match (&mut *state, self.part) {
                (State::Sent { headers, .. }, Part::Headers) => headers.take(),
                (State::Sent { body, .. }, Part::Body) => body.take(),
                (State::Failed(e), _) => return Err(failed(e)),
                (State::Pending { .. }, _) => None,
            };
            drop(state);
            let taken =
                taken.ok_or_else(|| io::Error::other("the HTTP response was read already"))?;
            self.reader = Some(taken);
        }
        self.reader
            .as_mut()
            .ok_or_else(|| io::Error::other("no HTTP response"))
    }
}

impl Read for ResponsePart {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader()?.read(buf)
    }
}

impl BufRead for ResponsePart {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.reader()?.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if let Some(r) = &mut self.reader {
            r.consume(amount);
        }
    }
}

/// What gix posts; sent with the request.
pub(crate) struct PostBody(Arc<Mutex<Vec<u8>>>);

impl Write for PostBody {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("the request body is poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Http for Client {
    type Headers = ResponsePart;
    type ResponseBody = ResponsePart;
    type PostBody = PostBody;

    fn get(
        &mut self,
        url: &str,
        _base_url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
    ) -> gix::Result<GetResponse<ResponsePart, ResponsePart>> {
        let shared = self.request(reqwest::Method::GET, url, headers, None);
        Ok(GetResponse {
            headers: ResponsePart::new(&shared, Part::Headers),
            body: ResponsePart::new(&shared, Part::Body),
        })
    }

    fn post(
        &mut self,
        url: &str,
        _base_url: &str,
        headers: impl IntoIterator<Item = impl AsRef<str>>,
        _body: PostBodyDataKind,
    ) -> gix::Result<PostResponse<ResponsePart, ResponsePart, PostBody>> {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let shared = self.request(
            reqwest::Method::POST,
            url,
            headers,
            Some(Arc::clone(&buffer)),
        );
        Ok(PostResponse {
            post_body: PostBody(buffer),
            headers: ResponsePart::new(&shared, Part::Headers),
            body: ResponsePart::new(&shared, Part::Body),
        })
    }

    fn configure(&mut self, _config: &dyn std::any::Any) -> gix::Result {
        // gix's http options (proxies, extra headers from git config) are
        // not davit's: the client is configured as the registry's is.
        Ok(())
    }
}
