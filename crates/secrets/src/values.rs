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
                out.push((k, Node::new(v)));
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
            String::from_utf8(plain)
                .map(Yaml::Str)
                .map_err(|_| SecretError::Values {
                    what: at(path),
                    message: "the decrypted value is not UTF-8 text".into(),
                })
        }
        _ => Err(SecretError::NotHex { what: at(path) }),
    }
}
