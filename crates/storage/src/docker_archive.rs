//! Rewriting the image config inside a `docker save` archive, so that a
//! local stage can be derived from another without a build (the
//! `imageSpec` stage in local storage), and appending layers davit wrote
//! (stapel stages in local storage). Layers are carried over as they are.

use std::io::Read;

use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
#[error("docker save archive: {0}")]
pub struct ArchiveError(String);

fn err(e: impl std::fmt::Display) -> ArchiveError {
    ArchiveError(e.to_string())
}

struct Entry {
    header: tar::Header,
    path: String,
    link: Option<String>,
    data: Vec<u8>,
}

fn read_entries(archive: &[u8]) -> Result<Vec<Entry>, ArchiveError> {
    let mut entries = Vec::new();
    let mut tar = tar::Archive::new(archive);
    for entry in tar.entries().map_err(err)? {
        let mut entry = entry.map_err(err)?;
        let path = entry.path().map_err(err)?.to_string_lossy().into_owned();
        let link = entry
            .link_name()
            .map_err(err)?
            .map(|l| l.to_string_lossy().into_owned());
        let header = entry.header().clone();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).map_err(err)?;
        entries.push(Entry {
            header,
            path,
            link,
            data,
        });
    }
    Ok(entries)
}

/// Returns an archive that `docker load` turns into the image `new_tag`:
/// the first image of `archive` with its config passed through `rewrite`.
/// The OCI index is left out so that loaders use `manifest.json`, which
/// names the new config and tag.
pub fn rewrite_config(
    archive: &[u8],
    new_tag: &str,
    rewrite: impl FnOnce(&mut Value),
) -> Result<Vec<u8>, ArchiveError> {
    compose(archive, new_tag, Vec::new(), rewrite)
}

/// An archive of no image: the base of a `scratch` stage for `compose`.
pub fn empty_image(config: &Value) -> Result<Vec<u8>, ArchiveError> {
    let config = serde_json::to_vec(config).map_err(err)?;
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": "config.json", "RepoTags": [], "Layers": []}
    ]))
    .map_err(err)?;
    let mut out = tar::Builder::new(Vec::new());
    for (path, data) in [("config.json", config), ("manifest.json", manifest)] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        out.append_data(&mut header, path, data.as_slice())
            .map_err(err)?;
    }
    out.into_inner().map_err(err)
}

/// [`rewrite_config`], with `layers` (uncompressed tars) added on top:
/// each becomes `<sha256>/layer.tar`, named in `manifest.json` and in the
/// config's `rootfs.diff_ids` before `rewrite` runs.
pub fn compose(
    archive: &[u8],
    new_tag: &str,
    layers: Vec<Vec<u8>>,
    rewrite: impl FnOnce(&mut Value),
) -> Result<Vec<u8>, ArchiveError> {
    let entries = read_entries(archive)?;
    let find = |path: &str| entries.iter().find(|e| e.path == path);
    let manifest = find("manifest.json").ok_or_else(|| err("no manifest.json"))?;
    let mut manifest: Value = serde_json::from_slice(&manifest.data).map_err(err)?;
    let image = manifest
        .get_mut(0)
        .ok_or_else(|| err("manifest.json lists no image"))?;
    let config_path = image["Config"]
        .as_str()
        .ok_or_else(|| err("manifest.json names no config"))?
        .to_string();
    let config = find(&config_path).ok_or_else(|| err(format!("no {config_path}")))?;
    let mut config: Value = serde_json::from_slice(&config.data).map_err(err)?;
    let mut layer_files = Vec::new();
    for layer in layers {
        let hex: String = Sha256::digest(&layer)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let path = format!("{hex}/layer.tar");
        match image["Layers"].as_array_mut() {
            Some(list) => list.push(Value::String(path.clone())),
            None => image["Layers"] = serde_json::json!([path.clone()]),
        }
        match config["rootfs"]["diff_ids"].as_array_mut() {
            Some(ids) => ids.push(Value::String(format!("sha256:{hex}"))),
            None => {
                config["rootfs"] =
                    serde_json::json!({"type": "layers", "diff_ids": [format!("sha256:{hex}")]})
            }
        }
        layer_files.push((path, layer));
    }
    rewrite(&mut config);
    let config = serde_json::to_vec(&config).map_err(err)?;
    let hex: String = Sha256::digest(&config)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let new_config_path = if config_path.starts_with("blobs/sha256/") {
        format!("blobs/sha256/{hex}")
    } else {
        format!("{hex}.json")
    };
    image["Config"] = Value::String(new_config_path.clone());
    image["RepoTags"] = serde_json::json!([new_tag]);
    let manifest = serde_json::to_vec(std::slice::from_ref(image)).map_err(err)?;

    let mut out = tar::Builder::new(Vec::new());
    let skip = ["manifest.json", "index.json", "oci-layout", "repositories"];
    for e in &entries {
        if skip.contains(&e.path.as_str()) || e.path == new_config_path {
            continue;
        }
        let mut header = e.header.clone();
        match &e.link {
            Some(link) if e.header.entry_type().is_symlink() => {
                out.append_link(&mut header, &e.path, link).map_err(err)?
            }
            _ => out
                .append_data(&mut header, &e.path, e.data.as_slice())
                .map_err(err)?,
        }
    }
    let mut added: Vec<(String, Vec<u8>)> = layer_files;
    added.push((new_config_path.clone(), config));
    added.push(("manifest.json".to_string(), manifest));
    for (path, data) in added {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        out.append_data(&mut header, &path, data.as_slice())
            .map_err(err)?;
    }
    out.into_inner().map_err(err)
}

/// The layers of the first image of a `docker save` archive, in order
/// (uncompressed or gzip, as stored).
pub fn layers(archive: &[u8]) -> Result<Vec<Vec<u8>>, ArchiveError> {
    let entries = read_entries(archive)?;
    let find = |path: &str| entries.iter().find(|e| e.path == path);
    let manifest = find("manifest.json").ok_or_else(|| err("no manifest.json"))?;
    let manifest: Value = serde_json::from_slice(&manifest.data).map_err(err)?;
    let paths = manifest[0]["Layers"]
        .as_array()
        .ok_or_else(|| err("manifest.json names no layers"))?;
    paths
        .iter()
        .map(|p| {
            let p = p.as_str().unwrap_or_default();
            find(p)
                .map(|e| e.data.clone())
                .ok_or_else(|| err(format!("no {p}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, path, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    #[test]
    fn the_config_is_replaced_and_the_layers_kept() {
        let manifest = br#"[{"Config":"blobs/sha256/aaa","RepoTags":["p:old"],"Layers":["blobs/sha256/bbb"]}]"#;
        let input = archive(&[
            ("index.json", b"{}"),
            ("manifest.json", manifest),
            ("blobs/sha256/aaa", br#"{"config":{"Labels":{"a":"1"}}}"#),
            ("blobs/sha256/bbb", b"layer bytes"),
        ]);
        let out = rewrite_config(&input, "p:new", |cfg| {
            cfg["config"]["Labels"]["b"] = "2".into();
        })
        .expect("rewrite");
        let entries = read_entries(&out).expect("read");
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert!(!paths.contains(&"index.json"), "{paths:?}");
        assert!(paths.contains(&"blobs/sha256/bbb"));
        let m: Value = serde_json::from_slice(
            &entries
                .iter()
                .find(|e| e.path == "manifest.json")
                .expect("m")
                .data,
        )
        .expect("json");
        assert_eq!(m[0]["RepoTags"], serde_json::json!(["p:new"]));
        let cfg_path = m[0]["Config"].as_str().expect("config");
        let cfg = &entries
            .iter()
            .find(|e| e.path == cfg_path)
            .expect("cfg")
            .data;
        assert_eq!(
            format!("blobs/sha256/{}", hex_of(cfg)),
            cfg_path,
            "the config is stored under its digest"
        );
        let cfg: Value = serde_json::from_slice(cfg).expect("json");
        assert_eq!(cfg["config"]["Labels"]["b"], "2");
    }

    fn hex_of(data: &[u8]) -> String {
        Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn an_archive_without_manifest_is_an_error() {
        let input = archive(&[("index.json", b"{}")]);
        let e = rewrite_config(&input, "p:new", |_| {}).expect_err("no manifest");
        assert!(e.to_string().contains("manifest.json"), "{e}");
    }
}
