//! The files of git mappings as an image layer written by davit: a tar of
//! the commit's files under each mapping's `to`, with git's modes and
//! symlinks, gzip-compressed. No container and no `git archive` run; the
//! layer goes to the registry as a blob.

use std::collections::BTreeSet;

use davit_git::{EntryKind, Repo};
use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

use crate::mapping::GitMapping;
use crate::StapelError;

/// A layer ready to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerBlob {
    /// The gzip-compressed tar.
    pub blob: Vec<u8>,
    /// `sha256:` of the uncompressed tar (the image config's diff id).
    pub diff_id: String,
    /// How many files (not directories) it holds.
    pub files: usize,
}

/// Numeric owner and group for a mapping's files (`owner`/`group`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ownership {
    pub uid: u64,
    pub gid: u64,
}

impl Ownership {
    /// Whether `owner`/`group` name users or groups that must be looked up
    /// in the image (not numbers).
    pub fn needs_names(mapping: &GitMapping) -> bool {
        [&mapping.owner, &mapping.group]
            .iter()
            .any(|v| !v.is_empty() && v.parse::<u64>().is_err())
    }

    /// `owner`/`group` as ids: numbers as given, names from the image's
    /// `/etc/passwd` and `/etc/group` (`None` when the image has none). An
    /// owner alone keeps group 0, as `chown owner` would.
    pub fn resolve(
        image: &str,
        mapping: &GitMapping,
        passwd: Option<&str>,
        group: Option<&str>,
    ) -> Result<Ownership, StapelError> {
        Ownership::resolve_names(image, &mapping.owner, &mapping.group, passwd, group)
    }

    /// [`Ownership::resolve`] for any `owner`/`group` pair (imports too).
    pub fn resolve_names(
        image: &str,
        owner: &str,
        group_name: &str,
        passwd: Option<&str>,
        group: Option<&str>,
    ) -> Result<Ownership, StapelError> {
        let id = |value: &str, key: &str, file: &str, db: Option<&str>, field: usize| {
            if value.is_empty() {
                return Ok(0);
            }
            if let Ok(n) = value.parse::<u64>() {
                return Ok(n);
            }
            db.and_then(|text| lookup(text, value, field))
                .ok_or_else(|| StapelError::Config {
                    image: image.to_string(),
                    message: format!(
                        "`{key}: {value}`: no such name in the image's {file}\n  hint: use a numeric id, or create the {key} in an earlier stage"
                    ),
                })
        };
        Ok(Ownership {
            uid: id(owner, "owner", "/etc/passwd", passwd, 2)?,
            gid: id(group_name, "group", "/etc/group", group, 2)?,
        })
    }
}

/// The id field of `name` in a passwd or group file.
fn lookup(text: &str, name: &str, field: usize) -> Option<u64> {
    text.lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .and_then(|f| f.get(field)?.parse().ok())
}

/// Where the repository file `path` of a mapping goes in the image,
/// without the leading `/`; `None` when the mapping does not take it.
pub fn destination(mapping: &GitMapping, path: &str) -> Option<String> {
    let to = mapping.to.trim_start_matches('/');
    if mapping.add.is_empty() {
        Some(join(to, path))
    } else if path == mapping.add {
        // `add` names a single file: it becomes `to` itself.
        Some(to.to_string())
    } else {
        Some(join(to, path.strip_prefix(&format!("{}/", mapping.add))?))
    }
}

/// Where each file a mapping takes goes in the image: `(repository path,
/// image path without the leading /)`, in path order.
pub fn mapped_files(repo: &Repo, mapping: &GitMapping) -> Vec<(String, String)> {
    let matcher = mapping.matcher();
    repo.files()
        .filter(|path| matcher.matched(path))
        .filter_map(|path| Some((path.to_string(), destination(mapping, path)?)))
        .collect()
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// One mapping as a layer writes it: the repository it reads (the
/// project's or a fetched remote), the ids its files get, and for a patch
/// what changed.
pub struct MappingFiles<'r> {
    pub repo: &'r Repo,
    pub mapping: GitMapping,
    pub owner: Ownership,
    pub patch: Option<crate::patch::MappingPatch>,
}

/// The `gitArchive` layer: every mapping's files at its commit.
/// `mtime` is the commit time, so the same commit gives the same bytes.
pub fn archive_layer(mappings: &[MappingFiles<'_>], mtime: u64) -> Result<LayerBlob, StapelError> {
    let mut writer = LayerWriter::new(mtime);
    for m in mappings {
        let files = mapped_files(m.repo, &m.mapping);
        writer.files(m.repo, &m.mapping, &files, &m.owner)?;
    }
    writer.finish()
}

/// A layer being written: directories, files and whiteouts.
pub(crate) struct LayerWriter {
    tar: tar::Builder<Vec<u8>>,
    mtime: u64,
    files: usize,
}

impl LayerWriter {
    pub(crate) fn new(mtime: u64) -> LayerWriter {
        LayerWriter {
            tar: tar::Builder::new(Vec::new()),
            mtime,
            files: 0,
        }
    }

    /// `entries` (repository path, image path) of one mapping, with the
    /// directories under its `to` (and `to` itself) first; those above
    /// `to` belong to the base image.
    pub(crate) fn files(
        &mut self,
        repo: &Repo,
        mapping: &GitMapping,
        entries: &[(String, String)],
        owner: &Ownership,
    ) -> Result<(), StapelError> {
        let to = mapping.to.trim_start_matches('/');
        let mut dirs = BTreeSet::new();
        for (_, dest) in entries {
            let mut dir = dest.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if parent.len() < to.len() {
                    break;
                }
                dirs.insert(parent.to_string());
                dir = parent;
            }
        }
        for dir in &dirs {
            let mut h = header(tar::EntryType::Directory, 0o755, 0, self.mtime, owner);
            append(&mut self.tar, &mut h, &format!("{dir}/"), &[])?;
        }
        for (path, dest) in entries {
            let data = repo
                .read_blob(path)
                .map_err(|e| StapelError::Git(e.to_string()))?
                .unwrap_or_default();
            match repo.kind(path) {
                Some(EntryKind::Symlink) => {
                    let target = String::from_utf8_lossy(&data).into_owned();
                    let mut h = header(tar::EntryType::Symlink, 0o777, 0, self.mtime, owner);
                    self.tar
                        .append_link(&mut h, dest, &target)
                        .map_err(|e| StapelError::Layer(format!("{dest}: {e}")))?;
                }
                // A submodule's files are not in this repository's tree.
                Some(EntryKind::Submodule) | None => continue,
                Some(kind) => {
                    let mode = if kind == EntryKind::Executable {
                        0o755
                    } else {
                        0o644
                    };
                    let size = data.len() as u64;
                    let mut h = header(tar::EntryType::Regular, mode, size, self.mtime, owner);
                    append(&mut self.tar, &mut h, dest, &data)?;
                }
            }
            self.files += 1;
        }
        Ok(())
    }

    /// One entry copied from an image (an import): a hard link is written
    /// as a file with the content it links to (`data`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn entry(
        &mut self,
        dest: &str,
        kind: crate::imports::SourceKind,
        mode: u32,
        uid: u64,
        gid: u64,
        data: &[u8],
        link: &str,
    ) -> Result<(), StapelError> {
        use crate::imports::SourceKind;
        let owner = Ownership { uid, gid };
        match kind {
            SourceKind::Dir => {
                let mut h = header(tar::EntryType::Directory, mode, 0, self.mtime, &owner);
                append(&mut self.tar, &mut h, &format!("{dest}/"), &[])
            }
            SourceKind::Symlink => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0, self.mtime, &owner);
                self.files += 1;
                self.tar
                    .append_link(&mut h, dest, link)
                    .map_err(|e| StapelError::Layer(format!("{dest}: {e}")))
            }
            SourceKind::File | SourceKind::HardLink => {
                let size = data.len() as u64;
                let mut h = header(tar::EntryType::Regular, mode, size, self.mtime, &owner);
                self.files += 1;
                append(&mut self.tar, &mut h, dest, data)
            }
        }
    }

    /// An OCI whiteout: `dest` (a file or a directory) is deleted.
    pub(crate) fn whiteout(&mut self, dest: &str) -> Result<(), StapelError> {
        let (dir, name) = dest.rsplit_once('/').unwrap_or(("", dest));
        let marker = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        let mut h = header(
            tar::EntryType::Regular,
            0o644,
            0,
            self.mtime,
            &Ownership::default(),
        );
        append(&mut self.tar, &mut h, &marker, &[])
    }

    /// The uncompressed tar.
    pub(crate) fn into_tar(self) -> Result<Vec<u8>, StapelError> {
        self.tar
            .into_inner()
            .map_err(|e| StapelError::Layer(e.to_string()))
    }

    pub(crate) fn finish(self) -> Result<LayerBlob, StapelError> {
        let raw = self
            .tar
            .into_inner()
            .map_err(|e| StapelError::Layer(e.to_string()))?;
        finish(raw, self.files)
    }
}

fn header(
    kind: tar::EntryType,
    mode: u32,
    size: u64,
    mtime: u64,
    owner: &Ownership,
) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(mtime);
    h.set_uid(owner.uid);
    h.set_gid(owner.gid);
    h
}

fn append(
    tar: &mut tar::Builder<Vec<u8>>,
    h: &mut tar::Header,
    path: &str,
    data: &[u8],
) -> Result<(), StapelError> {
    tar.append_data(h, path, data)
        .map_err(|e| StapelError::Layer(format!("{path}: {e}")))
}

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Compresses a finished tar.
fn finish(raw: Vec<u8>, files: usize) -> Result<LayerBlob, StapelError> {
    let diff_id = sha256(&raw);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    std::io::Write::write_all(&mut gz, &raw).map_err(|e| StapelError::Layer(e.to_string()))?;
    let blob = gz.finish().map_err(|e| StapelError::Layer(e.to_string()))?;
    Ok(LayerBlob {
        blob,
        diff_id,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(owner: &str, group: &str) -> GitMapping {
        let git: davit_config::model::Git = serde_json::from_value(
            serde_json::json!({"to": "/app", "owner": owner, "group": group}),
        )
        .expect("git");
        GitMapping::from_config(&git)
    }

    #[test]
    fn owners_are_ids_or_names_from_the_image() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
        let group = "root:x:0:\nstaff:x:50:app\n";
        let own =
            |o: &str, g: &str| Ownership::resolve("i", &mapping(o, g), Some(passwd), Some(group));
        assert_eq!(
            own("app", "staff").expect("names"),
            Ownership { uid: 1000, gid: 50 }
        );
        assert_eq!(own("33", "").expect("ids"), Ownership { uid: 33, gid: 0 });
        let err = own("nobody-here", "").expect_err("unknown");
        assert!(
            err.to_string()
                .contains("no such name in the image's /etc/passwd"),
            "{err}"
        );
        assert!(Ownership::needs_names(&mapping("app", "")));
        assert!(!Ownership::needs_names(&mapping("1", "2")));
    }
}
