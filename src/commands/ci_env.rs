//! `davit ci-env [github|gitlab]`: maps the flags to `davit_ops::ci_env`.
//! Errors are printed as werf prints them (`Error: …`), since CI scripts
//! that source the output compare them.

use davit_ci::ci_env::Format;
use davit_ci::CiSystem;
use davit_ops::ci_env::{ci_env, CiEnvOptions};

use super::project_args::{level, options as project_options, Level};
use crate::cli::CiEnvArgs;

pub fn run(args: CiEnvArgs) -> anyhow::Result<()> {
    match options(&args).and_then(|o| {
        let env = |k: &str| std::env::var(k).ok();
        ci_env(&o, &env).map_err(anyhow::Error::new)
    }) {
        Ok(out) => {
            for w in &out.warnings {
                eprintln!("warning: {w}");
            }
            print!("{}", out.stdout);
            Ok(())
        }
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}

fn options(args: &CiEnvArgs) -> anyhow::Result<CiEnvOptions> {
    let env = |k: &str| std::env::var(k).ok();
    let system = match args.system.as_deref() {
        Some(name) => CiSystem::parse(name)
            .ok_or_else(|| anyhow::anyhow!("provided ci system {name:?} not supported"))?,
        None => CiSystem::detect(&env).ok_or_else(|| {
            anyhow::anyhow!("no CI system detected (neither GITHUB_ACTIONS=true nor GITLAB_CI=true): name it, `davit ci-env github` or `davit ci-env gitlab`")
        })?,
    };
    let format = if args.as_env_file {
        Format::EnvFile
    } else {
        Format::from_shell(&args.shell).ok_or_else(|| {
            anyhow::anyhow!(
                "provided shell {:?} not supported: use default, powershell or cmdexe",
                args.shell
            )
        })?
    };
    // As werf, ci-env logs nothing but errors: its stdout is a script.
    Ok(CiEnvOptions {
        system,
        format,
        verbose: level(&args.project) >= Level::Verbose,
        to_file: args.as_file || args.as_env_file,
        output_file: args.output_file_path.clone(),
        login: args.login_to_registry,
        use_docker_auth_config: args.use_docker_auth_config,
        docker_config: args.docker_config.clone(),
        tmp_dir: args.tmp_dir.clone(),
        home_dir: args.home_dir.clone(),
        project: project_options(&args.project),
    })
}
