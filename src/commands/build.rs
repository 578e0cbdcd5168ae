//! `davit build`: maps the flags to `davit_ops::build`, prints one line per
//! image (or spinners on a terminal), where the report went, and the
//! native CI output of the job it runs in.

use std::io::IsTerminal;
use std::time::Instant;

use davit_ci::output::{Reporter, Stream};
use davit_config::project::{Mode, ProjectOptions};
use davit_ops::build::{self, BuildOptions, BuildResult, Parallelism};
use davit_ops::ci::{build_outcome, repo_prefix};
use davit_ops::{OpsError, Project};
use davit_report::report_path;

use super::build_output::BuildOutput;
use super::project_args::{prepare, Level};
use super::storage_args::storage_options;
use crate::cli::BuildArgs;

pub(super) fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// Prints CI output lines where their CI system reads them.
pub(super) fn emit(lines: impl IntoIterator<Item = (Stream, String)>) {
    for (stream, line) in lines {
        match stream {
            Stream::Stdout => println!("{line}"),
            Stream::Stderr => eprintln!("{line}"),
        }
    }
}

pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    if args.plan {
        return super::build_plan::run(&args);
    }
    let started = Instant::now();
    let reporter = Reporter::new(&args.ci_output, &env).map_err(anyhow::Error::msg)?;
    let (opts, lvl) = prepare(&args.project);
    let project_options = opts.clone();
    let result = build(&args, opts, lvl, &reporter);
    let (done, error) = match result {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e)),
    };
    let prefix = match (&error, done.as_ref().and_then(|d| d.failure.as_ref())) {
        (None, None) => String::new(),
        _ => repo_prefix(&project_options),
    };
    let outcome = build_outcome(
        done.as_ref(),
        error.as_ref(),
        &prefix,
        started.elapsed().as_secs_f64(),
    );
    emit(reporter.finish(&outcome, &std::env::current_dir().unwrap_or_default()));
    match (error, done.and_then(|d| d.failure)) {
        (Some(e), _) | (None, Some(e)) => Err(e.into()),
        (None, None) => Ok(()),
    }
}

fn build(
    args: &BuildArgs,
    opts: ProjectOptions,
    lvl: Level,
    reporter: &Reporter<'_>,
) -> Result<BuildResult, OpsError> {
    if opts.mode == Mode::Dev && env("CI").is_some() && lvl != Level::Quiet {
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
    emit(reporter.start("config", "Loading werf.yaml"));
    let project = Project::open(opts);
    emit(reporter.end("config"));
    let project = project?;
    let storage = storage_options(&args.storage, &project, lvl);
    // Gathering secrets reads credentials (and may run credential helpers):
    // only when the CI system masks them.
    if reporter.masks_secrets() {
        let mut secrets = project.secret_values();
        secrets.extend(storage.registry_secrets());
        emit(reporter.masks(&secrets));
    }
    let stores = storage.open(&project.name)?;
    let options = BuildOptions {
        images: args.images.clone(),
        parallelism: parallelism(args.parallel, args.parallel_tasks_limit),
        platforms,
        custom_tags: build::custom_tag_templates(&args.add_custom_tag),
        report,
        debug_stats: lvl == Level::Debug,
        docker_buildkit: env("DOCKER_BUILDKIT"),
        require_built: false,
        ssh_keys: davit_ops::ssh_agent::ssh_keys(&args.ssh_key),
    };
    let mut output = output(lvl);
    emit(reporter.start("build", "Building images"));
    let result = build::build(&project, &stores, &options, |event| output.event(event));
    emit(reporter.end("build"));
    let result = result?;
    if let Some(path) = &result.report_path {
        if lvl != Level::Quiet {
            eprintln!("Build report: {}", path.display());
        }
    }
    Ok(result)
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
