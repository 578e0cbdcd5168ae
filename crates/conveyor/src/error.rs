//! What can stop `davit build`, each naming the image, and how Dockerfile
//! and giterminism errors are worded.

use davit_context::archive::ContextError;
use davit_engine::DockerError;
use davit_storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `--require-built-images` and a stage that is not stored.
    #[error("image {image:?}: stage {stage} ({digest}) is not in the stages storage, and --require-built-images forbids building it\n  hint: run `davit build` with the same --repo for this commit first")]
    NotBuilt {
        image: String,
        stage: &'static str,
        digest: String,
    },
    /// A bad `--add-custom-tag`, found before anything is built.
    #[error("{0}")]
    CustomTag(String),
    #[error("image {image:?}: {message}")]
    Config { image: String, message: String },
    #[error("image {image:?}: {source}")]
    Context {
        image: String,
        #[source]
        source: ContextError,
    },
    /// `location` is `path/Dockerfile:LINE` when the line is known.
    #[error("image {image:?}: {location}: {message}")]
    Dockerfile {
        image: String,
        location: String,
        message: String,
    },
    #[error("image {image:?}: {source}")]
    Docker {
        image: String,
        #[source]
        source: Box<DockerError>,
    },
    #[error("image {image:?}: {source}")]
    Storage {
        image: String,
        #[source]
        source: Box<StorageError>,
    },
    #[error("image {image:?}: {}\n\n  hint: commit the changes (davit builds from the git commit), or revert them", uncommitted_message(files))]
    Uncommitted {
        image: String,
        /// Repository-relative paths; `true` for untracked files.
        files: Vec<(String, bool)>,
    },
    #[error("image {image:?}: stage {stage} is listed in the registry but cannot be read")]
    BrokenStage { image: String, stage: String },
    /// The stages storage changed under the build (a stage in use was
    /// deleted or broke); the stage is rejected and the build is retried.
    #[error(
        "image {image:?}: stage {stage} changed in the stages storage while in use: {message}"
    )]
    StorageChanged {
        image: String,
        stage: String,
        message: String,
    },
}

/// werf's wording for files that differ from the commit.
pub(super) fn uncommitted_message(files: &[(String, bool)]) -> String {
    match files {
        [(one, false)] => format!("the file {one:?} must be committed"),
        [(one, true)] => format!("the untracked file {one:?} must be committed"),
        many => format!(
            "the following files must be committed:\n\n{}",
            many.iter()
                .map(|(f, untracked)| {
                    if *untracked {
                        format!(" - {f} (untracked)")
                    } else {
                        format!(" - {f}")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// A Dockerfile error located in the project: `Dockerfile:3: x` (davit's
/// parser) and `dockerfile parse error line 3: x` (the daemon) both become
/// `app/Dockerfile:3` + `x`.
pub(super) fn dockerfile_error(image: &str, path: &str, message: &str) -> BuildError {
    let located = message
        .strip_prefix("Dockerfile:")
        .or_else(|| message.strip_prefix("dockerfile parse error line "))
        .and_then(|rest| {
            let (line, text) = rest.split_once(':')?;
            line.trim().parse::<usize>().ok().map(|n| (n, text.trim()))
        });
    let (location, message) = match located {
        Some((line, text)) => (format!("{path}:{line}"), text.to_string()),
        None => (path.to_string(), message.to_string()),
    };
    BuildError::Dockerfile {
        image: image.to_string(),
        location,
        message,
    }
}

impl BuildError {
    /// Whether running the build again can succeed: the storage changed
    /// (werf's whole-conveyor retry on unexpected storage states).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BuildError::StorageChanged { .. } | BuildError::BrokenStage { .. }
        )
    }
}
