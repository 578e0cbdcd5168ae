//! A Docker registry token server for tests: `GET /token?service=…&scope=…`
//! with HTTP basic credentials answers an ES256 JWT granting the requested
//! actions, signed with a key whose certificate the registry trusts (sent in
//! the `x5c` header). `POST /token` is the OAuth2 form the Docker token
//! specification describes for identity tokens: `grant_type=refresh_token`
//! with `refresh_token`, `service`, `scope` (space-separated), `client_id`.
//!
//! Usage: davit-token-server --listen 127.0.0.1:5058 --key KEY.pk8.der
//!        --cert CERT.der --user NAME:PASSWORD [--user NAME:PASSWORD…] --issuer ISS
//!        [--refresh-token TOKEN]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

struct Config {
    listen: String,
    key: EcdsaKeyPair,
    cert_b64: String,
    /// Accepted `name:password` pairs.
    users: Vec<String>,
    issuer: String,
    /// The identity token `POST /token` accepts, if any.
    refresh_token: Option<String>,
}

fn arg(args: &[String], name: &str) -> Result<String, String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .ok_or_else(|| format!("missing {name}"))
}

fn config() -> Result<Config, String> {
    let args: Vec<String> = std::env::args().collect();
    let rng = SystemRandom::new();
    let key_der = std::fs::read(arg(&args, "--key")?).map_err(|e| format!("reading --key: {e}"))?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key_der, &rng)
        .map_err(|e| format!("--key is not a PKCS#8 P-256 key: {e}"))?;
    let cert = std::fs::read(arg(&args, "--cert")?).map_err(|e| format!("reading --cert: {e}"))?;
    Ok(Config {
        listen: arg(&args, "--listen")?,
        key,
        cert_b64: STANDARD.encode(cert),
        users: {
            let users: Vec<String> = args
                .windows(2)
                .filter(|w| w[0] == "--user")
                .map(|w| w[1].clone())
                .collect();
            if users.is_empty() {
                return Err("missing --user".into());
            }
            users
        },
        issuer: arg(&args, "--issuer")?,
        refresh_token: arg(&args, "--refresh-token").ok(),
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `repository:name:pull,push` → access entry.
fn access(scope: &str) -> Option<serde_json::Value> {
    let mut parts = scope.rsplitn(2, ':');
    let actions = parts.next()?;
    let (kind, name) = parts.next()?.split_once(':')?;
    let actions: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
    Some(serde_json::json!({"type": kind, "name": name, "actions": actions}))
}

fn token(cfg: &Config, user: &str, service: &str, scopes: &[String]) -> Result<String, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [cfg.cert_b64]});
    let sub = user.split(':').next().unwrap_or("");
    let claims = serde_json::json!({
        "iss": cfg.issuer,
        "sub": sub,
        "aud": service,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": format!("{now}-{}", scopes.len()),
        "access": scopes.iter().filter_map(|s| access(s)).collect::<Vec<_>>(),
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = cfg
        .key
        .sign(&SystemRandom::new(), signing_input.as_bytes())
        .map_err(|e| format!("signing: {e}"))?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(sig.as_ref())
    ))
}

fn respond(stream: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
}

fn handle(cfg: &Config, mut stream: TcpStream) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut auth = None;
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("authorization") {
                auth = Some(v.trim().to_string());
            }
            if k.eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("GET");
    let target = parts.next().unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/token" {
        respond(&mut stream, "404 Not Found", "", "{}");
        return;
    }
    if method == "POST" {
        let mut body = vec![0u8; content_length.min(1 << 16)];
        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
            return;
        }
        oauth2(cfg, &mut stream, &String::from_utf8_lossy(&body));
        return;
    }
    let Some(user) = cfg
        .users
        .iter()
        .find(|u| auth.as_deref() == Some(format!("Basic {}", STANDARD.encode(u)).as_str()))
        .cloned()
    else {
        respond(
            &mut stream,
            "401 Unauthorized",
            "WWW-Authenticate: Basic realm=\"davit-test\"\r\n",
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}",
        );
        return;
    };
    let mut service = String::new();
    let mut scopes = Vec::new();
    for pair in query.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            match k {
                "service" => service = percent_decode(v),
                "scope" => scopes.extend(percent_decode(v).split(' ').map(str::to_string)),
                _ => {}
            }
        }
    }
    match token(cfg, &user, &service, &scopes) {
        Ok(t) => {
            let body =
                serde_json::json!({"token": t, "access_token": t, "expires_in": 300}).to_string();
            respond(&mut stream, "200 OK", "", &body);
        }
        Err(e) => respond(
            &mut stream,
            "500 Internal Server Error",
            "",
            &serde_json::json!({"error": e}).to_string(),
        ),
    }
}

/// `POST /token` with an identity (refresh) token.
fn oauth2(cfg: &Config, stream: &mut TcpStream, form: &str) {
    let field = |name: &str| {
        form.split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| percent_decode(v))
    };
    let granted = field("grant_type").as_deref() == Some("refresh_token")
        && cfg.refresh_token.is_some()
        && field("refresh_token") == cfg.refresh_token
        && field("client_id").is_some_and(|c| !c.is_empty());
    if !granted {
        respond(
            stream,
            "401 Unauthorized",
            "",
            "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}",
        );
        return;
    }
    let service = field("service").unwrap_or_default();
    let scopes: Vec<String> = field("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    match token(cfg, &cfg.users[0], &service, &scopes) {
        Ok(t) => {
            let body = serde_json::json!({"access_token": t, "expires_in": 300}).to_string();
            respond(stream, "200 OK", "", &body);
        }
        Err(e) => respond(
            stream,
            "500 Internal Server Error",
            "",
            &serde_json::json!({"error": e}).to_string(),
        ),
    }
}

fn main() {
    let cfg = match config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("davit-token-server: {e}");
            std::process::exit(2);
        }
    };
    let listener = match TcpListener::bind(&cfg.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("davit-token-server: listening on {}: {e}", cfg.listen);
            std::process::exit(1);
        }
    };
    for stream in listener.incoming().flatten() {
        handle(&cfg, stream);
    }
}
