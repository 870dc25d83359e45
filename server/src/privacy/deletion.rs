//! Deleting an account, by its owner or by an operator (also for an account found to belong
//! to a child). In this order, so that a failure part-way leaves nothing half-done that a
//! retry cannot finish:
//!
//! 1. the Creem subscription is canceled at once (a refusal stops here, with nothing deleted);
//! 2. running and queued tasks are canceled, their credits released; deletion waits a while
//!    for running ones to stop;
//! 3. the user row becomes a tombstone (no email, name, avatar or password; the random id
//!    stays, so the ledger and payments keep their references), and its sessions, API keys,
//!    exports and support requests go, and every task forgets its parameters (prompts and
//!    typed text are the user's words), in one transaction;
//! 4. every object under `users/<id>/` is deleted, then the rows that pointed to them are
//!    marked (uploads deleted, outputs expired).
//!
//! An output a worker stores after step 4 is deleted by the next retention sweep.

use std::time::Duration;

use serde_json::json;

use crate::billing::creem::{Creem, CreemError};
use crate::error::{ApiError, ApiResult};
use crate::ids::{TaskId, UserId};
use crate::tasks::TaskStatus;
use crate::tasks::lifecycle::{self, ToCancel};
use crate::{AppState, now_ms};

/// How long deletion waits for the account's running tasks to stop.
const STOP_WAIT: Duration = Duration::from_secs(30);

/// Who deleted the account, for the audit log.
#[derive(Clone, Copy, Debug)]
pub enum By<'a> {
    /// The account's owner.
    Owner,
    /// An operator, with the audit action (`user.delete` or `user.child`) and their reason.
    Admin { id: &'a UserId, action: &'static str, reason: &'a str },
}

/// What deleting removed.
#[derive(Clone, Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Deleted {
    pub tasks_canceled: u64,
    pub objects_deleted: u64,
    pub subscription_canceled: bool,
}

/// Deletes account `id` (see the module's order). 404 when there is none, or it is already
/// deleted.
pub async fn delete_account(state: &AppState, id: &UserId, by: By<'_>) -> ApiResult<Deleted> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT email, name FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(id)
            .fetch_optional(&state.db.pool)
            .await?;
    let (email, name) = row.ok_or(ApiError::NotFound)?;
    let mut done = Deleted::default();

    // 1. The subscription, at once: no further charge for an account that is gone.
    let subscriptions: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM subscriptions WHERE user_id = $1 \
         AND status NOT IN ('canceled', 'expired')",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    let creem = match Creem::new(&state.config.billing) {
        Ok(creem) => Some(creem),
        // Billing was configured once and is no longer: nothing here can reach Creem, and the
        // account must still be deletable.
        Err(CreemError::NotConfigured) => None,
        Err(e) => return Err(crate::routes::billing::provider(e)),
    };
    if let (false, None) = (subscriptions.is_empty(), &creem) {
        tracing::warn!(user_id = %id, "deleting an account with a subscription while billing is not configured; cancel it in Creem");
    }
    if let (false, Some(creem)) = (subscriptions.is_empty(), &creem) {
        for sub in &subscriptions {
            let body = json!({ "mode": "immediate", "onExecute": "cancel" });
            creem
                .subscription(sub, "cancel", Some(body))
                .await
                .map_err(crate::routes::billing::provider)?;
        }
        done.subscription_canceled = true;
    }

    // 2. Tasks.
    let active: Vec<(TaskId, String, i64)> = sqlx::query_as(
        "SELECT id, status, cost FROM tasks WHERE user_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(id)
    .fetch_all(&state.db.pool)
    .await?;
    for (task, status, cost) in &active {
        let status = status.parse::<TaskStatus>().map_err(|e| ApiError::Internal(e.into()))?;
        lifecycle::cancel(state, ToCancel { id: task, owner: id, status, cost: *cost }).await?;
    }
    done.tasks_canceled = active.len() as u64;
    let waited = tokio::time::Instant::now();
    while waited.elapsed() < STOP_WAIT {
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tasks WHERE user_id = $1 AND status IN ('queued', 'running')",
        )
        .bind(id)
        .fetch_one(&state.db.pool)
        .await?;
        if running == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 3. The tombstone.
    let now = now_ms();
    let mut tx = state.db.write().await?;
    sqlx::query(
        "UPDATE users SET email = '', email_lower = $1, name = '', avatar_url = NULL, \
         password_hash = '', age_confirmed_at = NULL, avatar_key = NULL, disabled_at = $2, deleted_at = $2 \
         WHERE id = $3",
    )
    .bind(format!("deleted:{id}"))
    .bind(now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    for table in [
        "sessions",
        "api_keys",
        "support_requests",
        "exports",
        "email_tokens",
        "identities",
        "login_requests",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    // Prompts and typed text are the user's words: they go with the account.
    lifecycle::forget_requests_of(&mut tx, id).await?;
    // Creem's copies of the email and name in stored webhook payloads; the payments
    // themselves stay, as accounting law requires.
    for value in [&email, &name].into_iter().filter(|v| v.chars().count() >= 3) {
        let quoted = serde_json::to_string(value).map_err(|e| ApiError::Internal(e.into()))?;
        sqlx::query(
            "UPDATE billing_events SET payload = REPLACE(payload, $1, '\"[deleted]\"') \
             WHERE payload LIKE $2",
        )
        .bind(&quoted)
        // LIKE's wildcards in the value only widen the match; REPLACE is exact.
        .bind(format!("%{quoted}%"))
        .execute(&mut *tx)
        .await?;
    }
    if let By::Admin { id: admin, action, reason } = by {
        crate::audit::by_admin(&mut tx, admin, action, id, reason).await?;
    }
    tx.commit().await?;

    // 4. The objects, then the rows that named them.
    done.objects_deleted = state.storage.delete_user_objects(id).await?;
    let mut tx = state.db.write().await?;
    sqlx::query("UPDATE uploads SET deleted_at = $1, filename = '' WHERE user_id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    lifecycle::expire_outputs_of(&mut tx, id, now).await?;
    tx.commit().await?;
    metrics::counter!("lithos_accounts_deleted_total").increment(1);
    tracing::info!(user_id = %id, tasks_canceled = done.tasks_canceled, objects = done.objects_deleted, "account deleted");
    Ok(done)
}
