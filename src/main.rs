//! davit: a werf-compatible container build and deploy tool for CI.

use clap::{Parser, Subcommand};

/// davit builds images from werf.yaml, keeps stages in a registry, and
/// deploys with Helm charts, as werf does.
#[derive(Parser)]
#[command(name = "davit", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the davit version.
    Version,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => println!("davit {}", env!("CARGO_PKG_VERSION")),
    }
    Ok(())
}
