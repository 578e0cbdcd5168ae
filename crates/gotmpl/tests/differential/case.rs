//! One differential case: templates, data and options, rendered by both
//! davit's engine and the Go oracle.

use std::collections::BTreeMap;
use std::rc::Rc;

use davit_gotmpl::funcs::{
    helm_funcs, werf_funcs, FileSource, FilesObject, HelmOptions, WerfOptions,
};
use davit_gotmpl::{Limits, MissingKey, Template, Value};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct NamedText {
    pub name: String,
    pub text: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Case {
    pub name: String,
    pub mode: String,
    pub templates: Vec<NamedText>,
    pub entry: String,
    pub data: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<BTreeMap<String, String>>,
    pub env: BTreeMap<String, String>,
    #[serde(rename = "envStrict")]
    pub env_strict: bool,
    pub missingkey: String,
    /// Action delimiters (Go's `Delims`), when not `{{` `}}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delims: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub out: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub err: Option<String>,
}

impl Case {
    pub fn simple(name: String, text: &str, data: &serde_json::Value, mode: &str) -> Case {
        Case {
            name,
            mode: mode.to_string(),
            templates: vec![NamedText {
                name: "main".into(),
                text: text.to_string(),
            }],
            entry: "main".into(),
            data: data.clone(),
            files: None,
            env: BTreeMap::new(),
            env_strict: false,
            missingkey: String::new(),
            delims: Vec::new(),
        }
    }

    /// A stable key: the name plus a hash of everything that affects output.
    pub fn key(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        let mut h: u64 = 0xcbf29ce484222325;
        for b in json.bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
        format!("{}#{h:016x}", self.name)
    }
}

/// In-memory files with the oracle's semantics.
pub struct MemFiles(pub BTreeMap<String, String>);

fn clean(p: &str) -> String {
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
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// Go's `path.Match` for one segment: `*`, `?`, `[...]`.
fn seg_match(p: &[char], s: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('*') => (0..=s.len()).any(|i| seg_match(&p[1..], &s[i..])),
        Some('?') => !s.is_empty() && seg_match(&p[1..], &s[1..]),
        Some('[') => {
            let Some(end) = p.iter().position(|c| *c == ']') else {
                return false;
            };
            let Some(c) = s.first() else { return false };
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some('^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != neg && seg_match(&p[end + 1..], &s[1..])
        }
        Some(x) => s.first() == Some(x) && seg_match(&p[1..], &s[1..]),
    }
}

fn glob_match(pattern: &[&str], name: &[&str]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some(&"**") => (0..=name.len()).any(|i| glob_match(&pattern[1..], &name[i..])),
        Some(p) => {
            !name.is_empty()
                && seg_match(
                    &p.chars().collect::<Vec<_>>(),
                    &name[0].chars().collect::<Vec<_>>(),
                )
                && glob_match(&pattern[1..], &name[1..])
        }
    }
}

impl FileSource for MemFiles {
    fn get(&self, path: &str) -> Result<String, String> {
        let p = clean(path);
        self.0.get(&p).cloned().ok_or_else(|| {
            format!(
                "the file {} not found in the project git repository",
                davit_gotmpl::gofmt::quote(&p)
            )
        })
    }
    fn glob(&self, pattern: &str) -> Result<Vec<(String, String)>, String> {
        let pat: Vec<&str> = pattern.split('/').collect();
        Ok(self
            .0
            .iter()
            .filter(|(k, _)| glob_match(&pat, &k.split('/').collect::<Vec<_>>()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
    fn exists(&self, path: &str) -> bool {
        let p = clean(path);
        self.0.contains_key(&p) || self.is_dir(&p)
    }
    fn is_dir(&self, path: &str) -> bool {
        let p = clean(path);
        p == "." || self.0.keys().any(|k| k.starts_with(&format!("{p}/")))
    }
}

/// Renders a case with davit's engine.
pub fn render(c: &Case) -> Outcome {
    let helm = c.mode == "helm";
    let funcs = if helm {
        helm_funcs(HelmOptions::default())
    } else {
        let env = c.env.clone();
        werf_funcs(WerfOptions {
            env: Rc::new(move |name| Ok(env.get(name).cloned())),
            strict_env: c.env_strict,
            debug_templates: false,
        })
    };
    let missing = match c.missingkey.as_str() {
        "" if helm => MissingKey::Zero,
        "zero" => MissingKey::Zero,
        "error" => MissingKey::Error,
        _ => MissingKey::Default,
    };
    let limits = Limits {
        max_steps: 20_000_000,
        ..Limits::default()
    };
    let t = Template::with_options(&c.entry, funcs, missing, limits);
    if let [left, right] = c.delims.as_slice() {
        t.delims(left, right);
    }
    let fail = |e: davit_gotmpl::Error| Outcome {
        out: String::new(),
        err: Some(e.message),
    };
    for nt in c.templates.iter().filter(|t| t.name != c.entry) {
        if let Err(e) = t.parse(&nt.name, &nt.text) {
            return fail(e);
        }
    }
    let Some(entry) = c.templates.iter().find(|t| t.name == c.entry) else {
        return Outcome {
            out: String::new(),
            err: Some(format!("no entry template {:?}", c.entry)),
        };
    };
    if let Err(e) = t.parse(&c.entry, &entry.text) {
        return fail(e);
    }
    let mut data = Value::from_json(&c.data);
    if let (Some(files), Value::Map(m, _)) = (&c.files, &mut data) {
        m.borrow_mut().insert(
            "Files".into(),
            Value::Object(Rc::new(FilesObject {
                source: Rc::new(MemFiles(files.clone())),
            })),
        );
    }
    match t.execute(&c.entry, &data) {
        Ok(out) => Outcome {
            out: if helm {
                out.replace("<no value>", "")
            } else {
                out
            },
            err: None,
        },
        Err(e) => fail(e),
    }
}
