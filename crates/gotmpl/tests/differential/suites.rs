//! Where cases come from: hand-written `.cases` files, the werf corpus, and
//! the random generator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::case::{Case, NamedText};

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn repo_root() -> PathBuf {
    crate_dir().join("../..")
}

/// The data sets templates render against, by name.
pub fn data_sets() -> BTreeMap<String, serde_json::Value> {
    let dir = crate_dir().join("tests/cases/data");
    let mut out = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "json") {
                let name = p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let text = std::fs::read_to_string(&p)
                    .unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
                let v: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("parse {}: {e}", p.display()));
                out.insert(name, v);
            }
        }
    }
    out
}

/// Parses a `.cases` file: one template per line (`⏎` stands for a newline),
/// `#` comments, and `@data NAME`, `@mode werf|helm`, `@missingkey K`,
/// `@delims LEFT RIGHT` (`@delims default` resets),
/// `@env K=V`, `@strict on|off` directives for the lines that follow.
pub fn load_case_file(path: &Path, data: &BTreeMap<String, serde_json::Value>) -> Vec<Case> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut data_name = "default".to_string();
    let mut mode = "werf".to_string();
    let mut missing = String::new();
    let mut delims: Vec<String> = Vec::new();
    let mut env = BTreeMap::new();
    let mut strict = false;
    let mut files: Option<BTreeMap<String, String>> = None;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with("# ") || line == "#" {
            continue;
        }
        if let Some(d) = line.strip_prefix("@data ") {
            data_name = d.trim().to_string();
            continue;
        }
        if let Some(m) = line.strip_prefix("@mode ") {
            mode = m.trim().to_string();
            continue;
        }
        if let Some(m) = line.strip_prefix("@missingkey ") {
            missing = m.trim().to_string();
            continue;
        }
        if let Some(d) = line.strip_prefix("@delims ") {
            delims = match d.trim() {
                "default" => Vec::new(),
                pair => pair.split_whitespace().map(str::to_string).collect(),
            };
            continue;
        }
        if let Some(kv) = line.strip_prefix("@env ") {
            if let Some((k, v)) = kv.split_once('=') {
                env.insert(k.to_string(), v.to_string());
            }
            continue;
        }
        if let Some(f) = line.strip_prefix("@files ") {
            files = match f.trim() {
                "none" => None,
                name => {
                    let p = path.with_file_name(format!("data/files-{name}.json"));
                    let text = std::fs::read_to_string(&p)
                        .unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
                    Some(
                        serde_json::from_str(&text)
                            .unwrap_or_else(|e| panic!("parse {}: {e}", p.display())),
                    )
                }
            };
            continue;
        }
        if let Some(s) = line.strip_prefix("@strict ") {
            strict = s.trim() == "on";
            continue;
        }
        let tmpl = line.replace('⏎', "\n");
        let d = data.get(&data_name).unwrap_or_else(|| {
            panic!("{}:{}: unknown data set {data_name}", path.display(), n + 1)
        });
        let mut c = Case::simple(format!("{stem}:{}", n + 1), &tmpl, d, &mode);
        c.missingkey = missing.clone();
        c.delims = delims.clone();
        c.env = env.clone();
        c.env_strict = strict;
        c.files = files.clone();
        out.push(c);
    }
    out
}

pub fn handwritten() -> Vec<Case> {
    let data = data_sets();
    let dir = crate_dir().join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "cases"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .flat_map(|f| load_case_file(f, &data))
        .collect()
}

/// The werf corpus: `DAVIT_CORPUS`, or `../shared/corpus/werf` beside the repo.
pub fn corpus_dir() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("DAVIT_CORPUS") {
        return Some(PathBuf::from(p));
    }
    let p = repo_root().join("../shared/corpus/werf");
    p.is_dir().then_some(p)
}

fn walk(dir: &Path, base: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, base, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            if let Ok(rel) = p.strip_prefix(base) {
                out.insert(rel.to_string_lossy().replace('\\', "/"), text);
            }
        }
    }
}

/// One case per werf config in the corpus (every `werf*.yaml`/`werf*.yml`
/// at any depth), rendered as werf renders it: `.werf/**/*.tmpl` as named
/// templates, the config as the body of `werfConfig`, `.Files` over the repo.
pub fn corpus() -> Vec<Case> {
    let Some(dir) = corpus_dir() else {
        return Vec::new();
    };
    let mut repos: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    repos.sort();
    let mut out = Vec::new();
    for repo in repos {
        let mut files = BTreeMap::new();
        walk(&repo, &repo, &mut files);
        let repo_name = repo
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let configs: Vec<String> = files
            .keys()
            .filter(|k| {
                let base = k.rsplit('/').next().unwrap_or(k);
                matches!(base, "werf.yaml" | "werf.yml")
            })
            .cloned()
            .collect();
        for cfg in configs {
            let project_dir = cfg
                .rsplit_once('/')
                .map(|(d, _)| format!("{d}/"))
                .unwrap_or_default();
            let mut templates: Vec<NamedText> = files
                .iter()
                .filter_map(|(k, v)| {
                    let rel = k.strip_prefix(&project_dir)?;
                    let t = rel.strip_prefix(".werf/")?;
                    t.ends_with(".tmpl").then(|| NamedText {
                        name: t.to_string(),
                        text: v.clone(),
                    })
                })
                .collect();
            templates.push(NamedText {
                name: "werfConfig".into(),
                text: files[&cfg].clone(),
            });
            let project_files: BTreeMap<String, String> = files
                .iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix(&project_dir)
                        .map(|r| (r.to_string(), v.clone()))
                })
                .collect();
            let data = serde_json::json!({
                "Env": "",
                "Commit": {
                    "Hash": "0123456789abcdef0123456789abcdef01234567",
                    "Date": {"Human": "2024-01-02 15:04:05 +0300 +0300", "Unix": "1704197045"}
                }
            });
            out.push(Case {
                name: format!("corpus:{repo_name}/{cfg}"),
                mode: "werf".into(),
                templates,
                entry: "werfConfig".into(),
                data,
                files: Some(project_files),
                env: BTreeMap::new(),
                env_strict: false,
                missingkey: String::new(),
                delims: Vec::new(),
            });
        }
    }
    out
}
