//! `davit build`: load werf.yaml from the commit, build or reuse every
//! image's stage in `--repo` (or the local daemon), print one line per image, write the report.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use davit_build::conveyor::{Conveyor, Parallelism};
use davit_build::custom_tags::CustomTags;
use davit_build::docker::{BuilderChoice, DockerEngine};
use davit_build::opstats::OpStats;
use davit_build::report::report_path;
use davit_build::storage::{LocalStorage, RepoStorage, Storage};
use davit_config::giterminism::PathGlob;
use davit_config::project::{self, Mode};
use davit_git::Repo;
use davit_registry::{Credentials, RegistryClient, RegistryOptions};

use super::build_output::BuildOutput;
use super::config::{prepare, Level};
use crate::cli::BuildArgs;

/// Where host locks live: `$WERF_HOME/davit-locks`, else `~/.davit/locks`.
/// Host locks live in `--home-dir`/`WERF_HOME` when given, else `~/.davit`.
fn lock_dir(home_dir: Option<&std::path::Path>) -> PathBuf {
    if let Some(home) = home_dir {
        return home.join("davit-locks");
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp".into());
    PathBuf::from(home).join(".davit/locks")
}

/// `--platform`, else `DOCKER_DEFAULT_PLATFORM`: the platforms every image
/// is built for (werf's priority), checked before any work.
fn forced_platforms(flags: &[String]) -> anyhow::Result<Vec<String>> {
    let requested: Vec<String> = if flags.is_empty() {
        std::env::var("DOCKER_DEFAULT_PLATFORM")
            .ok()
            .filter(|v| !v.is_empty())
            .map(|v| v.split(',').map(str::to_string).collect())
            .unwrap_or_default()
    } else {
        flags.to_vec()
    };
    requested
        .iter()
        .map(|p| {
            davit_build::platform::normalize(p).map_err(|e| anyhow::anyhow!("--platform: {e}"))
        })
        .collect()
}

pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let (opts, lvl) = prepare(&args.project);
    if opts.mode == Mode::Dev && std::env::var_os("CI").is_some() && lvl != Level::Quiet {
        eprintln!("warning: --dev in CI: images are built from the uncommitted work tree, so they may differ from any commit");
    }
    let forced_platforms = forced_platforms(&args.platform)?;
    if let Some(sync) = args.synchronization.as_deref().filter(|s| *s != ":local") {
        if lvl != Level::Quiet {
            eprintln!("note: --synchronization {sync}: davit uses no lock server; stages are content-addressed and published under a host lock with a re-check");
        }
    }
    if let Some(tmp) = &args.tmp_dir {
        // Before any thread starts: temporary files (value secrets) go there.
        std::env::set_var("TMPDIR", tmp);
    }
    let home_dir = args.home_dir.as_deref();
    let lock_dir = || lock_dir(home_dir);
    // Resolve the report path first: a bad extension should fail before any work.
    let report_target = if args.save_build_report {
        Some(report_path(args.build_report_path.as_deref())?)
    } else {
        None
    };
    let loaded = project::load(&opts)?;
    let project_name = loaded
        .config
        .meta
        .project
        .as_ref()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    let dir = std::fs::canonicalize(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    let repo = Repo::discover(opts.git_work_tree.as_deref().unwrap_or(&dir))?;
    let work_tree =
        std::fs::canonicalize(repo.work_tree()).unwrap_or_else(|_| repo.work_tree().to_path_buf());
    let project_dir = dir
        .strip_prefix(&work_tree)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    // --dev: the work tree (minus --dev-ignore, project-relative globs)
    // stands in for HEAD in everything the build reads.
    let repo = if opts.mode == Mode::Dev {
        let ignore: Vec<PathGlob> = opts
            .dev_ignore
            .iter()
            .filter_map(|g| PathGlob::new(g).ok())
            .collect();
        let prefix = if project_dir.is_empty() {
            String::new()
        } else {
            format!("{project_dir}/")
        };
        repo.into_dev_snapshot(&|path: &str| {
            path.strip_prefix(&prefix)
                .is_some_and(|p| ignore.iter().any(|g| g.matches(p)))
        })
    } else {
        repo
    };

    if project_name.is_empty() {
        bail!(
            "{}: `project` is empty; davit names stages after the project",
            loaded.config_file
        );
    }
    let repo_arg = args.repo.as_deref().filter(|r| !r.is_empty());
    let final_arg = args.final_repo.as_deref().filter(|r| !r.is_empty());
    let extra: Vec<&str> = args
        .secondary_repo
        .iter()
        .chain(&args.cache_repo)
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .collect();
    if (final_arg.is_some() || !extra.is_empty()) && repo_arg.is_none() {
        bail!("--final-repo, --secondary-repo and --cache-repo need --repo: stages are copied to and from the stages repository");
    }
    let registry = || -> anyhow::Result<(Arc<RegistryClient>, Credentials)> {
        let credentials = match &args.docker_config {
            Some(dir) => Credentials::from_dir(dir)?,
            None => Credentials::from_env()?,
        };
        let hosts = [repo_arg, final_arg]
            .into_iter()
            .flatten()
            .chain(extra.iter().copied())
            .map(|r| r.split('/').next().unwrap_or_default().to_string())
            .collect();
        let registry_options = RegistryOptions {
            insecure_registries: if args.insecure_registry {
                hosts
            } else {
                Vec::new()
            },
            skip_tls_verify: args.skip_tls_verify_registry,
            ..RegistryOptions::default()
        };
        let client = Arc::new(RegistryClient::new(credentials.clone(), registry_options)?);
        Ok((client, credentials))
    };
    // Without --repo, stages live in the local Docker daemon.
    let mut secondary_repos = Vec::new();
    let mut cache_repos = Vec::new();
    let (storage, final_repo) = match repo_arg {
        None => (
            Storage::Local(LocalStorage::new(&project_name, lock_dir())),
            None,
        ),
        Some(repo_addr) => {
            let (client, credentials) = registry()?;
            let final_repo = final_arg
                .map(|f| RepoStorage::new(f, client.clone(), credentials.clone(), lock_dir()))
                .transpose()?;
            for (list, out) in [
                (&args.secondary_repo, &mut secondary_repos),
                (&args.cache_repo, &mut cache_repos),
            ] {
                for r in list.iter().filter(|r| !r.is_empty()) {
                    out.push(RepoStorage::new(
                        r,
                        client.clone(),
                        credentials.clone(),
                        lock_dir(),
                    )?);
                }
            }
            let primary = RepoStorage::new(repo_addr, client, credentials, lock_dir())?;
            (Storage::Repo(primary), final_repo)
        }
    };

    let builder = BuilderChoice::from_env_value(std::env::var("DOCKER_BUILDKIT").ok().as_deref())
        .map_err(anyhow::Error::msg)?;

    let op_stats = OpStats::default();
    let custom_tags = CustomTags::new(custom_tag_templates(&args.add_custom_tag));
    if !custom_tags.is_empty() && repo_arg.is_none() {
        bail!("--add-custom-tag needs --repo: custom tags are registry tags");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let quiet = lvl == Level::Quiet;
    let show_builder_output = lvl >= Level::Verbose || !std::io::stderr().is_terminal();
    let (report, failure) = runtime.block_on(async {
        let engine = match DockerEngine::connect().await {
            Ok(e) => e,
            Err(e) => return (Default::default(), Some(anyhow::Error::new(e))),
        };
        let conveyor = Conveyor {
            repo: &repo,
            project_dir: &project_dir,
            config: &loaded.config,
            giterminism: &loaded.giterminism,
            project: &project_name,
            commit: &loaded.commit_hash,
            storage: &storage,
            final_repo: final_repo.as_ref(),
            secondary_repos: &secondary_repos,
            cache_repos: &cache_repos,
            engine: &engine,
            builder,
            op_stats: &op_stats,
            custom_tags: &custom_tags,
            mode: opts.mode,
            forced_platforms: &forced_platforms,
        };
        let parallelism = match (args.parallel, args.parallel_tasks_limit) {
            (false, _) => Parallelism::Sequential,
            (true, n) if n <= 0 => Parallelism::Unlimited,
            (true, n) => Parallelism::Limit(usize::try_from(n).unwrap_or(usize::MAX)),
        };
        let mut output = if quiet {
            BuildOutput::Quiet
        } else if std::io::stderr().is_terminal() && lvl < Level::Verbose {
            BuildOutput::terminal()
        } else {
            BuildOutput::Lines {
                builder_lines: show_builder_output,
            }
        };
        let (report, err) = conveyor
            .run(&args.images, parallelism, |event| output.event(event))
            .await;
        (report, err.map(anyhow::Error::new))
    });
    // werf adds operation timings and where each stage came from to the
    // report with --log-debug.
    let mut report = report;
    if lvl == Level::Debug {
        report.operations = op_stats.summary();
        for record in report.images.values() {
            for stage in record.stages.iter().flatten() {
                let event = match (stage.rebuilt, stage.source_type.as_str()) {
                    (true, "secondary") => "copied from secondary storage",
                    (true, _) => "built",
                    (false, _) if storage.is_local() => "found in local stages storage",
                    (false, _) => "found in repo stages storage",
                };
                *report.stage_cache.entry(event.to_string()).or_insert(0) += 1;
            }
        }
    }
    // The report covers every image that finished, also when one failed.
    if let Some((path, format)) = report_target {
        report.write(&path, format)?;
        if !quiet {
            eprintln!("Build report: {}", path.display());
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `--add-custom-tag` values, then the `WERF_ADD_CUSTOM_TAG_*` variables
/// in name order, as werf collects them.
fn custom_tag_templates(flags: &[String]) -> Vec<String> {
    let mut from_env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, v)| k.starts_with("WERF_ADD_CUSTOM_TAG_") && !v.is_empty())
        .collect();
    from_env.sort();
    flags
        .iter()
        .cloned()
        .chain(from_env.into_iter().map(|(_, v)| v))
        .collect()
}
