//! The values werf injects into every chart (spec §5.2): `.Values.werf.*`
//! and `.Values.global.werf.*`, with real image references after a build
//! or werf's stubs (`REPO:TAG`) when rendering without `--repo`.

use davit_gotmpl::{Map, Value};

/// One final image of werf.yaml and, after a build, where it is.
#[derive(Clone, Debug)]
pub struct ServiceImage {
    pub name: String,
    pub reference: Option<ImageReference>,
}

#[derive(Clone, Debug)]
pub struct ImageReference {
    /// `registry/path` (the stages or final repository).
    pub repo: String,
    pub tag: String,
    /// `sha256:…`.
    pub digest: String,
}

pub struct ServiceValuesInput<'a> {
    pub project: &'a str,
    /// The werf version davit answers as (`v2.77.1`).
    pub version: &'a str,
    /// `--final-repo` if set, else `--repo`; `None` renders stubs.
    pub repo: Option<&'a str>,
    pub commit_hash: &'a str,
    pub commit_unix: i64,
    /// The commit's UTC offset in seconds.
    pub commit_offset: i32,
    pub namespace: &'a str,
    pub env: &'a str,
    pub images: &'a [ServiceImage],
    /// base64 of a docker config.json (`--set-docker-config-json-value`).
    pub docker_config_json: Option<&'a str>,
}

fn s(v: &str) -> Value {
    Value::from(v)
}

/// `{werf: …, global: {werf: …, env?}}` (and `dockerconfigjson`).
pub fn service_values(input: &ServiceValuesInput<'_>) -> Value {
    let stub = input.repo.is_none();
    let repo = input.repo.unwrap_or("REPO");

    let mut common = Map::new();
    common.insert("name".into(), s(input.project));
    common.insert("version".into(), s(input.version));
    common.insert("repo".into(), s(repo));
    let mut date = Map::new();
    date.insert(
        "human".into(),
        s(&go_time_string(input.commit_unix, input.commit_offset)),
    );
    date.insert("unix".into(), Value::Int64(input.commit_unix));
    let mut commit = Map::new();
    commit.insert("hash".into(), s(input.commit_hash));
    commit.insert("date".into(), Value::map(date));
    common.insert("commit".into(), Value::map(commit));
    if !input.namespace.is_empty() {
        common.insert("namespace".into(), s(input.namespace));
    }
    if !input.env.is_empty() {
        common.insert("env".into(), s(input.env));
    }
    if stub {
        common.insert("is_stub".into(), Value::Bool(true));
        common.insert("stub_image".into(), s("REPO:TAG"));
    }
    if let Some(cfg) = input.docker_config_json {
        common.insert("dockerconfigjson".into(), s(cfg));
    }

    let mut werf = common.clone();
    let mut global_werf = common;
    let mut image = Map::new();
    let mut tag = Map::new();
    let mut images = Map::new();
    for img in input.images {
        let (ref_tag, t, parts) = match &img.reference {
            Some(r) => (
                format!("{}:{}", r.repo, r.tag),
                r.tag.clone(),
                ImageParts::real(r),
            ),
            None => (
                "REPO:TAG".to_string(),
                "TAG".to_string(),
                ImageParts::stub(),
            ),
        };
        if img.name.is_empty() {
            werf.insert("is_nameless_image".into(), Value::Bool(true));
            werf.insert("nameless_image".into(), s(&ref_tag));
            continue;
        }
        image.insert(img.name.clone(), s(&ref_tag));
        tag.insert(img.name.clone(), s(&t));
        images.insert(img.name.clone(), parts.value());
    }
    werf.insert("image".into(), Value::map(image));
    werf.insert("tag".into(), Value::map(tag));
    global_werf.insert("images".into(), Value::map(images));

    let mut global = Map::new();
    if !input.env.is_empty() {
        global.insert("env".into(), s(input.env));
    }
    global.insert("werf".into(), Value::map(global_werf));
    let mut out = Map::new();
    out.insert("werf".into(), Value::map(werf));
    out.insert("global".into(), Value::map(global));
    if let Some(cfg) = input.docker_config_json {
        out.insert("dockerconfigjson".into(), s(cfg));
    }
    Value::map(out)
}

/// `.Values.global.werf.images.<name>`.
struct ImageParts {
    registry: String,
    namespace: String,
    name: String,
    tag: String,
    digest: String,
    /// `registry/repository` (go-containerregistry's `Context().Name()`).
    image: String,
    ref_tag: String,
}

impl ImageParts {
    fn stub() -> ImageParts {
        ImageParts {
            registry: "REGISTRY".into(),
            namespace: "NAMESPACE".into(),
            name: "NAME".into(),
            tag: "TAG".into(),
            digest: "DIGEST".into(),
            image: "REPO".into(),
            ref_tag: "REPO:TAG".into(),
        }
    }

    fn real(r: &ImageReference) -> ImageParts {
        let (registry, repository) = split_registry(&r.repo);
        let (namespace, name) = match repository.rsplit_once('/') {
            Some((ns, n)) => (ns.to_string(), n.to_string()),
            None => (".".to_string(), repository.clone()),
        };
        ImageParts {
            image: format!("{registry}/{repository}"),
            ref_tag: format!("{}:{}", r.repo, r.tag),
            registry,
            namespace,
            name,
            tag: r.tag.clone(),
            digest: r.digest.clone(),
        }
    }

    fn value(&self) -> Value {
        let repository = format!("{}/{}", self.namespace, self.name);
        let repository = if self.namespace == "." {
            self.name.clone()
        } else {
            repository
        };
        let pairs = [
            ("registry", self.registry.clone()),
            ("namespace", self.namespace.clone()),
            ("name", self.name.clone()),
            ("tag", self.tag.clone()),
            ("digest", self.digest.clone()),
            ("tag_digest", format!("{}@{}", self.tag, self.digest)),
            ("image", self.image.clone()),
            ("repository", repository.clone()),
            ("ref", format!("{}@{}", self.ref_tag, self.digest)),
            ("ref_tag", self.ref_tag.clone()),
            (
                "repository_ref",
                format!("{repository}:{}@{}", self.tag, self.digest),
            ),
            ("repository_tag", format!("{repository}:{}", self.tag)),
            (
                "name_ref",
                format!("{}:{}@{}", self.name, self.tag, self.digest),
            ),
            ("name_tag", format!("{}:{}", self.name, self.tag)),
        ];
        Value::map(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), s(&v)))
                .collect(),
        )
    }
}

/// go-containerregistry's split: the first component is a registry when it
/// has a `.` or `:` or is `localhost`; otherwise Docker Hub, where
/// single-component repositories live under `library/`.
fn split_registry(repo: &str) -> (String, String) {
    match repo.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            let registry = if first == "docker.io" {
                "index.docker.io"
            } else {
                first
            };
            let rest = if registry == "index.docker.io" && !rest.contains('/') {
                format!("library/{rest}")
            } else {
                rest.to_string()
            };
            (registry.to_string(), rest)
        }
        Some(_) => ("index.docker.io".to_string(), repo.to_string()),
        None => ("index.docker.io".to_string(), format!("library/{repo}")),
    }
}

/// Go's `time.Time.String()` for a time with a numeric zone:
/// `2024-03-01 12:00:00 +0000 +0000`.
pub fn go_time_string(unix: i64, offset: i32) -> String {
    davit_gotmpl::funcs::date::GoTime {
        unix,
        nanos: 0,
        offset,
        zone: String::new(),
    }
    .format(davit_gotmpl::funcs::date::GO_STRING_LAYOUT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time() {
        assert_eq!(
            go_time_string(1709294400, 0),
            "2024-03-01 12:00:00 +0000 +0000"
        );
        assert_eq!(
            go_time_string(1709294400, 7200),
            "2024-03-01 14:00:00 +0200 +0200"
        );
        assert_eq!(
            go_time_string(1709294400, -19800),
            "2024-03-01 06:30:00 -0530 -0530"
        );
    }

    #[test]
    fn registry_split() {
        assert_eq!(
            split_registry("127.0.0.1:5055/vec"),
            ("127.0.0.1:5055".into(), "vec".into())
        );
        assert_eq!(
            split_registry("example.org/apps/my"),
            ("example.org".into(), "apps/my".into())
        );
        assert_eq!(
            split_registry("ubuntu"),
            ("index.docker.io".into(), "library/ubuntu".into())
        );
        assert_eq!(
            split_registry("me/app"),
            ("index.docker.io".into(), "me/app".into())
        );
    }
}
