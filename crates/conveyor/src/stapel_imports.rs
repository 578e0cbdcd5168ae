//! The imports and dependencies of a `dependencies*` stage: each import's
//! source stage, its checksum (werf's `import-metadata-*` record, computed
//! from the source's files and recorded when missing), each dependency's
//! built image and variables, the stage's digest inputs and labels, and
//! the layer of the imported files. Source files are read from the source
//! stage's layers in the registry; no daemon.

use std::collections::{BTreeMap, HashMap};

use davit_report::ImageRecord;
use davit_stapel::imports::{
    dependencies_stage_inputs, import_checksum, import_layer, DependencySpec, ImportFiles,
    ImportSource, ImportSpec, ResolvedDependency, SourceFile, SourceKind,
};
use davit_stapel::layer::{LayerBlob, Ownership};
use davit_stapel::StageName;
use davit_storage::image_files::{EntryKind, ImageEntry};
use davit_storage::{StageId, Storage};

use super::{BuildError, Conveyor};

/// Where an import's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ImportOrigin {
    /// A stage of an image of the config, in the stages storage.
    Stage(StageId),
    /// A registry image, by reference.
    External(String),
}

impl std::fmt::Display for ImportOrigin {
    /// What werf records as the source: the stage ID, or
    /// `external-image:<reference>`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportOrigin::Stage(id) => write!(f, "{id}"),
            ImportOrigin::External(r) => write!(f, "external-image:{r}"),
        }
    }
}

/// An import with what it resolved to.
pub(super) struct ResolvedImport {
    pub spec: ImportSpec,
    pub source: ImportOrigin,
    pub checksum: String,
}

/// The stage `stage` (`""`: the last) of an image's record; an image
/// without that stage gives its last, as werf does.
pub(super) fn pick_stage(record: &ImageRecord, stage: &str) -> Option<StageId> {
    let stages = record.stages.as_ref()?;
    let pick = stages
        .iter()
        .find(|s| !stage.is_empty() && s.name == stage)
        .or(stages.last())?;
    StageId::from_tag(&pick.docker_tag)
}

/// The `dependencies*` stage inputs of resolved imports and dependencies.
pub(super) fn stage_inputs(imports: &[ResolvedImport], dependencies: &Dependencies) -> String {
    let pairs: Vec<(&ImportSpec, &str)> = imports
        .iter()
        .map(|i| (&i.spec, i.checksum.as_str()))
        .collect();
    dependencies_stage_inputs(&pairs, &dependencies.resolved)
}

/// The `dependencies[]` of a stage as the build resolved them: digest
/// inputs, the variables the stage sets and werf's labels.
#[derive(Default)]
pub(super) struct Dependencies {
    pub resolved: Vec<ResolvedDependency>,
    /// `KEY=value` for the image config.
    pub env: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// Resolves the dependencies of `stage` from the records of the images
/// built earlier in the run; `None` when one is not known (a plan).
pub(super) fn resolve_dependencies(
    dependencies: &[DependencySpec],
    stage: StageName,
    record_of: &dyn Fn(&str) -> Option<ImageRecord>,
) -> Option<Dependencies> {
    let mut out = Dependencies::default();
    for dep in dependencies.iter().filter(|d| d.stage == Some(stage)) {
        let record = record_of(&dep.image)?;
        for (kind, env) in &dep.imports {
            let value = match kind.as_str() {
                "ImageName" => &record.docker_image_name,
                "ImageTag" => &record.docker_tag,
                "ImageRepo" => &record.docker_repo,
                "ImageID" => &record.docker_image_id,
                _ => &record.docker_image_digest,
            };
            out.env.push(format!("{env}={value}"));
        }
        let stage_id = record.docker_tag.clone();
        out.labels.insert(
            format!(
                "werf-dependency-stage-id-{}",
                davit_digest::hash::h256(&[&stage_id])
            ),
            stage_id,
        );
        out.resolved.push(ResolvedDependency {
            image_name: record.docker_image_name.clone(),
            imports: dep.imports.clone(),
        });
    }
    Some(out)
}

/// werf's labels of a `dependencies*` stage.
pub(super) fn import_labels(imports: &[ResolvedImport]) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for i in imports {
        let id = i.spec.import_id();
        labels.insert(format!("werf-import-checksum-{id}"), i.checksum.clone());
        labels.insert(
            format!("werf-import-source-stage-id-{id}"),
            i.source.to_string(),
        );
    }
    labels
}

fn source_file(path: &str, e: &ImageEntry, all: &BTreeMap<String, ImageEntry>) -> SourceFile {
    let kind = match e.kind {
        EntryKind::File => SourceKind::File,
        EntryKind::Dir => SourceKind::Dir,
        EntryKind::Symlink => SourceKind::Symlink,
        EntryKind::HardLink => SourceKind::HardLink,
    };
    // A hard link carries the content of the file it links to.
    let data = match e.kind {
        EntryKind::HardLink => all.get(&e.link).map(|t| t.data.clone()).unwrap_or_default(),
        _ => e.data.clone(),
    };
    SourceFile {
        path: path.to_string(),
        kind,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        data,
        link: e.link.clone(),
    }
}

impl Conveyor<'_> {
    /// Whether `name` is an image of the config.
    pub(super) fn is_config_image(&self, name: &str) -> bool {
        self.config.images.iter().any(|i| i.name == name)
    }

    /// The files `spec` takes from the stage `source`: (file, image path).
    async fn import_files(
        &self,
        primary: &Storage,
        name: &str,
        spec: &ImportSpec,
        source: &ImportOrigin,
        platform: &str,
    ) -> Result<Vec<(SourceFile, String)>, BuildError> {
        let add = spec.add.trim_start_matches('/').to_string();
        let under = |p: &str| add.is_empty() || p == add || p.starts_with(&format!("{add}/"));
        let all = match source {
            ImportOrigin::Stage(id) => primary.image_files(self.engine, id, under).await,
            ImportOrigin::External(r) => {
                primary
                    .external_image_files(self.engine, r, platform, under)
                    .await
            }
        }
        .map_err(|source| BuildError::Storage {
            image: name.to_string(),
            source: Box::new(source),
        })?;
        Ok(spec
            .select(all.keys().map(String::as_str))
            .into_iter()
            .filter_map(|(path, rel)| {
                let entry = all.get(&path)?;
                Some((source_file(&path, entry, &all), spec.destination(&rel)))
            })
            .collect())
    }

    /// The imports of `stage`, resolved: `source_of` gives an image's
    /// stage (`""`: its last) stored earlier in the run. A checksum missing
    /// from the records is computed and recorded when `record` is set;
    /// otherwise the imports are unknown (`None`) — what a plan shows.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn resolve_imports(
        &self,
        primary: Option<&Storage>,
        name: &str,
        stage: StageName,
        imports: &[ImportSpec],
        source_of: &dyn Fn(&str, &str) -> Option<StageId>,
        record: bool,
        platform: &str,
    ) -> Result<Option<Vec<ResolvedImport>>, BuildError> {
        let storage_err = |source| BuildError::Storage {
            image: name.to_string(),
            source: Box::new(source),
        };
        let mut resolved = Vec::new();
        for spec in imports.iter().filter(|i| i.stage_name() == Some(stage)) {
            let Some(primary) = primary else {
                return Ok(None);
            };
            let (source, content) = match &spec.source {
                ImportSource::Image(image) => {
                    let Some(id) = source_of(image, &spec.stage) else {
                        return Ok(None);
                    };
                    let desc = self.describe(name, &id).await?;
                    let content = desc
                        .labels
                        .get("werf-stage-content-digest")
                        .cloned()
                        .unwrap_or_default();
                    (ImportOrigin::Stage(id), content)
                }
                ImportSource::External(reference) => {
                    let origin = ImportOrigin::External(reference.clone());
                    let content = origin.to_string();
                    (origin, content)
                }
            };
            let source_id = spec.import_source_id(&content);
            let tag = format!("import-metadata-{source_id}");
            let recorded = primary
                .record_labels(&tag)
                .await
                .map_err(storage_err)?
                .and_then(|l| l.get("checksum").cloned())
                .filter(|c| !c.is_empty());
            let checksum = match recorded {
                Some(c) => c,
                None if !record => return Ok(None),
                None => {
                    let files = self
                        .import_files(primary, name, spec, &source, platform)
                        .await?;
                    let refs: Vec<&SourceFile> = files.iter().map(|(f, _)| f).collect();
                    let checksum = import_checksum(&refs);
                    primary
                        .push_import_metadata(
                            self.project,
                            &source_id,
                            &source.to_string(),
                            &checksum,
                        )
                        .await
                        .map_err(storage_err)?;
                    checksum
                }
            };
            resolved.push(ResolvedImport {
                spec: spec.clone(),
                source,
                checksum,
            });
        }
        Ok(Some(resolved))
    }

    /// The layer of a `dependencies*` stage: every import's files.
    pub(super) async fn imports_layer(
        &self,
        primary: &Storage,
        name: &str,
        imports: &[ResolvedImport],
        owners: &HashMap<String, Ownership>,
        platform: &str,
    ) -> Result<LayerBlob, BuildError> {
        let mut all = Vec::new();
        for i in imports {
            let files = self
                .import_files(primary, name, &i.spec, &i.source, platform)
                .await?;
            let owner = owners.get(&i.spec.import_id()).copied();
            all.push((files, owner));
        }
        let parts: Vec<ImportFiles<'_>> = all
            .iter()
            .map(|(files, owner)| ImportFiles {
                files: files.iter().map(|(f, d)| (f, d.clone())).collect(),
                owner: *owner,
            })
            .collect();
        let mtime = u64::try_from(self.repo.head().author_unix).unwrap_or(0);
        import_layer(&parts, mtime).map_err(|e| BuildError::Config {
            image: name.to_string(),
            message: e.to_string(),
        })
    }
}
