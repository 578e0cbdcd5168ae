//! `werf-giterminism.yaml`: what may come from outside the commit.

use crate::glob::Doublestar;
use davit_goyaml::{load_all, Node, Yaml};

use crate::error::Diagnostic;

/// A werf path glob with werf's prefix rule: `dir` also matches `dir/a/b`.
#[derive(Debug, Clone)]
pub struct PathGlob {
    pub pattern: String,
    forms: Vec<Doublestar>,
}

impl PathGlob {
    pub fn new(pattern: &str) -> Result<PathGlob, String> {
        let trimmed = pattern.trim_end_matches(['*', '/']).trim_end_matches("/**");
        let mut forms = vec![Doublestar::new(pattern)?];
        if !trimmed.is_empty() && trimmed != pattern {
            forms.push(Doublestar::new(trimmed)?);
        }
        if !trimmed.is_empty() {
            forms.push(Doublestar::new(&format!("{trimmed}/**/*"))?);
        }
        Ok(PathGlob {
            pattern: pattern.to_string(),
            forms,
        })
    }

    pub fn matches(&self, path: &str) -> bool {
        self.forms.iter().any(|f| f.is_match(path))
    }
}

/// `~` and `~/x` with `$HOME`, as werf expands secret file paths and
/// their `allowFiles` globs.
pub fn expand_home(path: &str) -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    if path == "~" {
        home
    } else if let Some(rest) = path.strip_prefix("~/") {
        format!("{}/{rest}", home.trim_end_matches('/'))
    } else {
        path.to_string()
    }
}

/// An allowed environment variable: an exact name or an anchored `/REGEX/`.
#[derive(Debug, Clone)]
pub enum EnvRule {
    Name(String),
    Regex(regex::Regex),
}

impl EnvRule {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            EnvRule::Name(n) => n == name,
            EnvRule::Regex(r) => r.is_match(name),
        }
    }
}

/// `werf-giterminism.yaml`, the whole schema.
#[derive(Debug, Clone, Default)]
pub struct Giterminism {
    /// Whether a giterminism file was found at all.
    pub present: bool,
    /// `cli.allowCustomTags`
    pub allow_custom_tags: bool,
    /// `config.allowUncommitted`
    pub allow_uncommitted_config: bool,
    /// `config.allowUncommittedTemplates`
    pub allow_uncommitted_templates: Vec<PathGlob>,
    /// `config.goTemplateRendering.allowEnvVariables`
    pub allow_env: Vec<EnvRule>,
    /// `config.goTemplateRendering.allowUncommittedFiles`
    pub allow_uncommitted_files: Vec<PathGlob>,
    /// `config.secrets.allowEnvVariables` (exact names)
    pub allow_secret_env: Vec<String>,
    /// `config.secrets.allowFiles` (globs on absolute paths)
    pub allow_secret_files: Vec<PathGlob>,
    /// `config.secrets.allowValueIds`
    pub allow_secret_value_ids: Vec<String>,
    /// `config.stapel.allowFromLatest`
    pub allow_from_latest: bool,
    /// `config.stapel.git.allowBranch`
    pub allow_git_branch: bool,
    /// `config.stapel.mount.allowBuildDir`
    pub allow_mount_build_dir: bool,
    /// `config.stapel.mount.allowFromPaths`
    pub allow_mount_from_paths: Vec<PathGlob>,
    /// `config.dockerfile.allowUncommitted`
    pub allow_uncommitted_dockerfiles: Vec<PathGlob>,
    /// `config.dockerfile.allowUncommittedDockerignoreFiles`
    pub allow_uncommitted_dockerignore: Vec<PathGlob>,
    /// `config.dockerfile.allowContextAddFiles`
    pub allow_context_add_files: Vec<PathGlob>,
    /// `helm.allowUncommittedFiles`
    pub allow_uncommitted_helm_files: Vec<PathGlob>,
    /// `includes.allowIncludesUpdate`
    pub allow_includes_update: bool,
}

fn get<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    match &n.value {
        Yaml::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| matches!(&k.value, Yaml::Str(s) if s == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn strings(n: Option<&Node>) -> Vec<(String, usize)> {
    match n.map(|n| &n.value) {
        Some(Yaml::Seq(items)) => items
            .iter()
            .filter_map(|i| match &i.value {
                Yaml::Str(s) => Some((s.clone(), i.line)),
                _ => i.source.clone().map(|s| (s, i.line)),
            })
            .collect(),
        Some(Yaml::Str(s)) => vec![(s.clone(), n.map(|n| n.line).unwrap_or(0))],
        _ => Vec::new(),
    }
}

impl Giterminism {
    /// Parses the file. Unknown keys are ignored, as werf does.
    pub fn parse(file: &str, text: &str) -> Result<Giterminism, Box<Diagnostic>> {
        Self::parse_inner(file, text).map_err(Box::new)
    }

    // Private helper: builds the diagnostic unboxed; `parse` boxes it.
    #[allow(clippy::result_large_err)]
    fn parse_inner(file: &str, text: &str) -> Result<Giterminism, Diagnostic> {
        let docs = load_all(text).map_err(|e| {
            let e = e.at_unclosed_flow(text);
            Diagnostic::new(file, format!("invalid YAML: {}", e.message)).at(e.line, e.col)
        })?;
        let Some(root) = docs.into_iter().next() else {
            return Err(Diagnostic::new(
                file,
                "the giterminism config validation failed: giterminismConfigVersion is required",
            )
            .hint("start the file with `giterminismConfigVersion: 1`"));
        };
        match get(&root, "giterminismConfigVersion").map(|v| (&v.value, v.source.as_deref())) {
            Some((Yaml::Int(1), _)) | Some((Yaml::Str(_), Some("1"))) => {}
            Some((Yaml::Str(s), _)) if s == "1" => {}
            _ => {
                return Err(Diagnostic::new(
                    file,
                    "the giterminism config validation failed: giterminismConfigVersion must be 1",
                )
                .at(root.line, 1)
                .key("giterminismConfigVersion")
                .hint("set `giterminismConfigVersion: 1`"))
            }
        }
        let mut g = Giterminism {
            present: true,
            ..Giterminism::default()
        };
        let flag = |n: Option<&Node>, key: &str| -> Result<bool, Diagnostic> {
            match n.and_then(|n| get(n, key)).map(|v| &v.value) {
                None | Some(Yaml::Null) => Ok(false),
                Some(Yaml::Bool(b)) => Ok(*b),
                Some(_) => {
                    let line = n.and_then(|n| get(n, key)).map(|v| v.line).unwrap_or(0);
                    Err(Diagnostic::new(
                        file,
                        format!(
                            "the giterminism config validation failed: `{key}` must be a boolean"
                        ),
                    )
                    .at(line, 1)
                    .key(key))
                }
            }
        };
        let globs = |n: Option<&Node>| -> Result<Vec<PathGlob>, Diagnostic> {
            strings(n)
                .into_iter()
                .map(|(p, line)| {
                    PathGlob::new(&p).map_err(|e| Diagnostic::new(file, e).at(line, 1))
                })
                .collect()
        };
        let names =
            |n: Option<&Node>| -> Vec<String> { strings(n).into_iter().map(|(s, _)| s).collect() };
        g.allow_custom_tags = flag(get(&root, "cli"), "allowCustomTags")?;
        g.allow_uncommitted_helm_files =
            globs(get(&root, "helm").and_then(|h| get(h, "allowUncommittedFiles")))?;
        g.allow_includes_update = flag(get(&root, "includes"), "allowIncludesUpdate")?;
        let Some(config) = get(&root, "config") else {
            return Ok(g);
        };
        if let Some(sec) = get(config, "secrets") {
            g.allow_secret_env = names(get(sec, "allowEnvVariables"));
            g.allow_secret_files = strings(get(sec, "allowFiles"))
                .into_iter()
                .map(|(p, line)| {
                    PathGlob::new(&expand_home(&p))
                        .map_err(|e| Diagnostic::new(file, e).at(line, 1))
                })
                .collect::<Result<_, _>>()?;
            g.allow_secret_value_ids = names(get(sec, "allowValueIds"));
        }
        if let Some(st) = get(config, "stapel") {
            g.allow_from_latest = flag(Some(st), "allowFromLatest")?;
            g.allow_git_branch = flag(get(st, "git"), "allowBranch")?;
            g.allow_mount_build_dir = flag(get(st, "mount"), "allowBuildDir")?;
            g.allow_mount_from_paths =
                globs(get(st, "mount").and_then(|m| get(m, "allowFromPaths")))?;
        }
        if let Some(df) = get(config, "dockerfile") {
            g.allow_uncommitted_dockerfiles = globs(get(df, "allowUncommitted"))?;
            g.allow_uncommitted_dockerignore = globs(get(df, "allowUncommittedDockerignoreFiles"))?;
            g.allow_context_add_files = globs(get(df, "allowContextAddFiles"))?;
        }
        g.allow_uncommitted_config = matches!(
            get(config, "allowUncommitted").map(|v| &v.value),
            Some(Yaml::Bool(true))
        );
        let glob = |(p, line): (String, usize)| {
            PathGlob::new(&p).map_err(|e| Diagnostic::new(file, e).at(line, 1))
        };
        g.allow_uncommitted_templates = strings(get(config, "allowUncommittedTemplates"))
            .into_iter()
            .map(glob)
            .collect::<Result<_, _>>()?;
        if let Some(r) = get(config, "goTemplateRendering") {
            g.allow_uncommitted_files = strings(get(r, "allowUncommittedFiles"))
                .into_iter()
                .map(glob)
                .collect::<Result<_, _>>()?;
            for (name, line) in strings(get(r, "allowEnvVariables")) {
                let rule = match name.strip_prefix('/').and_then(|n| n.strip_suffix('/')) {
                    Some(re) => {
                        EnvRule::Regex(regex::Regex::new(&format!("^(?:{re})$")).map_err(|e| {
                            Diagnostic::new(file, format!("invalid regex {name}: {e}")).at(line, 1)
                        })?)
                    }
                    None => EnvRule::Name(name),
                };
                g.allow_env.push(rule);
            }
        }
        Ok(g)
    }

    pub fn env_allowed(&self, name: &str) -> bool {
        self.allow_env.iter().any(|r| r.matches(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_prefixes() {
        let g = PathGlob::new("conf").unwrap_or_else(|e| panic!("{e}"));
        assert!(g.matches("conf/a/b.yaml"));
        assert!(g.matches("conf"));
        let g = PathGlob::new("**/*.tmpl").unwrap_or_else(|e| panic!("{e}"));
        assert!(g.matches(".werf/a/b.tmpl"));
        assert!(!g.matches("a.yaml"));
    }

    #[test]
    fn secret_files_are_absolute_globs_with_home() {
        let g = Giterminism::parse(
            "werf-giterminism.yaml",
            "giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowFiles: [/etc/.hidden/token, ~/.secrets/*]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let allowed = |p: &str| {
            g.allow_secret_files
                .iter()
                .any(|gl| gl.matches(&expand_home(p)))
        };
        assert!(allowed("/etc/.hidden/token"));
        assert!(allowed("~/.secrets/npm"));
        assert!(!allowed("/etc/passwd"));
        assert!(!allowed("etc/.hidden/token"));
    }

    #[test]
    fn env_rules() {
        let g = Giterminism::parse(
            "werf-giterminism.yaml",
            "giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: [HOME, /CI_.+/]\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(g.env_allowed("HOME"));
        assert!(g.env_allowed("CI_COMMIT_SHA"));
        assert!(!g.env_allowed("CI_"));
        assert!(!g.env_allowed("PATH"));
    }
}
