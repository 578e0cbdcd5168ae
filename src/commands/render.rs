//! `davit render`: maps the flags (and their `WERF_*` forms) to
//! `davit_ops::render`, gets the images (stubs, a build, or a build
//! report) and prints the manifests.

use anyhow::Context;
use davit_ops::render;
use davit_ops::Project;

use super::chart_args::{images, render_options};
use super::project_args::{env_list, prepare, Level};
use crate::cli::RenderArgs;

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    let (opts, lvl) = prepare(&args.chart.project);
    if !args.lookup_resources.is_empty() && lvl != Level::Quiet {
        eprintln!("note: --lookup-resources: davit render does not read the cluster yet; `lookup` returns an empty map");
    }
    let project = Project::open(opts)?;
    let mut options = render_options(&args.chart)?;
    options.show_only = env_list("WERF_SHOW_ONLY", &[]);
    options.show_only.extend(args.show_only.iter().cloned());
    options.include_crds = args.include_crds;
    let (images, repo) = images(&args.chart, &project, lvl)?;
    let out = render::render(&project, &options, &images, repo.as_deref())?;
    for w in &out.warnings {
        eprintln!("{w}");
    }
    for n in &out.notices {
        println!("{n}");
    }
    match &args.output {
        Some(path) => std::fs::write(path, &out.manifests)
            .with_context(|| format!("writing the manifests to {}", path.display()))?,
        None => print!("{}", out.manifests),
    }
    Ok(())
}
