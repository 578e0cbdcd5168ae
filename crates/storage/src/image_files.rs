//! Files of a stored stage, read from its layers in the registry: the
//! layers are applied in order (later files replace earlier ones, OCI
//! whiteouts delete), keeping only the paths a filter wants. This is how
//! davit reads `/etc/passwd` for `owner` names and the files an `import`
//! copies, without a daemon.

use std::collections::BTreeMap;
use std::io::Read;

use davit_registry::OciManifest;

use crate::repo::{RepoStorage, StorageError};
use crate::stage_id::StageId;

/// One file system entry of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEntry {
    pub kind: EntryKind,
    /// Permission bits (`0o755`).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// File content (empty for directories and links).
    pub data: Vec<u8>,
    /// The target of a symlink or a hard link.
    pub link: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// A hard link to `link` (a path of the same image).
    HardLink,
}

/// A path as the image has it: no leading `/` or `./`, no trailing `/`.
fn normal(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

fn under(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.starts_with(&format!("{dir}/"))
}

impl RepoStorage {
    /// The entries of the stage `id` that `wanted` takes (image paths
    /// without a leading `/`), with every layer applied.
    pub async fn image_files(
        &self,
        id: &StageId,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<BTreeMap<String, ImageEntry>, StorageError> {
        let unexpected = |message: String| StorageError::Unexpected {
            reference: self.reference(id),
            message,
        };
        let (_, body) = self
            .client()
            .manifest_get(self.host(), self.path(), &id.to_string())
            .await?
            .ok_or_else(|| unexpected("the stage is gone".into()))?;
        let Ok(OciManifest::Image(manifest)) = davit_registry::parse_manifest(&body) else {
            return Err(unexpected("not a single-platform image manifest".into()));
        };
        self.layer_files(
            self.host(),
            self.path(),
            &manifest,
            &self.reference(id),
            wanted,
        )
        .await
    }

    /// [`RepoStorage::image_files`] of a registry image (`HOST/PATH:TAG`,
    /// Docker Hub names expanded) for `platform`: an external import.
    pub async fn external_image_files(
        &self,
        reference: &str,
        platform: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<BTreeMap<String, ImageEntry>, StorageError> {
        crate::compose::check_reference(reference)?;
        let (host, path, tag) = crate::compose::split_reference(reference);
        let manifest = self.external_manifest(&host, &path, &tag, platform).await?;
        self.layer_files(&host, &path, &manifest, reference, wanted)
            .await
    }

    /// The files of `manifest`'s layers (in `host`/`path`) that `wanted`
    /// takes, every layer applied in order.
    async fn layer_files(
        &self,
        host: &str,
        path: &str,
        manifest: &davit_registry::OciImageManifest,
        what: &str,
        wanted: impl Fn(&str) -> bool,
    ) -> Result<BTreeMap<String, ImageEntry>, StorageError> {
        let unexpected = |message: String| StorageError::Unexpected {
            reference: what.to_string(),
            message,
        };
        let mut files: BTreeMap<String, ImageEntry> = BTreeMap::new();
        for layer in &manifest.layers {
            let blob = self
                .client()
                .blob_get(host, path, &layer.digest)
                .await?
                .ok_or_else(|| unexpected(format!("its layer {} is missing", layer.digest)))?;
            apply_layer_blob(&blob, &mut files, &wanted)
                .map_err(|e| unexpected(format!("layer {}: {e}", layer.digest)))?;
        }
        Ok(files)
    }
}

/// Applies one layer blob (gzip, zstd or uncompressed) to `files`.
pub(crate) fn apply_layer_blob(
    blob: &[u8],
    files: &mut BTreeMap<String, ImageEntry>,
    wanted: &impl Fn(&str) -> bool,
) -> Result<(), String> {
    let raw = decompress_layer(blob)?;
    apply_layer(&raw, files, wanted).map_err(|e| e.to_string())
}

/// The tar of a layer blob, by its magic bytes: gzip, zstd (one frame or
/// several), or a tar as it is.
pub(crate) fn decompress_layer(blob: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, String> {
    const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    if blob.starts_with(&[0x1f, 0x8b]) {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(blob)
            .read_to_end(&mut raw)
            .map_err(|e| format!("gzip: {e}"))?;
        Ok(raw.into())
    } else if blob.starts_with(&ZSTD_MAGIC) {
        let mut input = blob;
        let mut raw = Vec::new();
        while !input.is_empty() {
            let mut frame = ruzstd::decoding::StreamingDecoder::new(&mut input)
                .map_err(|e| format!("zstd: {e}"))?;
            frame
                .read_to_end(&mut raw)
                .map_err(|e| format!("zstd: {e}"))?;
        }
        Ok(raw.into())
    } else {
        Ok(blob.into())
    }
}

/// Applies one uncompressed layer to `files`.
fn apply_layer(
    raw: &[u8],
    files: &mut BTreeMap<String, ImageEntry>,
    wanted: &impl Fn(&str) -> bool,
) -> std::io::Result<()> {
    let mut archive = tar::Archive::new(raw);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = normal(&entry.path()?.to_string_lossy());
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if name == ".wh..wh..opq" {
            // An opaque directory: what lower layers had in it is gone.
            files.retain(|p, _| {
                !(p.starts_with(&format!("{dir}/")) || (dir.is_empty() && !p.is_empty()))
            });
            continue;
        }
        if let Some(deleted) = name.strip_prefix(".wh.") {
            let gone = if dir.is_empty() {
                deleted.to_string()
            } else {
                format!("{dir}/{deleted}")
            };
            files.retain(|p, _| !under(p, &gone));
            continue;
        }
        if path.is_empty() || !wanted(&path) {
            continue;
        }
        let header = entry.header();
        let kind = match header.entry_type() {
            tar::EntryType::Directory => EntryKind::Dir,
            tar::EntryType::Symlink => EntryKind::Symlink,
            tar::EntryType::Link => EntryKind::HardLink,
            tar::EntryType::Regular | tar::EntryType::Continuous => EntryKind::File,
            // Devices, fifos and the like are not copied.
            _ => continue,
        };
        // Writers leave numeric fields blank at times; blank is 0.
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let link = entry
            .link_name()?
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default();
        let link = if kind == EntryKind::HardLink {
            normal(&link)
        } else {
            link
        };
        let mut data = Vec::new();
        if kind == EntryKind::File {
            entry.read_to_end(&mut data)?;
        }
        // A file replacing a directory replaces what was below it.
        if kind != EntryKind::Dir {
            files.retain(|p, _| !p.starts_with(&format!("{path}/")));
        }
        files.insert(
            path,
            ImageEntry {
                kind,
                mode,
                uid,
                gid,
                data,
                link,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    #[test]
    fn gzip_zstd_and_plain_layers_read_alike() {
        let tar = layer(&[("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let zst = |t: &[u8]| {
            ruzstd::encoding::compress_to_vec(t, ruzstd::encoding::CompressionLevel::Fastest)
        };
        // Two frames, as parallel compressors write them.
        let (first, second) = tar.split_at(700);
        let two_frames = [zst(first), zst(second)].concat();
        for blob in [tar.clone(), gz, zst(&tar), two_frames] {
            assert_eq!(decompress_layer(&blob).expect("decompress").as_ref(), tar);
        }
        assert!(decompress_layer(&[0x28, 0xb5, 0x2f, 0xfd, 0, 0])
            .expect_err("a cut frame")
            .starts_with("zstd: "));
    }

    #[test]
    fn later_layers_replace_and_whiteouts_delete() {
        let mut files = BTreeMap::new();
        let all = |_: &str| true;
        apply_layer(
            &layer(&[("etc/a", b"1"), ("etc/b", b"2"), ("srv/x/y", b"3")]),
            &mut files,
            &all,
        )
        .expect("layer 1");
        apply_layer(
            &layer(&[("etc/a", b"new"), ("etc/.wh.b", b""), ("srv/.wh.x", b"")]),
            &mut files,
            &all,
        )
        .expect("layer 2");
        let paths: Vec<&String> = files.keys().collect();
        assert_eq!(paths, ["etc/a"]);
        assert_eq!(files["etc/a"].data, b"new");
        let only_etc = |p: &str| p.starts_with("etc/");
        let mut some = BTreeMap::new();
        apply_layer(
            &layer(&[("etc/a", b"1"), ("usr/b", b"2")]),
            &mut some,
            &only_etc,
        )
        .expect("layer");
        assert_eq!(some.len(), 1);
    }
}
