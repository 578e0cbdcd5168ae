//! The Go objects Helm hands to templates: `.Files` (a `map[string][]byte`
//! with `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig`, `AsSecrets`) and
//! `.Capabilities`' `KubeVersion` and `APIVersions`.

use std::rc::Rc;

use base64::Engine;
use davit_gotmpl::funcs::yaml::to_yaml_json;
use davit_gotmpl::{Map, Object, Param, Value};

/// Helm's `files` type.
#[derive(Clone, Debug, Default)]
pub struct HelmFiles {
    pub files: Rc<Vec<(String, Rc<[u8]>)>>,
}

impl HelmFiles {
    pub fn new(mut files: Vec<(String, Rc<[u8]>)>) -> HelmFiles {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        HelmFiles {
            files: Rc::new(files),
        }
    }

    fn get(&self, name: &str) -> Option<&Rc<[u8]>> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }
}

fn str_arg(args: &[Value]) -> String {
    match args.first() {
        Some(Value::String(s)) => s.to_string(),
        _ => String::new(),
    }
}

impl Object for HelmFiles {
    fn type_name(&self) -> String {
        "common.Files".into()
    }
    fn kind(&self) -> &'static str {
        "map"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let arg = str_arg(args);
        Some(Ok(match name {
            "Get" => Value::from(
                self.get(&arg)
                    .map(|d| String::from_utf8_lossy(d).into_owned())
                    .unwrap_or_default(),
            ),
            "GetBytes" => {
                Value::Bytes(self.get(&arg).cloned().unwrap_or_else(|| Rc::from(&[][..])))
            }
            "Glob" => Value::Object(Rc::new(HelmFiles {
                files: Rc::new(
                    self.files
                        .iter()
                        .filter(|(n, _)| glob_match(&arg, n))
                        .cloned()
                        .collect(),
                ),
            })),
            "Lines" => {
                let Some(d) = self.get(&arg) else {
                    return Some(Ok(Value::string_list(Vec::new())));
                };
                let s = String::from_utf8_lossy(d);
                let s = s.strip_suffix('\n').unwrap_or(&s);
                Value::string_list(s.split('\n').map(str::to_string).collect())
            }
            "AsConfig" | "AsSecrets" => {
                if self.files.is_empty() {
                    return Some(Ok(Value::from("")));
                }
                let m: Map = self
                    .files
                    .iter()
                    .map(|(n, d)| {
                        let v = if name == "AsSecrets" {
                            base64::engine::general_purpose::STANDARD.encode(d)
                        } else {
                            String::from_utf8_lossy(d).into_owned()
                        };
                        (base(n).to_string(), Value::from(v))
                    })
                    .collect();
                let yaml = to_yaml_json(&Value::map(m));
                Value::from(yaml.strip_suffix('\n').unwrap_or(&yaml).to_string())
            }
            _ => return None,
        }))
    }
    fn method_params(&self, name: &str) -> Option<(Vec<Param>, Option<Param>)> {
        match name {
            "Get" | "GetBytes" | "Glob" | "Lines" => Some((vec![Param::Str], None)),
            "AsConfig" | "AsSecrets" => Some((vec![], None)),
            _ => None,
        }
    }
    fn format(&self) -> String {
        let inner: Vec<String> = self
            .files
            .iter()
            .map(|(n, d)| {
                let bytes: Vec<String> = d.iter().map(|b| b.to_string()).collect();
                format!("{n}:[{}]", bytes.join(" "))
            })
            .collect();
        format!("map[{}]", inner.join(" "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        Some(
            self.files
                .iter()
                .map(|(n, d)| (n.clone(), Value::Bytes(d.clone())))
                .collect(),
        )
    }
}

fn base(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// gobwas/glob with `/` as the separator: `*` stays within a path segment,
/// `**` crosses segments, `?`, `[...]`, `[!...]` and `{a,b}`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') if p.get(1) == Some(&'*') => (0..=n.len()).any(|i| matches(&p[2..], &n[i..])),
        Some('*') => (0..=n.len())
            .take_while(|&i| i == 0 || n[i - 1] != '/')
            .any(|i| matches(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && n[0] != '/' && matches(&p[1..], &n[1..]),
        Some('[') => {
            let Some(end) = p.iter().position(|&c| c == ']') else {
                return false;
            };
            let Some(&c) = n.first() else { return false };
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some('!') | Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != neg && matches(&p[end + 1..], &n[1..])
        }
        Some('{') => {
            let Some(end) = p.iter().position(|&c| c == '}') else {
                return false;
            };
            let rest = &p[end + 1..];
            p[1..end].split(|&c| c == ',').any(|alt| {
                let mut cand: Vec<char> = alt.to_vec();
                cand.extend_from_slice(rest);
                matches(&cand, n)
            })
        }
        Some('\\') if p.len() > 1 => !n.is_empty() && n[0] == p[1] && matches(&p[2..], &n[1..]),
        Some(&c) => !n.is_empty() && n[0] == c && matches(&p[1..], &n[1..]),
    }
}

/// `.Capabilities.KubeVersion`.
#[derive(Clone, Debug)]
pub struct KubeVersion {
    pub version: String,
}

impl KubeVersion {
    fn parts(&self) -> (String, String) {
        let v = self.version.trim_start_matches('v');
        let mut it = v.split(['.', '-', '+']);
        (
            it.next().unwrap_or("").to_string(),
            it.next().unwrap_or("").to_string(),
        )
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> String {
        "common.KubeVersion".into()
    }
    fn call_method(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        let (major, minor) = self.parts();
        Some(Ok(Value::from(match name {
            "Version" | "GitVersion" | "String" => self.version.clone(),
            "Major" => major,
            "Minor" => minor,
            _ => return None,
        })))
    }
    fn method_params(&self, name: &str) -> Option<(Vec<Param>, Option<Param>)> {
        matches!(
            name,
            "Version" | "GitVersion" | "String" | "Major" | "Minor"
        )
        .then(|| (vec![], None))
    }
    fn format(&self) -> String {
        self.version.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `.Capabilities.APIVersions`: a `[]string` with `Has`.
#[derive(Clone, Debug)]
pub struct ApiVersions {
    pub versions: Vec<String>,
}

impl Object for ApiVersions {
    fn type_name(&self) -> String {
        "common.VersionSet".into()
    }
    fn kind(&self) -> &'static str {
        "slice"
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        match name {
            "Has" => Some(Ok(Value::Bool(self.versions.contains(&str_arg(args))))),
            _ => None,
        }
    }
    fn method_params(&self, name: &str) -> Option<(Vec<Param>, Option<Param>)> {
        (name == "Has").then(|| (vec![Param::Str], None))
    }
    fn format(&self) -> String {
        format!("[{}]", self.versions.join(" "))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        Some(
            self.versions
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), Value::from(v.as_str())))
                .collect(),
        )
    }
}

/// The API versions Helm 4.3 assumes without a cluster (`helm template`).
pub const DEFAULT_API_VERSIONS: &str = include_str!("default_api_versions.txt");

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("files/*", "files/a.txt"));
        assert!(!glob_match("files/*", "files/x/a.txt"));
        assert!(glob_match("files/**", "files/x/a.txt"));
        assert!(glob_match("**.yaml", "a/b/c.yaml"));
        assert!(glob_match("conf/{a,b}.ini", "conf/b.ini"));
        assert!(glob_match("f?.txt", "f1.txt"));
    }
}
