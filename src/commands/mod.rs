//! Command implementations: thin glue from CLI arguments to library crates.

mod build;
mod build_output;
mod build_plan;
mod chart_args;
mod ci_env;
mod cleanup;
mod config;
mod converge;
mod deploy_output;
mod helm_secret;
mod host;
mod project_args;
mod render;
mod storage_args;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Config(c) => config::run(*c),
        Command::Build(b) => build::run(*b),
        Command::CiEnv(c) => ci_env::run(*c),
        Command::Render(r) => render::run(*r),
        Command::Converge(c) => converge::run(*c),
        Command::Dismiss(d) => converge::dismiss(*d),
        Command::Plan(p) => converge::plan(*p),
        Command::Cleanup(c) => cleanup::run(*c),
        Command::Purge(p) => cleanup::purge(*p),
        Command::Host(h) => host::run(h),
        Command::Helm(h) => helm_secret::run(*h),
        Command::Version => {
            println!(
                "davit {} (commit {}, {}; werf {} compatible)",
                env!("CARGO_PKG_VERSION"),
                env!("DAVIT_COMMIT"),
                env!("DAVIT_TARGET"),
                davit_ops::WERF_COMPAT_VERSION
            );
            Ok(())
        }
    }
}
