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
    let cli = cli::Cli::parse();
    // The service logs each request at info; the command line only warnings.
    let default = match cli.command {
        cli::Command::Serve(_) | cli::Command::Worker(_) => "info,sqlx=warn",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("LITHOS_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    match cli.command {
        cli::Command::Convert(args) => commands::convert::run(*args),
        cli::Command::Info(args) => commands::info::run(&args),
        cli::Command::Inspect(args) => commands::inspect::run(&args),
        cli::Command::Serve(args) => commands::serve::serve(&args),
        cli::Command::Worker(args) => commands::worker::run(&args),
        cli::Command::Migrate(args) => commands::serve::migrate(&args),
        cli::Command::Admin(args) => commands::admin::run(args),
        cli::Command::Billing(args) => commands::billing::run(args),
        cli::Command::Retention(args) => commands::retention::run(args),
    }
}
