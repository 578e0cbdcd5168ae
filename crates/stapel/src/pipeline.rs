//! The stages of one stapel image and their digest chain (spec §4.1,
//! §4.2): which stages exist, what each one's digest is computed from,
//! and how a stage's digest follows from the previous non-empty stage.

use davit_config::model::{Mount, StapelImage};
use davit_digest::hash::{h256, stage_h3};
use std::collections::HashMap;

use davit_git::Repo;
use davit_pathmatch::clean;

use crate::builder::user_stages;
use crate::docker::DockerInstructions;
use crate::imports::{DependencySpec, ImportSpec};
use crate::mapping::{auto_exclude, ExportPaths, GitMapping};
use crate::stage::StageName;
use crate::StapelError;

/// What the `from` stage builds on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseImage {
    /// `from: scratch`: an empty root file system.
    Scratch,
    /// A registry image, by the reference as written.
    External(String),
    /// Another image of the config (`fromImage`, `fromArtifact`, or a
    /// `from` naming it), by its content digest.
    Image {
        name: String,
        content_digest: String,
    },
}

/// Everything the pipeline of one image is computed from.
pub struct PipelineInput<'a> {
    pub image: &'a str,
    pub stapel: &'a StapelImage,
    /// `build.cacheVersion` of the meta section.
    pub build_cache_version: Option<&'a str>,
    pub base: BaseImage,
    /// The project's repository at the build commit.
    pub repo: &'a Repo,
    /// Artifacts (`artifact:`) have no patch or docker stages.
    pub is_artifact: bool,
    /// Whether a name is an image of the config (an `import` source that
    /// is not is an external image).
    pub is_config_image: &'a dyn Fn(&str) -> bool,
    /// `fromLatest: true`: the base's image ID in the registry now.
    pub from_latest_id: Option<String>,
    /// The fetched remote repositories by [`GitMapping::remote_key`].
    pub remote_repos: &'a HashMap<String, Repo>,
}

impl<'a> PipelineInput<'a> {
    /// The repository a mapping reads: the project's, or its fetched
    /// remote.
    pub fn repo_for(&self, m: &GitMapping) -> Result<&'a Repo, StapelError> {
        match m.remote_key() {
            None => Ok(self.repo),
            Some(key) => self
                .remote_repos
                .get(&key)
                .ok_or_else(|| StapelError::Config {
                    image: self.image.to_string(),
                    message: format!(
                        "the remote git repository {} was not fetched",
                        davit_git::remote::redact(&key)
                    ),
                }),
        }
    }
}

/// One stage that exists, with the inputs of its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: StageName,
    /// werf's `GetDependencies` of the stage.
    pub dependencies: String,
    /// The shell commands of a user stage.
    pub commands: Vec<String>,
}

/// The stages of an image before any lookup: `from` up to
/// `dockerInstructions`. The patch stages (`gitCache`,
/// `gitLatestPatch`) exist only once a stage was found on an older
/// commit, and `imageSpec` is added by the conveyor, which owns it for
/// Dockerfile images too.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub stages: Vec<Stage>,
    pub mappings: Vec<GitMapping>,
    /// werf's warnings (`stageDependencies` globs that match nothing).
    pub warnings: Vec<String>,
    /// `import[]`, with their auto-excludes; each belongs to the
    /// `dependencies*` stage its `before`/`after` names. That stage's
    /// dependencies are the imports' checksums, which only the stored
    /// source stages give: the conveyor computes them.
    pub imports: Vec<ImportSpec>,
    /// `dependencies[]`, each in its `dependencies*` stage.
    pub dependencies: Vec<DependencySpec>,
}

fn text(t: &Option<davit_config::model::Text>) -> &str {
    t.as_ref().map_or("", |t| t.0.as_str())
}

/// The base `from:` names when it is not an image of the config:
/// `scratch`, or a registry image as written (`:latest` added when it
/// names the image itself, werf's self-reference rule).
pub fn written_base(image: &str, s: &StapelImage) -> Result<BaseImage, String> {
    let from = s
        .from
        .as_ref()
        .map(|t| t.0.as_str())
        .filter(|f| !f.is_empty())
        .ok_or_else(|| {
            "`from: DOCKER_IMAGE`, `fromImage: IMAGE_NAME`, `fromArtifact: IMAGE_ARTIFACT_NAME` required!"
                .to_string()
        })?;
    Ok(match from {
        "scratch" => BaseImage::Scratch,
        f if f == image => BaseImage::External(format!("{f}:latest")),
        f => BaseImage::External(f.to_string()),
    })
}

/// `{ToSlash(Clean(from)), Clean(to), type}` of each mount, in order.
fn mount_args(mounts: &[Mount]) -> Vec<String> {
    let mut args = Vec::new();
    for m in mounts {
        let (from, kind) = match (text(&m.from), text(&m.from_path)) {
            ("tmp_dir", _) => ("", "tmp_dir"),
            ("build_dir", _) => ("", "build_dir"),
            (_, path) => (path, "custom_dir"),
        };
        args.push(clean(from));
        args.push(clean(text(&m.to)));
        args.push(kind.to_string());
    }
    args
}

/// The `from` stage dependencies.
/// `from_latest_id` is the registry's image ID of the base, for
/// `fromLatest: true`.
pub fn from_dependencies(
    s: &StapelImage,
    build_cache_version: Option<&str>,
    base: &BaseImage,
    from_latest_id: Option<&str>,
) -> String {
    let cache_version = s
        .cache_version
        .as_ref()
        .map(|t| t.0.as_str())
        .or(build_cache_version)
        .unwrap_or("");
    let mut args: Vec<String> = vec![
        cache_version.to_string(),
        text(&s.from_cache_version).to_string(),
        from_latest_id.unwrap_or_default().to_string(),
    ];
    args.extend(mount_args(&s.mount));
    args.push(match base {
        BaseImage::Scratch => "scratch".to_string(),
        BaseImage::External(reference) => reference.clone(),
        BaseImage::Image { content_digest, .. } => content_digest.clone(),
    });
    args.retain(|a| !a.is_empty());
    h256(&args)
}

impl Pipeline {
    pub fn new(input: &PipelineInput<'_>) -> Result<Pipeline, StapelError> {
        let s = input.stapel;
        let mut mappings: Vec<GitMapping> = s.git.iter().map(GitMapping::from_config).collect();
        // werf's order: local mappings first, then remote ones.
        mappings.sort_by_key(|m| m.url.is_some());
        let mut imports: Vec<ImportSpec> = s
            .import
            .iter()
            .map(|i| ImportSpec::from_config(i, input.is_config_image))
            .collect();
        exclude_overlaps(input.image, &mut mappings, &mut imports)?;
        let dependencies: Vec<DependencySpec> = s
            .dependencies
            .iter()
            .map(DependencySpec::from_config)
            .collect();
        let mut warnings = Vec::new();
        for m in &mappings {
            if !m.has_files(input.repo_for(m)?) {
                return Err(StapelError::AddMatchesNothing {
                    image: input.image.to_string(),
                    add: m.add.clone(),
                });
            }
        }
        let mut stages = vec![Stage {
            name: StageName::From,
            dependencies: from_dependencies(
                s,
                input.build_cache_version,
                &input.base,
                input.from_latest_id.as_deref(),
            ),
            commands: Vec::new(),
        }];
        for user in user_stages(s.shell.as_ref()) {
            if user.name == StageName::Install && !mappings.is_empty() {
                let mut paramshashes: Vec<String> =
                    mappings.iter().map(GitMapping::paramshash).collect();
                paramshashes.sort();
                stages.push(Stage {
                    name: StageName::GitArchive,
                    dependencies: h256(&paramshashes),
                    commands: Vec::new(),
                });
            }
            if user.checksum.is_empty() {
                continue;
            }
            let dependencies = if user.name == StageName::BeforeInstall {
                user.checksum.clone()
            } else {
                let mut per_mapping = Vec::new();
                for m in &mappings {
                    let (sum, missing) =
                        m.stage_dependencies_checksum(input.repo_for(m)?, user.name);
                    for glob in missing {
                        warnings.push(format!(
                            "stage {} dependency path {glob:?} has not been found in {} git",
                            user.name,
                            // A URL may carry a password: never shown.
                            m.url
                                .as_deref()
                                .map_or_else(|| "local".to_string(), davit_git::remote::redact)
                        ));
                    }
                    per_mapping.push(sum);
                }
                h256(&[user.checksum.clone(), h256(&per_mapping)])
            };
            stages.push(Stage {
                name: user.name,
                dependencies,
                commands: user.commands,
            });
        }
        // dependenciesBeforeInstall after beforeInstall, and so on.
        for (after, deps) in [
            (
                StageName::BeforeInstall,
                StageName::DependenciesBeforeInstall,
            ),
            (StageName::Install, StageName::DependenciesAfterInstall),
            (StageName::BeforeSetup, StageName::DependenciesBeforeSetup),
            (StageName::Setup, StageName::DependenciesAfterSetup),
        ] {
            if !imports.iter().any(|i| i.stage_name() == Some(deps))
                && !dependencies.iter().any(|d| d.stage == Some(deps))
            {
                continue;
            }
            let at = stages
                .iter()
                .position(|st| st.name > after)
                .unwrap_or(stages.len());
            stages.insert(
                at,
                Stage {
                    name: deps,
                    dependencies: String::new(),
                    commands: Vec::new(),
                },
            );
        }
        let patches = !(input.is_artifact || s.disable_git_after_patch == Some(true));
        if let (true, Some(docker)) = (patches, &s.docker) {
            stages.push(Stage {
                name: StageName::DockerInstructions,
                dependencies: DockerInstructions::from_config(docker).dependencies(),
                commands: Vec::new(),
            });
        }
        Ok(Pipeline {
            stages,
            mappings,
            warnings,
            imports,
            dependencies,
        })
    }

    pub fn has_git(&self) -> bool {
        !self.mappings.is_empty()
    }
}

/// werf's overlap auto-excludes over the git mappings, then the imports.
fn exclude_overlaps(
    image: &str,
    mappings: &mut [GitMapping],
    imports: &mut [ImportSpec],
) -> Result<(), StapelError> {
    let mut exports: Vec<ExportPaths> = mappings
        .iter()
        .map(|m| ExportPaths {
            to: m.to.clone(),
            include_paths: m.include_paths.clone(),
            exclude_paths: m.exclude_paths.clone(),
        })
        .chain(imports.iter().map(|i| ExportPaths {
            to: i.to.clone(),
            include_paths: i.include_paths.clone(),
            exclude_paths: i.exclude_paths.clone(),
        }))
        .collect();
    auto_exclude(&mut exports).map_err(|message| StapelError::Config {
        image: image.to_string(),
        message,
    })?;
    let mut exports = exports.into_iter();
    for (m, e) in mappings.iter_mut().zip(exports.by_ref()) {
        m.exclude_paths = e.exclude_paths;
    }
    for (i, e) in imports.iter_mut().zip(exports) {
        i.exclude_paths = e.exclude_paths;
    }
    Ok(())
}

/// The previous non-empty stage as the next digest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrevStage {
    pub digest: String,
    /// werf's `GetNextStageDependencies` of that stage.
    pub next_dependencies: String,
}

/// `calculateDigest`: `H3([platform], "1.2", name, deps, [prev digest,
/// prev next-dependencies])`.
pub fn stage_digest(
    platform: &str,
    name: StageName,
    dependencies: &str,
    prev: Option<&PrevStage>,
) -> String {
    let mut args = vec!["1.2", name.digest_name(), dependencies];
    if let Some(p) = prev {
        args.push(&p.digest);
        args.push(&p.next_dependencies);
    }
    stage_h3(platform, &args)
}

/// What a stage passes to the next digest: the sorted commits of the git
/// mappings (one per mapping: from the stored stage's labels, or the
/// current commit for a stage about to be built) after a git stage,
/// nothing after the others.
pub fn next_dependencies(name: StageName, commits: &[String]) -> String {
    if !name.passes_commits() {
        return String::new();
    }
    let mut sorted = commits.to_vec();
    sorted.sort();
    h256(&sorted)
}

/// The label that records a mapping's commit on a git stage.
pub fn commit_label(mapping: &GitMapping) -> String {
    format!("werf-git-{}-commit", mapping.paramshash())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stapel(v: serde_json::Value) -> StapelImage {
        serde_json::from_value(v).expect("stapel image")
    }

    #[test]
    fn the_from_stage_matches_werf() {
        // ../shared/spec/werf-build.md §4.1 worked vector.
        let s = stapel(serde_json::json!({"from": "alpine:3.18"}));
        let deps = from_dependencies(&s, None, &BaseImage::External("alpine:3.18".into()), None);
        assert_eq!(
            deps,
            "389a1d5981724e573a24f2791df81b3bf05c91e5f722e20a59dd4c29a49da6b0"
        );
        assert_eq!(
            stage_digest("linux/amd64", StageName::From, &deps, None),
            "3dbd6d44689162ca0ebbdef149f0c467c9ba147c6e9a7759164efc0a"
        );
        assert_eq!(
            stage_digest("linux/arm64", StageName::From, &deps, None),
            "88970e8ae133a58fdd339ae79a46677657d2a6db8c35e20d70ecb914"
        );
    }

    #[test]
    fn versions_and_mounts_enter_the_from_stage() {
        let s = stapel(serde_json::json!({
            "from": "alpine", "fromCacheVersion": "2",
            "mount": [{"from": "tmp_dir", "to": "/tmp/x/"}, {"fromPath": "cache/", "to": "/c"}]
        }));
        let base = BaseImage::External("alpine".into());
        assert_eq!(
            from_dependencies(&s, Some("b1"), &base, None),
            h256(&[
                "b1",
                "2",
                ".",
                "/tmp/x",
                "tmp_dir",
                "cache",
                "/c",
                "custom_dir",
                "alpine"
            ])
        );
        assert_eq!(
            from_dependencies(
                &stapel(serde_json::json!({})),
                None,
                &BaseImage::Scratch,
                None
            ),
            h256(&["scratch"])
        );
    }

    #[test]
    fn from_latest_puts_the_registry_image_id_before_the_mounts() {
        let s = stapel(serde_json::json!({"from": "alpine", "fromLatest": true,
            "mount": [{"from": "tmp_dir", "to": "/t"}]}));
        let base = BaseImage::External("alpine".into());
        assert_eq!(
            from_dependencies(&s, None, &base, Some("sha256:abc")),
            h256(&["sha256:abc", ".", "/t", "tmp_dir", "alpine"])
        );
    }

    #[test]
    fn git_stages_pass_their_commits_on() {
        let commits = vec!["b".to_string(), "a".to_string()];
        assert_eq!(
            next_dependencies(StageName::GitArchive, &commits),
            h256(&["a", "b"])
        );
        assert_eq!(
            next_dependencies(StageName::Install, &[]),
            h256::<&str>(&[])
        );
        assert_eq!(next_dependencies(StageName::BeforeInstall, &commits), "");
        let prev = PrevStage {
            digest: "d".into(),
            next_dependencies: "n".into(),
        };
        assert_eq!(
            stage_digest(
                "linux/amd64",
                StageName::DependenciesAfterSetup,
                "x",
                Some(&prev)
            ),
            davit_digest::hash::h3(&["1.2", "importsAfterSetup", "x", "d", "n"])
        );
    }
}
