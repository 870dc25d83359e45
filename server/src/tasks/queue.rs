//! The job queue: one design on both databases, in the `jobs` table.
//!
//! - **Claiming** takes due jobs in priority order (paid plans first, then first in, first
//!   out) together with jobs whose lease expired. PostgreSQL selects them `FOR UPDATE SKIP
//!   LOCKED` in a CTE and updates them in the same statement, so claimers never wait for each
//!   other; SQLite, with its single writer, runs one `UPDATE … WHERE task_id IN (SELECT …
//!   LIMIT) RETURNING`.
//! - **Leases and fencing.** A claim sets a lease (default 30 s) that the worker extends by
//!   heartbeat, and increments `attempt`. Every later write names the attempt and the owner
//!   and requires a live lease, so a worker whose lease expired, or was re-claimed, updates no
//!   row: it cannot finish the job, record its output or move credits.
//! - **Retries** back off exponentially with full jitter until `max_attempts`; then the job
//!   fails with its last error kept (the caller releases its credits).
//! - **Wake-ups**: enqueueing sends `NOTIFY lithos_jobs` on PostgreSQL; workers also poll.
//!
//! Lease times come from the database's clock ([`Db::now_sql`]).

use std::time::Duration;

use sqlx::AnyConnection;

use crate::db::{Db, Kind};
use crate::ids::TaskId;

/// The PostgreSQL channel enqueueing notifies.
pub const CHANNEL: &str = "lithos_jobs";

/// Queue timing; the defaults are the production values.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// How long a claim or heartbeat holds a job.
    pub lease: Duration,
    /// How often a running job's lease is extended (and cancellation checked).
    pub heartbeat: Duration,
    /// Claims before a job fails for good.
    pub max_attempts: i64,
    /// The first retry's delay; each later one doubles, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// How often idle workers look for work without a notification.
    pub poll: Duration,
    /// How long finished jobs stay in `jobs` (their tasks and ledger stay for good).
    pub retention: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(10),
            max_attempts: 5,
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(300),
            poll: Duration::from_secs(1),
            retention: Duration::from_secs(24 * 3600),
        }
    }
}

/// A claimed job: the fencing token every later write must present.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Lease {
    pub task_id: TaskId,
    pub attempt: i64,
    pub max_attempts: i64,
    #[sqlx(skip)]
    pub owner: String,
}

/// What a heartbeat found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Beat {
    /// The lease was extended; the user may have asked to cancel.
    Held { cancel_requested: bool },
    /// The lease expired or another worker holds the job now: stop, and write nothing.
    Lost,
}

/// What [`Queue::retry`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Queued again, due at this database time (Unix ms).
    Scheduled { run_after: i64 },
    /// No attempts left: the caller fails the job.
    Exhausted,
    /// The lease was lost; nothing changed.
    Lost,
}

#[derive(Clone, Debug)]
pub struct Queue {
    pub db: Db,
    pub config: QueueConfig,
}

impl Queue {
    pub fn new(db: Db, config: QueueConfig) -> Self {
        Self { db, config }
    }

    /// Adds the job of a task being created, inside the transaction that creates it.
    pub async fn enqueue(
        &self,
        tx: &mut AnyConnection,
        task_id: &str,
        priority: i64,
    ) -> sqlx::Result<()> {
        let now = self.db.now_sql();
        let sql = format!(
            "INSERT INTO jobs (task_id, priority, state, attempt, max_attempts, run_after, \
             enqueued_at) VALUES ($1, $2, 'queued', 0, $3, {now}, {now})"
        );
        self.put(tx, &sql, task_id, priority).await
    }

    /// Runs `sql` (with `$1..$3` = task, priority, max attempts) and notifies the workers.
    async fn put(
        &self,
        tx: &mut AnyConnection,
        sql: &str,
        task_id: &str,
        priority: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(sql)
            .bind(task_id)
            .bind(priority)
            .bind(self.config.max_attempts)
            .execute(&mut *tx)
            .await?;
        self.notify(tx, task_id).await
    }

    /// Wakes listening workers on PostgreSQL, when the transaction commits.
    async fn notify(&self, tx: &mut AnyConnection, task_id: &str) -> sqlx::Result<()> {
        if self.db.kind == Kind::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(task_id)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Queues a finished task's job again (an administrator's retry), inside the transaction
    /// that re-reserves its credits. The attempt number carries on, so tokens of earlier
    /// attempts stay dead, and the job gets a fresh `max_attempts`.
    pub async fn requeue(
        &self,
        tx: &mut AnyConnection,
        task_id: &str,
        priority: i64,
    ) -> sqlx::Result<()> {
        let now = self.db.now_sql();
        let sql = format!(
            "INSERT INTO jobs (task_id, priority, state, attempt, max_attempts, run_after, \
             enqueued_at) SELECT id, $2, 'queued', attempts, attempts + $3, {now}, {now} \
             FROM tasks WHERE id = $1 \
             ON CONFLICT (task_id) DO UPDATE SET state = 'queued', priority = $2, \
             max_attempts = jobs.attempt + $3, run_after = {now}, enqueued_at = {now}, \
             lease_owner = NULL, lease_expires_at = NULL, finished_at = NULL"
        );
        self.put(tx, &sql, task_id, priority).await
    }

    /// Claims up to `limit` jobs for `owner`: due queued jobs by priority and age, and jobs
    /// whose lease expired. Their tasks become `running`.
    pub async fn claim(&self, owner: &str, limit: i64) -> sqlx::Result<Vec<Lease>> {
        let now = self.db.now_sql();
        let lease_ms = self.config.lease.as_millis() as i64;
        let mut leases: Vec<Lease> = match self.db.kind {
            Kind::Postgres => {
                // One statement: pick (skipping rows other claimers hold), lease, and mark the
                // tasks running. Rows are locked jobs first, then tasks, as everywhere else.
                sqlx::query_as(&format!(
                    "WITH expired AS ( \
                       SELECT task_id FROM jobs \
                       WHERE state = 'running' AND lease_expires_at < {now} \
                       ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED), \
                     due AS ( \
                       SELECT task_id FROM jobs \
                       WHERE state = 'queued' AND run_after <= {now} \
                       ORDER BY priority, enqueued_at, task_id LIMIT $1 FOR UPDATE SKIP LOCKED), \
                     picked AS ( \
                       SELECT task_id FROM expired UNION ALL SELECT task_id FROM due LIMIT $1), \
                     claimed AS ( \
                       UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, \
                         lease_owner = $2, lease_expires_at = {now} + $3 \
                       FROM picked WHERE jobs.task_id = picked.task_id \
                       RETURNING jobs.task_id, jobs.attempt, jobs.max_attempts), \
                     started AS ( \
                       UPDATE tasks SET status = 'running', attempts = claimed.attempt, \
                         started_at = COALESCE(tasks.started_at, $4) \
                       FROM claimed WHERE tasks.id = claimed.task_id), \
                     lost AS ( \
                       UPDATE job_attempts SET outcome = 'lost', finished_at = $4 \
                       FROM claimed WHERE job_attempts.task_id = claimed.task_id \
                         AND job_attempts.outcome = 'running'), \
                     recorded AS ( \
                       INSERT INTO job_attempts (task_id, attempt, worker_id, started_at, outcome) \
                       SELECT task_id, attempt, $2, $4, 'running' FROM claimed) \
                     SELECT task_id, attempt, max_attempts FROM claimed"
                ))
                .bind(limit)
                .bind(owner)
                .bind(lease_ms)
                .bind(crate::now_ms())
                .fetch_all(&self.db.pool)
                .await?
            }
            Kind::Sqlite => {
                let mut tx = self.db.write().await?;
                let leases: Vec<Lease> = sqlx::query_as(&format!(
                    "UPDATE jobs SET state = 'running', attempt = attempt + 1, lease_owner = $2, \
                       lease_expires_at = {now} + $3 \
                     WHERE task_id IN ( \
                       SELECT task_id FROM ( \
                         SELECT task_id FROM jobs \
                         WHERE state = 'running' AND lease_expires_at < {now} \
                         ORDER BY lease_expires_at LIMIT $1) \
                       UNION ALL \
                       SELECT task_id FROM ( \
                         SELECT task_id FROM jobs WHERE state = 'queued' AND run_after <= {now} \
                         ORDER BY priority, enqueued_at, task_id LIMIT $1) \
                       LIMIT $1) \
                     RETURNING task_id, attempt, max_attempts"
                ))
                .bind(limit)
                .bind(owner)
                .bind(lease_ms)
                .fetch_all(&mut *tx)
                .await?;
                for lease in &leases {
                    sqlx::query(
                        "UPDATE tasks SET status = 'running', attempts = $1, \
                         started_at = COALESCE(started_at, $2) WHERE id = $3",
                    )
                    .bind(lease.attempt)
                    .bind(crate::now_ms())
                    .bind(&lease.task_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "UPDATE job_attempts SET outcome = 'lost', finished_at = $1 \
                         WHERE task_id = $2 AND outcome = 'running'",
                    )
                    .bind(crate::now_ms())
                    .bind(&lease.task_id)
                    .execute(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO job_attempts (task_id, attempt, worker_id, started_at, outcome) \
                         VALUES ($1, $2, $3, $4, 'running')",
                    )
                    .bind(&lease.task_id)
                    .bind(lease.attempt)
                    .bind(owner)
                    .bind(crate::now_ms())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                leases
            }
        };
        for lease in &mut leases {
            lease.owner = owner.to_owned();
        }
        Ok(leases)
    }

    /// The `WHERE` clause every fenced write uses, with `$1..$3` = task, attempt, owner.
    fn fence(&self) -> String {
        format!(
            "task_id = $1 AND attempt = $2 AND lease_owner = $3 AND state = 'running' \
             AND lease_expires_at >= {}",
            self.db.now_sql()
        )
    }

    /// Extends the lease, stores the task's progress, and reports a cancellation request.
    pub async fn heartbeat(&self, lease: &Lease, progress: f64) -> sqlx::Result<Beat> {
        let mut tx = self.db.write().await?;
        let extended = sqlx::query(&format!(
            "UPDATE jobs SET lease_expires_at = {} + $4 WHERE {}",
            self.db.now_sql(),
            self.fence()
        ))
        .bind(&lease.task_id)
        .bind(lease.attempt)
        .bind(&lease.owner)
        .bind(self.config.lease.as_millis() as i64)
        .execute(&mut *tx)
        .await?;
        if extended.rows_affected() != 1 {
            return Ok(Beat::Lost);
        }
        let cancel: Option<i64> = sqlx::query_scalar(
            "UPDATE tasks SET progress = $1 WHERE id = $2 AND status = 'running' \
             RETURNING cancel_requested",
        )
        .bind(progress)
        .bind(&lease.task_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Beat::Held { cancel_requested: cancel.unwrap_or(0) != 0 })
    }

    /// Keeps on a running task its prompt's task at the generation provider, so that a later
    /// attempt follows that generation instead of paying for another.
    pub async fn record_generation(&self, task_id: &str, generation: &str) -> sqlx::Result<()> {
        let mut tx = self.db.write().await?;
        sqlx::query("UPDATE tasks SET generation = $1 WHERE id = $2 AND status = 'running'")
            .bind(generation)
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }

    /// Marks the job done inside the transaction that settles its task. False, and nothing
    /// written, when the lease is no longer this worker's: the caller must roll back.
    pub async fn finish(
        &self,
        tx: &mut AnyConnection,
        lease: &Lease,
        outcome: &str,
        error: Option<&str>,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE jobs SET state = 'done', finished_at = {}, last_error = COALESCE($4, last_error), \
             lease_owner = NULL, lease_expires_at = NULL WHERE {}",
            self.db.now_sql(),
            self.fence()
        ))
        .bind(&lease.task_id)
        .bind(lease.attempt)
        .bind(&lease.owner)
        .bind(error)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        close_attempt(tx, lease, outcome, error).await?;
        Ok(true)
    }

    /// After a transient failure: queues the job again after a backoff, or reports that its
    /// attempts are used up.
    pub async fn retry(&self, lease: &Lease, error: &str) -> sqlx::Result<Retry> {
        if lease.attempt >= lease.max_attempts {
            return Ok(Retry::Exhausted);
        }
        let delay = self.backoff(lease.attempt).as_millis() as i64;
        let mut tx = self.db.write().await?;
        let now = self.db.now_sql();
        let run_after: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE jobs SET state = 'queued', run_after = {now} + $4, last_error = $5, \
             lease_owner = NULL, lease_expires_at = NULL WHERE {} RETURNING run_after",
            self.fence()
        ))
        .bind(&lease.task_id)
        .bind(lease.attempt)
        .bind(&lease.owner)
        .bind(delay)
        .bind(error)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(run_after) = run_after else { return Ok(Retry::Lost) };
        close_attempt(&mut tx, lease, "retry", Some(error)).await?;
        sqlx::query("UPDATE tasks SET status = 'queued', progress = 0 WHERE id = $1")
            .bind(&lease.task_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Retry::Scheduled { run_after })
    }

    /// Gives a job back untouched (worker shutdown): due at once, and the claim it used does
    /// not count against its attempts. Its attempt number still grows on the next claim, so
    /// this worker's token stays dead.
    pub async fn release(&self, lease: &Lease) -> sqlx::Result<bool> {
        let mut tx = self.db.write().await?;
        let released = sqlx::query(&format!(
            "UPDATE jobs SET state = 'queued', run_after = {}, max_attempts = max_attempts + 1, \
             lease_owner = NULL, lease_expires_at = NULL WHERE {}",
            self.db.now_sql(),
            self.fence()
        ))
        .bind(&lease.task_id)
        .bind(lease.attempt)
        .bind(&lease.owner)
        .execute(&mut *tx)
        .await?;
        if released.rows_affected() == 1 {
            sqlx::query("UPDATE tasks SET status = 'queued', progress = 0 WHERE id = $1")
                .bind(&lease.task_id)
                .execute(&mut *tx)
                .await?;
            close_attempt(&mut tx, lease, "released", None).await?;
        }
        tx.commit().await?;
        Ok(released.rows_affected() == 1)
    }

    /// Takes a job that no worker holds out of the queue (the user canceled it), inside the
    /// transaction that cancels its task. False when a worker holds it.
    pub async fn cancel_queued(&self, tx: &mut AnyConnection, task_id: &str) -> sqlx::Result<bool> {
        let done = sqlx::query(&format!(
            "UPDATE jobs SET state = 'done', finished_at = {} WHERE task_id = $1 AND state = 'queued'",
            self.db.now_sql()
        ))
        .bind(task_id)
        .execute(&mut *tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The last error kept for a job.
    pub async fn last_error(&self, task_id: &str) -> sqlx::Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT last_error FROM jobs WHERE task_id = $1")
            .bind(task_id)
            .fetch_optional(&self.db.pool)
            .await?
            .flatten())
    }

    /// Deletes finished jobs older than the retention; returns how many.
    pub async fn prune(&self) -> sqlx::Result<u64> {
        let _gate = self.db.write_gate().await;
        let pruned = sqlx::query(&format!(
            "DELETE FROM jobs WHERE state = 'done' AND finished_at < {} - $1",
            self.db.now_sql()
        ))
        .bind(self.config.retention.as_millis() as i64)
        .execute(&self.db.pool)
        .await?;
        Ok(pruned.rows_affected())
    }

    /// The delay before retry number `attempt`: `base · 2^(attempt-1)` capped, with full
    /// jitter over its upper half so that jobs failed together do not retry together.
    pub fn backoff(&self, attempt: i64) -> Duration {
        let exponent = (attempt.max(1) - 1).min(20) as u32;
        let ceiling =
            self.config.retry_base.saturating_mul(1 << exponent).min(self.config.retry_cap);
        ceiling.mul_f64(0.5 + rand::random::<f64>() * 0.5)
    }
}

/// Ends the record of a lease's attempt, inside the transaction whose fenced write succeeded.
async fn close_attempt(
    tx: &mut AnyConnection,
    lease: &Lease,
    outcome: &str,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE job_attempts SET outcome = $1, error = $2, finished_at = $3 \
         WHERE task_id = $4 AND attempt = $5",
    )
    .bind(outcome)
    .bind(error)
    .bind(crate::now_ms())
    .bind(&lease.task_id)
    .bind(lease.attempt)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
