//! The digest chain of one stapel image as stages are found or stored:
//! each stage's digest from the previous non-empty stage and the commits
//! it was built from, werf's selection of stored git stages by history,
//! and whether a git patch stage is due. `--plan` and the build walk the
//! same chain, so they agree on every digest.

use davit_digest::hash::stage_h3;
use davit_git::Repo;
use davit_stapel::patch::{mapping_patch, patch_dependencies, MappingPatch};
use davit_stapel::pipeline::commit_label;
use davit_stapel::{next_dependencies, stage_digest, GitMapping, Pipeline, PrevStage, StageName};
use davit_storage::StageDescription;

use crate::image_spec::ImageSpecStage;

/// werf makes a `gitCache` stage of a patch this large (1 MiB).
const GIT_CACHE_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PatchPhase {
    Before,
    AfterCache,
    Done,
}

/// The bytes a patch carries: the new content of every changed file.
fn patch_size(repos: &[&Repo], patches: &[MappingPatch]) -> u64 {
    patches
        .iter()
        .zip(repos)
        .flat_map(|(p, repo)| p.changed.iter().map(move |(path, _)| (repo, path)))
        .map(|(repo, path)| {
            repo.read_blob(path)
                .ok()
                .flatten()
                .map_or(0, |b| b.len() as u64)
        })
        .sum()
}

pub(super) struct StapelChain<'a> {
    platform: &'a str,
    /// The repository each mapping reads (the project's or a remote).
    repos: Vec<&'a Repo>,
    /// The commit each mapping takes now.
    current: Vec<String>,
    /// `werf-git-<paramshash>-commit` of each mapping.
    labels: Vec<String>,
    mappings: Vec<GitMapping>,
    /// Where the patch stages are.
    patch_phase: PatchPhase,
    has_git: bool,
    /// Whether the image has patch stages (git, not an artifact, not
    /// `disableGitAfterPatch`).
    patches: bool,
    pub prev: Option<PrevStage>,
    /// The previous stage when it is stored.
    pub prev_desc: Option<StageDescription>,
    pub last_name: StageName,
    /// The commits the last git stage was built from.
    built_from: Option<Vec<String>>,
}

impl<'a> StapelChain<'a> {
    /// `repos[i]` and `current[i]` are what mapping `i` reads.
    pub fn new(
        pipeline: &Pipeline,
        repos: Vec<&'a Repo>,
        current: Vec<String>,
        platform: &'a str,
        patches: bool,
    ) -> StapelChain<'a> {
        StapelChain {
            platform,
            repos,
            current,
            labels: pipeline.mappings.iter().map(commit_label).collect(),
            mappings: pipeline.mappings.clone(),
            patch_phase: PatchPhase::Before,
            has_git: pipeline.has_git(),
            patches: patches && pipeline.has_git(),
            prev: None,
            prev_desc: None,
            last_name: StageName::From,
            built_from: None,
        }
    }

    /// The stages to walk: the pipeline's, then `imageSpec` if any.
    pub fn stages(pipeline: &Pipeline, spec: Option<&ImageSpecStage>) -> Vec<(StageName, String)> {
        let mut stages: Vec<(StageName, String)> = pipeline
            .stages
            .iter()
            .map(|s| (s.name, s.dependencies.clone()))
            .collect();
        if spec.is_some() {
            stages.push((StageName::ImageSpec, String::new()));
        }
        stages
    }

    fn current(&self) -> Vec<String> {
        self.current.clone()
    }

    /// The commit each mapping takes now.
    pub fn current_commits(&self) -> &[String] {
        &self.current
    }

    /// The repository each mapping reads.
    pub fn repos(&self) -> &[&'a Repo] {
        &self.repos
    }

    /// The digest of the next stage.
    pub fn digest(&self, name: StageName, deps: &str, spec: Option<&ImageSpecStage>) -> String {
        match (spec, name) {
            (Some(spec), StageName::ImageSpec) => {
                let (d, n) = self.prev.as_ref().map_or(("", ""), |p| {
                    (p.digest.as_str(), p.next_dependencies.as_str())
                });
                spec.digest_after(d, n, self.platform)
            }
            _ => stage_digest(self.platform, name, deps, self.prev.as_ref()),
        }
    }

    /// A stored stage is no older than the previous one.
    pub fn parent_ts(&self) -> i64 {
        self.prev_desc.as_ref().map_or(0, |d| d.id.creation_ts)
    }

    /// werf's selection: a git stage only if every mapping's recorded
    /// commit is in the current history; others always.
    pub fn selectable(&self, name: StageName, desc: &StageDescription) -> bool {
        !name.selected_by_ancestry(self.has_git)
            || self
                .labels
                .iter()
                .zip(self.repos.iter().zip(&self.current))
                .all(|(label, (repo, current))| {
                    desc.labels
                        .get(label)
                        .is_some_and(|c| repo.is_ancestor(c, current).unwrap_or(false))
                })
    }

    /// Moves on past `name` with `digest`, stored as `desc` (or not).
    pub fn advance(&mut self, name: StageName, digest: String, desc: Option<StageDescription>) {
        let commits: Vec<String> = match &desc {
            Some(d) if self.has_git => self
                .labels
                .iter()
                .map(|l| d.labels.get(l).cloned().unwrap_or_default())
                .collect(),
            _ => self.current(),
        };
        if name.passes_commits() {
            self.built_from = Some(commits.clone());
        }
        self.prev = Some(PrevStage {
            digest,
            next_dependencies: next_dependencies(name, &commits),
        });
        self.prev_desc = desc;
        self.last_name = name;
    }

    /// The `gitLatestPatch` stage due before `next` (`None`: the end of
    /// the image): its dependencies and each mapping's patch. `None` when
    /// this is not the patch point (patch stages come after the user
    /// stages), the stored git stages are on the current commit, or the
    /// mapped files did not change since.
    pub fn patch_stage(
        &mut self,
        next: Option<StageName>,
    ) -> Result<Option<(StageName, String, Vec<MappingPatch>)>, String> {
        let at_patch_point =
            next.is_none_or(|n| matches!(n, StageName::DockerInstructions | StageName::ImageSpec));
        if !self.patches || !at_patch_point || self.patch_phase == PatchPhase::Done {
            return Ok(None);
        }
        let Some(patches) = self.pending_patches()? else {
            self.patch_phase = PatchPhase::Done;
            return Ok(None);
        };
        // A large change first becomes gitCache (digest: its size in MiB,
        // so later commits of that size reuse it by ancestry); what is
        // left after it is the gitLatestPatch.
        if self.patch_phase == PatchPhase::Before {
            self.patch_phase = PatchPhase::AfterCache;
            let size = patch_size(&self.repos, &patches);
            if size >= GIT_CACHE_BYTES {
                let deps = davit_digest::hash::h256(&[format!("{}", size / GIT_CACHE_BYTES)]);
                return Ok(Some((StageName::GitCache, deps, patches)));
            }
        }
        self.patch_phase = PatchPhase::Done;
        Ok(Some((
            StageName::GitLatestPatch,
            patch_dependencies(&patches),
            patches,
        )))
    }

    /// Each mapping's change since the commits the last git stage was
    /// built on; `None` when nothing mapped changed (or there is no git).
    pub fn pending_patches(&self) -> Result<Option<Vec<MappingPatch>>, String> {
        let Some(base) = self.built_from.clone().filter(|c| *c != self.current()) else {
            return Ok(None);
        };
        let mut patches = Vec::new();
        for ((mapping, commit), repo) in self.mappings.iter().zip(&base).zip(&self.repos) {
            let files = repo.files_at(commit).map_err(|e| {
                format!("reading commit {commit}, which the stored git stages were built on: {e}")
            })?;
            patches.push(mapping_patch(repo, mapping, &files));
        }
        if patches.iter().all(MappingPatch::is_empty) {
            return Ok(None);
        }
        Ok(Some(patches))
    }

    /// `os/arch[/variant]`.
    pub fn platform(&self) -> &str {
        self.platform
    }

    /// The mappings, in the order of the patches.
    pub fn mappings(&self) -> &[GitMapping] {
        &self.mappings
    }

    /// The content digest of the last stage: its label when stored,
    /// otherwise werf's `<name>-content` digest.
    pub fn content_digest(&self) -> Option<String> {
        match (&self.prev_desc, &self.prev) {
            (Some(d), _) => d.labels.get("werf-stage-content-digest").cloned(),
            (None, Some(p)) => Some(stage_h3(
                self.platform,
                &[
                    "1.2",
                    &format!("{}-content", self.last_name.as_str()),
                    "",
                    &p.digest,
                    &p.next_dependencies,
                ],
            )),
            (None, None) => None,
        }
    }

    /// The content digest werf labels a new stage `name` with `digest`.
    pub fn new_content_digest(&self, name: StageName, digest: &str) -> String {
        let next = next_dependencies(name, &self.current());
        stage_h3(
            self.platform,
            &[
                "1.2",
                &format!("{}-content", name.as_str()),
                "",
                digest,
                &next,
            ],
        )
    }
}
