//! The build context archive sent to the builder: the HEAD commit's files
//! under `context`, minus what `.dockerignore` excludes, plus the Dockerfile
//! (always sent, as the Docker CLI does). Reading from the commit, never
//! from the work tree, is what makes a stage digest describe its inputs.

use std::collections::BTreeSet;

use davit_git::{EntryKind, GitError, Repo};

use super::add_files::AddFile;
use super::dockerignore::{Dockerignore, DockerignoreError};

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("context: {0:?} is not a directory in the HEAD commit")]
    MissingContext(String),
    #[error("dockerfile: {path:?} is not in the HEAD commit (looked under context {context:?})")]
    MissingDockerfile { context: String, path: String },
    #[error("contextAddFiles: {0:?} does not exist in the work tree")]
    MissingAddFile(String),
    #[error("{file}: {source}")]
    Dockerignore {
        file: String,
        source: DockerignoreError,
    },
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("writing the context archive: {0}")]
    Io(#[from] std::io::Error),
}

/// A build context ready to send: a tar archive and what went into it.
#[derive(Debug)]
pub struct ContextArchive {
    pub tar: Vec<u8>,
    /// Context-relative paths in the archive, sorted.
    pub paths: Vec<String>,
    /// The `.dockerignore` used, repository-relative, if any.
    pub dockerignore: Option<String>,
}

/// Joins repository-relative parts, where `""` and `.` mean the root.
fn join(dir: &str, rel: &str) -> String {
    let dir = dir.trim_matches('/');
    if dir.is_empty() || dir == "." {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Finds the `.dockerignore` for `dockerfile` the way werf does:
/// `<context>/<dockerfile>.dockerignore`, then `<context>/.dockerignore`.
pub fn load_dockerignore(
    repo: &Repo,
    context: &str,
    dockerfile: &str,
) -> Result<(Dockerignore, Option<String>), ContextError> {
    load_dockerignore_from(repo, context, dockerfile, &|_| false)
}

/// Like [`load_dockerignore`], reading the candidates for which
/// `from_work_tree(repository-relative path)` holds from the work tree
/// (giterminism's `allowUncommittedDockerignoreFiles`) instead of the commit.
pub fn load_dockerignore_from(
    repo: &Repo,
    context: &str,
    dockerfile: &str,
    from_work_tree: &dyn Fn(&str) -> bool,
) -> Result<(Dockerignore, Option<String>), ContextError> {
    for candidate in [format!("{dockerfile}.dockerignore"), ".dockerignore".into()] {
        let path = join(context, &candidate);
        let bytes = if from_work_tree(&path) {
            std::fs::read(repo.work_tree().join(&path)).ok()
        } else {
            repo.read(&path)?
        };
        if let Some(bytes) = bytes {
            let text = String::from_utf8_lossy(&bytes);
            let matcher =
                Dockerignore::parse(&text).map_err(|source| ContextError::Dockerignore {
                    file: path.clone(),
                    source,
                })?;
            return Ok((matcher, Some(path)));
        }
    }
    Ok((Dockerignore::default(), None))
}

/// The `.dockerignore` candidates of a Dockerfile, repository-relative, in
/// lookup order.
pub fn dockerignore_candidates(context: &str, dockerfile: &str) -> [String; 2] {
    [
        join(context, &format!("{dockerfile}.dockerignore")),
        join(context, ".dockerignore"),
    ]
}

/// Builds the context archive of `context` (repository-relative; `""` or
/// `.` is the root) for `dockerfile` (context-relative).
pub fn build_context(
    repo: &Repo,
    context: &str,
    dockerfile: &str,
) -> Result<ContextArchive, ContextError> {
    let ignore = load_dockerignore(repo, context.trim_matches('/'), dockerfile)?;
    build_context_with(
        repo,
        &ContextSpec {
            context,
            dockerfile,
            dockerfile_text: None,
            add_files: &[],
            ignore: &ignore,
        },
    )
}

/// Everything [`build_context_with`] needs besides the repository.
pub struct ContextSpec<'a> {
    /// Repository-relative; `""` or `.` is the root.
    pub context: &'a str,
    /// Context-relative.
    pub dockerfile: &'a str,
    /// Replaces the Dockerfile's content; it then need not be committed.
    pub dockerfile_text: Option<&'a str>,
    /// From the work tree; they win over committed files of the same path
    /// and are not filtered by `.dockerignore`.
    pub add_files: &'a [AddFile],
    /// The `.dockerignore` in effect and its path, from [`load_dockerignore`].
    pub ignore: &'a (Dockerignore, Option<String>),
}

/// [`build_context`] with the settings of a build.
pub fn build_context_with(
    repo: &Repo,
    spec: &ContextSpec<'_>,
) -> Result<ContextArchive, ContextError> {
    let (dockerfile, dockerfile_text, add_files) =
        (spec.dockerfile, spec.dockerfile_text, spec.add_files);
    let (ignore, dockerignore) = spec.ignore;
    let context = spec.context.trim_matches('/');
    if !repo.is_dir(context) {
        return Err(ContextError::MissingContext(context.to_string()));
    }
    let dockerfile_path = join(context, dockerfile);
    if dockerfile_text.is_none() && repo.kind(&dockerfile_path).is_none() {
        return Err(ContextError::MissingDockerfile {
            context: context.to_string(),
            path: dockerfile.to_string(),
        });
    }
    let prefix = match context {
        "" | "." => String::new(),
        c => format!("{c}/"),
    };
    let mut selected = BTreeSet::new();
    for path in repo.files() {
        let Some(rel) = path.strip_prefix(prefix.as_str()) else {
            continue;
        };
        if rel == dockerfile || !ignore.excludes(rel) {
            selected.insert(rel.to_string());
        }
    }
    let added: std::collections::HashSet<&str> = add_files.iter().map(|f| f.rel.as_str()).collect();
    selected.retain(|p| !added.contains(p.as_str()));
    if dockerfile_text.is_some() {
        selected.insert(dockerfile.to_string());
    }
    let mtime = u64::try_from(repo.head().author_unix).unwrap_or(0);
    let mut builder = tar::Builder::new(Vec::new());
    let mut paths = Vec::with_capacity(selected.len());
    for rel in selected {
        let full = join(context, &rel);
        let kind = match (repo.kind(&full), dockerfile_text) {
            (Some(kind), _) => kind,
            // An uncommitted Dockerfile that giterminism allows.
            (None, Some(_)) if rel == dockerfile => EntryKind::File,
            (None, _) => continue,
        };
        // Submodule contents are not part of the commit's tree.
        if kind == EntryKind::Submodule {
            continue;
        }
        let data = match dockerfile_text {
            Some(text) if rel == dockerfile => text.as_bytes().to_vec(),
            _ => repo.read_blob(&full)?.unwrap_or_default(),
        };
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        match kind {
            EntryKind::Symlink => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                let target = String::from_utf8_lossy(&data).into_owned();
                builder.append_link(&mut header, &rel, target)?;
            }
            _ => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(if kind == EntryKind::Executable {
                    0o755
                } else {
                    0o644
                });
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, &rel, data.as_slice())?;
            }
        }
        paths.push(rel);
    }
    for f in add_files {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(if f.executable { 0o755 } else { 0o644 });
        header.set_size(f.data.len() as u64);
        builder.append_data(&mut header, &f.rel, f.data.as_slice())?;
        paths.push(f.rel.clone());
    }
    paths.sort();
    let tar = builder.into_inner()?;
    Ok(ContextArchive {
        tar,
        paths,
        dockerignore: dockerignore.clone(),
    })
}
