//! `davit build --plan`: maps the flags to `davit_ops::plan` and prints the
//! plan as text (one block per image) or JSON. Exits non-zero when an
//! image cannot be planned, after printing every image.

use std::io::Write;

use anyhow::Context;
use davit_ops::build::target_platforms;
use davit_ops::plan::{plan, plan_json, ImagePlan};
use davit_ops::Project;

use super::project_args::prepare;
use super::storage_args::storage_options;
use crate::cli::{BuildArgs, PlanFormat};

pub fn run(args: &BuildArgs) -> anyhow::Result<()> {
    let (opts, lvl) = prepare(&args.project);
    let platforms = target_platforms(&args.platform)?;
    let project = Project::open(opts)?;
    let storage = storage_options(&args.storage, &project, lvl);
    let stores = storage.open(&project.name)?;
    let plans = plan(&project, &stores, &args.images, &platforms)?;
    let address = stores.primary.address();
    let mut out = std::io::stdout().lock();
    match args.output {
        PlanFormat::Json => {
            let text = serde_json::to_string_pretty(&plan_json(&address, &plans))
                .context("formatting the plan")?;
            writeln!(out, "{text}")?;
        }
        PlanFormat::Text => write_text(&mut out, &address, &plans)?,
    }
    out.flush()?;
    let failed: Vec<&str> = plans
        .iter()
        .filter(|p| p.problem.is_some())
        .map(|p| p.image.as_str())
        .collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "{} image(s) cannot be planned: {}",
            failed.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

fn write_text(out: &mut impl Write, address: &str, plans: &[ImagePlan]) -> std::io::Result<()> {
    writeln!(out, "Stages storage: {address}")?;
    let width = plans
        .iter()
        .flat_map(|p| p.stages.iter().map(|s| s.name.len()))
        .max()
        .unwrap_or(0);
    for p in plans {
        let name = if p.image.is_empty() { "~" } else { &p.image };
        let stored = p.stages.iter().filter(|s| s.stored.is_some()).count();
        let state = if let Some(problem) = &p.problem {
            format!("error: {problem}")
        } else if p.up_to_date() {
            "up to date".to_string()
        } else {
            format!("{stored} of {} stages stored", p.stages.len())
        };
        writeln!(out, "\n{name} ({}, {}): {state}", p.kind, p.platform)?;
        for s in &p.stages {
            let digest = s.digest.as_deref().unwrap_or("?");
            let what = match (&s.stored, &s.note) {
                (Some(id), _) => format!("stored {id}"),
                (None, Some(note)) => note.clone(),
                (None, None) => "to build".to_string(),
            };
            writeln!(out, "  {:<width$}  {digest:<56}  {what}", s.name)?;
        }
        for w in &p.warnings {
            writeln!(out, "  warning: {w}")?;
        }
    }
    Ok(())
}
