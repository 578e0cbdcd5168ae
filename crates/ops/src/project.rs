//! A werf project opened once for every command that builds, renders,
//! deploys or cleans: the loaded config, the repository as the command must
//! read it (HEAD, or the `--dev` work-tree snapshot) and the project name.

use std::path::Path;

use davit_config::giterminism::PathGlob;
use davit_config::project::{self, LoadedProject, Mode, ProjectOptions};
use davit_git::Repo;

use crate::OpsError;

pub struct Project {
    /// How the project was opened (directory, mode, `--env`, …).
    pub options: ProjectOptions,
    /// werf.yaml rendered and parsed, with werf-giterminism.yaml.
    pub loaded: LoadedProject,
    /// `project` from the meta document; never empty.
    pub name: String,
    /// The repository; in `--dev` mode the work-tree snapshot (minus
    /// `--dev-ignore`) that stands in for HEAD in everything read.
    pub repo: Repo,
    /// The project directory inside the repository (`""` at the root).
    pub dir_in_repo: String,
}

impl Project {
    /// Loads werf.yaml as `options` say and opens the repository the same
    /// way. A config without a `project` name is refused: stages are named
    /// after it.
    pub fn open(options: ProjectOptions) -> Result<Project, OpsError> {
        let loaded = project::load(&options)?;
        let name = loaded
            .config
            .meta
            .project
            .as_ref()
            .map(|p| p.0.clone())
            .unwrap_or_default();
        let dir = std::fs::canonicalize(&options.dir).unwrap_or_else(|_| options.dir.clone());
        let repo = Repo::discover(options.git_work_tree.as_deref().unwrap_or(&dir))?;
        let work_tree = std::fs::canonicalize(repo.work_tree())
            .unwrap_or_else(|_| repo.work_tree().to_path_buf());
        let dir_in_repo = dir
            .strip_prefix(&work_tree)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let repo = if options.mode == Mode::Dev {
            dev_snapshot(repo, &dir_in_repo, &options.dev_ignore)
        } else {
            repo
        };
        if name.is_empty() {
            return Err(OpsError::Usage(format!(
                "{}: `project` is empty; davit names stages after the project",
                loaded.config_file
            )));
        }
        Ok(Project {
            options,
            loaded,
            name,
            repo,
            dir_in_repo,
        })
    }

    /// Values of the build secrets werf.yaml names (`value:` literals,
    /// `env:` variables, small `src:` files), for CI log masking.
    pub fn secret_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        for img in &self.loaded.config.images {
            let Some(df) = &img.dockerfile else { continue };
            for s in &df.secrets {
                let text = |t: &Option<davit_config::model::Text>| {
                    t.as_ref().map(|t| t.0.clone()).filter(|v| !v.is_empty())
                };
                if let Some(v) = text(&s.value) {
                    out.push(v);
                }
                if let Some(v) = text(&s.env).and_then(|name| std::env::var(name).ok()) {
                    out.push(v);
                }
                if let Some(path) = text(&s.src) {
                    let path = self.options.dir.join(path);
                    let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= 4096);
                    if let Some(v) = small.then(|| std::fs::read_to_string(&path).ok()).flatten() {
                        out.push(v);
                    }
                }
            }
        }
        out
    }

    /// The project directory on disk.
    pub fn dir(&self) -> &Path {
        &self.options.dir
    }
}

/// `--dev`: the work tree (minus `--dev-ignore`, project-relative globs)
/// stands in for HEAD in everything the build reads.
fn dev_snapshot(repo: Repo, dir_in_repo: &str, dev_ignore: &[String]) -> Repo {
    let ignore: Vec<PathGlob> = dev_ignore
        .iter()
        .filter_map(|g| PathGlob::new(g).ok())
        .collect();
    let prefix = if dir_in_repo.is_empty() {
        String::new()
    } else {
        format!("{dir_in_repo}/")
    };
    repo.into_dev_snapshot(&|path: &str| {
        path.strip_prefix(&prefix)
            .is_some_and(|p| ignore.iter().any(|g| g.matches(p)))
    })
}
