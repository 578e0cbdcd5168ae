//! Giterminism's inspectors: directives that bring in something outside the
//! commit are rejected unless `werf-giterminism.yaml` allows them. Each
//! error names the key to add.

use crate::error::{ConfigError, Diagnostic};
use crate::giterminism::Giterminism;
use crate::parse::WerfConfig;

const PREFIX: &str =
    "the configuration with potential external dependency found in the werf config";

fn deny(file: &str, img: &crate::ImageDoc, what: String, key: &str, allow: &str) -> Diagnostic {
    Diagnostic::new(file, format!("{PREFIX}: {what} not allowed by giterminism"))
        .at(img.line, 1)
        .in_doc(img.doc)
        .key(key)
        .hint(format!(
            "to allow it, add `{allow}` to werf-giterminism.yaml"
        ))
}

/// Checks every image against the giterminism config.
pub fn inspect(file: &str, cfg: &WerfConfig, g: &Giterminism) -> Result<(), ConfigError> {
    let mut diags = Vec::new();
    for img in &cfg.images {
        if let Some(s) = &img.stapel {
            if s.from_latest == Some(true) && !g.allow_from_latest {
                diags.push(deny(
                    file,
                    img,
                    "fromLatest directive".into(),
                    "fromLatest",
                    "config.stapel.allowFromLatest: true",
                ));
            }
            for (i, git) in s.git.iter().enumerate() {
                let remote = git.url.is_some();
                let pinned = git.tag.is_some() || git.commit.is_some();
                if remote && !pinned && !g.allow_git_branch {
                    diags.push(deny(
                        file,
                        img,
                        "git branch directive".into(),
                        &format!("git[{i}].branch"),
                        "config.stapel.git.allowBranch: true",
                    ));
                }
            }
            for (i, m) in s.mount.iter().enumerate() {
                if m.from.as_ref().is_some_and(|f| f.0 == "build_dir") && !g.allow_mount_build_dir {
                    diags.push(deny(
                        file,
                        img,
                        "\"mount { from: build_dir, ... }\"".into(),
                        &format!("mount[{i}].from"),
                        "config.stapel.mount.allowBuildDir: true",
                    ));
                }
                if let Some(p) = &m.from_path {
                    if !g.allow_mount_from_paths.iter().any(|gl| gl.matches(&p.0)) {
                        diags.push(deny(
                            file,
                            img,
                            format!("\"mount {{ fromPath: {}, ... }}\"", p.0),
                            &format!("mount[{i}].fromPath"),
                            &format!("config.stapel.mount.allowFromPaths: [{}]", p.0),
                        ));
                    }
                }
            }
        }
        if let Some(d) = &img.dockerfile {
            let context = d
                .context
                .as_ref()
                .map(|c| c.0.trim_end_matches('/').to_string())
                .unwrap_or_default();
            for f in d
                .context_add_files
                .0
                .iter()
                .chain(d.context_add_file.0.iter())
            {
                let joined = if context.is_empty() {
                    f.clone()
                } else {
                    format!("{context}/{f}")
                };
                if !g
                    .allow_context_add_files
                    .iter()
                    .any(|gl| gl.matches(&joined))
                {
                    diags.push(deny(
                        file,
                        img,
                        format!("contextAddFile {joined:?}"),
                        "contextAddFiles",
                        &format!("config.dockerfile.allowContextAddFiles: [{joined}]"),
                    ));
                }
            }
        }
        let secrets = img
            .stapel
            .as_ref()
            .map(|s| s.secrets.as_slice())
            .or(img.dockerfile.as_ref().map(|d| d.secrets.as_slice()))
            .unwrap_or(&[]);
        for (i, sec) in secrets.iter().enumerate() {
            let key = format!("secrets[{i}]");
            if let Some(env) = &sec.env {
                if !g.allow_secret_env.contains(&env.0) {
                    diags.push(deny(
                        file,
                        img,
                        format!("secret {:?}", env.0),
                        &key,
                        &format!("config.secrets.allowEnvVariables: [{}]", env.0),
                    ));
                }
            } else if let Some(src) = &sec.src {
                if !g
                    .allow_secret_files
                    .iter()
                    .any(|gl| gl.matches(&crate::giterminism::expand_home(&src.0)))
                {
                    diags.push(deny(
                        file,
                        img,
                        format!("secret {:?}", src.0),
                        &key,
                        &format!("config.secrets.allowFiles: [{}]", src.0),
                    ));
                }
            } else if sec.value.is_some() {
                let id = sec.id.as_ref().map(|t| t.0.clone()).unwrap_or_default();
                if !g.allow_secret_value_ids.contains(&id) {
                    diags.push(deny(
                        file,
                        img,
                        format!("secret {id:?}"),
                        &key,
                        &format!("config.secrets.allowValueIds: [{id}]"),
                    ));
                }
            }
        }
    }
    if diags.is_empty() {
        Ok(())
    } else {
        Err(ConfigError { diagnostics: diags })
    }
}
