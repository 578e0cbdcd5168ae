//! The legacy `docker:` directive (spec §1.4.3) and the digest inputs of
//! the `dockerInstructions` stage.

use davit_digest::hash::h256;
use serde_json::{Map, Value};

/// The `docker:` keys davit understands, in the order werf hashes them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerInstructions {
    pub exact_values: bool,
    pub volume: Vec<String>,
    pub expose: Vec<String>,
    /// Sorted by key.
    pub env: Vec<(String, String)>,
    /// Sorted by key.
    pub label: Vec<(String, String)>,
    pub cmd: String,
    pub entrypoint: String,
    pub workdir: String,
    pub user: String,
    pub healthcheck: String,
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items.iter().filter_map(scalar).collect(),
        Some(other) => scalar(other).into_iter().collect(),
        None => Vec::new(),
    }
}

fn map(v: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Object(m)) = v else {
        return Vec::new();
    };
    let mut pairs: Vec<(String, String)> = m
        .iter()
        .map(|(k, v)| (k.clone(), scalar(v).unwrap_or_default()))
        .collect();
    pairs.sort();
    pairs
}

/// CMD/ENTRYPOINT as werf stores them: an array becomes `["a", "b"]`
/// with the items joined by `", "` and not escaped.
fn command(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Array(items) => {
            let quoted: Vec<String> = items
                .iter()
                .filter_map(scalar)
                .map(|s| format!("\"{s}\""))
                .collect();
            Some(format!("[{}]", quoted.join(", ")))
        }
        other => scalar(other),
    }
}

impl DockerInstructions {
    pub fn from_config(docker: &Value) -> DockerInstructions {
        let empty = Map::new();
        let d = docker.as_object().unwrap_or(&empty);
        let entrypoint = command(d.get("ENTRYPOINT"));
        let cmd = match (command(d.get("CMD")), &entrypoint) {
            (Some(c), _) => c,
            // An ENTRYPOINT alone resets the base image's CMD.
            (None, Some(_)) => "[]".to_string(),
            (None, None) => String::new(),
        };
        let text = |k: &str| d.get(k).and_then(scalar).unwrap_or_default();
        DockerInstructions {
            exact_values: d.get("exactValues").and_then(Value::as_bool) == Some(true),
            volume: list(d.get("VOLUME")),
            expose: list(d.get("EXPOSE")),
            env: map(d.get("ENV")),
            label: map(d.get("LABEL")),
            cmd,
            entrypoint: entrypoint.unwrap_or_default(),
            workdir: text("WORKDIR"),
            user: text("USER"),
            healthcheck: text("HEALTHCHECK"),
        }
    }

    /// The `dockerInstructions` stage dependencies.
    pub fn dependencies(&self) -> String {
        let mut args: Vec<&str> = Vec::new();
        if self.exact_values {
            args.push("exact-values:::");
        }
        args.extend(self.volume.iter().map(String::as_str));
        args.extend(self.expose.iter().map(String::as_str));
        for (k, v) in self.env.iter().chain(&self.label) {
            args.push(k);
            args.push(v);
        }
        args.extend([
            self.cmd.as_str(),
            &self.entrypoint,
            &self.workdir,
            &self.user,
            &self.healthcheck,
        ]);
        h256(&args)
    }
}

/// CMD/ENTRYPOINT as an image config holds them: werf's stored array
/// form back to items, anything else in the shell form.
fn exec_form(stored: &str) -> Vec<String> {
    let inner = stored
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'));
    match inner {
        Some("") => Vec::new(),
        Some(items) => items
            .split(", ")
            .map(|i| i.trim_matches('"').to_string())
            .collect(),
        None => vec!["/bin/sh".into(), "-c".into(), stored.to_string()],
    }
}

impl DockerInstructions {
    /// Applies the instructions to an image config (`config.config`), as
    /// the Dockerfile instructions of the same names would.
    pub fn apply(&self, image_config: &mut Value) {
        if !image_config["config"].is_object() {
            image_config["config"] = Value::Object(Map::new());
        }
        let c = &mut image_config["config"];
        for v in &self.volume {
            c["Volumes"][v] = Value::Object(Map::new());
        }
        for p in &self.expose {
            let port = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            c["ExposedPorts"][port] = Value::Object(Map::new());
        }
        if !self.env.is_empty() {
            let mut env: Vec<String> = c["Env"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            for (k, v) in &self.env {
                env.retain(|e| e.split_once('=').map_or(e.as_str(), |(n, _)| n) != k);
                env.push(format!("{k}={v}"));
            }
            c["Env"] = env.into();
        }
        for (k, v) in &self.label {
            c["Labels"][k] = v.clone().into();
        }
        if !self.entrypoint.is_empty() {
            c["Entrypoint"] = exec_form(&self.entrypoint).into();
        }
        if !self.cmd.is_empty() {
            c["Cmd"] = exec_form(&self.cmd).into();
        }
        if !self.workdir.is_empty() {
            c["WorkingDir"] = self.workdir.clone().into();
        }
        if !self.user.is_empty() {
            c["User"] = self.user.clone().into();
        }
        if !self.healthcheck.is_empty() {
            let test = match self.healthcheck.split_once(' ') {
                Some(("CMD", rest)) => vec!["CMD-SHELL".to_string(), rest.to_string()],
                _ if self.healthcheck == "NONE" => vec!["NONE".to_string()],
                _ => vec!["CMD-SHELL".to_string(), self.healthcheck.clone()],
            };
            c["Healthcheck"] = serde_json::json!({ "Test": test });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_stored_as_werf_prints_them() {
        let d = DockerInstructions::from_config(&serde_json::json!({
            "ENTRYPOINT": ["/bin/app", "--flag"],
            "ENV": {"B": "2", "A": 1},
            "EXPOSE": "80"
        }));
        assert_eq!(d.entrypoint, r#"["/bin/app", "--flag"]"#);
        assert_eq!(d.cmd, "[]", "ENTRYPOINT alone resets CMD");
        assert_eq!(d.env, [("A".into(), "1".into()), ("B".into(), "2".into())]);
        let mut config =
            serde_json::json!({"config": {"Env": ["A=0", "PATH=/bin"], "Cmd": ["sh"]}});
        d.apply(&mut config);
        assert_eq!(
            config["config"]["Env"],
            serde_json::json!(["PATH=/bin", "A=1", "B=2"])
        );
        assert_eq!(
            config["config"]["Entrypoint"],
            serde_json::json!(["/bin/app", "--flag"])
        );
        assert_eq!(config["config"]["Cmd"], serde_json::json!([]));
        assert!(config["config"]["ExposedPorts"]["80/tcp"].is_object());
        assert_eq!(
            d.dependencies(),
            h256(&[
                "80",
                "A",
                "1",
                "B",
                "2",
                "[]",
                r#"["/bin/app", "--flag"]"#,
                "",
                "",
                ""
            ])
        );
    }
}
