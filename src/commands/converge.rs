//! `davit converge` and `davit dismiss`: the flags mapped to
//! `davit_ops::converge`, progress printed as plain lines (one per applied,
//! deleted or ready resource; what is awaited every few seconds).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use davit_kube::KubeOptions;
use davit_ops::converge::{self, ConvergeOptions, Event};
use davit_ops::render;
use davit_ops::Project;

use super::chart_args::{env_pairs, images, render_options};
use super::project_args::{prepare, Level};
use crate::cli::{ConvergeArgs, DismissArgs, KubeArgs};

const DEPLOY_REPORT: &str = ".werf-deploy-report.json";

fn kube_options(k: &KubeArgs) -> KubeOptions {
    KubeOptions {
        kubeconfig: k
            .kube_config
            .clone()
            .or_else(|| std::env::var_os("WERF_KUBECONFIG").map(PathBuf::from)),
        kubeconfig_base64: k.kube_config_base64.clone(),
        context: k.kube_context.clone(),
    }
}

fn print_event(lvl: Level) -> impl FnMut(Event<'_>) {
    move |e| {
        if lvl == Level::Quiet {
            return;
        }
        match e {
            Event::Stage(s) => eprintln!("┌ {s}"),
            Event::Applied(id) => eprintln!("│ applied {id}"),
            Event::Deleted(id) => eprintln!("│ deleted {id}"),
            Event::Waiting(id, why) => eprintln!("│ waiting for {id}: {why}"),
            Event::Ready(id) => eprintln!("│ ready {id}"),
            Event::Note(n) => eprintln!("{n}"),
        }
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

pub fn run(args: ConvergeArgs) -> anyhow::Result<()> {
    let (opts, lvl) = prepare(&args.chart.project);
    let project = Project::open(opts)?;
    let options = render_options(&args.chart)?;
    let (images, repo) = images(&args.chart, &project, lvl)?;
    let rel = render::render_release(&project, &options, &images, repo.as_deref())
        .map_err(|e| davit_ops::OpsError::Render(Box::new(e)))?;
    for w in rel.warnings.iter().chain(&rel.notices) {
        eprintln!("{w}");
    }
    let all_annotations = davit_deploy::annotations::parse_pairs(
        "annotation",
        &env_pairs("WERF_ADD_ANNOTATION_"),
        &args.chart.add_annotation,
    )?;
    let converge_options = ConvergeOptions {
        kube: kube_options(&args.kube),
        timeout: (args.timeout > 0).then(|| Duration::from_secs(args.timeout)),
        atomic: args.atomic,
        history_max: args.releases_history_max,
        create_namespace: !args.no_create_namespace,
        service_annotations: service_annotations(&project, all_annotations),
        propagation: args
            .delete_propagation
            .parse()
            .map_err(anyhow::Error::msg)?,
        lock_wait: Duration::from_secs(600),
        progress_period: Duration::from_secs(args.status_progress_period.max(1)),
    };
    let report = args.save_deploy_report.then(|| {
        args.deploy_report_path
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEPLOY_REPORT))
    });
    let result = converge::converge(&rel, &converge_options, &mut print_event(lvl));
    if let Some(path) = &report {
        write_report(
            path,
            &rel.release,
            &rel.namespace,
            result.as_ref().ok().map(|r| r.revision),
            result.is_ok(),
        )?;
    }
    let r = result?;
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
    converge::dismiss(
        &kube_options(&args.kube),
        &release,
        &namespace,
        args.with_hooks,
        args.with_namespace,
        &mut print_event(lvl),
    )?;
    Ok(())
}
