//! `lithos serve` and `lithos migrate`.

use std::process::ExitCode;

use lithos_server::config::Layer;
use lithos_server::{Config, Db};

use crate::cli::{ServeArgs, ServerArgs};

/// The configuration from the file, the environment and these flags, in rising precedence.
pub fn config(args: &ServerArgs, flags: Layer) -> Result<Config, String> {
    let file = args.config.as_deref().map(Layer::from_file).transpose()?;
    let env = Layer::from_env(std::env::vars())?;
    let flags =
        Layer { data_dir: args.data_dir.clone(), database_url: args.database_url.clone(), ..flags };
    Ok(Config::resolve(file, env, flags))
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime")
}

pub fn serve(args: &ServeArgs) -> ExitCode {
    let flags = Layer { bind: args.bind, workers: args.workers, ..args.storage.layer() };
    let config = match config(&args.server, flags) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let result: anyhow::Result<()> = runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        eprintln!(
            "lithos: serving http://{} (data in {})",
            listener.local_addr()?,
            config.data_dir.display()
        );
        let running = lithos_server::launch(listener, config).await?;
        let stop = running.stop_signal();
        tokio::spawn(async move {
            shutdown_signal().await;
            eprintln!("lithos: shutting down; running tasks finish first");
            let _ = stop.send(true);
        });
        running.wait().await;
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

pub fn migrate(args: &ServerArgs) -> ExitCode {
    let config = match config(args, Layer::default()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let result: anyhow::Result<()> = runtime().block_on(async move {
        std::fs::create_dir_all(&config.data_dir)?;
        let db = Db::connect(&config.database_url()).await?;
        db.migrate().await
    });
    match result {
        Ok(()) => {
            eprintln!("lithos: migrations applied");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Connects and migrates, for the admin commands.
pub async fn open(config: &Config) -> anyhow::Result<Db> {
    std::fs::create_dir_all(&config.data_dir)?;
    let db = Db::connect(&config.database_url()).await?;
    db.migrate().await?;
    Ok(db)
}

pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    runtime().block_on(future)
}
