//! Build secrets of a Dockerfile image (`secrets:` in werf.yaml, spec
//! §1.4.7) resolved to what the engine mounts: where each comes from and
//! the ID a `RUN --mount=type=secret` asks for.

use std::path::{Path, PathBuf};

use davit_config::model::Secret;
use davit_engine::secrets::{BuildSecret, SecretSource};

fn text(t: &Option<davit_config::model::Text>) -> Option<&str> {
    t.as_ref().map(|t| t.0.as_str()).filter(|s| !s.is_empty())
}

/// `~/x` → `$HOME/x`; relative paths are taken from `project_dir`.
fn expand_path(src: &str, project_dir: &Path) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    match (src.strip_prefix("~/"), home) {
        (Some(rest), Some(home)) => home.join(rest),
        _ if src == "~" => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default(),
        _ => project_dir.join(src),
    }
}

/// The secrets of an image with werf's rules: exactly one of `env`, `src`,
/// `value`; the ID defaults to the env name or the file's base name and is
/// required for `value`; IDs are unique. An `env` secret whose variable is
/// unset, or a `src` file that does not exist, is an error here rather than
/// an empty secret inside the build.
pub fn resolve(secrets: &[Secret], project_dir: &Path) -> Result<Vec<BuildSecret>, String> {
    let mut out: Vec<BuildSecret> = Vec::new();
    for (i, s) in secrets.iter().enumerate() {
        let key = format!("secrets[{i}]");
        let (id, source) = match (text(&s.env), text(&s.src), text(&s.value)) {
            (Some(env), None, None) => {
                if std::env::var_os(env).is_none() {
                    return Err(format!(
                        "{key}: the environment variable {env:?} is not set"
                    ));
                }
                (
                    text(&s.id).unwrap_or(env).to_string(),
                    SecretSource::Env(env.to_string()),
                )
            }
            (None, Some(src), None) => {
                let path = expand_path(src, project_dir);
                if !path.is_file() {
                    return Err(format!(
                        "{key}: the secret file {} does not exist",
                        path.display()
                    ));
                }
                let base = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                (
                    text(&s.id).map(str::to_string).unwrap_or(base),
                    SecretSource::File(path),
                )
            }
            (None, None, Some(value)) => {
                let Some(id) = text(&s.id) else {
                    return Err(format!(
                        "{key}: type value should be used with id parameter"
                    ));
                };
                (id.to_string(), SecretSource::Value(value.to_string()))
            }
            _ => {
                return Err(format!(
                    "{key}: secrets validation error: secret type could be ONLY `env`, `src` or `value`"
                ))
            }
        };
        if out.iter().any(|b| b.id == id) {
            return Err(format!("{key}: duplicated secret {id:?}"));
        }
        out.push(BuildSecret { id, source });
    }
    Ok(out)
}

/// Writes each secret's value to `dir/<id>` (mode 0600), for the shell
/// stages of a stapel image, which see `dir` at `/run/secrets` through a
/// read-only bind mount: the values never enter a layer, a log or a
/// container's configuration.
pub fn write_files(secrets: &[BuildSecret], dir: &Path) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(dir).map_err(|e| format!("a directory for secrets: {e}"))?;
    for secret in secrets {
        let value = match &secret.source {
            SecretSource::Env(var) => std::env::var_os(var)
                .map(|v| v.into_encoded_bytes())
                .ok_or_else(|| format!("the environment variable {var:?} is not set"))?,
            SecretSource::File(path) => std::fs::read(path)
                .map_err(|e| format!("reading the secret file {}: {e}", path.display()))?,
            SecretSource::Value(value) => value.as_bytes().to_vec(),
        };
        let path = dir.join(&secret.id);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| f.write_all(&value))
            .map_err(|e| format!("writing secret {:?}: {e}", secret.id))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use davit_config::model::Text;

    fn secret(
        id: Option<&str>,
        env: Option<&str>,
        src: Option<&str>,
        value: Option<&str>,
    ) -> Secret {
        let t = |s: Option<&str>| s.map(|s| Text(s.to_string()));
        Secret {
            id: t(id),
            env: t(env),
            src: t(src),
            value: t(value),
        }
    }

    #[test]
    fn ids_default_as_in_werf() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("token.txt"), "t").expect("write");
        let got = resolve(
            &[
                secret(None, Some("PATH"), None, None),
                secret(None, None, Some("token.txt"), None),
                secret(Some("v"), None, None, Some("plain")),
            ],
            dir.path(),
        )
        .expect("resolve");
        let ids: Vec<&str> = got.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["PATH", "token.txt", "v"]);
        assert_eq!(
            got[1].source,
            SecretSource::File(dir.path().join("token.txt"))
        );
    }

    #[test]
    fn bad_secrets_are_named() {
        let dir = Path::new("/nonexistent");
        let e = resolve(&[secret(None, None, None, Some("x"))], dir).expect_err("no id");
        assert!(
            e.contains("secrets[0]") && e.contains("id parameter"),
            "{e}"
        );
        let e = resolve(&[secret(None, Some("PATH"), None, Some("x"))], dir).expect_err("two");
        assert!(e.contains("ONLY `env`, `src` or `value`"), "{e}");
        let e = resolve(
            &[
                secret(Some("a"), None, None, Some("x")),
                secret(Some("a"), None, None, Some("y")),
            ],
            dir,
        )
        .expect_err("dup");
        assert!(e.contains("secrets[1]: duplicated secret \"a\""), "{e}");
        let e = resolve(&[secret(None, None, Some("missing"), None)], dir).expect_err("file");
        assert!(e.contains("/nonexistent/missing"), "{e}");
        let e = resolve(
            &[secret(
                None,
                Some("DAVIT_SURELY_UNSET_VARIABLE"),
                None,
                None,
            )],
            dir,
        )
        .expect_err("unset");
        assert!(e.contains("DAVIT_SURELY_UNSET_VARIABLE"), "{e}");
    }
}
