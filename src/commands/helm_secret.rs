//! `davit helm secret …`: werf's secret commands. Keys from werf's lookup;
//! input from a file or stdin; output to stdout or `-o`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use davit_ops::secrets::{self, Form, KeyLookup};

use crate::cli::{HelmCommand, RotateArgs, SecretCommand, SecretFormCommand, SecretIoArgs};

pub fn run(cmd: HelmCommand) -> anyhow::Result<()> {
    let HelmCommand::Secret(cmd) = cmd;
    match cmd {
        SecretCommand::GenerateSecretKey => {
            println!("{}", davit_secrets::generate_key()?);
            Ok(())
        }
        SecretCommand::Encrypt(a) => transform(&a, Form::Whole, true),
        SecretCommand::Decrypt(a) => transform(&a, Form::Whole, false),
        SecretCommand::Values(SecretFormCommand::Encrypt(a)) => transform(&a, Form::Values, true),
        SecretCommand::Values(SecretFormCommand::Decrypt(a)) => transform(&a, Form::Values, false),
        SecretCommand::File(SecretFormCommand::Encrypt(a)) => transform(&a, Form::Whole, true),
        SecretCommand::File(SecretFormCommand::Decrypt(a)) => transform(&a, Form::Whole, false),
        SecretCommand::RotateSecretKey(a) => rotate(&a),
    }
}

fn lookup(dir: Option<&Path>, env_key: Option<String>) -> KeyLookup {
    KeyLookup {
        env_key,
        project_dir: dir
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        werf_home: super::chart_args::werf_home(),
    }
}

fn transform(a: &SecretIoArgs, form: Form, encrypt: bool) -> anyhow::Result<()> {
    let (input, what) = match &a.file {
        Some(p) => (
            std::fs::read(p).with_context(|| format!("reading {}", p.display()))?,
            p.display().to_string(),
        ),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("reading standard input")?;
            (buf, "standard input".to_string())
        }
    };
    let key = lookup(a.dir.as_deref(), std::env::var("WERF_SECRET_KEY").ok()).key()?;
    let out = if encrypt {
        secrets::encrypt(&key, &input, form, &what)?.into_bytes()
    } else {
        secrets::decrypt(&key, &input, form, &what)?
    };
    match &a.output_file_path {
        Some(p) => {
            if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(p, &out).with_context(|| format!("writing {}", p.display()))
        }
        None => std::io::stdout()
            .write_all(&out)
            .context("writing standard output"),
    }
}

fn rotate(a: &RotateArgs) -> anyhow::Result<()> {
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let old = std::env::var("WERF_OLD_SECRET_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
        .context("WERF_OLD_SECRET_KEY is not set: rotate-secret-key re-encrypts from that key to the current one")?;
    let old = davit_secrets::Key::from_hex(&old).context("WERF_OLD_SECRET_KEY")?;
    let new = lookup(Some(&dir), std::env::var("WERF_SECRET_KEY").ok()).key()?;
    let changed = secrets::rotate(&dir, &a.helm_chart_dir, &a.extra, &old, &new)?;
    for f in &changed {
        eprintln!("rotated {f}");
    }
    if changed.is_empty() {
        eprintln!(
            "no secrets found under {}/ (secret-values.yaml, secret/)",
            a.helm_chart_dir
        );
    }
    Ok(())
}
