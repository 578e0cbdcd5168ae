//! werf's release name and namespace
//! (../shared/spec/werf-ci-cleanup-deploy.md §5.3): an explicit
//! `--release`/`--namespace` is only validated; otherwise werf.yaml's
//! `deploy.helmRelease`/`deploy.namespace` template (or `[[ project ]]`,
//! `[[ project ]]-[[ env ]]` with an env) is rendered with `[[ ]]`
//! delimiters, sprig without `env`/`expandenv`, and `project`, `env` (and
//! `namespace` for the release), then slugged unless the `*Slug` switch is
//! off.

use davit_gotmpl::{funcs::sprig_funcs, Func, Template, Value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeployParamsError {
    #[error("bad Kubernetes namespace specified {0:?}: a DNS-1123 label of at most 63 characters is required (lower-case letters, digits and '-', starting and ending with a letter or digit)")]
    BadNamespace(String),
    #[error("bad Helm release specified {0:?}: a DNS-1123 subdomain of at most 53 characters is required (lower-case letters, digits, '-' and '.')")]
    BadRelease(String),
    #[error("werf.yaml deploy.{key}: {message}")]
    Template { key: &'static str, message: String },
    #[error("werf.yaml deploy.{0} rendered to an empty string")]
    Empty(&'static str),
}

/// The `deploy:` section of werf.yaml.
#[derive(Debug, Clone, Default)]
pub struct DeploySettings {
    pub helm_release: Option<String>,
    /// `helmReleaseSlug` (werf's default: true).
    pub helm_release_slug: Option<bool>,
    pub namespace: Option<String>,
    /// `namespaceSlug` (werf's default: true).
    pub namespace_slug: Option<bool>,
}

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Kubernetes' `IsDNS1123Label`.
pub fn is_dns1123_label(s: &str) -> bool {
    is_label(s)
}

/// Kubernetes' `IsDNS1123Subdomain`: dot-separated labels, at most 253.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && !s.is_empty() && s.split('.').all(is_label)
}

/// werf's `slug.KubernetesNamespace`.
pub fn kubernetes_namespace(s: &str) -> String {
    if s.is_empty() || (s.len() <= 63 && is_dns1123_label(s)) {
        s.to_string()
    } else {
        davit_slug::slug(s, 63)
    }
}

/// werf's `slug.HelmRelease`.
pub fn helm_release(s: &str) -> String {
    if s.is_empty() || (s.len() <= 53 && is_dns1123_subdomain(s)) {
        s.to_string()
    } else {
        davit_slug::slug(s, 53)
    }
}

fn constant(value: &str) -> Func {
    let value = value.to_string();
    Func::simple(&[], None, move |_| Ok(Value::str(value.as_str())))
}

fn render(
    key: &'static str,
    template: &str,
    names: &[(&str, &str)],
) -> Result<String, DeployParamsError> {
    let mut funcs = sprig_funcs();
    funcs.remove("env");
    funcs.remove("expandenv");
    for (name, value) in names {
        funcs.insert((*name).into(), constant(value));
    }
    let t = Template::new(funcs);
    t.delims("[[", "]]");
    let out = t
        .parse(key, template)
        .and_then(|()| t.execute(key, &Value::empty_map()))
        .map_err(|e| DeployParamsError::Template {
            key,
            message: e.to_string(),
        })?;
    if out.is_empty() {
        return Err(DeployParamsError::Empty(key));
    }
    Ok(out)
}

fn default_template(env: &str) -> &'static str {
    if env.is_empty() {
        "[[ project ]]"
    } else {
        "[[ project ]]-[[ env ]]"
    }
}

/// The namespace: `explicit` validated, else the rendered template.
pub fn namespace(
    project: &str,
    env: &str,
    settings: &DeploySettings,
    explicit: Option<&str>,
) -> Result<String, DeployParamsError> {
    if let Some(ns) = explicit.filter(|n| !n.is_empty()) {
        return if is_dns1123_label(ns) {
            Ok(ns.to_string())
        } else {
            Err(DeployParamsError::BadNamespace(ns.to_string()))
        };
    }
    let template = settings
        .namespace
        .as_deref()
        .unwrap_or(default_template(env));
    let rendered = render("namespace", template, &[("project", project), ("env", env)])?;
    if settings.namespace_slug.unwrap_or(true) {
        Ok(kubernetes_namespace(&rendered))
    } else if is_dns1123_label(&rendered) {
        Ok(rendered)
    } else {
        Err(DeployParamsError::BadNamespace(rendered))
    }
}

/// The release: `explicit` validated, else the rendered template, which
/// may use `namespace` too.
pub fn release(
    project: &str,
    env: &str,
    namespace: &str,
    settings: &DeploySettings,
    explicit: Option<&str>,
) -> Result<String, DeployParamsError> {
    let valid = |r: &str| r.len() <= 53 && is_dns1123_subdomain(r);
    if let Some(r) = explicit.filter(|r| !r.is_empty()) {
        return if valid(r) {
            Ok(r.to_string())
        } else {
            Err(DeployParamsError::BadRelease(r.to_string()))
        };
    }
    let template = settings
        .helm_release
        .as_deref()
        .unwrap_or(default_template(env));
    let rendered = render(
        "helmRelease",
        template,
        &[("project", project), ("env", env), ("namespace", namespace)],
    )?;
    if settings.helm_release_slug.unwrap_or(true) {
        Ok(helm_release(&rendered))
    } else if valid(&rendered) {
        Ok(rendered)
    } else {
        Err(DeployParamsError::BadRelease(rendered))
    }
}
