//! What `converge` and `dismiss` print: a line per stage, applied, ready
//! and deleted resource, and what is awaited. On a terminal the awaited
//! resources are a live table under the lines; in CI logs and pipes they
//! are plain lines every `--status-progress-period` seconds.

use std::time::{Duration, Instant};

use davit_ci::output::Reporter;
use davit_ops::converge::{Event, StatusRow};
use indicatif::{ProgressBar, ProgressStyle};

use super::build::emit;
use super::project_args::Level;

/// The output and, in CI, the log section of the current stage.
pub struct DeployProgress<'e> {
    pub output: DeployOutput,
    ci: Reporter<'e>,
    section: Option<String>,
    sections: usize,
}

impl<'e> DeployProgress<'e> {
    pub fn new(output: DeployOutput, ci: Reporter<'e>) -> DeployProgress<'e> {
        DeployProgress {
            output,
            ci,
            section: None,
            sections: 0,
        }
    }

    pub fn event(&mut self, e: Event<'_>) {
        if let (Event::Stage(s), false) = (&e, matches!(self.output, DeployOutput::Quiet)) {
            self.end_section();
            self.sections += 1;
            let id = format!("davit_deploy_{}", self.sections);
            emit(self.ci.start(&id, s));
            self.section = Some(id);
        }
        self.output.event(e);
    }

    fn end_section(&mut self) {
        if let Some(id) = self.section.take() {
            emit(self.ci.end(&id));
        }
    }

    pub fn finish(&mut self) {
        self.output.finish();
        self.end_section();
    }

    pub fn reporter(&self) -> &Reporter<'e> {
        &self.ci
    }
}

pub enum DeployOutput {
    Quiet,
    Lines {
        period: Option<Duration>,
        last: Option<Instant>,
    },
    Terminal {
        table: ProgressBar,
    },
}

/// The awaited resources as aligned rows.
fn table(rows: &[StatusRow]) -> String {
    let width = rows.iter().map(|r| r.resource.len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in rows.iter().take(30) {
        out.push_str(&format!(
            "\n  {:<width$}  {:<8} {}",
            r.resource, r.state, r.detail
        ));
    }
    if rows.len() > 30 {
        out.push_str(&format!("\n  … and {} more", rows.len() - 30));
    }
    out
}

impl DeployOutput {
    /// `period`: seconds between status lines (negative: none).
    pub fn new(lvl: Level, terminal: bool, period: i64) -> DeployOutput {
        if lvl == Level::Quiet {
            return DeployOutput::Quiet;
        }
        if terminal {
            let table = ProgressBar::new_spinner();
            table.set_style(
                ProgressStyle::with_template("{spinner} waiting {elapsed}{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            return DeployOutput::Terminal { table };
        }
        DeployOutput::Lines {
            period: (period >= 0).then(|| Duration::from_secs(period.max(1) as u64)),
            last: None,
        }
    }

    fn line(&self, text: &str) {
        match self {
            DeployOutput::Quiet => {}
            DeployOutput::Lines { .. } => eprintln!("{text}"),
            DeployOutput::Terminal { table } => table.println(text),
        }
    }

    pub fn event(&mut self, e: Event<'_>) {
        match e {
            Event::Stage(s) => self.line(&format!("┌ {s}")),
            Event::Applied(id) => self.line(&format!("│ applied {id}")),
            Event::Deleted(id) => self.line(&format!("│ deleted {id}")),
            Event::Ready(id) => self.line(&format!("│ ready {id}")),
            Event::Logs(id, lines) => {
                self.line(&format!("│ logs of {id}:"));
                for l in lines {
                    self.line(&format!("│   {l}"));
                }
            }
            Event::Note(n) => self.line(&n),
            Event::Status(rows) => match self {
                DeployOutput::Quiet => {}
                DeployOutput::Terminal { table: bar } => {
                    if rows.is_empty() {
                        bar.set_message("");
                    } else {
                        bar.set_message(table(rows));
                    }
                    bar.tick();
                }
                DeployOutput::Lines { period, last } => {
                    let Some(period) = *period else { return };
                    let due = last.is_none_or(|l| l.elapsed() >= period);
                    // The first look is not worth a line: most things are
                    // ready within a tick or two.
                    if last.is_none() {
                        *last = Some(Instant::now());
                        return;
                    }
                    if due && !rows.is_empty() {
                        for r in rows {
                            eprintln!("│ {} {}: {}", r.state, r.resource, r.detail);
                        }
                        *last = Some(Instant::now());
                    }
                }
            },
        }
    }

    pub fn finish(&self) {
        if let DeployOutput::Terminal { table } = self {
            table.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_table_aligns_and_caps() {
        let row = |r: &str, s: &'static str, d: &str| StatusRow {
            resource: r.into(),
            state: s,
            detail: d.into(),
        };
        let t = table(&[
            row("Deployment/web", "waiting", "1/2 available"),
            row("Job/x", "pending", "after Deployment/web"),
        ]);
        assert_eq!(
            t,
            "\n  Deployment/web  waiting  1/2 available\n  Job/x           pending  after Deployment/web"
        );
        let many: Vec<StatusRow> = (0..35)
            .map(|i| row(&format!("ConfigMap/{i}"), "waiting", ""))
            .collect();
        assert!(table(&many).ends_with("… and 5 more"));
    }
}
