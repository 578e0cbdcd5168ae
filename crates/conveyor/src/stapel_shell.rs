//! The shell stages of a stapel image (`beforeInstall`, `install`,
//! `beforeSetup`, `setup`): the previous stage in the daemon, the commands
//! run in a container of it under the image's own `/bin/sh -e` with the
//! git patch copied in first, the mounts, secrets and ssh-agent bound in,
//! werf's service variables set, and the container committed and
//! published under the host lock with a re-check.

use std::cell::RefCell;
use std::collections::BTreeMap;

use davit_config::model::StapelImage;
use davit_engine::container::{RunError, ShellRun};
use davit_stapel::patch::{deletion_commands, patch_files_tar};
use davit_stapel::StageName;
use davit_storage::{Published, StageId, Storage};

use super::owner_names::{UserFiles, GROUP, PASSWD};
use super::stapel_chain::StapelChain;
use super::stapel_image::{git_labels, mapping_files, StageStep, StapelBuild};
use super::{BuildError, Conveyor, Event};

impl Conveyor<'_> {
    /// A shell stage: the previous stage pulled into the daemon, the
    /// commands run in a container of it (after the git patch since the
    /// stored git stages, for stages after `gitArchive`), the container
    /// committed and pushed under the host lock with a re-check.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_user_stage(
        &self,
        primary: &Storage,
        build: &StapelBuild<'_>,
        step: &StageStep<'_>,
        digest: &str,
        passed_over: &[StageId],
        chain: &StapelChain<'_>,
        mut labels: BTreeMap<String, String>,
        on_event: &RefCell<impl FnMut(Event<'_>)>,
    ) -> Result<Published, BuildError> {
        let name = build.name;
        let stage = step.stage;
        let cfg_err = |message: String| BuildError::Config {
            image: name.to_string(),
            message,
        };
        let storage_err = |source| BuildError::Storage {
            image: name.to_string(),
            source: Box::new(source),
        };
        let docker_err = |source| BuildError::Docker {
            image: name.to_string(),
            source: Box::new(source),
        };
        let Some(prev) = &chain.prev_desc else {
            return Err(cfg_err(format!("stage {stage} has no previous stage")));
        };
        let mut commands: Vec<String> = build
            .pipeline
            .stages
            .iter()
            .find(|st| st.name == stage)
            .map(|st| st.commands.clone())
            .unwrap_or_default();
        let mut files = None;
        if stage != StageName::BeforeInstall {
            if let Some(patches) = chain.pending_patches().map_err(cfg_err)? {
                let (owners, _) = self.owners(primary, name, prev, chain.mappings()).await?;
                let items = mapping_files(chain, chain.mappings(), &owners, Some(&patches));
                labels.extend(git_labels(chain, chain.mappings(), false));
                let mtime = u64::try_from(self.repo.head().author_unix).unwrap_or(0);
                let tar = patch_files_tar(&items, mtime).map_err(|e| cfg_err(e.to_string()))?;
                files = Some(tar);
                let mut all = deletion_commands(&patches);
                all.append(&mut commands);
                commands = all;
            }
        }
        let platform = chain.platform();
        self.engine.ensure_reachable().await.map_err(docker_err)?;
        let reference = primary.stage_reference(&prev.id);
        // A registry stage is pulled; a local one is in the daemon.
        if let Some(repo) = primary.as_repo() {
            let credential = repo.credential().map_err(storage_err)?;
            self.engine
                .pull(&reference, platform, credential.as_ref())
                .await
                .map_err(docker_err)?;
        }
        let tmp = tempfile::tempdir().map_err(|e| cfg_err(format!("a tmp_dir mount: {e}")))?;
        let (mut binds, mount_labels) = self.mount_binds(name, build.stapel, tmp.path())?;
        labels.extend(mount_labels);
        // werf's stapel secrets: files in /run/secrets/<id> while the
        // commands run; the bind mount keeps them out of the commit.
        let project_dir = self.repo.work_tree().join(self.project_dir);
        let secrets =
            crate::secrets::resolve(&build.stapel.secrets, &project_dir).map_err(&cfg_err)?;
        if !secrets.is_empty() {
            let dir = tmp.path().join("secrets");
            crate::secrets::write_files(&secrets, &dir).map_err(&cfg_err)?;
            binds.push(format!("{}:/run/secrets:ro", dir.display()));
        }
        let mut env: Vec<String> = self
            .commit_env()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if let Some((bind, var)) =
            crate::ssh_agent::forward(std::env::var_os("SSH_AUTH_SOCK").as_deref())
        {
            binds.push(bind);
            env.push(var);
        }
        let run = ShellRun {
            image: &reference,
            commands: &commands,
            env,
            labels: labels.into_iter().collect(),
            binds,
            platform,
            files,
            read_back: &[PASSWD, GROUP],
        };
        // The stage records its users for the names of later stages.
        let stamp =
            |files: &davit_engine::container::ReadBack| UserFiles::read_back(files).label(digest);
        let image_id = self
            .engine
            .run_shell_stage(
                &run,
                |line| {
                    (on_event.borrow_mut())(Event::Line { image: name, line });
                },
                stamp,
            )
            .await
            .map_err(|e| match e {
                RunError::Docker(source) => docker_err(source),
                other => cfg_err(format!("stage {stage}: {other}")),
            })?;
        primary
            .publish_checked(
                self.engine,
                &image_id,
                self.project,
                digest,
                chain.parent_ts(),
                passed_over,
            )
            .await
            .map_err(storage_err)
    }

    /// The bind mounts of a shell stage (`mount:`) and werf's labels for
    /// them: `tmp_dir` a fresh directory per stage, `build_dir` one
    /// directory per project and mount point kept on this host between
    /// builds, `fromPath` the path (relative to the project). The mount
    /// points stay empty in the image: a commit does not take what a bind
    /// mount shows.
    fn mount_binds(
        &self,
        name: &str,
        s: &StapelImage,
        tmp: &std::path::Path,
    ) -> Result<(Vec<String>, BTreeMap<String, String>), BuildError> {
        let io_err = |what: &str, e: std::io::Error| BuildError::Config {
            image: name.to_string(),
            message: format!("mount {what}: {e}"),
        };
        let mut binds = Vec::new();
        let mut points: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, m) in s.mount.iter().enumerate() {
            let to = davit_pathmatch::clean(m.to.as_ref().map_or("", |t| t.0.as_str()));
            let from = m.from.as_ref().map_or("", |t| t.0.as_str());
            let (host, label) = match (from, m.from_path.as_ref()) {
                ("tmp_dir", _) => (
                    tmp.join(i.to_string()),
                    "werf-mount-type-tmp-dir".to_string(),
                ),
                ("build_dir", _) => {
                    let slug = to.trim_start_matches('/').replace('/', "-");
                    let dir = self
                        .local_cache
                        .join("build_dir")
                        .join(self.project)
                        .join(slug);
                    (dir, "werf-mount-type-build-dir".to_string())
                }
                (_, Some(path)) => {
                    let dir = self.repo.work_tree().join(self.project_dir).join(&path.0);
                    let label = format!("werf-mount-type-custom-dir-{}", path.0.replace('/', "--"));
                    (dir, label)
                }
                _ => continue,
            };
            std::fs::create_dir_all(&host).map_err(|e| io_err(&to, e))?;
            binds.push(format!("{}:{to}", host.display()));
            points.entry(label).or_default().push(to);
        }
        let labels = points.into_iter().map(|(k, v)| (k, v.join(";"))).collect();
        Ok((binds, labels))
    }

    /// The service variables werf gives every stapel stage (not part of
    /// any digest).
    pub(super) fn commit_env(&self) -> [(&'static str, String); 3] {
        let head = self.repo.head();
        [
            ("WERF_COMMIT_HASH", self.commit.to_string()),
            (
                "WERF_COMMIT_TIME_HUMAN",
                human_time(head.author_unix, head.author_offset),
            ),
            ("WERF_COMMIT_TIME_UNIX", head.author_unix.to_string()),
        ]
    }
}

/// Go's `time.Time.String()` of the commit time: `2006-01-02 15:04:05
/// -0700 -0700` (Go prints the offset twice when the zone has no name).
fn human_time(unix: i64, offset: i32) -> String {
    use davit_gotmpl::funcs::date::{GoTime, GO_STRING_LAYOUT};
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    let zone = if offset == 0 {
        "UTC".to_string()
    } else {
        format!("{sign}{:02}{:02}", off / 3600, off % 3600 / 60)
    };
    GoTime {
        unix,
        nanos: 0,
        offset,
        zone,
    }
    .format(GO_STRING_LAYOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_times_print_as_go_prints_them() {
        assert_eq!(human_time(0, 0), "1970-01-01 00:00:00 +0000 UTC");
        // 2024-01-02T15:04:05+03:00
        assert_eq!(
            human_time(1_704_197_045, 3 * 3600),
            "2024-01-02 15:04:05 +0300 +0300"
        );
        assert_eq!(human_time(951_782_400, 0), "2000-02-29 00:00:00 +0000 UTC");
    }
}
