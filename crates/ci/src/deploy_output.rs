//! Native CI output of a deploy (`converge`): GitHub step outputs
//! (`release`, `namespace`, `revision`, `status`), a job summary and an
//! error annotation; GitLab needs only the log sections the reporter
//! already writes. The formats are the build's (see `output`).

use std::fmt::Write as _;

use crate::output::{Mode, Reporter, Stream};

/// What a deploy did, for the CI system.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployOutcome {
    pub release: String,
    pub namespace: String,
    /// The revision written (failed or deployed), if one was.
    pub revision: Option<i64>,
    /// The first line of the error, when it failed.
    pub error: Option<String>,
    pub seconds: f64,
}

impl DeployOutcome {
    fn status(&self) -> &'static str {
        if self.error.is_some() {
            "failed"
        } else {
            "deployed"
        }
    }
}

/// `$GITHUB_OUTPUT` lines.
pub fn github_deploy_outputs(o: &DeployOutcome) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "release={}", o.release);
    let _ = writeln!(out, "namespace={}", o.namespace);
    if let Some(r) = o.revision {
        let _ = writeln!(out, "revision={r}");
    }
    let _ = writeln!(out, "status={}", o.status());
    out
}

/// `$GITHUB_STEP_SUMMARY` Markdown.
pub fn github_deploy_summary(o: &DeployOutcome) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "### davit converge: {}\n", o.status());
    let _ = writeln!(md, "| Release | Namespace | Revision | Time |");
    let _ = writeln!(md, "|---|---|---|---|");
    let _ = writeln!(
        md,
        "| `{}` | `{}` | {} | {:.1} s |",
        o.release,
        o.namespace,
        o.revision.map(|r| r.to_string()).unwrap_or("—".into()),
        o.seconds
    );
    if let Some(e) = &o.error {
        let _ = writeln!(md, "\n```\n{}\n```", e.replace("```", "'''"));
    }
    md
}

impl Reporter<'_> {
    /// Writes a deploy's outcome where the CI system reads it and returns
    /// the lines to print; a file that cannot be written is a note.
    pub fn finish_deploy(&self, o: &DeployOutcome) -> Vec<(Stream, String)> {
        let mut lines = Vec::new();
        if self.mode != Mode::GitHub {
            return lines;
        }
        for (var, text, what) in [
            (
                "GITHUB_OUTPUT",
                github_deploy_outputs(o),
                "the step outputs ($GITHUB_OUTPUT)",
            ),
            (
                "GITHUB_STEP_SUMMARY",
                github_deploy_summary(o),
                "the job summary ($GITHUB_STEP_SUMMARY)",
            ),
        ] {
            if let Some(path) = self.var(var) {
                if let Err(e) = crate::output::append(&path, &text) {
                    lines.push((
                        Stream::Stderr,
                        format!("warning: davit could not write {what}: {e}"),
                    ));
                }
            }
        }
        if let Some(e) = &o.error {
            lines.push((
                Stream::Stdout,
                format!(
                    "::error title=davit converge::{}",
                    crate::output::escape_data(e)
                ),
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_and_summary() {
        let ok = DeployOutcome {
            release: "app".into(),
            namespace: "prod".into(),
            revision: Some(4),
            error: None,
            seconds: 2.5,
        };
        assert_eq!(
            github_deploy_outputs(&ok),
            "release=app\nnamespace=prod\nrevision=4\nstatus=deployed\n"
        );
        assert!(github_deploy_summary(&ok).contains("| `app` | `prod` | 4 | 2.5 s |"));
        let failed = DeployOutcome {
            error: Some("Deployment/web failed".into()),
            ..ok
        };
        assert!(github_deploy_outputs(&failed).contains("status=failed"));
        assert!(github_deploy_summary(&failed).contains("Deployment/web failed"));
    }

    #[test]
    fn github_files_and_annotation() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let summary = dir.path().join("summary");
        let (o, s) = (
            out.to_string_lossy().into_owned(),
            summary.to_string_lossy().into_owned(),
        );
        let env = move |k: &str| match k {
            "GITHUB_ACTIONS" => Some("true".to_string()),
            "GITHUB_OUTPUT" => Some(o.clone()),
            "GITHUB_STEP_SUMMARY" => Some(s.clone()),
            _ => None,
        };
        let r = Reporter::new("auto", &env).unwrap();
        let lines = r.finish_deploy(&DeployOutcome {
            release: "a".into(),
            namespace: "n".into(),
            revision: Some(1),
            error: Some("boom\nsecond".into()),
            seconds: 1.0,
        });
        assert_eq!(
            lines,
            vec![(
                Stream::Stdout,
                "::error title=davit converge::boom%0Asecond".to_string()
            )]
        );
        assert!(std::fs::read_to_string(&out)
            .unwrap()
            .contains("status=failed"));
        assert!(std::fs::read_to_string(&summary)
            .unwrap()
            .contains("failed"));
    }
}
