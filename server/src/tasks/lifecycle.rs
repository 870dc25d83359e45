//! Every change of a task's state that moves credits, each inside one transaction opened by
//! [`crate::db::Db::write`] (which on SQLite holds the write gate): create (reserve), cancel
//! (release), retry (reserve again), settle (capture or release) and delete (hide; the ledger
//! stays). The queue's claim, heartbeat, retry and release (`queue.rs`) are the rest; no
//! module outside `tasks/` writes the `tasks` table.

use lithos_engine::{JobMode, JobRequest};
use sqlx::AnyConnection;

use super::plan::TaskPlan;
use super::status::TaskStatus;
use crate::credits::{self, Kind};
use crate::error::{ApiError, ApiResult};
use crate::ids::{TaskId, UserId};
use crate::{AppState, now_ms};

/// A task about to be created: its owner, its upload, the request and its plan.
#[derive(Clone, Copy, Debug)]
pub struct NewTask<'a> {
    pub owner: &'a UserId,
    /// None for text in the bundled font.
    pub upload_id: Option<&'a str>,
    pub mode: JobMode,
    pub request: &'a JobRequest,
    pub plan: &'a TaskPlan,
    pub idempotency_key: Option<&'a str>,
    /// The request's fingerprint, which a replay with the same key must match.
    pub request_hash: &'a str,
    /// The task this one makes again in another format, free: its cost is 0. A prompt's
    /// generation comes with it: the same model is downloaded again, not generated anew.
    pub derived_from: Option<&'a TaskId>,
}

/// Creates the task, reserves its cost and queues its job, in one transaction. `Ok(None)`
/// when a task with the same idempotency key got there first (the caller replays it).
pub async fn create(state: &AppState, new: NewTask<'_>) -> ApiResult<Option<TaskId>> {
    let id = TaskId::generate();
    let (cost, reason) = match new.derived_from {
        None => (new.plan.cost, "task submitted".to_owned()),
        Some(from) => (0, format!("task {from} in another format: free")),
    };
    let mut tx = state.db.write().await?;
    let params = serde_json::to_string(new.request).map_err(|e| ApiError::Internal(e.into()))?;
    let inserted = sqlx::query(
        "INSERT INTO tasks (id, user_id, upload_id, mode, params, format, status, cost, \
         idempotency_key, request_hash, created_at, derived_from, generation) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $10, $11, \
         (SELECT generation FROM tasks WHERE id = $11))",
    )
    .bind(&id)
    .bind(new.owner)
    .bind(new.upload_id)
    .bind(new.mode.name())
    .bind(params)
    .bind(new.plan.job.format.name())
    .bind(cost)
    .bind(new.idempotency_key)
    .bind(new.request_hash)
    .bind(now_ms())
    .bind(new.derived_from)
    .execute(&mut *tx)
    .await;
    if let Err(sqlx::Error::Database(e)) = &inserted
        && e.is_unique_violation()
        && new.idempotency_key.is_some()
    {
        return Ok(None);
    }
    inserted?;
    credits::post(&mut tx, new.owner, Kind::Reserve, -cost, &reason, Some(&id), None).await?;
    crate::billing::plans::admit_task(&mut tx, &state.config.billing, new.owner).await?;
    enqueue(state, &mut tx, &id, new.owner, false).await?;
    tx.commit().await?;
    metrics::counter!("lithos_tasks_submitted_total", "mode" => new.mode.name()).increment(1);
    state.worker.notify();
    Ok(Some(id))
}

/// Queues task `id`'s job at its owner's plan's priority: first time, or `again`.
async fn enqueue(
    state: &AppState,
    tx: &mut AnyConnection,
    id: &TaskId,
    owner: &UserId,
    again: bool,
) -> ApiResult<()> {
    // The plan's rank (paid plans before free, by default); a canceled plan's lasts until
    // its period ends.
    let plan = crate::billing::plans::standing(tx, owner).await?.plan;
    let priority = state.config.billing.priority(&plan);
    if again {
        state.queue.requeue(tx, id, priority).await?;
    } else {
        state.queue.enqueue(tx, id, priority).await?;
    }
    Ok(())
}

/// What canceling needs to know of a task, named so that its strings cannot be swapped.
#[derive(Clone, Copy, Debug)]
pub struct ToCancel<'a> {
    pub id: &'a TaskId,
    /// The task's owner, whose credits are released.
    pub owner: &'a UserId,
    pub status: TaskStatus,
    pub cost: i64,
}

/// Cancels `task` if it is queued or running: a job no worker holds leaves the queue and its
/// credits are released here; a held one is flagged, and its worker stops at its next
/// heartbeat. The user's route and the console's share it.
pub async fn cancel(state: &AppState, task: ToCancel<'_>) -> ApiResult<()> {
    let ToCancel { id, owner, status, cost } = task;
    if !status.is_active() {
        return Ok(());
    }
    let mut tx = state.db.write().await?;
    if state.queue.cancel_queued(&mut tx, id).await? {
        let moved = sqlx::query(
            "UPDATE tasks SET status = 'canceled', finished_at = $1 \
             WHERE id = $2 AND status IN ('queued', 'running')",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 1 {
            credits::post(&mut tx, owner, Kind::Release, cost, "task canceled", Some(id), None)
                .await?;
        }
    } else {
        sqlx::query("UPDATE tasks SET cancel_requested = 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    state.worker.cancel(id);
    Ok(())
}

/// Runs a failed or canceled task again, inside `tx`: its outcome cleared, its owner's credits
/// reserved again (402 when the balance does not cover them), its job queued.
pub async fn retry(
    state: &AppState,
    tx: &mut AnyConnection,
    task: ToCancel<'_>,
    admin_id: &UserId,
) -> ApiResult<()> {
    if task.status.is_active() || task.status == TaskStatus::Succeeded {
        return Err(ApiError::Conflict(format!(
            "the job is {}; only failed or canceled jobs can be retried",
            task.status
        )));
    }
    let moved = sqlx::query(
        "UPDATE tasks SET status = 'queued', error = NULL, result = NULL, output_key = NULL, \
         progress = 0, finished_at = NULL, cancel_requested = 0, megapixels = NULL, \
         triangles = NULL, generation = NULL WHERE id = $1 AND status IN ('failed', 'canceled')",
    )
    .bind(task.id)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(ApiError::Conflict("the job changed meanwhile; reload it".into()));
    }
    let reason = "task retried by an administrator";
    credits::post(tx, task.owner, Kind::Reserve, -task.cost, reason, Some(task.id), Some(admin_id))
        .await?;
    enqueue(state, tx, task.id, task.owner, true).await
}

/// Hides a finished task, inside `tx`: it leaves the queue and every list, and loses its
/// output key (the caller deletes the object after committing). The row stays, because the
/// ledger refers to it.
pub async fn delete(tx: &mut AnyConnection, id: &TaskId, status: TaskStatus) -> ApiResult<()> {
    if status.is_active() {
        return Err(ApiError::Conflict(format!("the job is {status}; cancel it first")));
    }
    sqlx::query("UPDATE tasks SET deleted_at = $1, output_key = NULL WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM jobs WHERE task_id = $1").bind(id).execute(&mut *tx).await?;
    Ok(())
}

/// How a run ended, as the task records it.
#[derive(Clone, Debug, PartialEq)]
pub struct Settlement {
    pub status: TaskStatus,
    pub error: Option<String>,
    /// The report, as JSON text.
    pub result: Option<String>,
    pub output_key: Option<String>,
    /// Throughput figures the console charts; megapixels for heightfields only.
    pub megapixels: Option<f64>,
    pub triangles: Option<i64>,
}

impl Settlement {
    /// A run that made nothing: failed with `error`, or canceled.
    pub fn without_output(status: TaskStatus, error: Option<String>) -> Self {
        Settlement {
            status,
            error,
            result: None,
            output_key: None,
            megapixels: None,
            triangles: None,
        }
    }
}

/// The task that ran, as settling needs it.
#[derive(Clone, Copy, Debug)]
pub struct Ran<'a> {
    pub id: &'a TaskId,
    pub owner: &'a UserId,
    pub mode: &'a str,
    pub cost: i64,
}

/// Records a run's outcome inside `tx` (whose job the caller has fenced and finished): the
/// task's status and result, and its credits captured (success) or released.
pub async fn settle(
    tx: &mut AnyConnection,
    task: Ran<'_>,
    outcome: Settlement,
) -> anyhow::Result<()> {
    let succeeded = outcome.status == TaskStatus::Succeeded;
    let moved = sqlx::query(
        "UPDATE tasks SET status = $1, error = $2, result = $3, output_key = $4, \
         progress = $5, finished_at = $6, megapixels = NULLIF($7, -1.0), triangles = $8 \
         WHERE id = $9 AND status = 'running'",
    )
    .bind(outcome.status.as_str())
    .bind(outcome.error)
    .bind(outcome.result)
    .bind(outcome.output_key)
    .bind(if succeeded { 1.0 } else { 0.0 })
    .bind(now_ms())
    // Never a NULL double (see `db`): solids have no megapixels.
    .bind(outcome.megapixels.unwrap_or(-1.0))
    .bind(outcome.triangles)
    .bind(task.id)
    .execute(&mut *tx)
    .await?;
    anyhow::ensure!(moved.rows_affected() == 1, "task {} was not running", task.id);
    let (kind, amount, reason) = match outcome.status {
        TaskStatus::Succeeded => (Kind::Capture, 0, "task succeeded"),
        TaskStatus::Canceled => (Kind::Release, task.cost, "task canceled"),
        _ => (Kind::Release, task.cost, "task failed"),
    };
    credits::post(tx, task.owner, kind, amount, reason, Some(task.id), None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if succeeded {
        sqlx::query(
            "INSERT INTO usage_events (user_id, feature, mode, credits, task_id, created_at) \
             VALUES ($1, 'task', $2, $3, $4, $5)",
        )
        .bind(task.owner)
        .bind(task.mode)
        .bind(task.cost)
        .bind(task.id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Marks the outputs of tasks `ids` expired at `at` (retention deleted their objects first).
pub async fn expire_outputs(db: &crate::Db, ids: &[String], at: i64) -> sqlx::Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "UPDATE tasks SET expired_at = $1, output_key = NULL WHERE id IN ({})",
        marks.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(at);
    for id in ids {
        query = query.bind(id);
    }
    let _gate = db.write_gate().await;
    query.execute(&db.pool).await?;
    Ok(())
}

/// Marks every output of `user` expired at `at`, inside `tx`: deleting the account deleted
/// their objects first.
pub async fn expire_outputs_of(tx: &mut AnyConnection, user: &UserId, at: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tasks SET expired_at = COALESCE(expired_at, $1), output_key = NULL \
         WHERE user_id = $2 AND output_key IS NOT NULL",
    )
    .bind(at)
    .bind(user)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Forgets what `user` asked of every task, inside `tx`: its parameters (a prompt, the text
/// of a keychain) and its generation at the provider. The rows stay, because the ledger
/// refers to them; what they made is deleted with the account's objects.
pub async fn forget_requests_of(tx: &mut AnyConnection, user: &UserId) -> sqlx::Result<()> {
    sqlx::query("UPDATE tasks SET params = '{}', generation = NULL WHERE user_id = $1")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
