//! Settling a job: its outcome, the task's status and its credits in one transaction fenced
//! by the lease, and retries with backoff for transient failures.

use lithos_engine::MeshFormat;

use super::{Outcome, Slot, Task};
use crate::tasks::TaskStatus;
use crate::tasks::lifecycle::{self, Ran, Settlement};
use crate::tasks::pictures::stored_keys;
use crate::tasks::queue::{Lease, Retry};

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
                    let _ = self.storage.delete_many(stored_keys(&key)).await;
                }
            }
        } else if let Some(key) = this_output {
            // Rejected (or failed): leave no trace of this attempt.
            let _ = self.storage.delete_many(stored_keys(&key)).await;
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
        let settlement = match &outcome {
            Outcome::Succeeded { report, output_key } => Settlement {
                status: TaskStatus::Succeeded,
                error: None,
                result: Some(serde_json::to_string(report)?),
                output_key: Some(output_key.clone()),
                megapixels: report.engine.megapixels(),
                triangles: i64::try_from(report.engine.triangles).ok(),
            },
            Outcome::Failed(message) => {
                Settlement::without_output(TaskStatus::Failed, Some(message.clone()))
            }
            Outcome::Canceled => Settlement::without_output(TaskStatus::Canceled, None),
            Outcome::Transient(_) => unreachable!("retried above"),
        };
        let status = settlement.status;
        let mut tx = self.queue.db.write().await?;
        if !self.queue.finish(&mut tx, lease, status.as_str(), settlement.error.as_deref()).await? {
            tracing::warn!(task = %task.id, attempt = lease.attempt, "completion rejected: the lease is no longer ours");
            return Ok(false);
        }
        let ran = Ran { id: &task.id, owner: &task.user_id, mode: &task.mode, cost: task.cost };
        lifecycle::settle(&mut tx, ran, settlement).await?;
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
