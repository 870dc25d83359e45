//! Retention: keeping files only as long as the privacy policy promises. A sweep deletes
//!
//! - outputs older than their owner's plan's `retention_days` (the task is then `expired`,
//!   and its download answers 410);
//! - source uploads `source_grace` after the last task that used them ended (or after they
//!   were uploaded, when none did), never while a task still needs them;
//! - presigned uploads never completed, `pending_upload_ttl` after they were announced;
//! - data exports once their link expires ([`crate::privacy::export::TTL`]), and an output a
//!   worker finished for an account deleted meanwhile.
//!
//! Each object is deleted before the row that points to it is changed, in small batches; a
//! source is first marked (`sweep_started_at`, which task creation respects), so a sweep
//! killed at any moment resumes where it stopped, and never deletes anything still within its
//! period. Only one sweep runs at a time across the cluster: it holds a leased row.

use std::time::Duration;

use crate::config::Config;
use crate::storage::{Storage, StorageError};
use crate::tasks::pictures::stored_keys;
use crate::{Db, now_ms};

const DAY_MS: i64 = 86_400_000;
const BATCH: i64 = 200;
/// How long a sweep's lease lasts; it is renewed every batch.
const LEASE_MS: i64 = 5 * 60 * 1000;

/// The retention periods.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Periods {
    /// Sources are kept this long after the last task that used them ended.
    pub source_grace: Duration,
    /// Presigned uploads never completed are deleted this long after they were announced.
    pub pending_upload_ttl: Duration,
    /// How often `lithos serve` and `lithos worker` sweep.
    pub interval: Duration,
    /// Sessions' addresses and browsers are cleared this long after they were last seen.
    pub client_info: Duration,
}

impl Default for Periods {
    fn default() -> Self {
        Periods {
            source_grace: Duration::from_secs(24 * 3600),
            pending_upload_ttl: Duration::from_secs(3600),
            interval: Duration::from_secs(3600),
            client_info: Duration::from_secs(90 * 86_400),
        }
    }
}

/// One thing a sweep deleted (or, dry, would delete).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Deleted {
    /// `output`, `source` or `pending_upload`.
    pub kind: &'static str,
    /// The task's or the upload's id.
    pub id: String,
    pub key: String,
    pub bytes: Option<u64>,
}

/// What a sweep did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    pub deleted: Vec<Deleted>,
    /// False when another sweep held the lease, so this one did nothing.
    pub ran: bool,
}

/// Sweeps as if it were `as_of` (epoch ms); `dry_run` lists what would go and deletes
/// nothing (it takes no lease).
pub async fn sweep(
    db: &Db,
    storage: &Storage,
    config: &Config,
    as_of: i64,
    dry_run: bool,
) -> anyhow::Result<Report> {
    let holder = crate::new_id();
    let mut report = Report { ran: true, ..Report::default() };
    if !dry_run && !take_lease(db, &holder).await? {
        report.ran = false;
        return Ok(report);
    }
    let result = run(db, storage, config, as_of, dry_run, &holder, &mut report).await;
    if !dry_run {
        release_lease(db, &holder).await?;
    }
    result?;
    for d in &report.deleted {
        metrics::counter!("lithos_retention_deleted_total", "kind" => d.kind).increment(1);
    }
    if !dry_run && !report.deleted.is_empty() {
        let mut tx = db.write().await?;
        crate::audit::by_service(&mut tx, "retention.sweep", "retention", &report.summary())
            .await?;
        tx.commit().await?;
    }
    Ok(report)
}

impl Report {
    /// `output: 3 (1.2 MB), source: 2 (0.4 MB)`: what the audit log says of a sweep.
    pub fn summary(&self) -> String {
        let mut kinds: Vec<(&str, usize, u64)> = Vec::new();
        for d in &self.deleted {
            match kinds.iter_mut().find(|k| k.0 == d.kind) {
                Some(k) => {
                    k.1 += 1;
                    k.2 += d.bytes.unwrap_or(0);
                }
                None => kinds.push((d.kind, 1, d.bytes.unwrap_or(0))),
            }
        }
        let parts: Vec<String> = kinds
            .iter()
            .map(|(kind, n, bytes)| format!("{kind}: {n} ({:.1} MB)", *bytes as f64 / 1e6))
            .collect();
        format!("deleted {}", parts.join(", "))
    }
}

/// The batches of one kind of thing a sweep deletes. A real sweep changes every row it takes,
/// so each query starts again from the first; a dry run changes nothing, so it pages on. Each
/// batch of a real sweep renews its lease.
struct Batches<'a> {
    db: &'a Db,
    holder: &'a str,
    dry_run: bool,
    seen: i64,
}

impl<'a> Batches<'a> {
    fn new(db: &'a Db, holder: &'a str, dry_run: bool) -> Self {
        Batches { db, holder, dry_run, seen: 0 }
    }

    /// The `OFFSET` of the next query.
    fn offset(&self) -> i64 {
        if self.dry_run { self.seen } else { 0 }
    }

    /// `rows`, or `None` once the query has no more.
    async fn next<T>(&mut self, rows: Vec<T>) -> anyhow::Result<Option<Vec<T>>> {
        if rows.is_empty() {
            return Ok(None);
        }
        self.seen += rows.len() as i64;
        if !self.dry_run {
            renew_lease(self.db, self.holder).await?;
        }
        Ok(Some(rows))
    }
}

async fn run(
    db: &Db,
    storage: &Storage,
    config: &Config,
    as_of: i64,
    dry_run: bool,
    holder: &str,
    report: &mut Report,
) -> anyhow::Result<()> {
    // Outputs, per effective plan (a canceled plan counts until its period ends).
    let effective = "CASE WHEN u.plan_ends_at IS NOT NULL AND u.plan_ends_at <= $1 \
                     THEN 'free' ELSE u.plan END";
    let plans: Vec<String> =
        sqlx::query_scalar(&format!("SELECT DISTINCT {effective} FROM users u"))
            .bind(as_of)
            .fetch_all(&db.pool)
            .await?;
    for plan in plans {
        let days = i64::from(config.billing.plan(&plan).limits.retention_days);
        let cutoff = as_of - days * DAY_MS;
        let mut batches = Batches::new(db, holder, dry_run);
        loop {
            let rows: Vec<(String, String)> = sqlx::query_as(&format!(
                "SELECT t.id, t.output_key FROM tasks t JOIN users u ON u.id = t.user_id \
                 WHERE {effective} = $2 AND t.output_key IS NOT NULL AND t.expired_at IS NULL \
                 AND t.finished_at IS NOT NULL AND t.finished_at <= $3 \
                 ORDER BY t.finished_at, t.id LIMIT $4 OFFSET $5"
            ))
            .bind(as_of)
            .bind(&plan)
            .bind(cutoff)
            .bind(BATCH)
            .bind(batches.offset())
            .fetch_all(&db.pool)
            .await?;
            let Some(rows) = batches.next(rows).await? else { break };
            expire_outputs(db, storage, rows, as_of, dry_run, report).await?;
        }
    }

    // Sources no task needs any more. A source a sweep began deleting (killed midway) is
    // finished first.
    let grace = config.retention.source_grace.as_millis() as i64;
    let mut batches = Batches::new(db, holder, dry_run);
    loop {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT u.id, u.storage_key, u.bytes FROM uploads u \
             WHERE u.deleted_at IS NULL AND u.state = 'ready' AND (u.sweep_started_at IS NOT NULL \
             OR (NOT EXISTS (SELECT 1 FROM tasks t WHERE t.upload_id = u.id \
                             AND t.status IN ('queued', 'running')) \
                 AND COALESCE((SELECT MAX(t.finished_at) FROM tasks t WHERE t.upload_id = u.id), \
                              u.created_at) <= $1)) \
             ORDER BY u.created_at, u.id LIMIT $2 OFFSET $3",
        )
        .bind(as_of - grace)
        .bind(BATCH)
        .bind(batches.offset())
        .fetch_all(&db.pool)
        .await?;
        let Some(rows) = batches.next(rows).await? else { break };
        for (id, key, bytes) in rows {
            if !dry_run {
                // Marked first, only while no task needs it: task creation refuses a marked
                // source, so none can start needing it between the check and the delete.
                let marked = {
                    let _gate = db.write_gate().await;
                    sqlx::query(
                        "UPDATE uploads SET sweep_started_at = COALESCE(sweep_started_at, $1) \
                         WHERE id = $2 AND deleted_at IS NULL AND NOT EXISTS \
                         (SELECT 1 FROM tasks t WHERE t.upload_id = $2 \
                          AND t.status IN ('queued', 'running'))",
                    )
                    .bind(as_of)
                    .bind(&id)
                    .execute(&db.pool)
                    .await?
                    .rows_affected()
                };
                if marked == 0 {
                    continue;
                }
                delete_object(storage, &key).await?;
                let _gate = db.write_gate().await;
                sqlx::query("UPDATE uploads SET deleted_at = $1 WHERE id = $2")
                    .bind(as_of)
                    .bind(&id)
                    .execute(&db.pool)
                    .await?;
            }
            report.deleted.push(Deleted { kind: "source", id, key, bytes: Some(bytes as u64) });
        }
    }

    // Presigned uploads never completed.
    let ttl = config.retention.pending_upload_ttl.as_millis() as i64;
    let mut batches = Batches::new(db, holder, dry_run);
    loop {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, storage_key, bytes FROM uploads WHERE state = 'pending' \
             AND created_at <= $1 ORDER BY created_at, id LIMIT $2 OFFSET $3",
        )
        .bind(as_of - ttl)
        .bind(BATCH)
        .bind(batches.offset())
        .fetch_all(&db.pool)
        .await?;
        let Some(rows) = batches.next(rows).await? else { break };
        for (id, key, bytes) in rows {
            if !dry_run {
                delete_object(storage, &key).await?;
                let _gate = db.write_gate().await;
                sqlx::query("DELETE FROM uploads WHERE id = $1 AND state = 'pending'")
                    .bind(&id)
                    .execute(&db.pool)
                    .await?;
            }
            let bytes = Some(bytes as u64);
            report.deleted.push(Deleted { kind: "pending_upload", id, key, bytes });
        }
    }

    // Exports whose link has expired.
    let mut batches = Batches::new(db, holder, dry_run);
    loop {
        let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT id, storage_key, bytes FROM exports WHERE status = 'ready' \
             AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2 OFFSET $3",
        )
        .bind(as_of)
        .bind(BATCH)
        .bind(batches.offset())
        .fetch_all(&db.pool)
        .await?;
        let Some(rows) = batches.next(rows).await? else { break };
        for (id, key, bytes) in rows {
            if !dry_run {
                delete_object(storage, &key).await?;
                crate::privacy::export::mark_expired(db, &id).await?;
            }
            let bytes = bytes.map(|b| b as u64);
            report.deleted.push(Deleted { kind: "export", id, key, bytes });
        }
    }

    // Sessions: expired ones go (by the clock: expiry is not a retention period); addresses
    // and browsers not seen for `client_info` are cleared.
    if !dry_run {
        let _gate = db.write_gate().await;
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(&db.pool)
            .await?;
        sqlx::query(
            "UPDATE sessions SET ip = NULL, user_agent = NULL \
             WHERE COALESCE(last_seen_at, created_at) <= $1 \
             AND (ip IS NOT NULL OR user_agent IS NOT NULL)",
        )
        .bind(as_of - config.retention.client_info.as_millis() as i64)
        .execute(&db.pool)
        .await?;
        // Sign-ins that never came back from their provider, and new identities never
        // answered with a birth date.
        sqlx::query("DELETE FROM login_requests WHERE created_at <= $1")
            .bind(now_ms() - crate::login::REQUEST_TTL_MS)
            .execute(&db.pool)
            .await?;
        sqlx::query("DELETE FROM login_signups WHERE created_at <= $1")
            .bind(now_ms() - crate::login::SIGNUP_TTL_MS)
            .execute(&db.pool)
            .await?;
    }
    if !dry_run {
        // Abuse-limit counters of windows long over.
        crate::limits::sweep(db, now_ms()).await?;
    }

    // An output a worker stored after its owner's account was deleted.
    let mut batches = Batches::new(db, holder, dry_run);
    loop {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT t.id, t.output_key FROM tasks t JOIN users u ON u.id = t.user_id \
             WHERE u.deleted_at IS NOT NULL AND t.output_key IS NOT NULL \
             AND t.expired_at IS NULL ORDER BY t.id LIMIT $1 OFFSET $2",
        )
        .bind(BATCH)
        .bind(batches.offset())
        .fetch_all(&db.pool)
        .await?;
        let Some(rows) = batches.next(rows).await? else { break };
        expire_outputs(db, storage, rows, as_of, dry_run, report).await?;
    }
    Ok(())
}

/// A batch of tasks' outputs: the objects deleted in one request, then the tasks marked
/// expired in one statement (a dry run only lists them, with their sizes).
async fn expire_outputs(
    db: &Db,
    storage: &Storage,
    rows: Vec<(String, String)>,
    as_of: i64,
    dry_run: bool,
    report: &mut Report,
) -> anyhow::Result<()> {
    let sizes = sizes(storage, rows.iter().map(|(_, key)| key.clone()).collect()).await;
    if !dry_run {
        storage.delete_many(rows.iter().flat_map(|(_, key)| stored_keys(key)).collect()).await?;
        let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
        crate::tasks::lifecycle::expire_outputs(db, &ids, as_of).await?;
    }
    for ((id, key), bytes) in rows.into_iter().zip(sizes) {
        report.deleted.push(Deleted { kind: "output", id, key, bytes });
    }
    Ok(())
}

/// The objects' sizes (None where unknown), a few dozen lookups at a time.
async fn sizes(storage: &Storage, keys: Vec<String>) -> Vec<Option<u64>> {
    use futures_util::StreamExt;
    let lookups =
        keys.into_iter().map(|key| async move { storage.size(&key).await.ok().flatten() });
    futures_util::stream::iter(lookups).buffered(32).collect().await
}

/// Deletes an object; one already gone is fine (a sweep killed after deleting it).
async fn delete_object(storage: &Storage, key: &str) -> anyhow::Result<()> {
    match storage.delete(key).await {
        Ok(()) | Err(StorageError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn take_lease(db: &Db, holder: &str) -> anyhow::Result<bool> {
    let now = now_ms();
    let _gate = db.write_gate().await;
    let taken = sqlx::query(
        "INSERT INTO sweeper_lease (name, holder, expires_at) VALUES ('retention', $1, $2) \
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
         expires_at = excluded.expires_at WHERE sweeper_lease.expires_at < $3",
    )
    .bind(holder)
    .bind(now + LEASE_MS)
    .bind(now)
    .execute(&db.pool)
    .await?;
    Ok(taken.rows_affected() == 1)
}

async fn renew_lease(db: &Db, holder: &str) -> anyhow::Result<()> {
    let _gate = db.write_gate().await;
    sqlx::query(
        "UPDATE sweeper_lease SET expires_at = $1 WHERE name = 'retention' AND holder = $2",
    )
    .bind(now_ms() + LEASE_MS)
    .bind(holder)
    .execute(&db.pool)
    .await?;
    Ok(())
}

async fn release_lease(db: &Db, holder: &str) -> anyhow::Result<()> {
    let _gate = db.write_gate().await;
    sqlx::query("UPDATE sweeper_lease SET expires_at = 0 WHERE name = 'retention' AND holder = $1")
        .bind(holder)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// Sweeps every `periods.interval` until `stopped` turns true: the sweeper `lithos serve`
/// and `lithos worker` run.
pub async fn run_periodically(
    db: Db,
    storage: std::sync::Arc<Storage>,
    config: std::sync::Arc<Config>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(config.retention.interval) => {}
            _ = stopped.changed() => return,
        }
        match sweep(&db, &storage, &config, now_ms(), false).await {
            Ok(report) if !report.deleted.is_empty() => {
                tracing::info!(deleted = report.deleted.len(), "retention sweep");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "retention sweep failed; it resumes next time"),
        }
    }
}
