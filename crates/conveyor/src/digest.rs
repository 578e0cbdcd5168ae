//! The `dockerfile` stage digest of an image for a platform, and werf's
//! check that everything it was computed from is as committed.

use std::cell::RefCell;
use std::collections::BTreeSet;

use davit_config::project::Mode;
use davit_git::WorktreeState;

use super::error::{dockerfile_error, BuildError};
use super::inputs::DockerfileInputs;
use super::Conveyor;
use davit_context::archive::dockerignore_candidates;
use davit_context::sources::{sources_checksum, ChecksumContext};
use davit_dockerfile::{dockerfile_digest, DigestInput};

impl Conveyor<'_> {
    pub(super) fn dockerfile_stage_digest(
        &self,
        inputs: &DockerfileInputs,
        platform: &str,
    ) -> Result<String, BuildError> {
        let uncommitted = RefCell::new(BTreeSet::new());
        let checksum_context = ChecksumContext {
            repo: self.repo,
            context: &inputs.context,
            dockerfile: &inputs.dockerfile,
            ignore: &inputs.dockerignore.0,
            add_files: &inputs.add_files,
            untracked: &inputs.untracked,
        };
        let files = |srcs: &[String]| {
            let sums = sources_checksum(&checksum_context, srcs)?;
            // An allowed .dockerignore may differ even where a COPY takes it.
            uncommitted.borrow_mut().extend(
                sums.uncommitted
                    .into_iter()
                    .filter(|(path, _)| !self.dockerignore_from_disk(path)),
            );
            Ok(sums.checksum)
        };
        let digest = dockerfile_digest(&DigestInput {
            dockerfile: &inputs.dockerfile_text,
            args: &inputs.args,
            dependency_args: inputs.dependencies(platform).0,
            target: inputs.target.as_deref(),
            cache_version: inputs.cache_version.as_deref(),
            add_host: &inputs.add_host,
            platform,
            files_checksum: &files,
        })
        .map_err(|e| dockerfile_error(&inputs.name, &inputs.df_path, &e.to_string()))?
        .digest;
        // Only giterministic builds check the work tree: --dev builds it
        // (minus --dev-ignore, which keeps the commit's version), and
        // --loose-giterminism checks nothing.
        if self.mode != Mode::Giterministic {
            return Ok(digest);
        }
        let mut uncommitted = uncommitted.into_inner();
        // As werf: the Dockerfile and the files a COPY/ADD takes must be as
        // committed, or the image would silently differ from the disk.
        if !inputs.dockerfile_from_disk
            && self.repo.worktree_state(&inputs.df_path) != WorktreeState::Unchanged
        {
            uncommitted.insert((inputs.df_path.clone(), false));
        }
        // So must the .dockerignore in effect (or one that would take effect).
        for path in dockerignore_candidates(&inputs.context, &inputs.dockerfile) {
            if self.dockerignore_from_disk(&path) {
                continue;
            }
            match self.repo.worktree_state(&path) {
                WorktreeState::Unchanged | WorktreeState::Absent => {}
                WorktreeState::Untracked => {
                    uncommitted.insert((path.clone(), true));
                }
                _ => {
                    uncommitted.insert((path.clone(), false));
                }
            }
            if inputs.dockerignore.1.as_deref() == Some(path.as_str()) {
                break;
            }
        }
        if !uncommitted.is_empty() {
            return Err(BuildError::Uncommitted {
                image: inputs.name.clone(),
                files: uncommitted.into_iter().collect(),
            });
        }
        Ok(digest)
    }
}
