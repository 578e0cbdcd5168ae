//! BuildKit's progress, as the lines a user reads in a log: each step's
//! name once when it starts (`CACHED` when it was), its output, and its
//! error. BuildKit sends the same vertex many times as it progresses.

use std::collections::HashSet;

use bollard::moby::buildkit::v1::StatusResponse;

/// Which builder of the daemon runs a Dockerfile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// The classic builder (`docker build` with `DOCKER_BUILDKIT=0`).
    Classic,
    /// BuildKit inside dockerd, through a session: needed for
    /// `RUN --mount`.
    BuildKit,
}

/// `DOCKER_BUILDKIT`: `1` always BuildKit, `0` never; unset, BuildKit
/// whenever the daemon has it (a Linux daemon with API 1.39 or later), the
/// classic builder otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuilderChoice {
    Auto,
    Always(Builder),
}

impl BuilderChoice {
    pub fn from_env_value(value: Option<&str>) -> Result<BuilderChoice, String> {
        match value.map(str::trim) {
            None | Some("") => Ok(BuilderChoice::Auto),
            Some("1" | "true" | "TRUE" | "True") => Ok(BuilderChoice::Always(Builder::BuildKit)),
            Some("0" | "false" | "FALSE" | "False") => Ok(BuilderChoice::Always(Builder::Classic)),
            Some(other) => Err(format!(
                "DOCKER_BUILDKIT={other:?}: expected 1 (BuildKit) or 0 (classic builder)"
            )),
        }
    }

    /// The builder for a Dockerfile on a daemon that has BuildKit or not;
    /// `needs` names the Dockerfile's first BuildKit-only feature. An
    /// error when BuildKit is needed but off or missing.
    pub fn for_dockerfile(
        self,
        needs: Option<&str>,
        daemon_has_buildkit: bool,
    ) -> Result<Builder, String> {
        match (self, needs) {
            (BuilderChoice::Always(Builder::Classic), Some(feature)) => Err(format!(
                "this Dockerfile needs BuildKit ({feature}), but DOCKER_BUILDKIT=0 asks for the classic builder"
            )),
            (BuilderChoice::Always(b), _) => Ok(b),
            (BuilderChoice::Auto, _) if daemon_has_buildkit => Ok(Builder::BuildKit),
            (BuilderChoice::Auto, Some(feature)) => Err(format!(
                "this Dockerfile needs BuildKit ({feature}), which the Docker daemon does not offer \
                 (it needs a Linux daemon with API 1.39 or later)"
            )),
            (BuilderChoice::Auto, None) => Ok(Builder::Classic),
        }
    }
}

#[derive(Default)]
pub(super) struct StatusLines {
    announced: HashSet<String>,
    failed: HashSet<String>,
}

impl StatusLines {
    pub fn lines(&mut self, status: &StatusResponse) -> Vec<String> {
        let mut lines = Vec::new();
        for v in &status.vertexes {
            // Internal vertices (loading the Dockerfile, metadata) are noise.
            if v.name.starts_with("[internal]") {
                continue;
            }
            if (v.started.is_some() || v.cached) && self.announced.insert(v.digest.clone()) {
                let cached = if v.cached { " CACHED" } else { "" };
                lines.push(format!("{}{cached}", v.name));
            }
            if !v.error.is_empty() && self.failed.insert(v.digest.clone()) {
                lines.push(format!("ERROR: {}", v.error));
            }
        }
        for log in &status.logs {
            let text = String::from_utf8_lossy(&log.msg);
            lines.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_string),
            );
        }
        lines
    }
}

/// A session ID for one build: unique on this host.
pub(super) fn session_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("davit-{}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::moby::buildkit::v1::{Vertex, VertexLog};

    fn vertex(digest: &str, name: &str, started: bool, cached: bool) -> Vertex {
        Vertex {
            digest: digest.into(),
            name: name.into(),
            cached,
            started: started.then(Default::default),
            ..Default::default()
        }
    }

    #[test]
    fn docker_buildkit_picks_the_builder() {
        let auto = BuilderChoice::from_env_value(None).expect("auto");
        assert_eq!(auto.for_dockerfile(None, true), Ok(Builder::BuildKit));
        assert_eq!(auto.for_dockerfile(None, false), Ok(Builder::Classic));
        let e = auto
            .for_dockerfile(Some("RUN --mount"), false)
            .expect_err("no BuildKit");
        assert!(e.contains("does not offer"), "{e}");
        let on = BuilderChoice::from_env_value(Some("1")).expect("on");
        assert_eq!(on.for_dockerfile(None, false), Ok(Builder::BuildKit));
        let off = BuilderChoice::from_env_value(Some("0")).expect("off");
        assert_eq!(off.for_dockerfile(None, true), Ok(Builder::Classic));
        let e = off
            .for_dockerfile(Some("RUN --mount (line 2)"), true)
            .expect_err("off");
        assert!(
            e.contains("RUN --mount (line 2)") && e.contains("DOCKER_BUILDKIT=0"),
            "{e}"
        );
        assert!(BuilderChoice::from_env_value(Some("yes please")).is_err());
    }

    #[test]
    fn steps_are_announced_once_and_logs_follow() {
        let mut s = StatusLines::default();
        let first = StatusResponse {
            vertexes: vec![
                vertex("a", "[internal] load build definition", true, false),
                vertex("b", "[1/2] FROM base", true, true),
                vertex("c", "[2/2] RUN echo hi", true, false),
            ],
            logs: vec![VertexLog {
                vertex: "c".into(),
                msg: b"hi\n\n".to_vec(),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            s.lines(&first),
            ["[1/2] FROM base CACHED", "[2/2] RUN echo hi", "hi"]
        );
        let again = StatusResponse {
            vertexes: vec![Vertex {
                error: "exit code: 1".into(),
                ..vertex("c", "[2/2] RUN echo hi", true, false)
            }],
            ..Default::default()
        };
        assert_eq!(s.lines(&again), ["ERROR: exit code: 1"]);
        assert!(s.lines(&again).is_empty());
    }
}
