//! Host-local stage locks (`--synchronization :local`): one lock file per
//! `<project>.<digest>`, held with an OS file lock so that processes on the
//! same host publish a stage one at a time. The lock goes away with the
//! process, so a killed build never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("locking {path}: {source}")]
pub struct LockError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct StageLock {
    _file: File,
}

impl StageLock {
    /// Waits for the lock `<project>.<digest>` in `dir` (created if needed).
    pub async fn acquire(dir: &Path, project: &str, digest: &str) -> Result<StageLock, LockError> {
        let path = dir.join(format!("{project}.{digest}.lock"));
        let err = |source| LockError {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(err)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(err)?;
        // Blocking lock off the async threads.
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| err(std::io::Error::other(e)))?
            .map_err(err)?;
        Ok(StageLock { _file: file })
    }
}
