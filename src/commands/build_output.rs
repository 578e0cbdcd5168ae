//! What `davit build` prints: plain lines for CI logs and pipes, and live
//! spinners (one per running image, with its builder's latest line) when
//! stderr is a terminal. Both end each image with the same summary line.

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use davit_ops::build::{Event, ImageOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

pub enum BuildOutput {
    Quiet,
    /// Line by line; `builder_lines` also prints each builder output line.
    Lines {
        builder_lines: bool,
    },
    Terminal {
        bars: MultiProgress,
        running: HashMap<String, ProgressBar>,
    },
}

fn plan_lines(sets: &[Vec<&davit_config::parse::ImageDoc>], limit: Option<usize>) -> Vec<String> {
    let header = match limit {
        Some(n) => format!("Concurrent build plan (no more than {n} images at the same time)"),
        None => "Concurrent build plan".to_string(),
    };
    let mut out = vec![format!("┌ {header}")];
    let total: usize = sets.iter().map(Vec::len).sum();
    let mut index = 0;
    for (k, set) in sets.iter().enumerate() {
        if k > 0 {
            out.push("│".into());
        }
        out.push(format!("│ Set #{k}:"));
        for img in set {
            index += 1;
            let shown = if img.name.is_empty() { "~" } else { &img.name };
            out.push(format!("│ - ({index}/{total}) image {shown}"));
        }
    }
    out.push(format!("└ {header}"));
    out
}

/// `warning: IMAGE: MESSAGE`, or without the image for build-wide ones.
fn warning_line(image: &str, message: &str) -> String {
    if image.is_empty() {
        format!("warning: {message}")
    } else {
        format!("warning: {image}: {message}")
    }
}

fn done_line(o: &ImageOutcome) -> String {
    let from_secondary = o
        .record
        .stages
        .iter()
        .flatten()
        .any(|s| s.source_type == "secondary");
    let verb = match (o.record.rebuilt, from_secondary) {
        (true, true) => "copied from a secondary repo",
        (true, false) => "built",
        (false, _) => "reused",
    };
    format!(
        "└ {}: {verb} {} ({:.2}s)",
        o.name, o.record.docker_image_name, o.seconds
    )
}

impl BuildOutput {
    pub fn terminal() -> BuildOutput {
        BuildOutput::Terminal {
            bars: MultiProgress::new(),
            running: HashMap::new(),
        }
    }

    pub fn event(&mut self, event: Event<'_>) {
        match self {
            // Warnings are shown even when quiet.
            BuildOutput::Quiet => {
                if let Event::Warning { image, message } = event {
                    eprintln!("{}", warning_line(image, message));
                }
            }
            BuildOutput::Lines { builder_lines } => {
                let mut err = std::io::stderr().lock();
                let _ = match event {
                    Event::Plan { sets, limit } => {
                        writeln!(err, "{}", plan_lines(sets, limit).join("\n"))
                    }
                    Event::Start {
                        image,
                        stage,
                        digest,
                    } => {
                        writeln!(err, "┌ {image}: stage {stage} {digest}")
                    }
                    Event::Line { image, line } if *builder_lines => {
                        writeln!(err, "│ {image}: {line}")
                    }
                    Event::Line { .. } => Ok(()),
                    Event::Tagged { image, reference } => {
                        writeln!(err, "└ {image}: tagged {reference}")
                    }
                    Event::Warning { image, message } => {
                        writeln!(err, "{}", warning_line(image, message))
                    }
                    Event::Done(o) => writeln!(err, "{}", done_line(o)),
                };
            }
            BuildOutput::Terminal { bars, running } => match event {
                Event::Plan { sets, limit } => {
                    for line in plan_lines(sets, limit) {
                        let _ = bars.println(line);
                    }
                }
                Event::Start {
                    image,
                    stage,
                    digest,
                } => start_spinner(bars, running, image, stage, digest),
                Event::Warning { image, message } => {
                    let _ = bars.println(warning_line(image, message));
                }
                Event::Tagged { image, reference } => {
                    let _ = bars.println(format!("└ {image}: tagged {reference}"));
                }
                Event::Line { image, line } => {
                    if let Some(bar) = running.get(image) {
                        bar.set_message(line.to_string());
                    }
                }
                Event::Done(o) => {
                    if let Some(bar) = running.remove(&o.name) {
                        bar.finish_and_clear();
                        bars.remove(&bar);
                    }
                    let _ = bars.println(done_line(o));
                }
            },
        }
    }
}

/// A spinner for an image that starts; a multi-platform image starts once
/// per platform, replacing its spinner.
fn start_spinner(
    bars: &MultiProgress,
    running: &mut HashMap<String, ProgressBar>,
    image: &str,
    stage: &str,
    digest: &str,
) {
    if let Some(old) = running.remove(image) {
        old.finish_and_clear();
        bars.remove(&old);
    }
    let bar = bars.add(ProgressBar::new_spinner());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {prefix}: {wide_msg}") {
        bar.set_style(style);
    }
    bar.set_prefix(image.to_string());
    bar.set_message(format!("stage {stage} {}", &digest[..12.min(digest.len())]));
    bar.enable_steady_tick(Duration::from_millis(100));
    running.insert(image.to_string(), bar);
}
