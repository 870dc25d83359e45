//! The database: one `sqlx::AnyPool` for SQLite and PostgreSQL alike, with the migrations in
//! `migrations/sqlite` and `migrations/postgres` embedded at build time. Queries use `$n`
//! placeholders, which both drivers accept, and only portable types (text, 64-bit integers,
//! doubles); times are Unix milliseconds.
//!
//! Never bind a NULL double (`None::<f64>`): sqlx 0.8's Any driver sends it to PostgreSQL as a
//! `real`, and the statement, prepared that way and cached on its connection, then refuses
//! every later 8-byte double ("incorrect binary data format"). Bind a sentinel and write
//! `NULLIF($n, sentinel)` instead.

use std::sync::Arc;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use tokio::sync::{Mutex, MutexGuard};

/// Which engine is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: Kind,
    /// The URL it was opened with (PostgreSQL's `LISTEN` needs a connection of its own).
    pub url: String,
    /// SQLite has a single writer: writers queue here, in order, rather than in SQLite's busy
    /// handler, whose growing sleeps turn contention into long latency tails.
    writes: Arc<Mutex<()>>,
}

impl Db {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        install_default_drivers();
        let kind = if url.starts_with("postgres") { Kind::Postgres } else { Kind::Sqlite };
        let mut options = AnyPoolOptions::new().max_connections(16);
        if kind == Kind::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers run beside the one writer; writers wait for each other
                    // instead of failing.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(url).await?;
        Ok(Self { pool, kind, url: url.to_owned(), writes: Arc::default() })
    }

    /// Held across a write transaction on SQLite; nothing on PostgreSQL, whose row locks let
    /// writers run side by side.
    pub async fn write_gate(&self) -> Option<MutexGuard<'_, ()>> {
        match self.kind {
            Kind::Sqlite => Some(self.writes.lock().await),
            Kind::Postgres => None,
        }
    }

    /// SQL for the database's clock in Unix milliseconds. Leases use it rather than each
    /// host's clock, so that hosts whose clocks disagree still agree on when a lease ends.
    /// It is fixed for the statement (PostgreSQL's `statement_timestamp()` is stable), so
    /// comparisons with it can use an index.
    pub fn now_sql(&self) -> &'static str {
        match self.kind {
            Kind::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS BIGINT)",
            Kind::Postgres => "CAST(EXTRACT(EPOCH FROM statement_timestamp()) * 1000 AS BIGINT)",
        }
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self.kind {
            Kind::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&self.pool).await?,
            Kind::Postgres => sqlx::migrate!("../migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }
}
