//! The `lithos` command line: parses arguments and hands them to the engine.

mod cli;
mod commands;
mod progress_bar;

use std::process::ExitCode;

use clap::Parser;

/// See the note on `mimalloc` in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Convert(args) => commands::convert::run(*args),
        cli::Command::Info(args) => commands::info::run(&args),
        cli::Command::Serve(args) => commands::serve::serve(&args),
        cli::Command::Migrate(args) => commands::serve::migrate(&args),
        cli::Command::Admin(args) => commands::admin::run(args),
    }
}
