//! `lithos admin create-user` and `lithos admin grant`.

use std::io::BufRead;
use std::process::ExitCode;

use lithos_server::config::Layer;

use crate::cli::{AdminArgs, AdminCommand};
use crate::commands::serve::{block_on, config, open};

pub fn run(args: AdminArgs) -> ExitCode {
    let config = match config(&args.server, Layer::default()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let result: anyhow::Result<String> = block_on(async move {
        let db = open(&config).await?;
        match args.command {
            AdminCommand::CreateUser { email, password_stdin: _, name, admin } => {
                let mut password = String::new();
                std::io::stdin().lock().read_line(&mut password)?;
                let password = password.trim_end_matches(['\r', '\n']);
                let name = if name.is_empty() {
                    email.split('@').next().unwrap_or("").to_owned()
                } else {
                    name
                };
                let id = lithos_server::admin::create_user(
                    &db,
                    &email,
                    &name,
                    password,
                    admin,
                    config.free_credits,
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(format!(
                    "created {} {email} ({id})",
                    if admin { "administrator" } else { "user" }
                ))
            }
            AdminCommand::Grant { email, credits, reason } => {
                let balance = lithos_server::admin::grant(&db, &email, credits, &reason)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(format!("{email}: {credits:+} credits ({reason}); balance {balance}"))
            }
        }
    });
    match result {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
