//! davit: a werf-compatible container build and deploy tool for CI.

mod cli;
mod commands;
mod legacy;

use clap::Parser;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if let Some(message) = legacy::check(&args) {
        eprintln!("error: {message}");
        std::process::exit(2);
    }
    let cli = cli::Cli::parse();
    if let Err(e) = commands::run(cli) {
        eprintln!("error: {}", error_text(&e));
        std::process::exit(1);
    }
}

/// The error and its causes, each once: library errors often already
/// include their cause's text, and printing it again only adds noise.
fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}
