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
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
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

/// A transaction that holds SQLite's write gate (see [`Db::write`]). It reads as the
/// connection (`&mut *tx` runs a query); dropped without [`WriteTx::commit`], it rolls back.
#[derive(Debug)]
pub struct WriteTx<'a> {
    // Declared first, so it rolls back before the gate opens.
    tx: Transaction<'static, Any>,
    _gate: Option<MutexGuard<'a, ()>>,
}

impl WriteTx<'_> {
    pub async fn commit(self) -> sqlx::Result<()> {
        let WriteTx { tx, _gate } = self;
        tx.commit().await
    }
}

impl std::ops::Deref for WriteTx<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
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

    /// A write transaction: on SQLite it holds the write gate until it commits or is dropped;
    /// on PostgreSQL it is a plain transaction. Every write that needs more than one statement
    /// opens one of these.
    pub async fn write(&self) -> sqlx::Result<WriteTx<'_>> {
        let gate = self.write_gate().await;
        let tx = self.pool.begin().await?;
        Ok(WriteTx { tx, _gate: gate })
    }

    /// Held across a single write statement on SQLite; nothing on PostgreSQL, whose row locks
    /// let writers run side by side.
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

    /// Applies the migrations not yet applied. On SQLite they run with foreign keys off (and
    /// checked after), as SQLite's own procedure for changing a table asks: a table that
    /// others reference can then be copied and dropped without its drop deleting their rows.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self.kind {
            Kind::Sqlite => {
                let mut conn = self.pool.acquire().await?;
                conn.execute("PRAGMA foreign_keys = OFF").await?;
                let applied = sqlx::migrate!("../migrations/sqlite").run(&mut *conn).await;
                let broken: Vec<(String,)> =
                    sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
                        .fetch_all(&mut *conn)
                        .await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                applied?;
                anyhow::ensure!(
                    broken.is_empty(),
                    "after the migrations, rows in {broken:?} reference rows that are gone"
                );
            }
            Kind::Postgres => sqlx::migrate!("../migrations/postgres").run(&self.pool).await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    /// A migration with the dialects' spellings of the same type made one, comments and
    /// blank lines dropped, and a dialect's own block dropped (from `-- this dialect only:`
    /// and its reason, to `-- both dialects again`): what a twin must match.
    fn normalised(sql: &str) -> Vec<String> {
        let mut own = false;
        sql.lines()
            .filter(|line| {
                let line = line.trim();
                if line.starts_with("-- this dialect only:") {
                    own = true;
                } else if line == "-- both dialects again" {
                    own = false;
                    return false;
                }
                !own
            })
            .map(|line| line.split("--").next().unwrap_or("").trim_end())
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                line.replace("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT")
                    .replace("DOUBLE PRECISION", "REAL")
                    .replace("BIGINT", "INTEGER")
            })
            .collect()
    }

    /// Every SQLite migration has a PostgreSQL twin of the same name that says the same thing,
    /// line for line, but for the type names the dialects must spell differently.
    #[test]
    fn the_migrations_dialect_twins_stay_in_step() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
        let names = |dialect: &str| {
            let mut names: Vec<String> = std::fs::read_dir(root.join(dialect))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let sqlite = names("sqlite");
        assert_eq!(sqlite, names("postgres"), "each migration has a twin of the same name");
        assert!(!sqlite.is_empty());
        for name in &sqlite {
            let read =
                |dialect: &str| std::fs::read_to_string(root.join(dialect).join(name)).unwrap();
            let (lite, pg) = (normalised(&read("sqlite")), normalised(&read("postgres")));
            for (i, (a, b)) in lite.iter().zip(&pg).enumerate() {
                assert_eq!(a, b, "{name}, statement line {}: the twins differ", i + 1);
            }
            assert_eq!(lite.len(), pg.len(), "{name}: one twin has more lines");
        }
    }

    #[test]
    fn normalising_keeps_real_differences() {
        let lite = normalised("CREATE TABLE t (\n  a INTEGER NOT NULL -- note\n);");
        assert_eq!(lite, normalised("-- other words\nCREATE TABLE t (\n  a BIGINT NOT NULL\n);"));
        assert_ne!(lite, normalised("CREATE TABLE t (\n  a BIGINT\n);"), "NOT NULL matters");
        let own =
            "-- this dialect only: a reason\nDROP TABLE x;\n-- both dialects again\nSELECT 1;";
        assert_eq!(normalised(own), ["SELECT 1;"], "a dialect's own block is its own");
    }
}
