//! `import:` (spec §1.4.5, §4.5): files copied from another image's stage
//! into this one, in a `dependencies*` stage. The identity werf gives an
//! import (`importID`, `importSourceID`), the checksum of what it copies,
//! the `dependencies*` stage inputs, and the layer davit writes.

use davit_config::model::Import;
use davit_digest::hash::h256;
use davit_pathmatch::{clean, Exclude, Include, Multi, PathMatcher, True};
use md5::{Digest, Md5};

use crate::layer::{LayerBlob, LayerWriter, Ownership};
use crate::stage::StageName;
use crate::StapelError;

/// Where an import takes its files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportSource {
    /// An image (or artifact) of the config.
    Image(String),
    /// A registry image with a tag or digest.
    External(String),
}

/// One `import[]` entry, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSpec {
    pub source: ImportSource,
    /// `image:` (or `from:` naming an image) as written; `""` for artifacts.
    pub image_name: String,
    pub artifact_name: String,
    /// `stage:` (`beforeInstall` … `setup`), `""` for the last stage.
    pub stage: String,
    /// Absolute, cleaned.
    pub add: String,
    /// Absolute, cleaned; `add` when not given.
    pub to: String,
    pub include_paths: Vec<String>,
    /// Including werf's overlap auto-excludes.
    pub exclude_paths: Vec<String>,
    pub owner: String,
    pub group: String,
    pub before: String,
    pub after: String,
}

fn text(t: &Option<davit_config::model::Text>) -> String {
    t.as_ref().map(|t| t.0.clone()).unwrap_or_default()
}

impl ImportSpec {
    /// `internal` says whether a source name is an image of the config.
    pub fn from_config(imp: &Import, internal: impl Fn(&str) -> bool) -> ImportSpec {
        let image = text(&imp.image);
        let from = text(&imp.from);
        let artifact = text(&imp.artifact);
        let name = [&image, &from, &artifact]
            .into_iter()
            .find(|n| !n.is_empty())
            .cloned()
            .unwrap_or_default();
        let source = if internal(&name) {
            ImportSource::Image(name.clone())
        } else {
            ImportSource::External(name.clone())
        };
        let add = clean(&text(&imp.add));
        let to = match text(&imp.to) {
            t if t.is_empty() => add.clone(),
            t => clean(&t),
        };
        ImportSpec {
            source,
            image_name: if artifact.is_empty() {
                name
            } else {
                String::new()
            },
            artifact_name: artifact,
            stage: text(&imp.stage),
            add,
            to,
            include_paths: imp.include_paths.0.iter().map(|p| clean(p)).collect(),
            exclude_paths: imp.exclude_paths.0.iter().map(|p| clean(p)).collect(),
            owner: text(&imp.owner),
            group: text(&imp.group),
            before: text(&imp.before),
            after: text(&imp.after),
        }
    }

    /// The `dependencies*` stage the import belongs to.
    pub fn stage_name(&self) -> Option<StageName> {
        match (self.before.as_str(), self.after.as_str()) {
            ("install", _) => Some(StageName::DependenciesBeforeInstall),
            (_, "install") => Some(StageName::DependenciesAfterInstall),
            ("setup", _) => Some(StageName::DependenciesBeforeSetup),
            (_, "setup") => Some(StageName::DependenciesAfterSetup),
            _ => None,
        }
    }

    /// werf's `importID`, which names the import's labels.
    pub fn import_id(&self) -> String {
        h256(&[
            "ImageName",
            &self.image_name,
            "ArtifactName",
            &self.artifact_name,
            "Stage",
            &self.stage,
            "After",
            &self.after,
            "Before",
            &self.before,
            "Add",
            &self.add,
            "To",
            &self.to,
            "Group",
            &self.group,
            "Owner",
            &self.owner,
            "IncludePaths",
            &self.include_paths.join("///"),
            "ExcludePaths",
            &self.exclude_paths.join("///"),
        ])
    }

    /// werf's `importSourceID`, which names the `import-metadata-*`
    /// record: the source's content and what is taken from it.
    pub fn import_source_id(&self, source_content_digest: &str) -> String {
        h256(&[
            "SourceImageContentDigest",
            source_content_digest,
            "Add",
            &self.add,
            "IncludePaths",
            &self.include_paths.join("///"),
            "ExcludePaths",
            &self.exclude_paths.join("///"),
        ])
    }

    /// What the import takes, relative to `add`.
    fn matcher(&self) -> Box<dyn PathMatcher> {
        let mut parts: Vec<Box<dyn PathMatcher>> = Vec::new();
        if !self.include_paths.is_empty() {
            parts.push(Box::new(Include::new(&self.include_paths)));
        }
        if !self.exclude_paths.is_empty() {
            parts.push(Box::new(Exclude::new(&self.exclude_paths)));
        }
        match parts.len() {
            0 => Box::new(True),
            1 => parts.remove(0),
            _ => Box::new(Multi::new(parts)),
        }
    }

    /// The source entries the import copies, as `(source path, path
    /// relative to add)`, from image paths without a leading `/`.
    pub fn select<'a>(&self, paths: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
        let add = self.add.trim_start_matches('/');
        let matcher = self.matcher();
        paths
            .filter_map(|p| {
                let rel = if add.is_empty() {
                    p
                } else if p == add {
                    ""
                } else {
                    p.strip_prefix(add)?.strip_prefix('/')?
                };
                (rel.is_empty() || matcher.matched(rel)).then(|| (p.to_string(), rel.to_string()))
            })
            .collect()
    }

    /// Where a selected entry goes in the image (no leading `/`).
    pub fn destination(&self, rel: &str) -> String {
        let to = self.to.trim_start_matches('/');
        match (to.is_empty(), rel.is_empty()) {
            (_, true) => to.to_string(),
            (true, false) => rel.to_string(),
            (false, false) => format!("{to}/{rel}"),
        }
    }
}

/// One file of the source image, for the checksum and the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Image path without a leading `/`.
    pub path: String,
    pub kind: SourceKind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub data: Vec<u8>,
    pub link: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    File,
    Dir,
    Symlink,
    HardLink,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// werf's import checksum as its buildah backend computes it: md5 over
/// `"<md5 of content or link target>  /<path>\n"` for every file (not
/// directory) taken, in path order.
pub fn import_checksum(files: &[&SourceFile]) -> String {
    let mut sorted: Vec<&&SourceFile> =
        files.iter().filter(|f| f.kind != SourceKind::Dir).collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut all = Md5::new();
    for f in sorted {
        let content = match f.kind {
            SourceKind::Symlink | SourceKind::HardLink => f.link.as_bytes(),
            _ => f.data.as_slice(),
        };
        all.update(format!("{}  /{}\n", hex(&Md5::digest(content)), f.path).as_bytes());
    }
    hex(&all.finalize())
}

/// The checksum of an import that takes nothing: werf warns about it.
pub const EMPTY_IMPORT_CHECKSUM: &str = "d41d8cd98f00b204e9800998ecf8427e";

/// A `dependencies[]` entry of a stapel image: another image of the
/// config whose built name, tag, repository, ID or digest the stage gets
/// as environment variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencySpec {
    pub image: String,
    pub stage: Option<StageName>,
    /// `(type, targetEnv)`: `ImageName`, `ImageTag`, `ImageRepo`,
    /// `ImageID` or `ImageDigest`.
    pub imports: Vec<(String, String)>,
}

impl DependencySpec {
    pub fn from_config(dep: &davit_config::model::Dependency) -> DependencySpec {
        let position = (text(&dep.before), text(&dep.after));
        let stage = match (position.0.as_str(), position.1.as_str()) {
            ("install", _) => Some(StageName::DependenciesBeforeInstall),
            (_, "install") => Some(StageName::DependenciesAfterInstall),
            ("setup", _) => Some(StageName::DependenciesBeforeSetup),
            (_, "setup") => Some(StageName::DependenciesAfterSetup),
            _ => None,
        };
        DependencySpec {
            image: text(&dep.image),
            stage,
            imports: dep
                .imports
                .iter()
                .map(|i| (text(&i.kind), text(&i.target_env)))
                .collect(),
        }
    }
}

/// A dependency as the build resolved it: the image's full name
/// (`repo:tag`) and its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDependency {
    pub image_name: String,
    pub imports: Vec<(String, String)>,
}

/// The inputs of a `dependencies*` stage: each import's checksum, `to`,
/// `group`, `owner`, in config order; then each dependency's image name
/// and its variables.
pub fn dependencies_stage_inputs(
    imports: &[(&ImportSpec, &str)],
    dependencies: &[ResolvedDependency],
) -> String {
    let mut args: Vec<String> = Vec::new();
    for (imp, checksum) in imports {
        args.extend([
            checksum.to_string(),
            imp.to.clone(),
            imp.group.clone(),
            imp.owner.clone(),
        ]);
    }
    for dep in dependencies {
        args.push("Dependency".into());
        args.push(dep.image_name.clone());
        for (kind, env) in &dep.imports {
            args.push("DependencyImport".into());
            args.push(h256(&["Type", kind, "TargetEnv", env]));
        }
    }
    h256(&args)
}

/// What one import copies: each file with its image path, and the ids to
/// give them (`owner`/`group`; `None` keeps the source's).
pub struct ImportFiles<'a> {
    pub files: Vec<(&'a SourceFile, String)>,
    pub owner: Option<Ownership>,
}

/// The layer of a `dependencies*` stage: every import's files under its
/// `to`.
pub fn import_layer(imports: &[ImportFiles<'_>], mtime: u64) -> Result<LayerBlob, StapelError> {
    let mut writer = LayerWriter::new(mtime);
    for ImportFiles { files, owner } in imports {
        for (f, dest) in files {
            let (uid, gid) = owner.map_or((f.uid, f.gid), |o| (o.uid, o.gid));
            writer.entry(dest, f.kind, f.mode, uid, gid, &f.data, &f.link)?;
        }
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(v: serde_json::Value) -> ImportSpec {
        let imp: Import = serde_json::from_value(v).expect("import");
        ImportSpec::from_config(&imp, |n| n == "src")
    }

    #[test]
    fn an_import_selects_under_add_with_its_globs() {
        let s = spec(serde_json::json!({
            "image": "src", "add": "/app/", "to": "/opt/app", "after": "install",
            "includePaths": ["bin", "*.conf"], "excludePaths": ["bin/debug"]
        }));
        assert_eq!(s.source, ImportSource::Image("src".into()));
        assert_eq!(s.stage_name(), Some(StageName::DependenciesAfterInstall));
        let paths = [
            "app",
            "app/bin",
            "app/bin/run",
            "app/bin/debug",
            "app/a.conf",
            "app/readme",
            "etc/x",
        ];
        let got: Vec<String> = s
            .select(paths.into_iter())
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        assert_eq!(got, ["", "bin", "bin/run", "a.conf"]);
        assert_eq!(s.destination("bin/run"), "opt/app/bin/run");
    }

    #[test]
    fn the_checksum_is_md5_of_md5_lines() {
        let file = |path: &str, data: &[u8]| SourceFile {
            path: path.into(),
            kind: SourceKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            data: data.to_vec(),
            link: String::new(),
        };
        let a = file("app/a", b"x");
        let b = file("app/b", b"");
        let lines = format!(
            "{}  /app/a\n{}  /app/b\n",
            hex(&Md5::digest(b"x")),
            hex(&Md5::digest(b""))
        );
        assert_eq!(
            import_checksum(&[&b, &a]),
            hex(&Md5::digest(lines.as_bytes()))
        );
        assert_eq!(import_checksum(&[]), EMPTY_IMPORT_CHECKSUM);
    }
}
