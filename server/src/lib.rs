//! Lithos' HTTP service: accounts and sessions, API keys, uploads, tasks run by an in-process
//! worker pool, and a credits ledger, on SQLite (embedded default) or PostgreSQL.
//!
//! [`launch`] starts the whole app on a listener the caller bound, so tests bind
//! `127.0.0.1:0` and get a fresh database each.

pub mod admin;
pub mod age;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod cdn;
pub mod config;
pub mod connections;
pub mod credits;
pub mod db;
pub mod decode_budget;
pub mod domain;
pub mod error;
pub mod generation;
pub mod ids;
pub mod limits;
pub mod login;
pub mod mail;
pub mod openapi;
pub mod previews;
pub mod privacy;
pub mod retention;
pub mod routes;
pub mod storage;
pub mod support;
pub mod tasks;
pub mod telemetry;
pub mod text;
pub mod verification;
pub mod volumes;
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
    pub queue: tasks::queue::Queue,
    pub worker: worker::Handle,
    /// The origins cookie-authenticated writes may come from (see [`Config::allowed_origins`]).
    pub origins: Arc<Vec<String>>,
    /// Memory for decoding images, shared by uploads and the in-process workers.
    pub decode_budget: decode_budget::DecodeBudget,
    pub upload_slots: decode_budget::UploadSlots,
    /// Where mail goes: SMTP, or the outbox directory.
    pub mailer: Arc<mail::Mailer>,
    /// The login providers, with their discovered metadata.
    pub login: Arc<login::Providers>,
    /// Free previews: their engine and the shrunk sources they keep.
    pub previews: Arc<previews::Previews>,
    /// The AI generation provider for prompts; `None` refuses them.
    pub generator: Option<Arc<generation::Generator>>,
}

impl AppState {
    /// Where links in mail point: `public_url`, or the address the service is reached at.
    pub fn site_url(&self) -> String {
        match &self.config.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => self.origins[0].clone(),
        }
    }
}

/// A running app: its address, and a way to stop it.
#[derive(Debug)]
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub db: Db,
    /// Where `/metrics` is served when `metrics_bind` puts it on its own listener.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// The decode budget, so tests can hold it full.
    pub decode_budget: decode_budget::DecodeBudget,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    metrics_server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    workers: worker::Pool,
}

impl Running {
    /// Stops accepting requests, lets running tasks finish or hands them back to the queue,
    /// and waits.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        let _ = self.server.await;
        if let Some(metrics) = self.metrics_server {
            let _ = metrics.await;
        }
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
    let queue = tasks::queue::Queue::new(db.clone(), config.queue.clone());
    let decode_budget = decode_budget::DecodeBudget::new(config.decode_budget_bytes);
    let options = worker::PoolOptions {
        decode_budget: decode_budget.clone(),
        ..worker::PoolOptions::new(config.workers, "serve", &config)
    };
    let generator = options.generator.clone();
    let (pool, handle) =
        worker::Pool::start(queue.clone(), storage.clone(), engine, options).await?;
    let cdn = config.cdn().map_err(anyhow::Error::msg)?.map(Arc::new);
    let addr = listener.local_addr()?;
    let metrics_listener = match config.metrics_bind {
        Some(bind) => Some(TcpListener::bind(bind).await?),
        None => None,
    };
    let origins = Arc::new(config.allowed_origins(addr));
    let limits = config.connections;
    let grace = config.shutdown_grace;
    let mailer = Arc::new(mail::Mailer::from_config(&config)?);
    let login =
        Arc::new(login::Providers::new(config.login_providers().map_err(anyhow::Error::msg)?)?);
    let config = Arc::new(config);
    let state = AppState {
        config,
        db: db.clone(),
        storage,
        cdn,
        queue,
        worker: handle,
        origins,
        decode_budget: decode_budget.clone(),
        upload_slots: decode_budget::UploadSlots::default(),
        previews: Arc::new(previews::Previews::new()?),
        mailer,
        login,
        generator,
    };
    let (shutdown, stop) = watch::channel(false);
    let (metrics_addr, metrics_server) = match metrics_listener {
        Some(listener) => {
            let addr = listener.local_addr()?;
            let app = routes::metrics_router(state.clone());
            let stop = stop.clone();
            tracing::info!(%addr, "metrics listening");
            let server = tokio::spawn(connections::serve(listener, app, limits, stop, grace));
            (Some(addr), Some(server))
        }
        None => (None, None),
    };
    // The retention sweeper (one at a time across the cluster, by its lease).
    tokio::spawn(retention::run_periodically(
        db.clone(),
        state.storage.clone(),
        state.config.clone(),
        stop.clone(),
    ));
    let app = routes::router(state);
    let server = tokio::spawn(connections::serve(listener, app, limits, stop, grace));
    tracing::info!(%addr, "listening");
    Ok(Running {
        addr,
        db,
        metrics_addr,
        decode_budget,
        shutdown,
        server,
        metrics_server,
        workers: pool,
    })
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
