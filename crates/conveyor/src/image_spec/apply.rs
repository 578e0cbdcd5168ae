//! Rewriting an image config (Docker/OCI JSON) by an `imageSpec` stage.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::ImageSpecStage;
use davit_dockerfile::shell::Lexer;

/// Labels a stage keeps whatever `removeLabels` says: stage lookup and
/// cleanup need them.
const ESSENTIAL_LABELS: [&str; 4] = [
    "werf",
    "werf.io/parent-stage-id",
    "werf-stage-content-digest",
    "werf-project-repo-commit",
];

/// Env entries werf never lets into an image it rewrites.
const ALWAYS_REMOVED_ENV: [&str; 4] = [
    "WERF_COMMIT_HASH",
    "WERF_COMMIT_TIME_HUMAN",
    "WERF_COMMIT_TIME_UNIX",
    "SSH_AUTH_SOCK",
];

pub struct ApplyContext<'a> {
    /// The spec's `labels`, rendered ([`super::ImageSpecStage::render_labels`]).
    pub labels: &'a BTreeMap<String, String>,
    /// The labels of the new stage (`werf`, `werf-stage-content-digest`,
    /// `werf.io/parent-stage-id`, ...), added before the removals.
    pub service_labels: &'a BTreeMap<String, String>,
}

/// An exact name, or `/REGEX/` matched against the whole name.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .filter(|p| !p.is_empty())
    {
        Some(re) => regex::Regex::new(&format!("^(?:{re})$")).is_ok_and(|re| re.is_match(name)),
        None => pattern == name,
    }
}

fn is_werf_label(key: &str) -> bool {
    key == "werf" || key.starts_with("werf-") || key.starts_with("werf.io/")
}

/// Rewrites `config` (the whole image config JSON) and returns warnings
/// for the user.
pub fn apply(spec: &ImageSpecStage, config: &mut Value, ctx: &ApplyContext<'_>) -> Vec<String> {
    let mut warnings = Vec::new();
    if !config.is_object() {
        *config = json!({});
    }
    if !spec.author.is_empty() {
        config["author"] = json!(spec.author);
    }
    if spec.clear_history {
        config["history"] = json!([]);
    }
    if !config["config"].is_object() {
        config["config"] = json!({});
    }
    let Some(c) = config["config"].as_object_mut() else {
        return warnings;
    };

    // Labels: previous + service labels, minus removals (never the
    // essential ones), plus the spec's own.
    let mut labels: BTreeMap<String, String> = c
        .get("Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    labels.extend(ctx.service_labels.clone());
    let mut kept_essential = Vec::new();
    labels.retain(|key, _| {
        let remove = spec.remove_labels.iter().any(|p| matches(p, key))
            || (spec.clear_werf_labels && is_werf_label(key));
        if remove && ESSENTIAL_LABELS.contains(&key.as_str()) {
            kept_essential.push(key.clone());
            return true;
        }
        !remove
    });
    if !kept_essential.is_empty() && !spec.keep_essential_werf_labels {
        warnings.push(format!(
            "imageSpec: the labels {} are kept: davit and werf need them to find and clean up \
             stages (set `keepEssentialWerfLabels: true` to silence this)",
            kept_essential.join(", ")
        ));
    }
    labels.extend(ctx.labels.clone());
    c.insert("Labels".into(), json!(labels));

    // Env: removals first, then the spec's values expanded against the
    // previous image's env.
    let previous_env: Vec<(String, String)> = c
        .get("Env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|kv| match kv.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (kv.to_string(), String::new()),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut env: Vec<(String, String)> = previous_env
        .iter()
        .filter(|(k, _)| {
            !ALWAYS_REMOVED_ENV.contains(&k.as_str())
                && !spec.remove_env.iter().any(|p| matches(p, k))
        })
        .cloned()
        .collect();
    let lexer = Lexer::new('\\');
    for (k, v) in &spec.env {
        let value = match lexer.process_word(v, &previous_env) {
            Ok(expanded) => expanded,
            Err(e) => {
                warnings.push(format!(
                    "imageSpec: env {k}: {e}; the value is used as written"
                ));
                v.clone()
            }
        };
        match env.iter_mut().find(|(name, _)| name == k) {
            Some(entry) => entry.1 = value,
            None => env.push((k.clone(), value)),
        }
    }
    let env: Vec<String> = env.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    c.insert("Env".into(), json!(env));

    // Volumes and ports are sets (JSON objects with empty values).
    let mut volumes = object_keys(c.get("Volumes"));
    volumes.retain(|v| !spec.remove_volumes.iter().any(|p| matches(p, v)));
    volumes.extend(spec.volumes.iter().cloned());
    set_or_remove(c, "Volumes", key_set(&volumes));
    if !spec.expose.is_empty() {
        let mut ports = object_keys(c.get("ExposedPorts"));
        for p in &spec.expose {
            ports.push(if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            });
        }
        set_or_remove(c, "ExposedPorts", key_set(&ports));
    }

    let clear_cmd = spec.clear_cmd || (!spec.entrypoint.is_empty() && spec.cmd.is_empty());
    if clear_cmd {
        c.remove("Cmd");
    }
    if spec.clear_entrypoint {
        c.remove("Entrypoint");
    }
    if spec.clear_user {
        c.remove("User");
    }
    if spec.clear_working_dir {
        c.remove("WorkingDir");
    }
    if !spec.cmd.is_empty() {
        c.insert("Cmd".into(), json!(spec.cmd));
    }
    if !spec.entrypoint.is_empty() {
        c.insert("Entrypoint".into(), json!(spec.entrypoint));
    }
    if !spec.user.is_empty() {
        c.insert("User".into(), json!(spec.user));
    }
    if !spec.working_dir.is_empty() {
        c.insert("WorkingDir".into(), json!(spec.working_dir));
    }
    if !spec.stop_signal.is_empty() {
        c.insert("StopSignal".into(), json!(spec.stop_signal));
    }
    if let Some(h) = &spec.healthcheck {
        const NANOS: i64 = 1_000_000_000;
        c.insert(
            "Healthcheck".into(),
            json!({
                "Test": h.test,
                "Interval": h.interval.saturating_mul(NANOS),
                "Timeout": h.timeout.saturating_mul(NANOS),
                "StartPeriod": h.start_period.saturating_mul(NANOS),
                "Retries": h.retries,
            }),
        );
    }
    warnings
}

fn object_keys(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn key_set(keys: &[String]) -> Map<String, Value> {
    keys.iter().map(|k| (k.clone(), json!({}))).collect()
}

fn set_or_remove(c: &mut Map<String, Value>, key: &str, set: Map<String, Value>) {
    if set.is_empty() {
        c.remove(key);
    } else {
        c.insert(key.into(), Value::Object(set));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx<'a>(
        labels: &'a BTreeMap<String, String>,
        service: &'a BTreeMap<String, String>,
    ) -> ApplyContext<'a> {
        ApplyContext {
            labels,
            service_labels: service,
        }
    }

    const NONE: &BTreeMap<String, String> = &BTreeMap::new();

    #[test]
    fn labels_are_removed_but_essential_ones_stay() {
        let mut cfg = json!({"config": {"Labels": {
            "werf": "proj", "werf-version": "v", "werf-stage-content-digest": "c",
            "maintainer": "x", "org.opencontainers.image.title": "t"
        }}});
        let service = BTreeMap::from([("werf.io/parent-stage-id".to_string(), "p".to_string())]);
        let spec = ImageSpecStage {
            remove_labels: vec!["/.*/".into()],
            labels: BTreeMap::from([("built-by".into(), "%project%/%image%".into())]),
            ..Default::default()
        };
        let rendered = spec.render_labels("proj", "app").expect("labels");
        let warnings = apply(&spec, &mut cfg, &ctx(&rendered, &service));
        let labels = cfg["config"]["Labels"].as_object().expect("labels");
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "built-by",
                "werf",
                "werf-stage-content-digest",
                "werf.io/parent-stage-id"
            ]
        );
        assert_eq!(labels["built-by"], "proj/app");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let quiet = ImageSpecStage {
            keep_essential_werf_labels: true,
            ..spec
        };
        assert!(apply(&quiet, &mut cfg, &ctx(&rendered, &service)).is_empty());
    }

    #[test]
    fn clear_werf_labels_leaves_other_labels() {
        let mut cfg = json!({"config": {"Labels": {"werf-version": "v", "werf": "p", "a": "b"}}});
        let spec = ImageSpecStage {
            clear_werf_labels: true,
            keep_essential_werf_labels: true,
            ..Default::default()
        };
        apply(&spec, &mut cfg, &ctx(NONE, NONE));
        assert_eq!(cfg["config"]["Labels"], json!({"a": "b", "werf": "p"}));
    }

    #[test]
    fn env_expands_against_the_previous_env_and_drops_werf_variables() {
        let mut cfg = json!({"config": {"Env": [
            "PATH=/usr/bin", "WERF_COMMIT_HASH=abc", "LANG=C", "DROP_ME=1"
        ]}});
        let spec = ImageSpecStage {
            env: BTreeMap::from([
                ("PATH".into(), "$PATH:/app/bin".into()),
                ("NEW".into(), "${LANG}-x".into()),
            ]),
            remove_env: vec!["/DROP_.*/".into()],
            ..Default::default()
        };
        apply(&spec, &mut cfg, &ctx(NONE, NONE));
        assert_eq!(
            cfg["config"]["Env"],
            json!(["PATH=/usr/bin:/app/bin", "LANG=C", "NEW=C-x"])
        );
    }

    #[test]
    fn entrypoint_without_cmd_clears_cmd_and_the_rest_is_set() {
        let mut cfg = json!({
            "history": [{"created_by": "RUN x"}],
            "config": {"Cmd": ["sh"], "User": "root", "Volumes": {"/data": {}, "/tmp": {}}}
        });
        let spec = ImageSpecStage {
            author: "Team <t@example.com>".into(),
            clear_history: true,
            entrypoint: vec!["/app".into()],
            user: "64535".into(),
            working_dir: "/srv".into(),
            expose: vec!["8080".into(), "53/udp".into()],
            remove_volumes: vec!["/tmp".into()],
            volumes: vec!["/cache".into()],
            stop_signal: "SIGTERM".into(),
            healthcheck: Some(crate::image_spec::Healthcheck {
                test: vec!["CMD".into(), "true".into()],
                interval: 2,
                retries: 3,
                ..Default::default()
            }),
            ..Default::default()
        };
        apply(&spec, &mut cfg, &ctx(NONE, NONE));
        assert_eq!(cfg["author"], "Team <t@example.com>");
        assert_eq!(cfg["history"], json!([]));
        let c = &cfg["config"];
        assert_eq!(c.get("Cmd"), None);
        assert_eq!(c["Entrypoint"], json!(["/app"]));
        assert_eq!(c["User"], "64535");
        assert_eq!(c["WorkingDir"], "/srv");
        assert_eq!(c["StopSignal"], "SIGTERM");
        assert_eq!(c["ExposedPorts"], json!({"8080/tcp": {}, "53/udp": {}}));
        assert_eq!(c["Volumes"], json!({"/data": {}, "/cache": {}}));
        assert_eq!(c["Healthcheck"]["Interval"], 2_000_000_000i64);
        assert_eq!(c["Healthcheck"]["Retries"], 3);
    }
}
