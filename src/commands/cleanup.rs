//! `davit cleanup`: the flags mapped to `davit_ops::cleanup`, werf's log
//! lines, `--explain`, and the cleanup report, written even when the run
//! fails (its path checked before anything is deleted).

use std::io::{BufWriter, LineWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use davit_cleanup::plan::Deletion;
use davit_ops::cleanup::{self, CleanupOptions, CleanupOutcome, Event, RegistryApiOptions};
use davit_ops::Project;

use super::converge::kube_options;
use super::project_args::{prepare, Level};
use super::storage_args::storage_options;
use crate::cli::{CleanupArgs, PurgeArgs, RegistryApiArgs};

const REPORT: &str = ".werf-cleanup-report.json";

fn describe(d: &Deletion) -> String {
    match d {
        Deletion::ImageMetadata { record, image } => format!(
            "image metadata {} (image {image}, commit {})",
            record.tag, record.commit
        ),
        Deletion::Stage { tag } => format!("stage {tag}"),
        Deletion::CustomTag { tag, .. } => format!("custom tag {tag}"),
        Deletion::RejectedStage { tag } => format!("rejected stage {tag}"),
        Deletion::RejectedStageMarker { tag } => format!("rejected stage marker {tag}"),
        Deletion::ManagedImage { name, .. } => format!("managed image record of {name:?}"),
        Deletion::ImportMetadata { tag } => format!("import metadata {tag}"),
        Deletion::FinalStage { tag } => format!("final repository stage {tag}"),
        Deletion::FinalCustomTag { tag } => format!("final repository custom tag {tag}"),
        Deletion::Record { tag } => format!("record {tag}"),
    }
}

fn verb(dry_run: bool) -> &'static str {
    if dry_run {
        "would delete"
    } else {
        "deleted"
    }
}

fn report_path(save: bool, path: &Option<PathBuf>) -> Option<PathBuf> {
    save.then(|| path.clone().unwrap_or_else(|| PathBuf::from(REPORT)))
}

type Operation = fn(
    &Project,
    &CleanupOptions,
    &mut CleanupOutcome,
    &mut dyn FnMut(Event<'_>),
) -> Result<(), davit_ops::OpsError>;

/// Runs a cleanup or purge with werf's log lines: phases, references,
/// deletions as they happen, warnings, and in a dry run what would go.
fn run_logged(
    operation: Operation,
    project: &Project,
    options: &CleanupOptions,
    quiet: bool,
) -> (CleanupOutcome, Result<(), davit_ops::OpsError>) {
    let verb = verb(options.dry_run);
    let mut outcome = CleanupOutcome::default();
    // A line a write: a run lists thousands of tags, and unbuffered
    // stderr costs a system call per piece of each line.
    let mut log = LineWriter::new(std::io::stderr());
    let result = operation(project, options, &mut outcome, &mut |e| {
        if quiet {
            return;
        }
        let _ = match e {
            Event::Phase(p) => writeln!(log, "┌ {p}"),
            Event::Note(n) => writeln!(log, "{n}"),
            Event::Reference(r, policy) => writeln!(log, "│ {r}: {policy}"),
            Event::Deleted(d) => writeln!(log, "│ {verb} {}", describe(d)),
        };
    });
    let mut log = BufWriter::new(log);
    for w in &outcome.warnings {
        let _ = writeln!(log, "{w}");
    }
    if !quiet && options.dry_run {
        for d in &outcome.planned {
            let _ = writeln!(log, "│ {verb} {}", describe(d));
        }
    }
    let _ = log.flush();
    (outcome, result)
}

fn deleted_tags(outcome: &CleanupOutcome) -> usize {
    outcome.deleted.iter().map(|d| d.tags().len()).sum()
}

/// `--explain`: why each kept stage stays.
fn print_explanation(outcome: &CleanupOutcome) {
    eprintln!("┌ Why each stage is kept");
    for (stage, p) in &outcome.kept {
        if p.detail.is_empty() {
            eprintln!("│ {stage}: {}", p.reason);
        } else {
            eprintln!("│ {stage}: {} ({})", p.reason, p.detail);
        }
    }
    eprintln!("└ every other stage is deleted: no reference of the policies reaches it, nothing runs it, and it is older than the built-within-hours window");
}

/// `N registry requests`, and the vendor API's when it was used.
fn requests(outcome: &CleanupOutcome) -> String {
    let mut s = format!("{} registry requests", outcome.requests);
    if outcome.vendor_requests > 0 {
        s.push_str(&format!(
            ", {} vendor API requests ({} rate-limited answers waited out)",
            outcome.vendor_requests, outcome.rate_limited
        ));
    }
    s
}

fn registry_api(args: &RegistryApiArgs) -> RegistryApiOptions {
    RegistryApiOptions {
        implementation: args.repo_container_registry.clone(),
        github_token: args.repo_github_token.clone(),
        docker_hub_token: args.repo_docker_hub_token.clone(),
        docker_hub_username: args.repo_docker_hub_username.clone(),
        docker_hub_password: args.repo_docker_hub_password.clone(),
        // Another API server: GitHub Enterprise, a proxy, a test double.
        github_api_url: std::env::var("DAVIT_GITHUB_API_URL").ok(),
        ecr_api_url: std::env::var("DAVIT_ECR_API_URL").ok(),
        docker_hub_api_url: std::env::var("DAVIT_DOCKER_HUB_API_URL").ok(),
        aws_credentials: None,
        aws_sources: Default::default(),
    }
    .with_aws_credentials_from_environment()
}

/// The `--final-repo-*` flags, each falling back to its `--repo-*` one
/// (the implementation is detected from the final repository's host).
fn final_registry_api(args: &RegistryApiArgs, repo: &RegistryApiOptions) -> RegistryApiOptions {
    let or = |a: &Option<String>, b: Option<String>| a.clone().or(b);
    RegistryApiOptions {
        implementation: args.final_repo_container_registry.clone(),
        github_token: or(&args.final_repo_github_token, repo.github_token.clone()),
        docker_hub_token: or(
            &args.final_repo_docker_hub_token,
            repo.docker_hub_token.clone(),
        ),
        docker_hub_username: or(
            &args.final_repo_docker_hub_username,
            repo.docker_hub_username.clone(),
        ),
        docker_hub_password: or(
            &args.final_repo_docker_hub_password,
            repo.docker_hub_password.clone(),
        ),
        ..repo.clone()
    }
}

/// A report path that cannot be written fails before anything is deleted.
fn check_writable(path: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("the cleanup report {} cannot be written", path.display()))?;
    }
    Ok(())
}

fn write_report(
    path: Option<&Path>,
    command: &str,
    dry_run: bool,
    outcome: &CleanupOutcome,
    explain: bool,
) -> anyhow::Result<()> {
    if let Some(path) = path {
        let mut report = davit_cleanup::report::report(
            command,
            dry_run,
            &outcome.repo,
            &outcome.kept,
            &outcome.deleted,
            explain,
        );
        if let Some(final_repo) = &outcome.final_repo {
            report["finalRepo"] = serde_json::json!(final_repo);
        }
        std::fs::write(
            path,
            format!("{}\n", serde_json::to_string_pretty(&report)?),
        )
        .with_context(|| format!("writing the cleanup report {}", path.display()))?;
    }
    Ok(())
}

pub fn run(args: CleanupArgs) -> anyhow::Result<()> {
    let (opts, lvl) = prepare(&args.project);
    let project = Project::open(opts)?;
    let report_path = report_path(args.save_cleanup_report, &args.cleanup_report_path);
    // A report that cannot be written fails before anything is deleted.
    check_writable(report_path.as_deref())?;
    let registry_api = registry_api(&args.registry_api);
    let final_registry_api = final_registry_api(&args.registry_api, &registry_api);
    let options = CleanupOptions {
        storage: storage_options(&args.storage, &project, lvl),
        dry_run: args.dry_run,
        without_kube: args.without_kube,
        kube: kube_options(&args.kube),
        scan_context_only: args
            .scan_context_only
            .clone()
            .or(args.kube.kube_context.clone()),
        kube_scan_namespaces: args.kube_scan_namespaces.clone(),
        keep_hours: args.keep_stages_built_within_last_n_hours,
        keep_list: args.keep_list.clone(),
        parallel: args.parallel_tasks_limit.max(1),
        registry_api,
        final_registry_api,
    };
    let quiet = lvl == Level::Quiet;
    let verb = verb(args.dry_run);
    let (outcome, result) = run_logged(cleanup::cleanup, &project, &options, quiet);
    if args.explain && !quiet {
        print_explanation(&outcome);
    }
    write_report(
        report_path.as_deref(),
        "cleanup",
        args.dry_run,
        &outcome,
        args.explain,
    )?;
    result?;
    if !quiet {
        eprintln!(
            "{verb} {} tag(s); {} stage(s) kept; {}",
            deleted_tags(&outcome),
            outcome.kept.len(),
            requests(&outcome)
        );
    }
    Ok(())
}

/// `davit purge`: everything of the project in the repository.
pub fn purge(args: PurgeArgs) -> anyhow::Result<()> {
    let (opts, lvl) = prepare(&args.project);
    let project = Project::open(opts)?;
    let report_path = report_path(args.save_cleanup_report, &args.cleanup_report_path);
    check_writable(report_path.as_deref())?;
    let registry_api = registry_api(&args.registry_api);
    let final_registry_api = final_registry_api(&args.registry_api, &registry_api);
    let options = CleanupOptions {
        storage: storage_options(&args.storage, &project, lvl),
        dry_run: args.dry_run,
        without_kube: true,
        kube: Default::default(),
        scan_context_only: None,
        kube_scan_namespaces: Vec::new(),
        keep_hours: None,
        keep_list: None,
        parallel: args.parallel_tasks_limit.max(1),
        registry_api,
        final_registry_api,
    };
    let quiet = lvl == Level::Quiet;
    let verb = verb(args.dry_run);
    let (outcome, result) = run_logged(cleanup::purge, &project, &options, quiet);
    write_report(
        report_path.as_deref(),
        "purge",
        args.dry_run,
        &outcome,
        false,
    )?;
    result?;
    if !quiet {
        eprintln!(
            "{verb} {} tag(s); {}",
            deleted_tags(&outcome),
            requests(&outcome)
        );
    }
    Ok(())
}
