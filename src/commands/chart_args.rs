//! The flags `render` and `converge` share (names, values, secrets,
//! annotations, images, storage) mapped to `davit_ops::render` options,
//! and the images: werf's stubs, a build's, or a build report's.

use std::path::PathBuf;

use anyhow::Context;
use davit_chart::SetKind;
use davit_ops::build::{self, BuildOptions, Parallelism};
use davit_ops::render::{self, RenderOptions, ValuesInputSpec};
use davit_ops::Project;
use davit_report::{report_path, BuildReport};

use super::project_args::{env_list, Level};
use super::storage_args::storage_options;
use crate::cli::{ChartArgs, ValuesArgs};

pub(super) fn render_options(args: &ChartArgs) -> anyhow::Result<RenderOptions> {
    let annotations = env_pairs("WERF_ADD_ANNOTATION_");
    let labels = env_pairs("WERF_ADD_LABEL_");
    let annotations =
        davit_deploy::annotations::parse_pairs("annotation", &annotations, &args.add_annotation)?;
    let extra_labels = davit_deploy::annotations::parse_pairs("label", &labels, &args.add_label)?;
    let mut extra_api_versions = env_list("WERF_EXTRA_APIVERSIONS_", &[]);
    extra_api_versions.extend(args.extra_apiversions.iter().cloned());
    Ok(RenderOptions {
        values: values_inputs(&args.values),
        secret_values: with_env("WERF_SECRET_VALUES_", &[], &args.values.secret_values),
        disable_default_values: args.values.disable_default_values,
        disable_default_secret_values: args.values.disable_default_secret_values,
        ignore_secret_key: args.values.ignore_secret_key,
        secret_key: std::env::var("WERF_SECRET_KEY").ok(),
        werf_home: werf_home(),
        namespace: args.namespace.clone(),
        release: args.release.clone(),
        extra_annotations: davit_deploy::annotations::extra_annotations(annotations),
        extra_labels,
        show_only: Vec::new(),
        include_crds: true,
        kube_version: args.kube_version.clone(),
        extra_api_versions,
        docker_config_json: docker_config_json(args)?,
        cache_home: args.storage.home_dir.clone(),
        insecure_registry: args.storage.insecure_registry,
        skip_tls_verify: args.storage.skip_tls_verify_registry,
    })
}

/// `--set-docker-config-json-value`: the docker config, base64, for
/// `.Values.dockerconfigjson` (image pull secrets).
fn docker_config_json(args: &ChartArgs) -> anyhow::Result<Option<String>> {
    if !args.set_docker_config_json_value {
        return Ok(None);
    }
    let dir = args
        .storage
        .docker_config
        .clone()
        .or_else(|| std::env::var_os("DOCKER_CONFIG").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
        .context("--set-docker-config-json-value: no docker config (set DOCKER_CONFIG)")?;
    let path = dir.join("config.json");
    let data = std::fs::read(&path)
        .with_context(|| format!("--set-docker-config-json-value: reading {}", path.display()))?;
    use base64::Engine;
    Ok(Some(base64::engine::general_purpose::STANDARD.encode(data)))
}

/// werf's home (`WERF_HOME`, else `~/.werf`), where `global_secret_key` is.
pub(super) fn werf_home() -> Option<PathBuf> {
    std::env::var_os("WERF_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".werf")))
}

pub(super) fn env_pairs(prefix: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with(prefix))
        .collect();
    v.sort_by(|a, b| format!("{}={}", a.0, a.1).cmp(&format!("{}={}", b.0, b.1)));
    v
}

fn with_env(prefix: &str, except: &[&str], flags: &[String]) -> Vec<String> {
    let mut v = env_list(prefix, except);
    v.extend(flags.iter().cloned());
    v
}

/// Helm's order: files, JSON, --set, --set-string, --set-file,
/// --set-literal; each flag after its `WERF_*_<ANY>` variables.
fn values_inputs(a: &ValuesArgs) -> Vec<ValuesInputSpec> {
    let set_except = [
        "WERF_SET_STRING_",
        "WERF_SET_FILE_",
        "WERF_SET_JSON_",
        "WERF_SET_LITERAL_",
        "WERF_SET_ROOT_JSON_",
        "WERF_SET_RUNTIME_JSON_",
        "WERF_SET_DOCKER_CONFIG_JSON_VALUE",
    ];
    let mut out: Vec<ValuesInputSpec> = with_env("WERF_VALUES_", &[], &a.values)
        .into_iter()
        .map(ValuesInputSpec::File)
        .collect();
    for (kind, prefix, except, flags) in [
        (SetKind::Json, "WERF_SET_JSON_", &[][..], &a.set_json),
        (SetKind::Typed, "WERF_SET_", &set_except[..], &a.set),
        (SetKind::String, "WERF_SET_STRING_", &[][..], &a.set_string),
        (SetKind::File, "WERF_SET_FILE_", &[][..], &a.set_file),
        (
            SetKind::Literal,
            "WERF_SET_LITERAL_",
            &[][..],
            &a.set_literal,
        ),
    ] {
        out.extend(
            with_env(prefix, except, flags)
                .into_iter()
                .map(|t| ValuesInputSpec::Set(kind, t)),
        );
    }
    out
}

/// Stubs without a repository; else a build report's images (read, or of
/// a build run now).
pub(super) fn images(
    args: &ChartArgs,
    project: &Project,
    lvl: Level,
) -> anyhow::Result<(Vec<davit_deploy::ServiceImage>, Option<String>)> {
    if args.use_build_report {
        let (path, _) = report_path(args.build_report_path.as_deref())?;
        let report = BuildReport::read(&path)
            .with_context(|| format!("reading the build report {}", path.display()))?;
        let images = render::report_images(project, &report)?;
        let repo = images
            .iter()
            .find_map(|i| i.reference.as_ref().map(|r| r.repo.clone()));
        return Ok((images, repo));
    }
    let storage = storage_options(&args.storage, project, lvl);
    let Some(repo) = storage.repo() else {
        return Ok((render::stub_images(project), None));
    };
    let repo = storage
        .final_repo
        .clone()
        .unwrap_or_else(|| repo.to_string());
    let stores = storage.open(&project.name)?;
    let options = BuildOptions {
        images: render::final_images(project),
        parallelism: Parallelism::Limit(5),
        platforms: build::target_platforms(&args.platform)?,
        custom_tags: Vec::new(),
        report: None,
        debug_stats: false,
        docker_buildkit: std::env::var("DOCKER_BUILDKIT").ok(),
        require_built: args.require_built_images,
        ssh_keys: davit_ops::ssh_agent::ssh_keys(&args.ssh_key),
    };
    let result = build::build(project, &stores, &options, |_| {})?;
    if let Some(failure) = result.failure {
        return Err(failure.into());
    }
    Ok((render::report_images(project, &result.report)?, Some(repo)))
}
