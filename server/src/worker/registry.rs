//! The worker registry (the console's workers view) and how idle slots learn of new jobs.

use std::time::Duration;

use lithos_engine::Engine;
use tokio::sync::watch;

use super::{Handle, PoolOptions};
use crate::now_ms;
use crate::tasks::queue::Queue;

pub(super) async fn register(
    queue: &Queue,
    id: &str,
    engine: &Engine,
    options: &PoolOptions,
) -> anyhow::Result<()> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let _gate = queue.db.write_gate().await;
    sqlx::query(
        "INSERT INTO workers (id, hostname, pid, version, backend, adapter, concurrency, kind, \
         started_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id)
    .bind(hostname)
    .bind(i64::from(std::process::id()))
    .bind(env!("CARGO_PKG_VERSION"))
    .bind(format!("{:?}", engine.backend()).to_lowercase())
    .bind(engine.adapter())
    .bind(options.concurrency as i64)
    .bind(options.kind)
    .bind(now_ms())
    .execute(&queue.db.pool)
    .await?;
    Ok(())
}

/// Keeps `last_seen` fresh, and prunes finished jobs now and then.
pub(super) async fn keep_registered(queue: Queue, id: String, mut stopped: watch::Receiver<bool>) {
    let mut beats = 0u64;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(queue.config.heartbeat) => {}
            _ = stopped.changed() => return,
        }
        let touched = {
            let _gate = queue.db.write_gate().await;
            sqlx::query("UPDATE workers SET last_seen = $1 WHERE id = $2")
                .bind(now_ms())
                .bind(&id)
                .execute(&queue.db.pool)
                .await
        };
        if let Err(e) = touched {
            tracing::warn!(error = ?e, "updating the worker registry failed");
        }
        beats += 1;
        if beats % 6 == 1 {
            match queue.prune().await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "pruned finished jobs"),
                Err(e) => tracing::warn!(error = ?e, "pruning finished jobs failed"),
            }
        }
    }
}

/// PostgreSQL wake-ups: `LISTEN lithos_jobs`, reconnecting with backoff. Polling covers the
/// gaps.
pub(super) async fn listen(queue: Queue, handle: Handle, mut stopped: watch::Receiver<bool>) {
    let mut delay = Duration::from_millis(200);
    loop {
        let session = async {
            let mut listener = sqlx::postgres::PgListener::connect(&queue.db.url).await?;
            listener.listen(crate::tasks::queue::CHANNEL).await?;
            loop {
                listener.recv().await?;
                handle.notify();
            }
            #[expect(unreachable_code, reason = "the loop only ends by error")]
            Ok::<(), sqlx::Error>(())
        };
        tokio::select! {
            result = session => {
                if let Err(e) = result {
                    tracing::warn!(error = ?e, "LISTEN connection lost; polling until it is back");
                }
            }
            _ = stopped.changed() => return,
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
