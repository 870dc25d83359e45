//! `lithos retention [--dry-run] [--as-of RFC3339]`: one sweep now.

use std::process::ExitCode;

use lithos_server::storage::Storage;

use crate::cli::RetentionArgs;
use crate::commands::serve::{block_on, config, open};

pub fn run(args: RetentionArgs) -> ExitCode {
    let config = match config(&args.server, args.storage.layer()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let as_of = match args.as_of.as_deref().map(parse_time).transpose() {
        Ok(t) => t.unwrap_or_else(lithos_server::now_ms),
        Err(message) => {
            eprintln!("error: --as-of {message}");
            return ExitCode::from(2);
        }
    };
    let dry_run = args.dry_run;
    let result = block_on(async move {
        let db = open(&config).await?;
        let storage = Storage::open_spec(&config.storage_spec(), &config.s3).await?;
        lithos_server::retention::sweep(&db, &storage, &config, as_of, dry_run).await
    });
    match result {
        Ok(report) if !report.ran => {
            println!("another sweep holds the lease; nothing done");
            ExitCode::SUCCESS
        }
        Ok(report) => {
            let verb = if dry_run { "would delete" } else { "deleted" };
            let mut bytes = 0;
            for d in &report.deleted {
                bytes += d.bytes.unwrap_or(0);
                let size = d.bytes.map_or_else(|| "?".to_owned(), |b| b.to_string());
                println!("{verb} {} {} ({} bytes) {}", d.kind, d.id, size, d.key);
            }
            println!("{verb} {} objects, {bytes} bytes", report.deleted.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn parse_time(text: &str) -> Result<i64, String> {
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("is not an RFC 3339 time ({e}), e.g. 2026-12-31T00:00:00Z"))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}
