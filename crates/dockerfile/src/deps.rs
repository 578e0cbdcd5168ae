//! The `dockerfile` stage digest: every stage's base image, ARG and ENV
//! values, instructions after expansion, and checksums of COPY/ADD sources,
//! for the target stage and the stages it builds on.

use std::collections::{BTreeMap, HashMap};

use super::parse::{json_or_words, parse, words, Instruction, ParseError};
use super::shell::Lexer;
use davit_digest::hash::{h256, h3};

/// Marks davit's own digest entries for here-document bodies (not werf's).
pub const HEREDOC_MARK: &str = "davit:heredoc";

/// What the digest depends on besides the Dockerfile text.
pub struct DigestInput<'a> {
    pub dockerfile: &'a str,
    /// `args:` of the image (values already strings).
    pub args: &'a BTreeMap<String, String>,
    /// Build args from `dependencies[].imports[].targetBuildArg`; they win over `args`.
    pub dependency_args: &'a BTreeMap<String, String>,
    /// `target:`; the last stage when `None`.
    pub target: Option<&'a str>,
    /// The image's `cacheVersion` (or `build.cacheVersion`).
    pub cache_version: Option<&'a str>,
    pub add_host: &'a [String],
    /// Target platform, `linux/amd64` by default.
    pub platform: &'a str,
    /// Checksum of COPY/ADD sources (normalised, context-relative).
    pub files_checksum: &'a dyn Fn(&[String]) -> Result<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileDigest {
    /// The dependency list of the target stage.
    pub deps: Vec<String>,
    pub stage_deps: String,
    pub digest: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error("Dockerfile:{line}: {message}")]
    Expand { line: usize, message: String },
    #[error("{0} is not a valid target build stage")]
    UnknownTarget(String),
    #[error("the Dockerfile has no FROM instruction")]
    NoStages,
    #[error("Dockerfile:{line}: the base image of this stage is empty")]
    EmptyBase { line: usize },
}

struct Stage {
    base: String,
    name: Option<String>,
    line: usize,
    commands: Vec<Instruction>,
}

/// Ordered variables: a later `set` of a key replaces its value in place.
#[derive(Default)]
struct Vars(Vec<(String, String)>);

impl Vars {
    fn set(&mut self, k: String, v: String) {
        match self.0.iter_mut().find(|(key, _)| *key == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k, v)),
        }
    }
}

/// werf's normalisation of a COPY/ADD source: `path.Clean`, `/` as `.`,
/// leading `/` removed.
pub fn normalize_source(src: &str) -> String {
    let c = davit_gotmpl::funcs::paths::clean(src);
    if c == "/" {
        ".".to_string()
    } else {
        c.trim_start_matches('/').to_string()
    }
}

fn platform_args(platform: &str) -> HashMap<String, String> {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or("linux").to_string();
    let arch = parts.next().unwrap_or("amd64").to_string();
    let variant = parts.next().unwrap_or("").to_string();
    let mut m = HashMap::new();
    m.insert("TARGETPLATFORM".into(), platform.to_string());
    m.insert("TARGETOS".into(), os);
    m.insert("TARGETARCH".into(), arch);
    m.insert("TARGETVARIANT".into(), variant);
    // The build host: davit builds on linux/amd64 machines.
    m.insert("BUILDPLATFORM".into(), "linux/amd64".into());
    m.insert("BUILDOS".into(), "linux".into());
    m.insert("BUILDARCH".into(), "amd64".into());
    m.insert("BUILDVARIANT".into(), String::new());
    m
}

/// `KEY[=VALUE]` words of an ARG (value `None` when there is no `=`).
fn arg_pairs(ins: &Instruction, escape: char) -> Vec<(String, Option<String>)> {
    words(&ins.args, escape)
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (w, None),
        })
        .collect()
}

/// ENV in both syntaxes: `ENV k v` and `ENV k=v …`.
fn env_pairs(ins: &Instruction, escape: char) -> Vec<(String, String)> {
    let ws = words(&ins.args, escape);
    match ws.first() {
        None => Vec::new(),
        Some(first) if !first.contains('=') => match ins.args.split_once(char::is_whitespace) {
            Some((k, v)) => vec![(k.to_string(), v.trim_start().to_string())],
            None => vec![(ins.args.clone(), String::new())],
        },
        Some(_) => ws
            .into_iter()
            .map(|w| match w.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (w, String::new()),
            })
            .collect(),
    }
}

pub fn dockerfile_digest(input: &DigestInput<'_>) -> Result<DockerfileDigest, DigestError> {
    let (instructions, escape) = parse(input.dockerfile)?;
    let lex = Lexer::new('\\');
    let _ = escape;
    let exp = |line: usize, r: Result<String, String>| {
        r.map_err(|message| DigestError::Expand { line, message })
    };

    // Meta ARGs before the first FROM, then the stages.
    let mut meta_vars = Vars::default();
    let mut stages: Vec<Stage> = Vec::new();
    for ins in instructions {
        if ins.keyword == "from" {
            let ws: Vec<String> = ins.args.split_whitespace().map(str::to_string).collect();
            let base = ws.first().cloned().unwrap_or_default();
            let name = (ws.len() >= 3 && ws[1].eq_ignore_ascii_case("as"))
                .then(|| ws[2].to_ascii_lowercase());
            stages.push(Stage {
                base,
                name,
                line: ins.line,
                commands: Vec::new(),
            });
            continue;
        }
        match stages.last_mut() {
            Some(s) => s.commands.push(ins),
            None if ins.keyword == "arg" => {
                for (k, v) in arg_pairs(&ins, escape) {
                    let key = exp(ins.line, lex.process_word(&k, &meta_vars.0))?;
                    let value = match input.dependency_args.get(&key).or(input.args.get(&key)) {
                        Some(v) => v.clone(),
                        None => match v {
                            Some(v) => exp(ins.line, lex.process_word(&v, &meta_vars.0))?,
                            None => String::new(),
                        },
                    };
                    meta_vars.set(key, value);
                }
            }
            None => {}
        }
    }
    if stages.is_empty() {
        return Err(DigestError::NoStages);
    }
    let mut meta = platform_args(input.platform);
    for (k, v) in &meta_vars.0 {
        meta.insert(k.clone(), v.clone());
    }

    let mut deps: Vec<Vec<String>> = Vec::with_capacity(stages.len());
    // ONBUILD triggers of each stage: they run in stages built FROM it.
    let mut onbuild: Vec<Vec<String>> = vec![Vec::new(); stages.len()];
    for st in &stages {
        let mut d: Vec<String> = input.add_host.to_vec();
        let base = exp(st.line, lex.process_with_map(&st.base, &meta))?;
        if base.is_empty() {
            return Err(DigestError::EmptyBase { line: st.line });
        }
        d.push(base);
        let mut args = Vars::default();
        let mut env = Vars::default();
        for ins in &st.commands {
            // The stage ARG wins over an ENV of the same name (spec §4.6).
            let vars: Vec<(String, String)> = env.0.iter().chain(args.0.iter()).cloned().collect();
            let pw = |s: &str| exp(ins.line, lex.process_word(s, &vars));
            match ins.keyword.as_str() {
                "arg" => {
                    for (k, v) in arg_pairs(ins, escape) {
                        let vars: Vec<(String, String)> =
                            env.0.iter().chain(args.0.iter()).cloned().collect();
                        let key = exp(ins.line, lex.process_word(&k, &vars))?;
                        let value = match input.dependency_args.get(&key).or(input.args.get(&key)) {
                            Some(v) => v.clone(),
                            None => match v.as_deref() {
                                None | Some("") => meta.get(&key).cloned().unwrap_or_default(),
                                Some(v) => exp(ins.line, lex.process_word(v, &vars))?,
                            },
                        };
                        d.push(format!("ARG {key}={value}"));
                        args.set(key, value);
                    }
                }
                "env" => {
                    for (k, v) in env_pairs(ins, escape) {
                        let vars: Vec<(String, String)> =
                            env.0.iter().chain(args.0.iter()).cloned().collect();
                        let key = exp(ins.line, lex.process_word(&k, &vars))?;
                        let value = exp(ins.line, lex.process_word(&v, &vars))?;
                        d.push(format!("ENV {key}={value}"));
                        env.set(key, value);
                    }
                }
                "add" | "copy" => {
                    d.push(ins.original.clone());
                    if ins.keyword == "add" || ins.flag("from").is_none() {
                        let mut paths = json_or_words(&ins.args);
                        paths.pop();
                        // A here-document is inline content, not a context path.
                        paths.retain(|p| !p.starts_with("<<"));
                        let srcs: Vec<String> = paths
                            .iter()
                            .map(|p| pw(p).map(|s| normalize_source(&s)))
                            .collect::<Result<_, _>>()?;
                        let sum = (input.files_checksum)(&srcs).map_err(|message| {
                            DigestError::Expand {
                                line: ins.line,
                                message,
                            }
                        })?;
                        d.push(sum);
                    }
                }
                // The spec's reading (§4.6; werf-unverified, the oracle
                // does not cover ONBUILD): the trigger as written here, and
                // expanded for the stages built on this one.
                "onbuild" => {
                    d.push(ins.args.clone());
                    onbuild[deps.len()].push(pw(&ins.args)?);
                }
                _ => d.push(pw(&ins.original)?),
            }
            // Deviation from werf: BuildKit keeps here-document bodies out of
            // the instruction line werf hashes, so werf reuses a stage whose
            // heredoc changed. davit adds the bodies (docs/digests.md).
            for h in &ins.heredocs {
                d.push(format!("{HEREDOC_MARK} {}", h.name));
                d.push(h.content.clone());
            }
        }
        deps.push(d);
    }

    // A stage built FROM another stage, or copying --from one, depends on it.
    let index: HashMap<String, usize> = stages
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.name.clone().map(|n| (n, i)))
        .collect();
    for i in 0..stages.len() {
        for j in 0..stages.len() {
            if j != i
                && stages[j]
                    .name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(&stages[i].base))
            {
                let extra = deps[j].clone();
                deps[i].extend(extra);
                deps[i].extend(onbuild[j].clone());
            }
        }
        for ins in &stages[i].commands {
            if ins.keyword != "copy" {
                continue;
            }
            let Some(from) = ins.flag("from") else {
                continue;
            };
            let n = index.get(&from.to_ascii_lowercase()).copied().or_else(|| {
                from.parse::<usize>()
                    .ok()
                    .filter(|n| *n < stages.len() && n.to_string() == from)
            });
            if let Some(n) = n.filter(|n| *n != i) {
                let extra = deps[n].clone();
                deps[i].extend(extra);
            }
        }
    }
    let target = match input.target {
        None | Some("") => stages.len() - 1,
        Some(t) => *index
            .get(&t.to_ascii_lowercase())
            .ok_or_else(|| DigestError::UnknownTarget(t.to_string()))?,
    };
    let target_deps = deps.swap_remove(target);
    let mut all = target_deps.clone();
    if let Some(cv) = input.cache_version.filter(|c| !c.is_empty()) {
        all.push(cv.to_string());
    }
    let stage_deps = h256(&all);
    let mut digest_args: Vec<&str> = Vec::new();
    if input.platform != "linux/amd64" {
        digest_args.push(input.platform);
    }
    digest_args.extend(["1.2", "dockerfile", stage_deps.as_str()]);
    let digest = h3(&digest_args);
    Ok(DockerfileDigest {
        deps: target_deps,
        stage_deps,
        digest,
    })
}
