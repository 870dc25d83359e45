//! `lithos billing reconcile`.

use std::process::ExitCode;

use lithos_server::config::Layer;

use crate::cli::{BillingArgs, BillingCommand};
use crate::commands::serve::{block_on, config, open};

pub fn run(args: BillingArgs) -> ExitCode {
    let config = match config(&args.server, Layer::default()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let BillingCommand::Reconcile { since_days } = args.command;
    let since = lithos_server::now_ms() - (since_days.max(0.0) * 86_400_000.0) as i64;
    let result = block_on(async move {
        let db = open(&config).await?;
        lithos_server::billing::reconcile::reconcile(&db, &config.billing, since)
            .await
            .map_err(anyhow::Error::from)
    });
    match result {
        Ok(report) => {
            for line in &report.applied {
                println!("applied {line}");
            }
            println!(
                "checked {} checkouts and transactions; applied {}",
                report.checked,
                report.applied.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
