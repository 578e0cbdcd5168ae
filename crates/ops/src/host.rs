//! `davit host cleanup` and `davit host purge`: the local daemon and
//! davit's local files (spec §3.10). Cleanup frees the daemon's volume
//! when its usage passes a threshold, removing the images builds left
//! (label `werf`), least recently used first, until the usage would be
//! under the threshold minus a margin; images containers were made from
//! stay unless forced. Purge removes them all, and davit's host locks.

use std::path::{Path, PathBuf};

pub use davit_engine::housekeeping::LocalImage;
use davit_engine::DockerEngine;

use crate::OpsError;

#[derive(Clone, Debug)]
pub struct HostCleanupOptions {
    /// `--allowed-backend-storage-volume-usage` (percent, werf's 70).
    pub allowed_usage: f64,
    /// `--allowed-backend-storage-volume-usage-margin` (percent, werf's 5).
    pub margin: f64,
    /// `--backend-storage-path`; the daemon's root directory by default.
    pub storage_path: Option<PathBuf>,
    /// `--force`: also images that containers were made from.
    pub force: bool,
    pub dry_run: bool,
    /// `--project-name`: only this project's images (label `werf=<name>`).
    pub project: Option<String>,
}

/// The label filter for the images builds left: all, or one project's.
fn image_filter(project: Option<&str>) -> String {
    match project {
        Some(p) => format!("werf={p}"),
        None => "werf".into(),
    }
}

/// What a host cleanup saw and did.
#[derive(Debug, Default)]
pub struct HostOutcome {
    /// The volume's usage in percent when the run began.
    pub usage: f64,
    pub storage_path: String,
    pub removed: Vec<LocalImage>,
    /// Images kept because containers were made from them.
    pub in_use: Vec<LocalImage>,
    /// Images kept because a kept image is built on them.
    pub kept_as_parent: Vec<LocalImage>,
    /// Removals that failed (warnings).
    pub warnings: Vec<String>,
    /// Local directories removed (purge).
    pub removed_dirs: Vec<PathBuf>,
}

/// Used and total bytes of the file system holding `path`.
fn volume_usage(path: &Path) -> Result<(u64, u64), OpsError> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| OpsError::Usage(format!("{}: not a valid path", path.display())))?;
    // SAFETY: `c` is a valid C string and `st` a properly sized out-buffer.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(OpsError::Cleanup(format!(
            "reading the volume usage of {}: {}\n  hint: --backend-storage-path names the directory of the daemon's storage (docker info: Docker Root Dir)",
            path.display(),
            std::io::Error::last_os_error()
        )));
    }
    let block = st.f_frsize as u64;
    let total = st.f_blocks as u64 * block;
    let free = st.f_bfree as u64 * block;
    Ok((total.saturating_sub(free), total))
}

/// Which images to remove: least recently used first, skipping images in
/// use unless `force`, until `to_free` bytes are freed.
pub fn choose(
    images: &[LocalImage],
    in_containers: &std::collections::BTreeSet<String>,
    to_free: u64,
    force: bool,
) -> (Vec<LocalImage>, Vec<LocalImage>) {
    let (mut remove, mut kept) = (Vec::new(), Vec::new());
    let mut freed = 0u64;
    for image in images {
        if freed >= to_free {
            break;
        }
        if !force && in_containers.contains(&image.id) {
            kept.push(image.clone());
            continue;
        }
        freed += image.size.max(0) as u64;
        remove.push(image.clone());
    }
    (remove, kept)
}

/// Removes an image with all its names (those in use were left out
/// before). An image other kept images are built on stays, quietly.
async fn remove_one(engine: &DockerEngine, image: &LocalImage, outcome: &mut HostOutcome) -> bool {
    match engine.remove_image(&image.id, true).await {
        Ok(()) => true,
        Err(e) if e.to_string().contains("dependent child images") => {
            outcome.kept_as_parent.push(image.clone());
            false
        }
        Err(e) => {
            outcome
                .warnings
                .push(format!("WARNING: removing {}: {e}", image.id));
            false
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, OpsError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(OpsError::Runtime)
}

/// `davit host cleanup`.
pub fn cleanup(
    options: &HostCleanupOptions,
    on_removed: &mut dyn FnMut(&LocalImage),
) -> Result<HostOutcome, OpsError> {
    runtime()?.block_on(async {
        let engine = DockerEngine::connect().await?;
        let path = match &options.storage_path {
            Some(p) => p.clone(),
            None => PathBuf::from(engine.root_dir().await?),
        };
        let (used, total) = volume_usage(&path)?;
        let mut outcome = HostOutcome {
            usage: if total == 0 {
                0.0
            } else {
                used as f64 * 100.0 / total as f64
            },
            storage_path: path.display().to_string(),
            ..Default::default()
        };
        if outcome.usage <= options.allowed_usage {
            return Ok(outcome);
        }
        let target = ((options.allowed_usage - options.margin).max(0.0) / 100.0) * total as f64;
        let to_free = (used as f64 - target).max(0.0) as u64;
        let images = engine
            .images_labelled(&image_filter(options.project.as_deref()))
            .await?;
        let in_containers = engine.images_in_containers().await?;
        let (remove, kept) = choose(&images, &in_containers, to_free, options.force);
        outcome.in_use = kept;
        for image in remove {
            if !options.dry_run && !remove_one(&engine, &image, &mut outcome).await {
                continue;
            }
            on_removed(&image);
            outcome.removed.push(image);
        }
        Ok(outcome)
    })
}

/// `davit host purge`: every image builds left, davit's host locks
/// (`lock_dir`), which no running davit may hold, and its local caches
/// (`cache_dir`: chart dependencies, stage labels).
pub fn purge(
    force: bool,
    dry_run: bool,
    project: Option<&str>,
    lock_dir: &Path,
    cache_dir: &Path,
    on_removed: &mut dyn FnMut(&LocalImage),
) -> Result<HostOutcome, OpsError> {
    runtime()?.block_on(async {
        let engine = DockerEngine::connect().await?;
        let mut outcome = HostOutcome::default();
        let images = engine.images_labelled(&image_filter(project)).await?;
        let in_containers = engine.images_in_containers().await?;
        for image in images {
            if !force && in_containers.contains(&image.id) {
                outcome.in_use.push(image);
                continue;
            }
            if !dry_run && !remove_one(&engine, &image, &mut outcome).await {
                continue;
            }
            on_removed(&image);
            outcome.removed.push(image);
        }
        // The host locks and local caches are shared by every project.
        for dir in [lock_dir, cache_dir] {
            if project.is_none() && dir.exists() {
                if !dry_run {
                    std::fs::remove_dir_all(dir).map_err(|e| {
                        OpsError::Cleanup(format!("removing {}: {e}", dir.display()))
                    })?;
                }
                outcome.removed_dirs.push(dir.to_path_buf());
            }
        }
        Ok(outcome)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, size: i64, last_used: i64) -> LocalImage {
        LocalImage {
            id: id.into(),
            tags: vec![],
            size,
            last_used,
        }
    }

    #[test]
    fn the_least_recently_used_go_first_until_enough_is_freed() {
        let images = [image("a", 10, 1), image("b", 10, 2), image("c", 10, 3)];
        let used = std::collections::BTreeSet::from(["a".to_string()]);
        let (remove, kept) = choose(&images, &used, 15, false);
        let ids: Vec<_> = remove.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
        assert_eq!(kept.len(), 1);
        let (remove, _) = choose(&images, &used, 15, true);
        let ids: Vec<_> = remove.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert!(choose(&images, &used, 0, false).0.is_empty());
    }
}
