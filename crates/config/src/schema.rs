//! The werf.yaml v2 schema as data, and a checker that walks positioned YAML
//! nodes against it. Every problem names the key path and the line, and an
//! unknown key gets the closest known key as a suggestion.

use davit_goyaml::{Node, Yaml};

/// The shape a value must have.
#[derive(Debug)]
pub enum Shape {
    /// Any scalar; yaml.v2 stores the scalar's text in a Go string field.
    Str,
    Bool,
    Int,
    /// A string or a list of strings.
    StrOrList,
    /// `image:`/`artifact:` — a string, a list of strings, or null.
    ImageName,
    /// A mapping with these keys.
    Map(&'static [Field]),
    /// A list of mappings with these keys.
    ListOf(&'static [Field]),
    /// A mapping with free keys and scalar values (`args`, `ENV`, `labels`).
    FreeMap,
    /// Anything (ansible tasks are checked by the ansible builder).
    Any,
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
}

const fn f(name: &'static str, shape: Shape) -> Field {
    Field { name, shape }
}

use Shape::*;

const LIMIT: &[Field] = &[f("last", Int), f("in", Str), f("operator", Str)];
const REFERENCES: &[Field] = &[f("branch", Str), f("tag", Str), f("limit", Map(LIMIT))];
const KEEP_POLICY: &[Field] = &[
    f("references", Map(REFERENCES)),
    f("imagesPerReference", Map(LIMIT)),
];

const META_IMAGE_SPEC_CONFIG: &[Field] = &[
    f("labels", FreeMap),
    f("removeLabels", StrOrList),
    f("keepEssentialWerfLabels", Bool),
    f("clearWerfLabels", Bool),
];
const META_IMAGE_SPEC: &[Field] = &[
    f("author", Str),
    f("clearHistory", Bool),
    f("config", Map(META_IMAGE_SPEC_CONFIG)),
];

pub const META: &[Field] = &[
    f("configVersion", Int),
    f("project", Str),
    f(
        "build",
        Map(&[
            f("cacheVersion", Str),
            f("platform", StrOrList),
            f("staged", Bool),
            f("imageSpec", Map(META_IMAGE_SPEC)),
        ]),
    ),
    f(
        "deploy",
        Map(&[
            f("helmChartDir", Str),
            f("helmChartConfig", Map(&[f("appVersion", Str)])),
            f("helmRelease", Str),
            f("helmReleaseSlug", Bool),
            f("namespace", Str),
            f("namespaceSlug", Bool),
        ]),
    ),
    f(
        "cleanup",
        Map(&[
            f("disable", Bool),
            f("disableKubernetesBasedPolicy", Bool),
            f("disableGitHistoryBasedPolicy", Bool),
            f("disableBuiltWithinLastNHoursPolicy", Bool),
            f("keepImagesBuiltWithinLastNHours", Int),
            f("keepPolicies", ListOf(KEEP_POLICY)),
        ]),
    ),
    f(
        "gitWorktree",
        Map(&[
            f("forceShallowClone", Bool),
            f("allowUnshallow", Bool),
            f("allowFetchOriginBranchesAndTags", Bool),
        ]),
    ),
];

const HEALTHCHECK: &[Field] = &[
    f("test", StrOrList),
    f("interval", Int),
    f("timeout", Int),
    f("startperiod", Int),
    f("retries", Int),
];
const IMAGE_SPEC_CONFIG: &[Field] = &[
    f("keepEssentialWerfLabels", Bool),
    f("clearWerfLabels", Bool),
    f("clearCmd", Bool),
    f("clearEntrypoint", Bool),
    f("clearUser", Bool),
    f("clearWorkingDir", Bool),
    f("removeLabels", StrOrList),
    f("removeVolumes", StrOrList),
    f("removeEnv", StrOrList),
    f("volumes", StrOrList),
    f("labels", FreeMap),
    f("env", FreeMap),
    f("expose", StrOrList),
    f("user", Str),
    f("cmd", StrOrList),
    f("entrypoint", StrOrList),
    f("workingDir", Str),
    f("stopSignal", Str),
    f("healthcheck", Map(HEALTHCHECK)),
];
const IMAGE_SPEC: &[Field] = &[
    f("author", Str),
    f("clearHistory", Bool),
    f("config", Map(IMAGE_SPEC_CONFIG)),
];
const SECRET: &[Field] = &[f("id", Str), f("env", Str), f("src", Str), f("value", Str)];
const DEPENDENCY_IMPORT: &[Field] = &[
    f("type", Str),
    f("targetEnv", Str),
    f("targetBuildArg", Str),
];
const DEPENDENCY: &[Field] = &[
    f("image", Str),
    f("before", Str),
    f("after", Str),
    f("imports", ListOf(DEPENDENCY_IMPORT)),
];

pub const DOCKERFILE_IMAGE: &[Field] = &[
    f("image", ImageName),
    f("final", Bool),
    f("dockerfile", Str),
    f("context", Str),
    f("contextAddFiles", StrOrList),
    f("contextAddFile", StrOrList),
    f("target", Str),
    f("args", FreeMap),
    f("addHost", StrOrList),
    f("network", Str),
    f("ssh", Str),
    f("secrets", ListOf(SECRET)),
    f("dependencies", ListOf(DEPENDENCY)),
    f("staged", Bool),
    f("platform", StrOrList),
    f("cacheVersion", Str),
    f("imageSpec", Map(IMAGE_SPEC)),
];

const STAGE_DEPENDENCIES: &[Field] = &[
    f("install", StrOrList),
    f("beforeSetup", StrOrList),
    f("setup", StrOrList),
];
const GIT: &[Field] = &[
    f("add", Str),
    f("to", Str),
    f("includePaths", StrOrList),
    f("excludePaths", StrOrList),
    f("owner", Str),
    f("group", Str),
    f("stageDependencies", Map(STAGE_DEPENDENCIES)),
    f("url", Str),
    f("branch", Str),
    f("tag", Str),
    f("commit", Str),
    f(
        "basicAuth",
        Map(&[
            f("username", Str),
            f(
                "password",
                Map(&[f("env", Str), f("src", Str), f("value", Str)]),
            ),
        ]),
    ),
];
const SHELL: &[Field] = &[
    f("beforeInstall", StrOrList),
    f("install", StrOrList),
    f("beforeSetup", StrOrList),
    f("setup", StrOrList),
    f("cacheVersion", Str),
    f("beforeInstallCacheVersion", Str),
    f("installCacheVersion", Str),
    f("beforeSetupCacheVersion", Str),
    f("setupCacheVersion", Str),
];
const ANSIBLE: &[Field] = &[
    f("beforeInstall", Any),
    f("install", Any),
    f("beforeSetup", Any),
    f("setup", Any),
    f("cacheVersion", Str),
    f("beforeInstallCacheVersion", Str),
    f("installCacheVersion", Str),
    f("beforeSetupCacheVersion", Str),
    f("setupCacheVersion", Str),
];
const DOCKER: &[Field] = &[
    f("VOLUME", StrOrList),
    f("EXPOSE", StrOrList),
    f("ENV", FreeMap),
    f("LABEL", FreeMap),
    f("CMD", StrOrList),
    f("ENTRYPOINT", StrOrList),
    f("WORKDIR", Str),
    f("USER", Str),
    f("HEALTHCHECK", Str),
    f("exactValues", Bool),
];
const MOUNT: &[Field] = &[f("to", Str), f("from", Str), f("fromPath", Str)];
const IMPORT: &[Field] = &[
    f("image", Str),
    f("from", Str),
    f("artifact", Str),
    f("stage", Str),
    f("add", Str),
    f("to", Str),
    f("includePaths", StrOrList),
    f("excludePaths", StrOrList),
    f("owner", Str),
    f("group", Str),
    f("before", Str),
    f("after", Str),
];

pub const STAPEL_IMAGE: &[Field] = &[
    f("image", ImageName),
    f("artifact", ImageName),
    f("final", Bool),
    f("from", Str),
    f("fromImage", Str),
    f("fromArtifact", Str),
    f("fromLatest", Bool),
    f("fromCacheVersion", Str),
    f("cacheVersion", Str),
    f("disableGitAfterPatch", Bool),
    f("git", ListOf(GIT)),
    f("shell", Map(SHELL)),
    f("ansible", Map(ANSIBLE)),
    f("docker", Map(DOCKER)),
    f("mount", ListOf(MOUNT)),
    f("import", ListOf(IMPORT)),
    f("dependencies", ListOf(DEPENDENCY)),
    f("secrets", ListOf(SECRET)),
    f("imageSpec", Map(IMAGE_SPEC)),
    f("platform", StrOrList),
    f("network", Str),
];

/// One schema violation, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Key path such as `git[0].stageDependencies.install`.
    pub path: String,
    /// 1-based line and column inside the document.
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub hint: Option<String>,
}

fn kind(y: &Yaml) -> &'static str {
    match y {
        Yaml::Null => "null",
        Yaml::Bool(_) => "a boolean",
        Yaml::Int(_) | Yaml::Uint(_) => "an integer",
        Yaml::Float(_) => "a number",
        Yaml::Str(_) => "a string",
        Yaml::Seq(_) => "a list",
        Yaml::Map(_) => "a mapping",
    }
}

fn is_scalar(y: &Yaml) -> bool {
    !matches!(y, Yaml::Seq(_) | Yaml::Map(_))
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (
        a.to_lowercase().chars().collect(),
        b.to_lowercase().chars().collect(),
    );
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The known key closest to `key`, if it is close enough to be a typo.
pub fn suggest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (distance(key, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Checks a mapping node against `fields`, appending problems.
pub fn check_map(node: &Node, fields: &[Field], path: &str, out: &mut Vec<Problem>) {
    let Yaml::Map(pairs) = &node.value else {
        out.push(Problem {
            path: path.to_string(),
            line: node.line,
            col: node.col,
            message: format!("expected a mapping, got {}", kind(&node.value)),
            hint: None,
        });
        return;
    };
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in pairs {
        let key = match &k.value {
            Yaml::Str(s) => s.as_str(),
            _ => match &k.source {
                Some(s) => s.as_str(),
                None => "",
            },
        };
        if seen.contains(&key) {
            out.push(Problem {
                path: join(path, key),
                line: k.line,
                col: k.col,
                message: format!("duplicate key `{key}`"),
                hint: None,
            });
            continue;
        }
        seen.push(key);
        match fields.iter().find(|f| f.name == key) {
            Some(field) => check_value(v, &field.shape, &join(path, key), out),
            None if werf_v11_key(key).is_some() => {
                let (message, hint) = werf_v11_key(key).unwrap_or_default();
                out.push(Problem {
                    path: join(path, key),
                    line: k.line,
                    col: k.col,
                    message: message.to_string(),
                    hint: Some(hint.to_string()),
                });
            }
            None => {
                let hint = suggest(key, fields.iter().map(|f| f.name))
                    .map(|s| format!("did you mean `{s}`?"));
                out.push(Problem {
                    path: join(path, key),
                    line: k.line,
                    col: k.col,
                    message: format!("unknown key `{key}`"),
                    hint,
                });
            }
        }
    }
}

/// Keys of werf v1.1 configs that v1.2 renamed or replaced (the v1.1→v1.2
/// migration guide): what changed, and what to write instead.
fn werf_v11_key(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "fromImageArtifact" => (
            "`fromImageArtifact` is werf v1.1 syntax: werf v1.2 renamed it `fromArtifact`",
            "rename the key to `fromArtifact`",
        ),
        "herebyIAdmitThatFromLatestMightBreakReproducibility" => (
            "`herebyIAdmitThatFromLatestMightBreakReproducibility` is werf v1.1 syntax: werf v1.2 allows `fromLatest` through werf-giterminism.yaml",
            "remove the key and add `config.stapel.allowFromLatest: true` to werf-giterminism.yaml",
        ),
        "herebyIAdmitThatBranchMightBreakReproducibility" => (
            "`herebyIAdmitThatBranchMightBreakReproducibility` is werf v1.1 syntax: werf v1.2 allows git branches through werf-giterminism.yaml",
            "remove the key and add `config.stapel.git.allowBranch: true` to werf-giterminism.yaml",
        ),
        _ => return None,
    })
}

fn check_value(v: &Node, shape: &Shape, path: &str, out: &mut Vec<Problem>) {
    let bad = |out: &mut Vec<Problem>, want: &str| {
        out.push(Problem {
            path: path.to_string(),
            line: v.line,
            col: v.col,
            message: format!("expected {want}, got {}", kind(&v.value)),
            hint: None,
        })
    };
    match shape {
        Any => {}
        Str => {
            if !is_scalar(&v.value) {
                bad(out, "a string");
            }
        }
        Bool => {
            if !matches!(v.value, Yaml::Bool(_) | Yaml::Null) {
                bad(out, "a boolean (true or false)");
            }
        }
        Int => {
            if !matches!(v.value, Yaml::Int(_) | Yaml::Uint(_) | Yaml::Null) {
                bad(out, "an integer");
            }
        }
        StrOrList | ImageName => match &v.value {
            Yaml::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    if !is_scalar(&item.value) || matches!(item.value, Yaml::Null) {
                        out.push(Problem {
                            path: format!("{path}[{i}]"),
                            line: item.line,
                            col: item.col,
                            message: format!("expected a string, got {}", kind(&item.value)),
                            hint: None,
                        });
                    }
                }
            }
            Yaml::Map(_) => bad(out, "a string or a list of strings"),
            _ => {}
        },
        Map(fields) => match &v.value {
            Yaml::Null => {}
            _ => check_map(v, fields, path, out),
        },
        ListOf(fields) => match &v.value {
            Yaml::Null => {}
            Yaml::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    check_map(item, fields, &format!("{path}[{i}]"), out);
                }
            }
            _ => bad(out, "a list"),
        },
        FreeMap => match &v.value {
            Yaml::Null => {}
            Yaml::Map(pairs) => {
                for (k, val) in pairs {
                    if !is_scalar(&val.value) {
                        let key = match &k.value {
                            Yaml::Str(s) => s.clone(),
                            _ => k.source.clone().unwrap_or_default(),
                        };
                        out.push(Problem {
                            path: join(path, &key),
                            line: val.line,
                            col: val.col,
                            message: format!("expected a scalar value, got {}", kind(&val.value)),
                            hint: None,
                        });
                    }
                }
            }
            _ => bad(out, "a mapping"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_you_mean() {
        assert_eq!(
            suggest("fromImg", STAPEL_IMAGE.iter().map(|f| f.name)),
            Some("fromImage")
        );
        assert_eq!(
            suggest("dockerfil", DOCKERFILE_IMAGE.iter().map(|f| f.name)),
            Some("dockerfile")
        );
        assert_eq!(suggest("zzzzzz", META.iter().map(|f| f.name)), None);
    }
}
