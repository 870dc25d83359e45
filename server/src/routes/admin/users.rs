//! The console's view of one account: plan, balance, ledger, tasks and API keys; credit
//! adjustments with a mandatory reason; disabling and enabling. Actions go to the audit log.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;

use super::audit;
use super::views::{
    AccountDetail, AccountKey, AccountSubscription, AccountSummary, AccountTask, Adjusted,
    AdminLedgerEntry, Disabled,
};
use crate::AppState;
use crate::auth::Admin;
use crate::credits::{self, Kind};
use crate::domain::DomainError;
use crate::error::{ApiError, ApiResult};
use crate::ids::UserId;
use crate::now_ms;

#[utoipa::path(get, path = "/api/v1/admin/users/{id}", tag = "admin", params(("id" = String, Path)), responses((status = 200, description = "The account, its ledger (newest 100), tasks (newest 50) and API keys", body = AccountDetail), (status = 404, description = "No such account", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<UserId>,
) -> ApiResult<Json<AccountDetail>> {
    let pool = &state.db.pool;
    let user: AccountSummary = sqlx::query_as(
        "SELECT id, email, name, role, plan, balance AS credits, disabled_at, created_at \
         FROM users WHERE id = $1",
    )
    .bind(&id)
    .fetch_optional(pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    let ledger: Vec<AdminLedgerEntry> = sqlx::query_as(
        "SELECT id, kind, amount, reason, task_id, admin_id, created_at FROM ledger \
             WHERE user_id = $1 ORDER BY id DESC LIMIT 100",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;
    let tasks: Vec<AccountTask> = sqlx::query_as(
        "SELECT id, mode, status, cost, created_at, finished_at FROM tasks \
         WHERE user_id = $1 AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 50",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;
    let api_keys: Vec<AccountKey> = sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys \
         WHERE user_id = $1 ORDER BY created_at DESC",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;
    let creem_customers: Vec<String> = sqlx::query_scalar(
        "SELECT customer_id FROM creem_customers WHERE user_id = $1 ORDER BY linked_at DESC",
    )
    .bind(&id)
    .fetch_all(pool)
    .await?;
    let subscription: Option<AccountSubscription> = sqlx::query_as(
        "SELECT id, plan, status, period_end FROM subscriptions WHERE user_id = $1 \
         ORDER BY state_at DESC LIMIT 1",
    )
    .bind(&id)
    .fetch_optional(pool)
    .await?;
    let billing_hold: Option<Option<String>> = sqlx::query_scalar(
        "SELECT billing_hold_reason FROM users WHERE id = $1 AND billing_hold_at IS NOT NULL",
    )
    .bind(&id)
    .fetch_optional(pool)
    .await?;
    Ok(Json(AccountDetail {
        id: user.id,
        email: user.email,
        name: user.name,
        role: user.role,
        plan: user.plan,
        balance: user.credits,
        disabled_at: user.disabled_at,
        created_at: user.created_at,
        ledger,
        tasks,
        api_keys,
        creem_customers,
        subscription,
        billing_hold: billing_hold.map(Option::unwrap_or_default),
    }))
}

/// A credit adjustment.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjust {
    /// Credits to add (negative to take back; the balance never goes below zero).
    pub amount: i64,
    /// Why, for the ledger and the audit log. Required.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/credits", tag = "admin", params(("id" = String, Path)), request_body = Adjust, responses((status = 200, description = "The ledger entry was written; the new balance", body = Adjusted), (status = 402, description = "It would take the balance below zero", body = crate::openapi::ErrorBody), (status = 422, description = "No reason, or a zero amount", body = crate::openapi::ErrorBody), (status = 404, description = "No such account", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn adjust_credits(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<UserId>,
    body: Result<Json<Adjust>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Adjusted>> {
    let Json(body) = body?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::invalid("reason", "say why; the ledger keeps it"));
    }
    let reason = crate::text::clean("reason", &body.reason, 500)?;
    if body.amount == 0 || body.amount.abs() > 1_000_000_000 {
        return Err(ApiError::invalid("amount", "must be a non-zero whole number of credits"));
    }
    let mut tx = state.db.write().await?;
    credits::post(&mut tx, &id, Kind::Adjustment, body.amount, &reason, None, Some(&admin.id))
        .await
        .map_err(|e| match e {
            DomainError::InsufficientCredits { balance, .. } => {
                ApiError::WouldOverdraw { take: -body.amount, balance }
            }
            e => e.into(),
        })?;
    let balance = credits::balance(&mut tx, &id).await?;
    audit(&mut tx, &admin.id, "user.credits", &id, &format!("{:+} credits: {reason}", body.amount))
        .await?;
    tx.commit().await?;
    Ok(Json(Adjusted { id, balance }))
}

/// Disable (or enable again) an account.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disable {
    pub disabled: bool,
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/disable", tag = "admin", params(("id" = String, Path)), request_body = Disable, responses((status = 200, description = "Disabled (its sessions end and its keys stop working) or enabled", body = Disabled), (status = 409, description = "An administrator cannot disable their own account", body = crate::openapi::ErrorBody), (status = 404, description = "No such account", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn disable(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<UserId>,
    body: Result<Json<Disable>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Disabled>> {
    let Json(body) = body?;
    if body.disabled && id == admin.id {
        return Err(ApiError::Conflict("you cannot disable your own account".into()));
    }
    let mut tx = state.db.write().await?;
    let moved =
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND deleted_at IS NULL")
            .bind(body.disabled.then(now_ms))
            .bind(&id)
            .execute(&mut *tx)
            .await?;
    if moved.rows_affected() != 1 {
        return Err(ApiError::NotFound);
    }
    if body.disabled {
        sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&id).execute(&mut *tx).await?;
    }
    let action = if body.disabled { "user.disable" } else { "user.enable" };
    audit(&mut tx, &admin.id, action, &id, "").await?;
    tx.commit().await?;
    Ok(Json(Disabled { id, disabled: body.disabled }))
}

/// Why an administrator deletes an account.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Deletion {
    /// Recorded in the audit log.
    pub reason: String,
    /// The account belongs to a child under 13 (audited as `user.child`).
    #[serde(default)]
    pub child: bool,
}

#[utoipa::path(delete, path = "/api/v1/admin/users/{id}", tag = "admin", params(("id" = String, Path)), request_body = Deletion, responses((status = 200, description = "Deleted as its owner would (tasks and subscription canceled, files deleted, a tombstone left); audited", body = crate::privacy::deletion::Deleted), (status = 409, description = "An administrator cannot delete their own account here", body = crate::openapi::ErrorBody), (status = 404, description = "No such account", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 503, description = "The payment provider did not answer; nothing was deleted", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<UserId>,
    body: Result<Json<Deletion>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<crate::privacy::deletion::Deleted>> {
    let Json(body) = body?;
    let reason = crate::text::clean("reason", &body.reason, 500)?;
    if id == admin.id {
        return Err(ApiError::Conflict("delete your own account from your account page".into()));
    }
    let action = if body.child { "user.child" } else { "user.delete" };
    let by = crate::privacy::deletion::By::Admin { id: &admin.id, action, reason: &reason };
    Ok(Json(crate::privacy::deletion::delete_account(&state, &id, by).await?))
}
