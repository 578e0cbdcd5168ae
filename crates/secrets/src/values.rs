//! `secret-values.yaml`: every string leaf is a ciphertext; `null` stays;
//! decrypted leaves are always strings (werf's yaml encoder).

use davit_goyaml::{load_all, Node, Yaml};

use crate::{decrypt, Key, SecretError};

/// Decrypts every leaf of `text` (a YAML mapping). `file` names the file
/// in errors, with the key path of the leaf.
pub fn decrypt_values(key: &Key, text: &str, file: &str) -> Result<Yaml, SecretError> {
    let docs = load_all(text).map_err(|e| SecretError::Values {
        what: file.into(),
        message: format!("invalid YAML: {e}"),
    })?;
    match docs.into_iter().next() {
        None => Ok(Yaml::Map(Vec::new())),
        Some(node) => walk(key, node, file, ""),
    }
}

fn walk(key: &Key, node: Node, file: &str, path: &str) -> Result<Yaml, SecretError> {
    let at = |p: &str| {
        if p.is_empty() {
            file.to_string()
        } else {
            format!("{file}: {p}")
        }
    };
    match node.value {
        Yaml::Map(pairs) => {
            let mut out = Vec::with_capacity(pairs.len());
            for (k, v) in pairs {
                let name = match &k.value {
                    Yaml::Str(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                let child = if path.is_empty() {
                    name
                } else {
                    format!("{path}.{name}")
                };
                let v = walk(key, v, file, &child)?;
                out.push((as_written(k), Node::new(v)));
            }
            Ok(Yaml::Map(out))
        }
        Yaml::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let v = walk(key, item, file, &format!("{path}[{i}]"))?;
                out.push(Node::new(v));
            }
            Ok(Yaml::Seq(out))
        }
        Yaml::Null => Ok(Yaml::Null),
        Yaml::Str(s) => {
            let plain = decrypt(key, &s, &at(path))?;
            // Values are text: bytes that are not mean the key is wrong and
            // its padding happened to check out (about 1 in 256).
            String::from_utf8(plain)
                .map(Yaml::Str)
                .map_err(|_| SecretError::WrongKey { what: at(path) })
        }
        _ => Err(SecretError::NotHex { what: at(path) }),
    }
}

/// Encrypts every non-null scalar leaf of `text` (a YAML mapping), each
/// formatted as Go's `%v` prints it, keeping the document's key order.
pub fn encrypt_values(key: &Key, text: &str, file: &str) -> Result<Yaml, SecretError> {
    let docs = load_all(text).map_err(|e| SecretError::Values {
        what: file.into(),
        message: format!("invalid YAML: {e}"),
    })?;
    match docs.into_iter().next() {
        None => Ok(Yaml::Map(Vec::new())),
        Some(node) => encrypt_walk(key, node),
    }
}

fn encrypt_walk(key: &Key, node: Node) -> Result<Yaml, SecretError> {
    let leaf = |text: String| crate::encrypt(key, text.as_bytes()).map(Yaml::Str);
    match node.value {
        Yaml::Map(pairs) => {
            let mut out = Vec::with_capacity(pairs.len());
            for (k, v) in pairs {
                out.push((as_written(k), Node::new(encrypt_walk(key, v)?)));
            }
            Ok(Yaml::Map(out))
        }
        Yaml::Seq(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(Node::new(encrypt_walk(key, item)?));
            }
            Ok(Yaml::Seq(out))
        }
        Yaml::Null => Ok(Yaml::Null),
        Yaml::Str(s) => leaf(s),
        // YAML 1.1's `yes`/`on`/`y` are strings to werf's yaml.v3 reader.
        Yaml::Bool(b) => leaf(match node.source {
            Some(src)
                if !src.eq_ignore_ascii_case("true") && !src.eq_ignore_ascii_case("false") =>
            {
                src
            }
            _ => b.to_string(),
        }),
        Yaml::Int(i) => leaf(i.to_string()),
        Yaml::Uint(u) => leaf(u.to_string()),
        Yaml::Float(f) => leaf(go_float(f)),
    }
}

/// A key as written in the file: werf's yaml.v3 reads `n`, `yes` or `on`
/// as strings, not YAML 1.1 booleans.
fn as_written(k: Node) -> Node {
    match (&k.value, &k.source) {
        (Yaml::Str(_), _) | (_, None) => k,
        (_, Some(src)) => Node::new(Yaml::Str(src.clone())),
    }
}

/// Go's `%v` of a float64.
fn go_float(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    if f.is_nan() {
        return "NaN".into();
    }
    let exp = if f == 0.0 {
        0
    } else {
        f.abs().log10().floor() as i32
    };
    if (-4..21).contains(&exp) {
        format!("{f}")
    } else {
        let s = format!("{f:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
    }
}
