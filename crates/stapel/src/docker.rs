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
