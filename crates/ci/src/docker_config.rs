//! The temporary `DOCKER_CONFIG` of a CI job (spec §1.2): a fresh private
//! directory holding a copy of the user's docker config (or the
//! `DOCKER_AUTH_CONFIG` JSON), into which the job's registry login is
//! written. The user's own config is never modified.

use std::path::{Path, PathBuf};

use base64::Engine;

#[derive(Debug, thiserror::Error)]
pub enum DockerConfigError {
    #[error("DOCKER_AUTH_CONFIG environment variable is not set, but --use-docker-auth-config flag is enabled")]
    AuthConfigMissing,
    #[error("DOCKER_AUTH_CONFIG is not valid JSON: {0}")]
    AuthConfigInvalid(String),
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
}

fn io(path: &Path, e: impl std::fmt::Display) -> DockerConfigError {
    DockerConfigError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// What Docker keeps beside its config that a copy must leave out (werf's
/// list): plugins, buildx state, machine and desktop data, sockets.
const SKIPPED: &[&str] = &[
    "cli-plugins",
    "buildx",
    "machine",
    "desktop",
    "run",
    "mutagen",
    "scout",
];

/// Where the temporary config comes from.
pub enum Source<'a> {
    /// A directory to copy (`--docker-config`, `DOCKER_CONFIG`, `~/.docker`);
    /// a missing one gives an empty config.
    Dir(&'a Path),
    /// The `DOCKER_AUTH_CONFIG` JSON (`--use-docker-auth-config`).
    AuthConfig(Option<&'a str>),
}

/// Makes `<tmp>/davit-docker-config-<random>` (mode 0700) from `source`.
pub fn create(tmp: &Path, source: Source<'_>) -> Result<PathBuf, DockerConfigError> {
    // Check the input before anything is created.
    if let Source::AuthConfig(value) = &source {
        let text = value
            .filter(|v| !v.is_empty())
            .ok_or(DockerConfigError::AuthConfigMissing)?;
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| DockerConfigError::AuthConfigInvalid(e.to_string()))?;
    }
    let dir = private_dir(tmp)?;
    match source {
        Source::AuthConfig(value) => {
            let path = dir.join("config.json");
            write_private(&path, value.unwrap_or_default().as_bytes())?;
        }
        Source::Dir(src) if src.is_dir() => copy_dir(src, &dir, true)?,
        Source::Dir(_) => {}
    }
    Ok(dir)
}

fn private_dir(tmp: &Path) -> Result<PathBuf, DockerConfigError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::create_dir_all(tmp).map_err(|e| io(tmp, e))?;
    let pid = std::process::id();
    for attempt in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = tmp.join(format!(
            "davit-docker-config-{pid}-{:08x}",
            nanos ^ attempt.wrapping_mul(0x9e37_79b9)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(&dir, e)),
        }
    }
    Err(io(tmp, "could not create a unique directory"))
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), DockerConfigError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(data).map_err(|e| io(path, e))
}

fn copy_dir(src: &Path, dst: &Path, top: bool) -> Result<(), DockerConfigError> {
    let mut entries: Vec<_> = std::fs::read_dir(src)
        .map_err(|e| io(src, e))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if top && SKIPPED.iter().any(|s| name == *s) {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        let meta = std::fs::metadata(&from).map_err(|e| io(&from, e))?;
        if meta.is_dir() {
            std::fs::create_dir_all(&to).map_err(|e| io(&to, e))?;
            copy_dir(&from, &to, false)?;
        } else if meta.is_file() {
            std::fs::copy(&from, &to).map_err(|e| io(&to, e))?;
        }
    }
    Ok(())
}

/// Adds `auths[<host>]` with `user:password` to `<dir>/config.json`,
/// keeping everything else in it. A `credHelpers` entry for the host is
/// dropped so that the new credentials are the ones used.
pub fn add_login(
    dir: &Path,
    host: &str,
    user: &str,
    password: &str,
) -> Result<(), DockerConfigError> {
    let path = dir.join("config.json");
    let mut config: serde_json::Value = match std::fs::read_to_string(&path) {
        Ok(text) => {
            serde_json::from_str(&text).map_err(|e| io(&path, format!("invalid JSON: {e}")))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(io(&path, e)),
    };
    let Some(root) = config.as_object_mut() else {
        return Err(io(&path, "not a JSON object"));
    };
    if let Some(helpers) = root.get_mut("credHelpers").and_then(|h| h.as_object_mut()) {
        helpers.remove(host);
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    let auths = root.entry("auths").or_insert_with(|| serde_json::json!({}));
    if let Some(auths) = auths.as_object_mut() {
        auths.insert(host.to_string(), serde_json::json!({ "auth": auth }));
    }
    let text = serde_json::to_string_pretty(&config).map_err(|e| io(&path, e))?;
    write_private(&path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_config_without_plugins_and_never_touches_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let src = tmp.path().join("src");
        std::fs::create_dir_all(src.join("cli-plugins")).expect("mkdir");
        std::fs::create_dir_all(src.join("contexts/meta")).expect("mkdir");
        std::fs::write(
            src.join("config.json"),
            r#"{"auths":{"a.example":{"auth":"eDp5"}}}"#,
        )
        .expect("write");
        std::fs::write(src.join("cli-plugins/docker-x"), "p").expect("write");
        std::fs::write(src.join("contexts/meta/c.json"), "c").expect("write");
        let dir = create(&tmp.path().join("t"), Source::Dir(&src)).expect("create");
        assert!(dir.join("contexts/meta/c.json").is_file());
        assert!(!dir.join("cli-plugins").exists());
        add_login(&dir, "r.example", "u", "p").expect("login");
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).expect("read"))
                .expect("json");
        assert_eq!(written["auths"]["r.example"]["auth"], "dTpw");
        assert_eq!(written["auths"]["a.example"]["auth"], "eDp5");
        let original = std::fs::read_to_string(src.join("config.json")).expect("read");
        assert!(!original.contains("r.example"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn docker_auth_config_is_checked_first() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let e = create(tmp.path(), Source::AuthConfig(None)).expect_err("missing");
        assert!(matches!(e, DockerConfigError::AuthConfigMissing));
        let e = create(tmp.path(), Source::AuthConfig(Some("{"))).expect_err("bad");
        assert!(matches!(e, DockerConfigError::AuthConfigInvalid(_)));
        assert_eq!(std::fs::read_dir(tmp.path()).expect("ls").count(), 0);
        let dir = create(tmp.path(), Source::AuthConfig(Some("{\"auths\":{}}"))).expect("ok");
        assert_eq!(
            std::fs::read_to_string(dir.join("config.json")).expect("read"),
            "{\"auths\":{}}"
        );
    }
}
