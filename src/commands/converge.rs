//! `davit converge` and `davit dismiss`: the flags mapped to
//! `davit_ops::converge`, progress through `deploy_output`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use davit_ci::deploy_output::DeployOutcome;
use davit_ci::output::Reporter;
use davit_kube::KubeOptions;
use davit_ops::converge::{self, Action, ConvergeOptions};
use davit_ops::render::{self, RenderedRelease};
use davit_ops::Project;

use super::build::emit;
use super::chart_args::{env_pairs, images, render_options};
use super::deploy_output::{DeployOutput, DeployProgress};
use super::project_args::{prepare, Level};
use crate::cli::{ChartArgs, ConvergeArgs, DismissArgs, KubeArgs, PlanArgs};

const DEPLOY_REPORT: &str = ".werf-deploy-report.json";

pub(super) fn kube_options(k: &KubeArgs) -> KubeOptions {
    KubeOptions {
        kubeconfig: k
            .kube_config
            .clone()
            .or_else(|| std::env::var_os("WERF_KUBECONFIG").map(PathBuf::from)),
        kubeconfig_base64: k.kube_config_base64.clone(),
        context: k.kube_context.clone(),
    }
}

/// werf's service annotations: version, project, env, and the service
/// ones among `--add-annotation`/`WERF_ADD_ANNOTATION_*`.
fn service_annotations(project: &Project, all: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut out = vec![
        (
            "werf.io/version".to_string(),
            davit_ops::WERF_COMPAT_VERSION.to_string(),
        ),
        ("project.werf.io/name".to_string(), project.name.clone()),
        (
            "project.werf.io/env".to_string(),
            project.options.env.clone(),
        ),
    ];
    out.extend(
        all.into_iter()
            .filter(|(k, _)| davit_deploy::annotations::is_service_annotation(k)),
    );
    out
}

fn pairs(
    what: &'static str,
    env_prefix: Option<&str>,
    flags: &[String],
) -> anyhow::Result<Vec<(String, String)>> {
    let env = env_prefix.map(env_pairs).unwrap_or_default();
    Ok(davit_deploy::annotations::parse_pairs(what, &env, flags)?)
}

/// The release rendered (images built or found first) and the options
/// `converge` and `plan` share, the others at their defaults.
fn prepare_deploy(
    chart: &ChartArgs,
    kube: &KubeArgs,
    runtime_annotations: &[String],
    runtime_labels: &[String],
) -> anyhow::Result<(RenderedRelease, ConvergeOptions, Level)> {
    let (opts, lvl) = prepare(&chart.project);
    let project = Project::open(opts)?;
    let options = render_options(chart)?;
    let (images, repo) = images(chart, &project, lvl)?;
    let rel = render::render_release(&project, &options, &images, repo.as_deref())
        .map_err(|e| davit_ops::OpsError::Render(Box::new(e)))?;
    for w in rel.warnings.iter().chain(&rel.notices) {
        eprintln!("{w}");
    }
    let all_annotations = pairs(
        "annotation",
        Some("WERF_ADD_ANNOTATION_"),
        &chart.add_annotation,
    )?;
    let options = ConvergeOptions {
        kube: kube_options(kube),
        timeout: None,
        atomic: false,
        history_max: 5,
        create_namespace: true,
        service_annotations: service_annotations(&project, all_annotations),
        runtime_annotations: pairs("runtime annotation", None, runtime_annotations)?,
        runtime_labels: pairs("runtime label", None, runtime_labels)?,
        release_labels: Vec::new(),
        release_info_annotations: Vec::new(),
        propagation: Default::default(),
        lock_wait: Duration::from_secs(600),
        pod_logs: true,
    };
    Ok((rel, options, lvl))
}

pub fn run(args: ConvergeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let reporter =
        Reporter::new(&args.ci_output, &super::build::env).map_err(anyhow::Error::msg)?;
    let result = converge_release(&args, reporter, started);
    if let Err(e) = &result {
        // An error before the deploy began (render, build, flags).
        if !e.is::<Reported>() {
            let reporter =
                Reporter::new(&args.ci_output, &super::build::env).map_err(anyhow::Error::msg)?;
            emit(reporter.finish_deploy(&DeployOutcome {
                release: args.chart.release.clone().unwrap_or_default(),
                namespace: args.chart.namespace.clone().unwrap_or_default(),
                revision: None,
                error: Some(first_line(e)),
                seconds: started.elapsed().as_secs_f64(),
            }));
        }
    }
    result.map_err(|e| match e.downcast::<Reported>() {
        Ok(r) => r.0,
        Err(e) => e,
    })
}

/// An error whose CI output is already written.
#[derive(Debug)]
struct Reported(anyhow::Error);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Reported {}

fn first_line(e: &anyhow::Error) -> String {
    e.to_string().lines().next().unwrap_or("").to_string()
}

fn converge_release(
    args: &ConvergeArgs,
    reporter: Reporter<'_>,
    started: std::time::Instant,
) -> anyhow::Result<()> {
    let (rel, base, lvl) = prepare_deploy(
        &args.chart,
        &args.kube,
        &args.runtime_annotations,
        &args.runtime_labels,
    )?;
    let converge_options = ConvergeOptions {
        timeout: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
        atomic: args.atomic,
        history_max: args.releases_history_max,
        create_namespace: !args.no_create_namespace,
        release_labels: pairs(
            "release label",
            Some("WERF_RELEASE_LABEL_"),
            &args.release_label,
        )?,
        release_info_annotations: pairs(
            "release info annotation",
            None,
            &args.release_info_annotations,
        )?,
        propagation: args
            .delete_propagation
            .parse()
            .map_err(anyhow::Error::msg)?,
        pod_logs: !args.no_pod_logs,
        ..base
    };
    let report = args.save_deploy_report.then(|| {
        args.deploy_report_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEPLOY_REPORT))
    });
    let mut progress = DeployProgress::new(
        DeployOutput::new(
            lvl,
            std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
            args.status_progress_period,
        ),
        reporter,
    );
    let result = converge::converge(&rel, &converge_options, &mut |e| progress.event(e));
    progress.finish();
    if let Some(path) = &report {
        write_report(
            path,
            &rel.release,
            &rel.namespace,
            result.as_ref().ok().map(|r| r.revision),
            result.is_ok(),
        )?;
    }
    let result = result.map_err(anyhow::Error::from);
    emit(progress.reporter().finish_deploy(&DeployOutcome {
        release: rel.release.clone(),
        namespace: rel.namespace.clone(),
        revision: result.as_ref().ok().map(|r| r.revision),
        error: result.as_ref().err().map(first_line),
        seconds: started.elapsed().as_secs_f64(),
    }));
    let r = result.map_err(|e| anyhow::Error::new(Reported(e)))?;
    if lvl != Level::Quiet {
        eprintln!(
            "release {} revision {} deployed to namespace {}",
            r.release, r.revision, r.namespace
        );
    }
    Ok(())
}

fn write_report(
    path: &Path,
    release: &str,
    namespace: &str,
    revision: Option<i64>,
    ok: bool,
) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "Release": release,
        "Namespace": namespace,
        "Revision": revision,
        "Status": if ok { "deployed" } else { "failed" },
    });
    std::fs::write(path, format!("{}\n", serde_json::to_string_pretty(&body)?))
        .with_context(|| format!("writing the deploy report {}", path.display()))
}

pub fn dismiss(args: DismissArgs) -> anyhow::Result<()> {
    let lvl = super::project_args::level(&args.project);
    let (release, namespace) = if args.use_deploy_report {
        if args.namespace.is_some() || args.release.is_some() {
            anyhow::bail!("--use-deploy-report conflicts with --namespace and --release");
        }
        let path = args
            .deploy_report_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEPLOY_REPORT));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the deploy report {}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a deploy report", path.display()))?;
        let s = |k: &str| v[k].as_str().map(str::to_string);
        match (s("Release"), s("Namespace")) {
            (Some(r), Some(n)) => (r, n),
            _ => anyhow::bail!("{}: no Release and Namespace", path.display()),
        }
    } else if let (Some(r), Some(n)) = (&args.release, &args.namespace) {
        (r.clone(), n.clone())
    } else {
        let (opts, _) = prepare(&args.project);
        let project = Project::open(opts)?;
        let names =
            render::release_names(&project, args.namespace.as_deref(), args.release.as_deref())
                .map_err(|e| davit_ops::OpsError::Render(Box::new(e)))?;
        (names.0, names.1)
    };
    let mut output = DeployOutput::new(lvl, false, -1);
    let result = converge::dismiss(
        &kube_options(&args.kube),
        &release,
        &namespace,
        args.with_hooks,
        args.with_namespace,
        &mut |e| output.event(e),
    );
    output.finish();
    Ok(result?)
}

/// `davit plan`: the changes, one line each with its diff under it, and a
/// count; with `--exit-code`, exit status 2 when anything would change.
pub fn plan(args: PlanArgs) -> anyhow::Result<()> {
    let (rel, options, _) = prepare_deploy(
        &args.chart,
        &args.kube,
        &args.runtime_annotations,
        &args.runtime_labels,
    )?;
    let changes = converge::plan_changes(&rel, &options)?;
    let mut out = String::new();
    out.push_str(&format!(
        "Planned changes to release {} in namespace {}:\n",
        rel.release, rel.namespace
    ));
    let mut counts = std::collections::BTreeMap::new();
    for c in &changes {
        *counts.entry(c.action.as_str()).or_insert(0usize) += 1;
        if c.action == Action::Unchanged {
            continue;
        }
        out.push_str(&format!("  {:<9} {}\n", c.action.as_str(), c.resource));
        if args.diff {
            for line in c.diff.lines() {
                out.push_str(&format!("      {line}\n"));
            }
        }
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    out.push_str(&format!("{}\n", summary.join(", ")));
    print!("{out}");
    let changed = changes
        .iter()
        .any(|c| c.action != Action::Unchanged && c.action != Action::Skip);
    if args.exit_code && changed {
        std::process::exit(2);
    }
    Ok(())
}
