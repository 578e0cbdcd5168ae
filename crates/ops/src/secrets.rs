//! `davit helm secret …`: werf's secret commands over `davit-secrets` —
//! keys, whole texts, values files and files, and the key rotation of a
//! chart's `secret-values.yaml` and `secret/` files. Errors name the file
//! and never carry ciphertext, plaintext or key material.

use std::path::{Path, PathBuf};

use davit_secrets::{Key, KeySources, SecretError};

/// Where the key is looked up: `$WERF_SECRET_KEY` (or `--secret-key`),
/// `<dir>/.werf_secret_key`, `<werf home>/global_secret_key`.
pub struct KeyLookup {
    pub env_key: Option<String>,
    pub project_dir: PathBuf,
    pub werf_home: Option<PathBuf>,
}

impl KeyLookup {
    pub fn key(&self) -> Result<Key, SecretError> {
        davit_secrets::find_key(&KeySources {
            env_key: self.env_key.as_deref(),
            project_dir: &self.project_dir,
            werf_home: self.werf_home.clone(),
        })
    }
}

/// What a secret command works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// The whole input is one secret (`encrypt`/`decrypt`, `file …`).
    Whole,
    /// A YAML values file whose leaves are secrets (`values …`).
    Values,
}

/// Encrypts `input` (named `what` in errors).
pub fn encrypt(key: &Key, input: &[u8], form: Form, what: &str) -> Result<String, SecretError> {
    match form {
        Form::Whole => Ok(format!("{}\n", davit_secrets::encrypt(key, input)?)),
        Form::Values => {
            let text = String::from_utf8_lossy(input);
            let y = davit_secrets::encrypt_values(key, &text, what)?;
            Ok(davit_goyaml::marshal(&y))
        }
    }
}

/// Decrypts `input` (named `what` in errors).
pub fn decrypt(key: &Key, input: &[u8], form: Form, what: &str) -> Result<Vec<u8>, SecretError> {
    let text = String::from_utf8_lossy(input);
    match form {
        Form::Whole => davit_secrets::decrypt(key, text.trim(), what),
        Form::Values => {
            let y = davit_secrets::decrypt_values(key, &text, what)?;
            Ok(davit_goyaml::marshal(&y).into_bytes())
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("{0}")]
    Secret(#[from] SecretError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// `rotate-secret-key`: every secret of the chart (`secret-values.yaml`,
/// `secret/**`) and each extra values file, decrypted with `old` and
/// encrypted with `new`. Everything is decrypted before anything is
/// written, and each file is replaced atomically, so a wrong old key
/// changes nothing. Returns the files rewritten, project-relative.
pub fn rotate(
    project_dir: &Path,
    chart_dir: &str,
    extra_values: &[String],
    old: &Key,
    new: &Key,
) -> Result<Vec<String>, RotateError> {
    let mut targets: Vec<(String, Form)> = Vec::new();
    let chart = project_dir.join(chart_dir);
    if chart.join("secret-values.yaml").is_file() {
        targets.push((format!("{chart_dir}/secret-values.yaml"), Form::Values));
    }
    let mut files = Vec::new();
    collect_files(&chart.join("secret"), &mut files);
    files.sort();
    for f in files {
        if let Ok(rel) = f.strip_prefix(project_dir) {
            targets.push((rel.to_string_lossy().replace('\\', "/"), Form::Whole));
        }
    }
    for e in extra_values {
        targets.push((e.clone(), Form::Values));
    }
    let io = |path: &str| {
        let path = path.to_string();
        move |source| RotateError::Io { path, source }
    };
    let mut rewritten = Vec::new();
    for (rel, form) in &targets {
        let data = std::fs::read(project_dir.join(rel)).map_err(io(rel))?;
        let plain = decrypt(old, &data, *form, rel)?;
        rewritten.push((rel.clone(), encrypt(new, &plain, *form, rel)?));
    }
    for (rel, text) in &rewritten {
        let path = project_dir.join(rel);
        let tmp = path.with_extension("davit-rotate.tmp");
        std::fs::write(&tmp, text).map_err(io(rel))?;
        std::fs::rename(&tmp, &path).map_err(io(rel))?;
    }
    Ok(rewritten.into_iter().map(|(r, _)| r).collect())
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}
