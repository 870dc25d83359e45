//! `lithos worker`: runs jobs from the shared queue on this host until SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use lithos_engine::{Engine, EngineOptions};
use lithos_server::config::Layer;
use lithos_server::storage::Storage;
use lithos_server::tasks::queue::Queue;
use lithos_server::worker::{Pool, PoolOptions};

use crate::cli::WorkerArgs;
use crate::commands::serve;

pub fn run(args: &WorkerArgs) -> ExitCode {
    let flags = Layer {
        backend: Some(args.backend),
        lease_seconds: args.lease_seconds,
        heartbeat_seconds: args.heartbeat_seconds,
        shutdown_grace_seconds: args.shutdown_grace_seconds,
        ..args.storage.layer()
    };
    let config = match serve::config(&args.server, flags).and_then(|c| c.validate().map(|()| c)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let concurrency = usize::from(args.concurrency);
    let result: anyhow::Result<()> = serve::runtime().block_on(async move {
        let db = serve::open(&config).await?;
        let storage = Arc::new(Storage::open_spec(&config.storage_spec(), &config.s3).await?);
        let engine =
            Arc::new(Engine::new(&EngineOptions { backend: config.backend, gpu_limits: None })?);
        eprintln!(
            "lithos worker: {concurrency} at once on {} ({}), storage {}",
            format!("{:?}", engine.backend()).to_lowercase(),
            engine.adapter(),
            config.storage_spec(),
        );
        let (stop_sweeper, stopped) = tokio::sync::watch::channel(false);
        let config = Arc::new(config);
        tokio::spawn(lithos_server::retention::run_periodically(
            db.clone(),
            storage.clone(),
            config.clone(),
            stopped,
        ));
        let queue = Queue::new(db, config.queue.clone());
        let options = PoolOptions::new(concurrency, "worker", &config);
        let (pool, _handle) = Pool::start(queue, storage, engine, options).await?;
        serve::shutdown_signal().await;
        let _ = stop_sweeper.send(true);
        eprintln!(
            "lithos worker: stopping; running jobs have {:?} to finish, then go back to the queue",
            config.shutdown_grace
        );
        pool.stop().await;
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
