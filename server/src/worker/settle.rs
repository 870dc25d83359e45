//! Settling a job: its outcome, the task's status and its credits in one transaction fenced
//! by the lease, and retries with backoff for transient failures.

use lithos_engine::MeshFormat;

use super::{Outcome, Slot, Task};
use crate::credits::{self, Kind};
use crate::now_ms;
use crate::queue::{Lease, Retry};
use crate::task_status::TaskStatus;

impl Slot {
    pub(super) async fn settle(
        &self,
        task: &Task,
        lease: &Lease,
        outcome: Outcome,
    ) -> anyhow::Result<()> {
        let outcome = match outcome {
            Outcome::Transient(message) => {
                tracing::warn!(task = %task.id, attempt = lease.attempt, error = %message, "attempt failed");
                match self.queue.retry(lease, &message).await? {
                    Retry::Scheduled { .. } | Retry::Lost => return Ok(()),
                    Retry::Exhausted => Outcome::Failed(format!(
                        "gave up after {} attempts: {message}",
                        lease.attempt
                    )),
                }
            }
            other => other,
        };
        let this_output = match &outcome {
            Outcome::Succeeded { output_key, .. } => Some(output_key.clone()),
            _ => None,
        };
        let settled = self.settle_fenced(task, lease, outcome).await;
        if matches!(settled, Ok(true)) {
            // Earlier attempts whose workers died after storing their output but before
            // settling left objects no record points to: remove them.
            // (A task whose format does not parse never ran, and stored nothing.)
            if let Ok(format) = task.format.parse::<MeshFormat>() {
                for attempt in 1..lease.attempt {
                    let key = output_key(task, attempt, format.extension());
                    let _ = self.storage.delete(&key).await;
                }
            }
        } else if let Some(key) = this_output {
            // Rejected (or failed): leave no trace of this attempt.
            let _ = self.storage.delete(&key).await;
        }
        settled.map(|_| ())
    }

    /// One transaction: the job done (fenced by the lease), the task's outcome, and its
    /// credits. False, with nothing written, when the lease is no longer ours.
    async fn settle_fenced(
        &self,
        task: &Task,
        lease: &Lease,
        outcome: Outcome,
    ) -> anyhow::Result<bool> {
        let (status, error, result, output_key) = match &outcome {
            Outcome::Succeeded { report, output_key } => {
                let report = serde_json::to_string(report)?;
                (TaskStatus::Succeeded, None, Some(report), Some(output_key.clone()))
            }
            Outcome::Failed(message) => (TaskStatus::Failed, Some(message.clone()), None, None),
            Outcome::Canceled => (TaskStatus::Canceled, None, None, None),
            Outcome::Transient(_) => unreachable!("retried above"),
        };
        let db = &self.queue.db;
        let mut tx = db.write().await?;
        if !self.queue.finish(&mut tx, lease, status.as_str(), error.as_deref()).await? {
            tracing::warn!(task = %task.id, attempt = lease.attempt, "completion rejected: the lease is no longer ours");
            return Ok(false);
        }
        // Throughput figures the console charts.
        let (megapixels, triangles) = match &outcome {
            Outcome::Succeeded { report, .. } => {
                (report.engine.megapixels(), i64::try_from(report.engine.triangles).ok())
            }
            _ => (None, None),
        };
        let moved = sqlx::query(
            "UPDATE tasks SET status = $1, error = $2, result = $3, output_key = $4, \
             progress = $5, finished_at = $6, megapixels = NULLIF($7, -1.0), triangles = $8 \
             WHERE id = $9 AND status = 'running'",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(result)
        .bind(output_key)
        .bind(if status == TaskStatus::Succeeded { 1.0 } else { 0.0 })
        .bind(now_ms())
        // Never a NULL double (see `db`): solids have no megapixels.
        .bind(megapixels.unwrap_or(-1.0))
        .bind(triangles)
        .bind(&task.id)
        .execute(&mut *tx)
        .await?;
        anyhow::ensure!(moved.rows_affected() == 1, "task {} was not running", task.id);
        let (kind, amount, reason) = match outcome {
            Outcome::Succeeded { .. } => (Kind::Capture, 0, "task succeeded"),
            Outcome::Canceled => (Kind::Release, task.cost, "task canceled"),
            _ => (Kind::Release, task.cost, "task failed"),
        };
        credits::post(&mut tx, &task.user_id, kind, amount, reason, Some(&task.id), None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if kind == Kind::Capture {
            sqlx::query(
                "INSERT INTO usage_events (user_id, feature, mode, credits, task_id, created_at) \
                 VALUES ($1, 'task', $2, $3, $4, $5)",
            )
            .bind(&task.user_id)
            .bind(&task.mode)
            .bind(task.cost)
            .bind(&task.id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE workers SET jobs_done = jobs_done + 1, \
             jobs_failed = jobs_failed + $2 WHERE id = $1",
        )
        .bind(&self.worker_id)
        .bind(i64::from(status == TaskStatus::Failed))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        metrics::counter!("lithos_tasks_finished_total", "mode" => task.mode.clone(), "outcome" => status.as_str()).increment(1);
        Ok(true)
    }
}

/// Where an attempt stores its output: per attempt, so that a stale worker can never overwrite
/// the output of the attempt that owns the job.
pub(super) fn output_key(task: &Task, attempt: i64, extension: &str) -> String {
    format!("users/{}/outputs/{}-{attempt}.{extension}", task.user_id, task.id)
}
