//! The `gitLatestPatch` stage: what changed in the mapped files between
//! the commit the stored git stages were built on and the current one —
//! added and changed files (content, mode, symlink targets) and deletions
//! as OCI whiteouts — as one layer davit writes.
//!
//! Its digest is davit's own: werf hashes its rewritten `git diff` output,
//! which the spec does not pin down (../shared/spec/werf-build.md §8.9
//! item 6). davit hashes each mapping's changed paths with their kind and
//! blob id, so the same change gives the same stage, and never one werf
//! would pick up as its own. `gitCache` (werf's stage for patches over 1 MiB)
//! is not made: every patch is a `gitLatestPatch`.

use std::collections::{BTreeMap, BTreeSet};

use davit_digest::hash::h256;
use davit_git::{CommitFile, EntryKind, Repo};

use crate::layer::{destination, LayerBlob, LayerWriter, MappingFiles};
use crate::mapping::GitMapping;
use crate::StapelError;

/// One mapping's change between two commits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingPatch {
    /// Added or changed files: (repository path, image path).
    pub changed: Vec<(String, String)>,
    /// Image paths to delete: a file, or the highest directory under `to`
    /// that no longer holds any file.
    pub deleted: Vec<String>,
    /// The description the digest is computed from.
    lines: Vec<String>,
}

impl MappingPatch {
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.deleted.is_empty()
    }
}

fn kind_name(kind: EntryKind) -> &'static str {
    match kind {
        EntryKind::File => "100644",
        EntryKind::Executable => "100755",
        EntryKind::Symlink => "120000",
        EntryKind::Submodule => "160000",
    }
}

/// What changed in `mapping` from `base` (the files of the older commit)
/// to the repository's HEAD.
pub fn mapping_patch(
    repo: &Repo,
    mapping: &GitMapping,
    base: &BTreeMap<String, CommitFile>,
) -> MappingPatch {
    let matcher = mapping.matcher();
    let mut patch = MappingPatch::default();
    let mut head_dirs: BTreeSet<String> = BTreeSet::new();
    for path in repo.files().filter(|p| matcher.matched(p)) {
        let Some(dest) = destination(mapping, path) else {
            continue;
        };
        let mut dir = dest.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            head_dirs.insert(parent.to_string());
            dir = parent;
        }
        let Some(now) = repo.head_file(path) else {
            continue;
        };
        if base.get(path) != Some(&now) {
            patch
                .lines
                .push(format!("M {path} {} {}", kind_name(now.kind), now.oid));
            patch.changed.push((path.to_string(), dest));
        }
    }
    let to = mapping.to.trim_start_matches('/');
    let mut deleted = BTreeSet::new();
    for (path, _) in base.iter().filter(|(p, _)| matcher.matched(p)) {
        if repo.head_file(path).is_some() {
            continue;
        }
        let Some(dest) = destination(mapping, path) else {
            continue;
        };
        patch.lines.push(format!("D {path}"));
        // Delete the highest directory under `to` that is gone entirely,
        // as git leaves no empty directory behind.
        let mut gone = dest.clone();
        while let Some((parent, _)) = gone.rsplit_once('/') {
            if parent.len() <= to.len() || head_dirs.contains(parent) {
                break;
            }
            gone = parent.to_string();
        }
        deleted.insert(gone);
    }
    patch.deleted = deleted.into_iter().collect();
    patch
}

/// The `gitLatestPatch` dependencies: one hash per mapping, in mapping
/// order, of its change description.
pub fn patch_dependencies(patches: &[MappingPatch]) -> String {
    let per_mapping: Vec<String> = patches.iter().map(|p| h256(&p.lines)).collect();
    h256(&per_mapping)
}

/// The layer of a patch: whiteouts first, then the changed files.
pub fn patch_layer(patches: &[MappingFiles<'_>], mtime: u64) -> Result<LayerBlob, StapelError> {
    let mut writer = LayerWriter::new(mtime);
    for patch in patches.iter().filter_map(|m| m.patch.as_ref()) {
        for dest in &patch.deleted {
            writer.whiteout(dest)?;
        }
    }
    changed_files(&mut writer, patches)?;
    writer.finish()
}

fn changed_files(
    writer: &mut LayerWriter,
    patches: &[MappingFiles<'_>],
) -> Result<(), StapelError> {
    for m in patches {
        if let Some(patch) = &m.patch {
            writer.files(m.repo, &m.mapping, &patch.changed, &m.owner)?;
        }
    }
    Ok(())
}

/// A patch as a plain tar of the changed files (no whiteouts), to copy
/// into a container before a user stage runs; deletions are left to
/// [`deletion_commands`].
pub fn patch_files_tar(patches: &[MappingFiles<'_>], mtime: u64) -> Result<Vec<u8>, StapelError> {
    let mut writer = LayerWriter::new(mtime);
    changed_files(&mut writer, patches)?;
    writer.into_tar()
}

/// Shell commands that delete what the patches delete.
pub fn deletion_commands(patches: &[MappingPatch]) -> Vec<String> {
    patches
        .iter()
        .flat_map(|p| &p.deleted)
        .map(|path| format!("rm -rf '/{}'", path.replace('\'', "'\\''")))
        .collect()
}
