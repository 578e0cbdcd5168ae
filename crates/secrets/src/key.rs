//! The secret key: its format and where werf looks for it.

use std::path::{Path, PathBuf};

use crate::SecretError;

/// An AES key of 16, 24 or 32 bytes, given as hex.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(Vec<u8>);

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({} bits)", self.0.len() * 8)
    }
}

impl Key {
    pub fn from_hex(text: &str) -> Result<Key, SecretError> {
        let text = text.trim();
        let bytes: Option<Vec<u8>> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
            .collect();
        match bytes {
            Some(b) if text.len().is_multiple_of(2) && matches!(b.len(), 16 | 24 | 32) => {
                Ok(Key(b))
            }
            Some(_) if text.len().is_multiple_of(2) => Err(SecretError::BadKey(format!(
                "{} hex characters; a key has 32, 48 or 64",
                text.len()
            ))),
            _ => Err(SecretError::BadKey("it is not a hex string".into())),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// A new AES-128 key as 32 hex characters (`helm secret generate-secret-key`).
pub fn generate_key() -> Result<String, SecretError> {
    let mut k = [0u8; 16];
    getrandom::getrandom(&mut k).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(k.iter().map(|b| format!("{b:02x}")).collect())
}

/// Where a key can come from, in werf's order.
pub struct KeySources<'a> {
    /// `--secret-key` / `$WERF_SECRET_KEY`.
    pub env_key: Option<&'a str>,
    pub project_dir: &'a Path,
    /// `~/.werf` (werf's home), for `global_secret_key`.
    pub werf_home: Option<PathBuf>,
}

/// werf's lookup: `$WERF_SECRET_KEY`, then `<project>/.werf_secret_key`,
/// then `~/.werf/global_secret_key` (each trimmed).
pub fn find_key(sources: &KeySources<'_>) -> Result<Key, SecretError> {
    if let Some(k) = sources.env_key.filter(|k| !k.trim().is_empty()) {
        return Key::from_hex(k);
    }
    let mut tried = vec!["\"$WERF_SECRET_KEY\"".to_string()];
    let mut files = vec![sources.project_dir.join(".werf_secret_key")];
    if let Some(home) = &sources.werf_home {
        files.push(home.join("global_secret_key"));
    }
    for f in files {
        if let Ok(text) = std::fs::read_to_string(&f) {
            if !text.trim().is_empty() {
                return Key::from_hex(&text);
            }
        }
        tried.push(format!("{:?}", f.display().to_string()));
    }
    Err(SecretError::NoKey(tried.join(", ")))
}
