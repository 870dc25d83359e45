//! Lithos' HTTP service: accounts and sessions, API keys, uploads, tasks run by an in-process
//! worker pool, and a credits ledger, on SQLite (embedded default) or PostgreSQL.
//!
//! [`launch`] starts the whole app on a listener the caller bound, so tests bind
//! `127.0.0.1:0` and get a fresh database each.

pub mod admin;
pub mod auth;
pub mod cdn;
pub mod config;
pub mod credits;
pub mod db;
pub mod error;
pub mod openapi;
pub mod queue;
pub mod routes;
pub mod storage;
pub mod task_params;
pub mod telemetry;
pub mod worker;

use std::sync::Arc;

pub use config::Config;
pub use db::Db;
pub use error::ApiError;
use lithos_engine::Engine;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What every request handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
    pub storage: Arc<storage::Storage>,
    /// Downloads go through this CDN's signed links when one is configured.
    pub cdn: Option<Arc<cdn::Cdn>>,
    pub queue: queue::Queue,
    pub worker: worker::Handle,
    /// Login and registration attempts, per address and per account.
    pub login_limits: auth::LoginLimits,
}

/// A running app: its address, and a way to stop it.
#[derive(Debug)]
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub db: Db,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: worker::Pool,
}

impl Running {
    /// Stops accepting requests, lets running tasks finish or hands them back to the queue,
    /// and waits.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        self.workers.stop().await;
    }

    /// Waits until the server stops (after SIGTERM or Ctrl-C when `serve` installed them).
    pub async fn wait(self) {
        let mut rx = self.shutdown.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
        self.shutdown().await;
    }

    /// Asks the server to stop; [`Running::wait`] returns once it has.
    pub fn stop_signal(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Connects the database and storage, runs migrations, starts the in-process worker pool
/// (unless `workers` is 0) and serves the API on `listener`.
pub async fn launch(listener: TcpListener, config: Config) -> anyhow::Result<Running> {
    config.validate().map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(&config.data_dir)?;
    let db = Db::connect(&config.database_url()).await?;
    db.migrate().await?;
    let storage = Arc::new(storage::Storage::open_spec(&config.storage_spec(), &config.s3).await?);
    let engine = Arc::new(Engine::new(&lithos_engine::EngineOptions {
        backend: config.backend,
        gpu_limits: None,
    })?);
    telemetry::handle();
    metrics::gauge!(
        "lithos_worker_info",
        "backend" => format!("{:?}", engine.backend()).to_lowercase(),
        "adapter" => engine.adapter().to_owned()
    )
    .set(1.0);
    let queue = queue::Queue::new(db.clone(), config.queue.clone());
    let (pool, handle) = worker::Pool::start(
        queue.clone(),
        storage.clone(),
        engine,
        worker::PoolOptions {
            concurrency: config.workers,
            kind: "serve",
            grace: config.shutdown_grace,
        },
    )
    .await?;
    let cdn = config.cdn().map_err(anyhow::Error::msg)?.map(Arc::new);
    let config = Arc::new(config);
    let state = AppState {
        config,
        db: db.clone(),
        storage,
        cdn,
        queue,
        worker: handle,
        login_limits: auth::LoginLimits::default(),
    };
    let app = routes::router(state);
    let addr = listener.local_addr()?;
    let (shutdown, mut stop) = watch::channel(false);
    let server = tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::info!(%addr, "listening");
    Ok(Running { addr, db, shutdown, server, workers: pool })
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A random id: 16 bytes as hex.
pub fn new_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
