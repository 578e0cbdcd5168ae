//! Loading a project's werf.yaml the way werf does: from the HEAD commit
//! (giterminism), from the work tree (`--dev`), or from the file system with
//! every check off (`--loose-giterminism`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use davit_git::{Repo, WorktreeState};
use davit_gotmpl::funcs::{FileSource, WerfOptions};

use crate::error::{ConfigError, Diagnostic};
use crate::giterminism::{Giterminism, PathGlob};
use crate::parse::{parse, WerfConfig};
use crate::render::{render, CommitInfo, RenderInput};

/// Where configuration files are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From the HEAD commit; uncommitted changes are errors unless
    /// `werf-giterminism.yaml` allows them.
    Giterministic,
    /// `--dev`: the work tree, tracked and untracked files not ignored by git.
    Dev,
    /// `--loose-giterminism`: the file system, no checks.
    Loose,
}

pub type EnvLookup = Rc<dyn Fn(&str) -> Option<String>>;

/// What `config render|list|graph` and later commands pass in.
#[derive(Clone)]
pub struct ProjectOptions {
    /// `--dir`: the project directory (default: the current directory).
    pub dir: PathBuf,
    /// `--git-work-tree`: where the repository is, if not found from `dir`.
    pub git_work_tree: Option<PathBuf>,
    /// `--config`: the config file, relative to the project directory.
    pub config: Option<String>,
    /// `--config-templates-dir` (default `.werf`).
    pub templates_dir: Option<String>,
    /// `--giterminism-config` (default `werf-giterminism.yaml`).
    pub giterminism_config: Option<String>,
    /// `--env`.
    pub env: String,
    pub mode: Mode,
    /// `--dev-ignore` globs: in dev mode these paths come from HEAD.
    pub dev_ignore: Vec<String>,
    /// The process environment (injectable for tests).
    pub environ: EnvLookup,
    pub debug_templates: bool,
}

impl ProjectOptions {
    pub fn new(dir: impl Into<PathBuf>) -> ProjectOptions {
        ProjectOptions {
            dir: dir.into(),
            git_work_tree: None,
            config: None,
            templates_dir: None,
            giterminism_config: None,
            env: String::new(),
            mode: Mode::Giterministic,
            dev_ignore: Vec::new(),
            environ: Rc::new(|k| std::env::var(k).ok()),
            debug_templates: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error(transparent)]
    Git(#[from] davit_git::GitError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{file}: {message}{hint}")]
    Template {
        file: String,
        message: String,
        hint: String,
    },
    #[error("project directory {dir} is outside the git work tree {work_tree}")]
    OutsideWorkTree { dir: PathBuf, work_tree: PathBuf },
    #[error("{config}: never committed: the git repository at {work_tree} has no commit yet, and davit reads {config} from the commit\n  hint: commit the project first (git add {config} && git commit -m init)")]
    NeverCommitted { config: String, work_tree: PathBuf },
}

/// A rendered, not yet validated, project config.
pub struct RenderedProject {
    /// The config file, project-relative (`werf.yaml`).
    pub config_file: String,
    pub rendered: String,
    /// HEAD's commit hash.
    pub commit_hash: String,
    /// Rendered line -> template line.
    pub source_map: davit_gotmpl::SourceMap,
    pub giterminism: Giterminism,
    pub mode: Mode,
}

impl RenderedProject {
    /// Splits, checks and types the rendered text.
    pub fn parse(self) -> Result<LoadedProject, ProjectError> {
        let result = parse(&self.config_file, &self.rendered).and_then(|config| {
            if self.mode != Mode::Loose {
                crate::inspect::inspect(&self.config_file, &config, &self.giterminism)?;
            }
            Ok(config)
        });
        let config = result.map_err(|mut e| {
            for d in &mut e.diagnostics {
                d.origin = self.origin_of(d.line);
            }
            e
        })?;
        Ok(LoadedProject {
            config_file: self.config_file,
            commit_hash: self.commit_hash,
            rendered: self.rendered,
            config,
            giterminism: self.giterminism,
        })
    }
}

impl RenderedProject {
    /// `templates/x.tmpl:12` when a rendered line came from elsewhere than
    /// the same line of the config file.
    fn origin_of(&self, line: usize) -> Option<String> {
        if line == 0 {
            return None;
        }
        let (template, src_line) = self.source_map.locate(&self.rendered, line)?;
        if template == "werfConfig" {
            return (src_line != line).then(|| format!("{}:{src_line}", self.config_file));
        }
        Some(format!("{template}:{src_line}"))
    }
}

/// A loaded and validated project config.
pub struct LoadedProject {
    /// The config file, project-relative (`werf.yaml`).
    pub config_file: String,
    /// HEAD's commit hash.
    pub commit_hash: String,
    pub rendered: String,
    pub config: WerfConfig,
    pub giterminism: Giterminism,
}

const GITERMINISM_FOOTER: &str =
    "davit reads configuration from the git commit so that builds are reproducible";

/// Reads project files according to the mode and the giterminism config.
struct ProjectFiles {
    repo: Repo,
    /// The project directory inside the repository, `""` or `sub/dir/`.
    prefix: String,
    mode: Mode,
    dev_ignore: Vec<PathGlob>,
    /// Files read so far that must be committed (reported together).
    violations: RefCell<BTreeMap<String, String>>,
    /// `list()` computed once per load.
    listing: RefCell<Option<Vec<String>>>,
}

#[derive(Clone, Copy)]
enum Allow<'a> {
    None,
    All,
    Globs(&'a [PathGlob]),
}

impl ProjectFiles {
    fn repo_path(&self, project_path: &str) -> String {
        let clean = clean_path(project_path);
        format!("{}{}", self.prefix, clean)
    }

    fn disk(&self, project_path: &str) -> PathBuf {
        self.repo.work_tree().join(self.repo_path(project_path))
    }

    fn ignored_in_dev(&self, project_path: &str) -> bool {
        self.dev_ignore.iter().any(|g| g.matches(project_path))
    }

    /// Reads a project file; `Ok(None)` when it does not exist in the view
    /// of the current mode.
    fn read(&self, project_path: &str, allow: Allow<'_>) -> Result<Option<String>, String> {
        let path = clean_path(project_path);
        let repo_path = self.repo_path(&path);
        let from_disk = || -> Result<Option<String>, String> {
            match std::fs::read(self.disk(&path)) {
                Ok(b) => Ok(Some(String::from_utf8_lossy(&b).into_owned())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("reading {path}: {e}")),
            }
        };
        let from_head = || -> Result<Option<String>, String> {
            self.repo
                .read(&repo_path)
                .map(|o| o.map(|b| String::from_utf8_lossy(&b).into_owned()))
                .map_err(|e| e.to_string())
        };
        match self.mode {
            Mode::Loose => from_disk(),
            Mode::Dev if !self.ignored_in_dev(&path) => from_disk(),
            Mode::Dev => from_head(),
            Mode::Giterministic => {
                let state = self.repo.worktree_state(&repo_path);
                let allowed = match allow {
                    Allow::All => true,
                    Allow::None => false,
                    Allow::Globs(g) => g.iter().any(|g| g.matches(&path)),
                };
                match state {
                    WorktreeState::Unchanged | WorktreeState::Absent => from_head(),
                    _ if allowed => from_disk(),
                    WorktreeState::Untracked => {
                        self.violations
                            .borrow_mut()
                            .insert(path.clone(), "untracked".into());
                        Err(format!("the untracked file {path:?} must be committed"))
                    }
                    WorktreeState::Modified | WorktreeState::Deleted => {
                        self.violations
                            .borrow_mut()
                            .insert(path.clone(), "modified".into());
                        Err(format!("the file {path:?} must be committed"))
                    }
                }
            }
        }
    }

    /// Project-relative paths of the committed files and of the work-tree
    /// files git does not ignore. In giterministic mode reading an untracked
    /// one is an error unless allowed, as in werf.
    fn list(&self) -> Vec<String> {
        if let Some(cached) = self.listing.borrow().as_ref() {
            return cached.clone();
        }
        let mut out: Vec<String> = self
            .repo
            .files()
            .filter_map(|p| p.strip_prefix(self.prefix.as_str()).map(str::to_string))
            .collect();
        out.extend(self.repo.worktree_files(&self.prefix));
        out.sort();
        out.dedup();
        *self.listing.borrow_mut() = Some(out.clone());
        out
    }
}

fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

/// `.Files` for the template engine.
struct FilesView {
    files: Rc<ProjectFiles>,
    allow: Vec<PathGlob>,
}

impl FileSource for FilesView {
    fn get(&self, path: &str) -> Result<String, String> {
        match self.files.read(path, Allow::Globs(&self.allow))? {
            Some(c) => Ok(c),
            None => Err(format!(
                "the file {:?} not found in the project git repository",
                clean_path(path)
            )),
        }
    }
    fn glob(&self, pattern: &str) -> Result<Vec<(String, String)>, String> {
        let exact = crate::glob::Doublestar::new(pattern)?;
        let mut out = Vec::new();
        for p in self.files.list() {
            if exact.is_match(&p) {
                if let Some(c) = self.files.read(&p, Allow::Globs(&self.allow))? {
                    out.push((p, c));
                }
            }
        }
        Ok(out)
    }
    fn exists(&self, path: &str) -> bool {
        matches!(
            self.files.read(path, Allow::Globs(&self.allow)),
            Ok(Some(_))
        ) || self.is_dir(path)
    }
    fn is_dir(&self, path: &str) -> bool {
        let p = clean_path(path);
        match self.files.mode {
            Mode::Giterministic => self.files.repo.is_dir(&self.files.repo_path(&p)),
            _ => self.files.disk(&p).is_dir(),
        }
    }
}

/// Loads, renders, parses and validates the project's werf.yaml.
pub fn load(opts: &ProjectOptions) -> Result<LoadedProject, ProjectError> {
    render_project(opts)?.parse()
}

/// Reads and renders the project's werf.yaml without validating it.
pub fn render_project(opts: &ProjectOptions) -> Result<RenderedProject, ProjectError> {
    let dir = std::fs::canonicalize(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    let repo_dir = opts.git_work_tree.clone().unwrap_or_else(|| dir.clone());
    let repo = Repo::discover(&repo_dir).map_err(|e| match e {
        davit_git::GitError::NoCommit(work_tree) => ProjectError::NeverCommitted {
            config: opts.config.clone().unwrap_or_else(|| "werf.yaml".into()),
            work_tree,
        },
        e => ProjectError::Git(e),
    })?;
    let work_tree =
        std::fs::canonicalize(repo.work_tree()).unwrap_or_else(|_| repo.work_tree().to_path_buf());
    let prefix = match dir.strip_prefix(&work_tree) {
        Ok(rel) if rel.as_os_str().is_empty() => String::new(),
        Ok(rel) => format!("{}/", rel.to_string_lossy().replace('\\', "/")),
        Err(_) => return Err(ProjectError::OutsideWorkTree { dir, work_tree }),
    };
    let head = repo.head().clone();
    let dev_ignore = opts
        .dev_ignore
        .iter()
        .filter_map(|g| PathGlob::new(g).ok())
        .collect();
    let files = Rc::new(ProjectFiles {
        repo,
        prefix,
        mode: opts.mode,
        dev_ignore,
        violations: RefCell::new(BTreeMap::new()),
        listing: RefCell::new(None),
    });

    // The giterminism file always comes from the commit.
    let gfile = opts
        .giterminism_config
        .clone()
        .unwrap_or_else(|| "werf-giterminism.yaml".into());
    let g_repo_path = files.repo_path(&gfile);
    let giterminism = match files.repo.read(&g_repo_path)? {
        Some(bytes) => {
            if opts.mode == Mode::Giterministic
                && files.repo.worktree_state(&g_repo_path) != WorktreeState::Unchanged
            {
                return Err(ConfigError::one(
                    Diagnostic::new(&gfile, "the file must be committed: davit reads the giterminism config from the commit")
                        .hint(format!("commit it: git add {gfile} && git commit")),
                )
                .into());
            }
            Giterminism::parse(&gfile, &String::from_utf8_lossy(&bytes))
                .map_err(|d| ConfigError::one(*d))?
        }
        None => Giterminism::default(),
    };

    // The config file: --config, else werf.yaml, else werf.yml.
    let candidates: Vec<String> = match &opts.config {
        Some(c) => vec![c.clone()],
        None => vec!["werf.yaml".into(), "werf.yml".into()],
    };
    let config_allow = if giterminism.allow_uncommitted_config {
        Allow::All
    } else {
        Allow::None
    };
    let mut found: Option<(String, String)> = None;
    for c in &candidates {
        match files.read(c, config_allow) {
            Ok(Some(text)) => {
                found = Some((c.clone(), text));
                break;
            }
            Ok(None) => continue,
            Err(msg) => return Err(uncommitted_error(c, &msg, "config.allowUncommitted: true")),
        }
    }
    let Some((config_file, config_text)) = found else {
        let name = candidates.first().cloned().unwrap_or_default();
        let on_disk = candidates.iter().any(|c| files.disk(c).exists());
        let hint = if on_disk && opts.mode == Mode::Giterministic {
            format!("the file exists in the work tree but not in the commit: commit it (git add {name} && git commit), or use --dev")
        } else {
            "create werf.yaml in the project directory, or point --config / --dir at it".into()
        };
        return Err(ConfigError::one(
            Diagnostic::new(&name, "the file not found in the project git repository").hint(hint),
        )
        .into());
    };

    // Templates: <templates dir>/**/*.tmpl, named relative to that dir.
    let tdir = clean_path(opts.templates_dir.as_deref().unwrap_or(".werf"));
    let mut templates = Vec::new();
    for p in files.list() {
        let Some(rel) = p.strip_prefix(&format!("{tdir}/")) else {
            continue;
        };
        if !rel.ends_with(".tmpl") {
            continue;
        }
        match files.read(&p, Allow::Globs(&giterminism.allow_uncommitted_templates)) {
            Ok(Some(text)) => templates.push((rel.to_string(), text)),
            Ok(None) => {}
            Err(msg) => {
                return Err(uncommitted_error(
                    &p,
                    &msg,
                    "config.allowUncommittedTemplates",
                ))
            }
        }
    }

    // env: giterminism decides which variables templates may read.
    let environ = opts.environ.clone();
    let g_env = giterminism.clone();
    let mode = opts.mode;
    let werf = WerfOptions {
        env: Rc::new(move |name| {
            if mode != Mode::Loose && !g_env.env_allowed(name) {
                return Err(format!(
                    "env name {name:?} not allowed by giterminism; add it to config.goTemplateRendering.allowEnvVariables in werf-giterminism.yaml (or use --loose-giterminism)"
                ));
            }
            Ok(environ(name))
        }),
        strict_env: mode != Mode::Loose,
        debug_templates: opts.debug_templates,
    };
    let view = FilesView {
        files: files.clone(),
        allow: giterminism.allow_uncommitted_files.clone(),
    };
    let (rendered, source_map) = render(RenderInput {
        config_name: config_file.clone(),
        config_text,
        templates,
        env_name: opts.env.clone(),
        commit: CommitInfo {
            hash: head.hash.clone(),
            unix: head.author_unix,
            offset_secs: head.author_offset,
        },
        files: Rc::new(view),
        werf,
    })
    .map_err(|e| {
        let violations = files.violations.borrow();
        let hint = if let Some(hint) = v11_template_hint(&e.message, &tdir) {
            hint
        } else if violations.is_empty() {
            "\n  hint: run with --debug-templates for details; `davit config render` shows the rendered text".to_string()
        } else {
            format!(
                "\n  hint: commit the files ({}), allow them under config.goTemplateRendering.allowUncommittedFiles in werf-giterminism.yaml, or use --dev ({GITERMINISM_FOOTER})",
                violations.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        };
        ProjectError::Template {
            file: config_file.clone(),
            message: e.message,
            hint,
        }
    })?;
    Ok(RenderedProject {
        config_file,
        rendered,
        commit_hash: head.hash.clone(),
        source_map,
        giterminism,
        mode: opts.mode,
    })
}

/// werf v1.1 named templates by their path from the project directory
/// (`include ".werf/templates/x.tmpl"`); v1.2 and davit name them from the
/// templates directory (`templates/x.tmpl`).
fn v11_template_hint(message: &str, templates_dir: &str) -> Option<String> {
    let prefix = format!("no template \"{}/", templates_dir.trim_end_matches('/'));
    let start = message.find(&prefix)? + prefix.len();
    let name = message[start..].split('"').next()?;
    Some(format!(
        "\n  hint: werf v1.1 named templates by their path from the project directory; werf v1.2 and davit name them from {templates_dir}/: use include \"{name}\""
    ))
}

fn uncommitted_error(file: &str, msg: &str, allow_key: &str) -> ProjectError {
    ConfigError::one(Diagnostic::new(file, msg.to_string()).hint(format!(
        "commit it (git add {file} && git commit), allow it with `{allow_key}` in werf-giterminism.yaml, or use --dev ({GITERMINISM_FOOTER})"
    )))
    .into()
}

/// The project directory for `--dir` relative paths.
pub fn resolve_dir(dir: Option<&Path>) -> PathBuf {
    match dir {
        Some(d) => d.to_path_buf(),
        None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
    }
}
