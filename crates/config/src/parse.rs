//! From rendered werf.yaml text to a validated `WerfConfig`: split into
//! documents, classify each as werf does, check it against the schema,
//! deserialise it, then check the documents against each other.

use std::collections::{BTreeMap, BTreeSet};

use davit_goyaml::{load_all, Node, Yaml};

use crate::error::{ConfigError, Diagnostic};
use crate::model::{DockerfileImage, Meta, StapelImage};
use crate::schema::{check_map, DOCKERFILE_IMAGE, META, STAPEL_IMAGE};
use crate::split::{split, Document};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Dockerfile,
    Stapel,
    /// Deprecated stapel `artifact:`; never final.
    Artifact,
}

/// What an image needs from other images of the config.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DependsOn {
    /// `from`/`fromImage`/`fromArtifact` naming an image of the config.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub import: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
}

impl DependsOn {
    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.from
            .iter()
            .chain(self.import.iter())
            .chain(self.dependencies.iter())
    }
}

#[derive(Debug, Clone)]
pub struct ImageDoc {
    /// Empty for a nameless image (`image: ~`).
    pub name: String,
    pub kind: ImageKind,
    pub is_final: bool,
    /// 1-based document number in the rendered file.
    pub doc: usize,
    /// Rendered line where the document starts.
    pub line: usize,
    /// The document's rendered text.
    pub text: String,
    pub dockerfile: Option<DockerfileImage>,
    pub stapel: Option<StapelImage>,
    pub depends_on: DependsOn,
}

#[derive(Debug, Clone)]
pub struct WerfConfig {
    pub meta: Meta,
    pub images: Vec<ImageDoc>,
    pub documents: Vec<Document>,
}

impl WerfConfig {
    /// Where the meta section has the key at `path` (`cleanup.keepPolicies[0].in`):
    /// the 1-based line and column in the rendered config of the deepest
    /// node of the path that exists.
    pub fn meta_position(&self, path: &str) -> Option<(usize, usize)> {
        self.documents.iter().find_map(|doc| {
            let node = load_all(&doc.text).ok()?.into_iter().next()?;
            if !has_key(&node, "configVersion") {
                return None;
            }
            let mut at = &node;
            for part in path.split('.') {
                let (key, indexes) = match part.find('[') {
                    Some(i) => (&part[..i], &part[i..]),
                    None => (part, ""),
                };
                let Some(next) = get(at, key) else { break };
                at = next;
                for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
                    match (&at.value, index.parse::<usize>()) {
                        (Yaml::Seq(items), Ok(i)) if i < items.len() => at = &items[i],
                        _ => break,
                    }
                }
            }
            Some((doc.start_line + at.line.saturating_sub(1), at.col))
        })
    }
}

fn to_json(n: &Node) -> serde_json::Value {
    match &n.value {
        Yaml::Null => serde_json::Value::Null,
        Yaml::Bool(b) => serde_json::Value::Bool(*b),
        Yaml::Int(i) => serde_json::Value::from(*i),
        Yaml::Uint(u) => serde_json::Value::from(*u),
        Yaml::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        Yaml::Str(s) => {
            // A plain scalar read into a Go string keeps its text (`1.10`).
            serde_json::Value::String(n.source.clone().unwrap_or_else(|| s.clone()))
        }
        Yaml::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        Yaml::Map(pairs) => serde_json::Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (key_text(k), to_json(v)))
                .collect(),
        ),
    }
}

fn key_text(k: &Node) -> String {
    match (&k.value, &k.source) {
        (Yaml::Str(s), _) => s.clone(),
        (_, Some(src)) => src.clone(),
        (Yaml::Null, None) => String::new(),
        (other, None) => format!("{other:?}"),
    }
}

fn has_key(n: &Node, key: &str) -> bool {
    matches!(&n.value, Yaml::Map(pairs) if pairs.iter().any(|(k, _)| key_text(k) == key))
}

fn get<'a>(n: &'a Node, key: &str) -> Option<&'a Node> {
    match &n.value {
        Yaml::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| key_text(k) == key)
            .map(|(_, v)| v),
        _ => None,
    }
}

/// werf's `image:` value: a name, a list of names, or `~` (nameless).
fn image_names(v: &Node) -> Result<Vec<String>, String> {
    match &v.value {
        Yaml::Null => Ok(vec![String::new()]),
        Yaml::Seq(items) => items
            .iter()
            .map(|i| match &i.value {
                Yaml::Seq(_) | Yaml::Map(_) | Yaml::Null => {
                    Err(format!("invalid image name `{:?}`!", i.value))
                }
                _ => Ok(i.source.clone().unwrap_or_else(|| key_text(i))),
            })
            .collect(),
        Yaml::Map(_) => Err("invalid image name: expected a string or a list of strings".into()),
        _ => Ok(vec![v.source.clone().unwrap_or_else(|| key_text(v))]),
    }
}

/// A reference with an explicit tag or digest (`alpine:3.19`, `x@sha256:…`):
/// werf treats such an `import` source as an external image.
fn has_tag_or_digest(r: &str) -> bool {
    r.contains('@') || r.rsplit('/').next().is_some_and(|last| last.contains(':'))
}

const PROJECT_NAME_HELP: &str = "project names are lower-case letters, digits and '-', start and end with a letter or digit, at most 50 characters";

fn valid_project_name(p: &str) -> bool {
    let b = p.as_bytes();
    !p.is_empty()
        && p.len() <= 50
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Parses and validates rendered werf.yaml text. `file` names it in errors.
pub fn parse(file: &str, rendered: &str) -> Result<WerfConfig, ConfigError> {
    let documents = split(rendered);
    let mut diags: Vec<Diagnostic> = Vec::new();
    let mut meta: Option<(Meta, usize)> = None;
    let mut images: Vec<ImageDoc> = Vec::new();

    for doc in &documents {
        let n = doc.index + 1;
        let abs = |line: usize| doc.start_line + line.saturating_sub(1);
        let node = match load_all(&doc.text) {
            Ok(mut nodes) if !nodes.is_empty() => nodes.remove(0),
            Ok(_) => continue,
            Err(e) => {
                let e = e.at_unclosed_flow(&doc.text);
                diags.push(
                    Diagnostic::new(file, format!("invalid YAML: {}", e.message))
                        .at(abs(e.line), e.col)
                        .in_doc(n)
                        .hint("check indentation and quoting; templates may have produced this text (run `davit config render` to see it)"),
                );
                continue;
            }
        };
        if !matches!(node.value, Yaml::Map(_)) {
            diags.push(
                Diagnostic::new(file, "a config section must be a mapping of keys to values")
                    .at(abs(node.line), node.col)
                    .in_doc(n),
            );
            continue;
        }
        let push_problems = |diags: &mut Vec<Diagnostic>, schema, what: &str| {
            let mut problems = Vec::new();
            check_map(&node, schema, "", &mut problems);
            for p in problems {
                let mut d = Diagnostic::new(file, format!("{} in {what}", p.message))
                    .at(abs(p.line), p.col)
                    .in_doc(n)
                    .key(p.path);
                if let Some(h) = p.hint {
                    d = d.hint(h);
                }
                diags.push(d);
            }
        };
        if has_key(&node, "configVersion") {
            if let Some((_, first)) = &meta {
                diags.push(
                    Diagnostic::new(file, format!("duplicate meta config section definition (the first is document {first})"))
                        .at(abs(node.line), node.col)
                        .in_doc(n)
                        .hint("keep `configVersion` and `project` in one document"),
                );
                continue;
            }
            let before = diags.len();
            push_problems(&mut diags, META, "the meta section");
            if diags.len() > before {
                meta = Some((Meta::default(), n));
                continue;
            }
            let m: Meta = serde_json::from_value(to_json(&node)).unwrap_or_default();
            if m.config_version != Some(1) {
                diags.push(
                    Diagnostic::new(file, "'configVersion: 1' field required!")
                        .at(
                            abs(get(&node, "configVersion")
                                .map(|v| v.line)
                                .unwrap_or(node.line)),
                            1,
                        )
                        .in_doc(n)
                        .key("configVersion"),
                );
            }
            match m.project.as_ref().map(|p| p.0.as_str()) {
                None | Some("") => diags.push(
                    Diagnostic::new(file, "'project' field cannot be empty!")
                        .at(abs(node.line), 1)
                        .in_doc(n)
                        .key("project")
                        .hint("add `project: <name>` to the meta section"),
                ),
                Some(p) if !valid_project_name(p) => diags.push(
                    Diagnostic::new(file, format!("bad project name {p:?} specified in config"))
                        .at(
                            abs(get(&node, "project").map(|v| v.line).unwrap_or(node.line)),
                            1,
                        )
                        .in_doc(n)
                        .key("project")
                        .hint(PROJECT_NAME_HELP),
                ),
                _ => {}
            }
            meta = Some((m, n));
            continue;
        }
        let (kind, schema, what) = if has_key(&node, "dockerfile") {
            (
                ImageKind::Dockerfile,
                DOCKERFILE_IMAGE,
                "a Dockerfile image section",
            )
        } else if has_key(&node, "image") {
            (ImageKind::Stapel, STAPEL_IMAGE, "a stapel image section")
        } else if has_key(&node, "artifact") {
            (
                ImageKind::Artifact,
                STAPEL_IMAGE,
                "a stapel artifact section",
            )
        } else {
            let keys: Vec<String> = match &node.value {
                Yaml::Map(pairs) => pairs.iter().map(|(k, _)| key_text(k)).collect(),
                _ => Vec::new(),
            };
            let hint = keys
                .iter()
                .find_map(|k| {
                    crate::schema::suggest(k, ["configVersion", "image", "artifact", "dockerfile"].into_iter())
                        .map(|s| format!("did you mean `{s}` instead of `{k}`?"))
                })
                .unwrap_or_else(|| {
                    "'configVersion' is required for the meta section, 'image' for image sections, 'artifact' for artifact sections".into()
                });
            diags.push(
                Diagnostic::new(
                    file,
                    format!(
                        "cannot recognize type of config section with keys {}",
                        keys.iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .at(abs(node.line), node.col)
                .in_doc(n)
                .hint(hint),
            );
            continue;
        };
        let before = diags.len();
        push_problems(&mut diags, schema, what);
        if diags.len() > before {
            continue;
        }
        if kind == ImageKind::Stapel && has_key(&node, "artifact") {
            diags.push(
                Diagnostic::new(file, "unknown doc type: one and only one of `image: NAME` or `artifact: NAME` non-empty name required!")
                    .at(abs(node.line), node.col)
                    .in_doc(n),
            );
            continue;
        }
        let name_key = if kind == ImageKind::Artifact {
            "artifact"
        } else {
            "image"
        };
        let name_node = get(&node, name_key);
        let names = match name_node
            .map(image_names)
            .unwrap_or_else(|| Ok(vec![String::new()]))
        {
            Ok(names) => names,
            Err(e) => {
                diags.push(
                    Diagnostic::new(file, e)
                        .at(abs(node.line), node.col)
                        .in_doc(n)
                        .key(name_key),
                );
                continue;
            }
        };
        let before = diags.len();
        check_directives(file, n, &node, kind, &abs, &mut diags);
        if diags.len() > before {
            continue;
        }
        let json = to_json(&node);
        let (dockerfile, stapel, is_final, depends_on) = match kind {
            ImageKind::Dockerfile => {
                let d: DockerfileImage = serde_json::from_value(json).unwrap_or_default();
                let deps = DependsOn {
                    from: None,
                    import: Vec::new(),
                    dependencies: d
                        .dependencies
                        .iter()
                        .filter_map(|x| x.image.as_ref().map(|t| t.0.clone()))
                        .collect(),
                };
                let fin = d.is_final.unwrap_or(true);
                (Some(d), None, fin, deps)
            }
            ImageKind::Stapel | ImageKind::Artifact => {
                let s: StapelImage = serde_json::from_value(json).unwrap_or_default();
                let mut deps = DependsOn {
                    from: s
                        .from_artifact
                        .as_ref()
                        .or(s.from_image.as_ref())
                        .or(s.from.as_ref())
                        .map(|t| t.0.clone()),
                    import: Vec::new(),
                    dependencies: s
                        .dependencies
                        .iter()
                        .filter_map(|x| x.image.as_ref().map(|t| t.0.clone()))
                        .collect(),
                };
                for imp in &s.import {
                    if let Some(src) = imp
                        .image
                        .as_ref()
                        .or(imp.from.as_ref())
                        .or(imp.artifact.as_ref())
                    {
                        deps.import.push(src.0.clone());
                    }
                }
                let fin = kind == ImageKind::Stapel && s.is_final.unwrap_or(true);
                (None, Some(s), fin, deps)
            }
        };
        for name in names {
            images.push(ImageDoc {
                name,
                kind,
                is_final,
                doc: n,
                line: doc.start_line,
                text: doc.text.clone(),
                dockerfile: dockerfile.clone(),
                stapel: stapel.clone(),
                depends_on: depends_on.clone(),
            });
        }
    }

    let meta = match meta {
        Some((m, _)) => m,
        None => {
            diags.insert(
                0,
                Diagnostic::new(
                    file,
                    "meta config section (`configVersion` and `project`) not found",
                )
                .hint("add a document with\n    configVersion: 1\n    project: <name>"),
            );
            Meta::default()
        }
    };
    if diags.is_empty() {
        resolve_references(file, &mut images, &mut diags);
    }
    if !diags.is_empty() {
        return Err(ConfigError { diagnostics: diags });
    }
    Ok(WerfConfig {
        meta,
        images,
        documents,
    })
}

/// werf's per-image rules about directives that exclude each other or need
/// particular values (messages as werf words them).
fn check_directives(
    file: &str,
    doc: usize,
    node: &Node,
    kind: ImageKind,
    abs: &dyn Fn(usize) -> usize,
    diags: &mut Vec<Diagnostic>,
) {
    let line_of = |key: &str| {
        get(node, key)
            .map(|v| abs(v.line))
            .unwrap_or(abs(node.line))
    };
    let mut err = |key: &str, msg: &str, hint: Option<&str>| {
        let mut d = Diagnostic::new(file, msg)
            .at(line_of(key), 1)
            .in_doc(doc)
            .key(key);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        diags.push(d);
    };
    let str_of = |key: &str| -> Option<String> {
        get(node, key).and_then(|v| match &v.value {
            Yaml::Str(s) => Some(s.clone()),
            Yaml::Null => None,
            _ => v.source.clone(),
        })
    };
    match kind {
        ImageKind::Dockerfile => {
            if let Some(df) = str_of("dockerfile") {
                if df.is_empty() || df.starts_with('/') || df.split('/').any(|s| s == "..") {
                    err("dockerfile", "`dockerfile: PATH` required and should be relative to context!", Some("give the Dockerfile path relative to `context`, e.g. `dockerfile: Dockerfile`"));
                }
            }
            if has_key(node, "contextAddFiles") && has_key(node, "contextAddFile") {
                err("contextAddFile", "only one out of contextAddFiles and contextAddFile directives can be used at a time", Some("use `contextAddFiles` only"));
            }
        }
        ImageKind::Stapel | ImageKind::Artifact => {
            if has_key(node, "shell") && has_key(node, "ansible") {
                err(
                    "ansible",
                    "can not use shell and ansible builders at the same time!",
                    None,
                );
            }
            if has_key(node, "fromArtifact")
                && (has_key(node, "from") || has_key(node, "fromImage"))
            {
                err(
                    "fromArtifact",
                    "conflict between `from`, `fromImage` and `fromArtifact` directives!",
                    Some("keep only one of them"),
                );
            }
            if has_key(node, "docker") && has_key(node, "imageSpec") {
                err(
                    "docker",
                    "`docker` directive is deprecated and can't be used along with `imageSpec`!",
                    Some("move the `docker` settings into `imageSpec.config`"),
                );
            }
            if kind == ImageKind::Artifact {
                for key in ["final", "docker", "disableGitAfterPatch", "dependencies"] {
                    if has_key(node, key) {
                        err(
                            key,
                            &format!("`{key}` is not supported for artifacts"),
                            Some("artifacts are deprecated: use `image:` with `final: false`"),
                        );
                    }
                }
            }
            if let Some(Yaml::Seq(mounts)) = get(node, "mount").map(|m| &m.value) {
                let mut tos = BTreeSet::new();
                for m in mounts {
                    let to = get(m, "to").and_then(|v| match &v.value {
                        Yaml::Str(s) => Some(s.clone()),
                        _ => None,
                    });
                    match to {
                        Some(t) if t.starts_with('/') => {
                            if !tos.insert(t) {
                                err(
                                    "mount",
                                    "conflict between mounts!",
                                    Some("two mounts have the same `to`"),
                                );
                            }
                        }
                        _ => err(
                            "mount",
                            "`to: PATH` absolute path required for mount!",
                            None,
                        ),
                    }
                }
            }
            if let Some(Yaml::Seq(gits)) = get(node, "git").map(|g| &g.value) {
                for g in gits {
                    let remote = has_key(g, "url");
                    let refs = ["branch", "tag", "commit"]
                        .iter()
                        .filter(|k| has_key(g, k))
                        .count();
                    if !remote && refs > 0 {
                        err("git", "specify `branch: BRANCH`, `tag: TAG` and `commit: COMMIT` only for remote git!", None);
                    } else if refs > 1 {
                        err("git", "specify only `branch: BRANCH`, `tag: TAG` or `commit: COMMIT` for remote git!", None);
                    }
                    match get(g, "to").map(|v| &v.value) {
                        Some(Yaml::Str(t)) if t.starts_with('/') => {}
                        _ => err(
                            "git",
                            "`to: PATH` absolute path required for import!",
                            Some("git mappings need an absolute `to:` path in the image"),
                        ),
                    }
                }
            }
        }
    }
}

/// Decides which references are internal, and checks names, references and
/// cycles across documents.
fn resolve_references(file: &str, images: &mut [ImageDoc], diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for img in images.iter() {
        if let Some(first) = seen.get(img.name.as_str()) {
            diags.push(
                Diagnostic::new(file, format!("conflict between images names: `{}` is defined twice (first in document {first})", img.name))
                    .at(img.line, 1)
                    .in_doc(img.doc)
                    .key("image"),
            );
        } else {
            seen.insert(&img.name, img.doc);
        }
    }
    let finals = images.iter().filter(|i| i.is_final).count();
    if images.iter().any(|i| i.name.is_empty()) && finals > 1 {
        diags.push(Diagnostic::new(file, "conflict between images names: a nameless image cannot be specified in the config with multiple images!"));
    }
    let names: BTreeSet<String> = images.iter().map(|i| i.name.clone()).collect();
    for img in images.iter_mut() {
        let s = img.stapel.as_ref();
        // `from:` is internal only when it names an image; `fromImage` and
        // `fromArtifact` must name one.
        if let Some(from) = img.depends_on.from.clone() {
            let explicit = s.is_some_and(|s| s.from_image.is_some() || s.from_artifact.is_some());
            if from == img.name {
                if explicit {
                    diags.push(
                        Diagnostic::new(file, "conflict between `from`, `fromImage` or `fromArtifact` and image name: image cannot reference itself!")
                            .at(img.line, 1)
                            .in_doc(img.doc),
                    );
                }
                img.depends_on.from = None;
            } else if !names.contains(&from) {
                if explicit {
                    diags.push(
                        Diagnostic::new(file, format!("image {from:?} not found!"))
                            .at(img.line, 1)
                            .in_doc(img.doc)
                            .key("fromImage"),
                    );
                }
                img.depends_on.from = None;
            }
        }
        let mut internal = Vec::new();
        for src in &img.depends_on.import {
            if names.contains(src) {
                internal.push(src.clone());
            } else if !has_tag_or_digest(src) {
                diags.push(
                    Diagnostic::new(file, format!("image {src:?} not found!"))
                        .at(img.line, 1)
                        .in_doc(img.doc)
                        .key("import")
                        .hint("import from an image of this config, or give an external image with a tag or digest"),
                );
            }
        }
        img.depends_on.import = internal;
        for dep in &img.depends_on.dependencies {
            if !names.contains(dep) {
                let hint = crate::schema::suggest(dep, names.iter().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"));
                let mut d = Diagnostic::new(file, format!("image {dep:?} not found!"))
                    .at(img.line, 1)
                    .in_doc(img.doc)
                    .key("dependencies");
                if let Some(h) = hint {
                    d = d.hint(h);
                }
                diags.push(d);
            }
        }
        if s.is_none() && img.kind != ImageKind::Dockerfile {
            continue;
        }
        if img.kind != ImageKind::Dockerfile
            && s.is_some_and(|s| {
                s.from.is_none() && s.from_image.is_none() && s.from_artifact.is_none()
            })
        {
            diags.push(
                Diagnostic::new(file, "`from: DOCKER_IMAGE`, `fromImage: IMAGE_NAME`, `fromArtifact: IMAGE_ARTIFACT_NAME` required!")
                    .at(img.line, 1)
                    .in_doc(img.doc)
                    .hint("add `from: <base image>` (e.g. `from: alpine:3.20`)"),
            );
        }
    }
    if !diags.is_empty() {
        return;
    }
    if let Some(cycle) = find_cycle(images) {
        diags.push(Diagnostic::new(
            file,
            format!("infinite loop detected: {}", cycle.join(" -> ")),
        ));
    }
}

fn find_cycle(images: &[ImageDoc]) -> Option<Vec<String>> {
    let by_name: BTreeMap<&str, &ImageDoc> = images.iter().map(|i| (i.name.as_str(), i)).collect();
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Visiting,
        Done,
    }
    fn visit<'a>(
        name: &'a str,
        by_name: &BTreeMap<&'a str, &'a ImageDoc>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(name) {
            Some(Mark::Done) => return None,
            Some(Mark::Visiting) => {
                let start = stack.iter().position(|s| *s == name).unwrap_or(0);
                let mut cycle: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(name.to_string());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(name, Mark::Visiting);
        stack.push(name);
        if let Some(img) = by_name.get(name) {
            for dep in img.depends_on.all() {
                if let Some(c) = visit(dep.as_str(), by_name, marks, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        marks.insert(name, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for img in images {
        let mut stack = Vec::new();
        if let Some(c) = visit(img.name.as_str(), &by_name, &mut marks, &mut stack) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn meta_position_finds_the_deepest_existing_key() {
        let text = "image: a\ndockerfile: Dockerfile\n---\nproject: p\nconfigVersion: 1\ncleanup:\n  keepPolicies:\n  - references: {branch: main}\n  - references:\n      tag: /v.*/\n    imagesPerReference: {in: 5d}\n";
        let config = parse("werf.yaml", text).expect("parses");
        let at = |p: &str| config.meta_position(p);
        assert_eq!(
            at("cleanup.keepPolicies[1].imagesPerReference.in"),
            Some((11, 30))
        );
        assert_eq!(at("cleanup.keepPolicies[1].references.tag"), Some((10, 12)));
        // A key that is not there: the line of its parent.
        let line = |p: &str| at(p).map(|(l, _)| l);
        assert_eq!(
            line("cleanup.keepPolicies[0].imagesPerReference.in"),
            Some(8)
        );
        assert_eq!(line("cleanup.keepPolicies[7]"), Some(8));
    }
}
