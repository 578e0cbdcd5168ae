//! `davit build`: maps the flags to `davit_ops::build`, prints one line per
//! image (or spinners on a terminal) and where the report went.

use std::io::IsTerminal;

use davit_ops::build::{self, BuildOptions, Parallelism};
use davit_ops::{Project, StorageOptions};
use davit_report::report_path;

use super::build_output::BuildOutput;
use super::project_args::{prepare, Level};
use crate::cli::BuildArgs;

pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let (opts, lvl) = prepare(&args.project);
    if opts.mode == davit_config::project::Mode::Dev
        && std::env::var_os("CI").is_some()
        && lvl != Level::Quiet
    {
        eprintln!("warning: --dev in CI: images are built from the uncommitted work tree, so they may differ from any commit");
    }
    let platforms = build::target_platforms(&args.platform)?;
    if let Some(sync) = args.synchronization.as_deref().filter(|s| *s != ":local") {
        if lvl != Level::Quiet {
            eprintln!("note: --synchronization {sync}: davit uses no lock server; stages are content-addressed and published under a host lock with a re-check");
        }
    }
    if let Some(tmp) = &args.tmp_dir {
        // Before any thread starts: temporary files (value secrets) go there.
        std::env::set_var("TMPDIR", tmp);
    }
    // Resolve the report path first: a bad extension should fail before any work.
    let report = if args.save_build_report {
        Some(report_path(args.build_report_path.as_deref())?)
    } else {
        None
    };
    let storage = storage_options(&args);
    let project = Project::open(opts)?;
    storage.check()?;
    let stores = storage.open(&project.name)?;
    let options = BuildOptions {
        images: args.images.clone(),
        parallelism: parallelism(args.parallel, args.parallel_tasks_limit),
        platforms,
        custom_tags: build::custom_tag_templates(&args.add_custom_tag),
        report,
        debug_stats: lvl == Level::Debug,
        docker_buildkit: std::env::var("DOCKER_BUILDKIT").ok(),
    };
    let mut output = output(lvl);
    let result = build::build(&project, &stores, &options, |event| output.event(event))?;
    if let Some(path) = &result.report_path {
        if lvl != Level::Quiet {
            eprintln!("Build report: {}", path.display());
        }
    }
    match result.failure {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

fn storage_options(args: &BuildArgs) -> StorageOptions {
    StorageOptions {
        repo: args.repo.clone(),
        final_repo: args.final_repo.clone(),
        secondary_repos: args.secondary_repo.clone(),
        cache_repos: args.cache_repo.clone(),
        docker_config: args.docker_config.clone(),
        insecure_registry: args.insecure_registry,
        skip_tls_verify: args.skip_tls_verify_registry,
        home_dir: args.home_dir.clone(),
    }
}

/// `--parallel` and `--parallel-tasks-limit` (werf: 0 or less is unlimited).
fn parallelism(parallel: bool, limit: i64) -> Parallelism {
    match (parallel, limit) {
        (false, _) => Parallelism::Sequential,
        (true, n) if n <= 0 => Parallelism::Unlimited,
        (true, n) => Parallelism::Limit(usize::try_from(n).unwrap_or(usize::MAX)),
    }
}

/// Spinners on a terminal; plain lines (with the builder's output) in CI
/// logs, pipes and verbose runs.
fn output(lvl: Level) -> BuildOutput {
    let terminal = std::io::stderr().is_terminal();
    if lvl == Level::Quiet {
        BuildOutput::Quiet
    } else if terminal && lvl < Level::Verbose {
        BuildOutput::terminal()
    } else {
        BuildOutput::Lines {
            builder_lines: lvl >= Level::Verbose || !terminal,
        }
    }
}
