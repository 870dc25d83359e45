//! The console's billing: revenue and active subscriptions per day, payments with their
//! refunds and disputes, subscriptions, the webhook inbox with its payloads, and billing
//! holds, which an operator clears (audited).

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::audit;
use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::ids::UserId;
use crate::now_ms;

const DAY_MS: i64 = 86_400_000;

/// One day of revenue (minor units, all currencies summed) and of subscriptions.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BillingDay {
    /// The day's start, epoch milliseconds (UTC).
    pub day: i64,
    pub paid: i64,
    pub refunded: i64,
    pub disputed: i64,
    /// Subscriptions whose current period covers the day.
    pub active_subscriptions: i64,
}

#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AdminPayment {
    pub transaction_id: String,
    pub user_id: String,
    pub email: String,
    /// `pack` or `period`.
    pub kind: String,
    pub product: String,
    pub amount_paid: i64,
    pub currency: String,
    pub credits: i64,
    pub clawed_back: i64,
    pub created_at: i64,
}

#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AdminReversal {
    pub id: String,
    /// `refund` or `dispute`.
    pub kind: String,
    pub transaction_id: String,
    pub user_id: String,
    pub email: String,
    pub amount: i64,
    pub currency: String,
    pub credits: i64,
    pub shortfall: i64,
    pub created_at: i64,
}

#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AdminSubscription {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub plan: String,
    pub status: String,
    pub period_end: Option<i64>,
    pub updated_at: i64,
}

#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct BillingHold {
    pub user_id: String,
    pub email: String,
    pub billing_hold_at: i64,
    pub billing_hold_reason: Option<String>,
    pub balance: i64,
}

/// The console's billing overview.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BillingOverview {
    pub days: Vec<BillingDay>,
    pub payments: Vec<AdminPayment>,
    pub reversals: Vec<AdminReversal>,
    pub subscriptions: Vec<AdminSubscription>,
    pub holds: Vec<BillingHold>,
}

#[derive(Debug, Deserialize)]
pub struct BillingQuery {
    /// Days of history [default: 30, at most 366].
    pub days: Option<i64>,
    /// Part of an email, to filter payments, refunds, disputes and subscriptions.
    pub q: Option<String>,
    /// Only this kind of payment: `pack` or `period`.
    pub kind: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/billing", tag = "admin", params(("days" = Option<i64>, Query), ("q" = Option<String>, Query), ("kind" = Option<String>, Query)), responses((status = 200, description = "Revenue and active subscriptions per day; payments, refunds and disputes, subscriptions (newest 200 each, filtered by email and kind), and billing holds", body = BillingOverview), (status = 422, description = "No such kind", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn overview(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<BillingQuery>,
) -> ApiResult<Json<BillingOverview>> {
    let pool = &state.db.pool;
    let days = query.days.unwrap_or(30).clamp(1, 366);
    let today = now_ms().div_euclid(DAY_MS) * DAY_MS;
    let since = today - (days - 1) * DAY_MS;
    let like = format!("%{}%", query.q.as_deref().unwrap_or("").to_lowercase());
    let kind = match query.kind.as_deref() {
        None | Some("") => None,
        Some(k @ ("pack" | "period")) => Some(k.to_owned()),
        Some(_) => return Err(ApiError::invalid("kind", "must be pack or period")),
    };
    let paid: Vec<(i64, i64)> =
        sqlx::query_as("SELECT created_at, amount_paid FROM payments WHERE created_at >= $1")
            .bind(since)
            .fetch_all(pool)
            .await?;
    let reversed: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT created_at, kind, amount FROM payment_reversals WHERE created_at >= $1",
    )
    .bind(since)
    .fetch_all(pool)
    .await?;
    let periods: Vec<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT period_start, period_end FROM subscriptions \
         WHERE status IN ('active', 'trialing', 'scheduled_cancel', 'past_due', 'unpaid', 'paid')",
    )
    .fetch_all(pool)
    .await?;
    let index = |t: i64| ((t - since).div_euclid(DAY_MS)) as usize;
    let mut out: Vec<BillingDay> = (0..days)
        .map(|d| BillingDay {
            day: since + d * DAY_MS,
            paid: 0,
            refunded: 0,
            disputed: 0,
            active_subscriptions: 0,
        })
        .collect();
    for (at, amount) in paid {
        if let Some(day) = out.get_mut(index(at)) {
            day.paid += amount;
        }
    }
    for (at, kind, amount) in reversed {
        if let Some(day) = out.get_mut(index(at)) {
            if kind == "refund" { day.refunded += amount } else { day.disputed += amount }
        }
    }
    for day in &mut out {
        let (start, end) = (day.day, day.day + DAY_MS);
        day.active_subscriptions = periods
            .iter()
            .filter(|(s, e)| s.unwrap_or(i64::MIN) < end && e.unwrap_or(i64::MAX) >= start)
            .count() as i64;
    }
    let payments: Vec<AdminPayment> = sqlx::query_as(
        "SELECT p.transaction_id, p.user_id, u.email, p.kind, p.product, p.amount_paid, \
         p.currency, p.credits, p.clawed_back, p.created_at FROM payments p \
         JOIN users u ON u.id = p.user_id WHERE u.email_lower LIKE $1 \
         AND (CAST($2 AS TEXT) IS NULL OR p.kind = $2) ORDER BY p.created_at DESC LIMIT 200",
    )
    .bind(&like)
    .bind(kind)
    .fetch_all(pool)
    .await?;
    let reversals: Vec<AdminReversal> = sqlx::query_as(
        "SELECT r.id, r.kind, r.transaction_id, r.user_id, u.email, r.amount, r.currency, \
         r.credits, r.shortfall, r.created_at FROM payment_reversals r \
         JOIN users u ON u.id = r.user_id WHERE u.email_lower LIKE $1 \
         ORDER BY r.created_at DESC LIMIT 200",
    )
    .bind(&like)
    .fetch_all(pool)
    .await?;
    let subscriptions: Vec<AdminSubscription> = sqlx::query_as(
        "SELECT s.id, s.user_id, u.email, s.plan, s.status, s.period_end, s.updated_at \
         FROM subscriptions s JOIN users u ON u.id = s.user_id WHERE u.email_lower LIKE $1 \
         ORDER BY s.updated_at DESC LIMIT 200",
    )
    .bind(&like)
    .fetch_all(pool)
    .await?;
    let holds: Vec<BillingHold> = sqlx::query_as(
        "SELECT id AS user_id, email, billing_hold_at, billing_hold_reason, balance FROM users \
         WHERE billing_hold_at IS NOT NULL ORDER BY billing_hold_at DESC",
    )
    .fetch_all(pool)
    .await?;
    Ok(Json(BillingOverview { days: out, payments, reversals, subscriptions, holds }))
}

/// A webhook event as the inbox keeps it.
#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct InboxEvent {
    pub id: String,
    pub event_type: String,
    /// processed, waiting, ignored or failed.
    pub status: String,
    /// What a waiting event needs first.
    pub waiting_on: Option<String>,
    pub error: Option<String>,
    /// The body as Creem sent it.
    pub payload: String,
    pub created_at: i64,
    pub received_at: i64,
    pub processed_at: Option<i64>,
}

/// The webhook inbox, newest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub events: Vec<InboxEvent>,
}

#[derive(Debug, Deserialize)]
pub struct InboxQuery {
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/billing/events", tag = "admin", params(("status" = Option<String>, Query)), responses((status = 200, description = "The webhook inbox, newest 200 first, with each payload", body = Inbox), (status = 422, description = "No such status", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<InboxQuery>,
) -> ApiResult<Json<Inbox>> {
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s @ ("processed" | "waiting" | "ignored" | "failed")) => Some(s.to_owned()),
        Some(_) => {
            return Err(ApiError::invalid(
                "status",
                "must be processed, waiting, ignored or failed",
            ));
        }
    };
    let rows: Vec<InboxEvent> = sqlx::query_as(
        "SELECT id, event_type, status, waiting_on, error, payload, created_at, received_at, \
         processed_at FROM billing_events WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) \
         ORDER BY received_at DESC, id DESC LIMIT 200",
    )
    .bind(status)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(Json(Inbox { events: rows }))
}

/// Clearing a billing hold.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClearHold {
    /// Why, for the audit log. Required.
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/admin/users/{id}/billing-hold/clear", tag = "admin", params(("id" = String, Path)), request_body = ClearHold, responses((status = 200, description = "The hold is cleared; new tasks are accepted again", body = crate::openapi::Done), (status = 404, description = "No such account on hold", body = crate::openapi::ErrorBody), (status = 422, description = "No reason", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn clear_hold(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<UserId>,
    body: Result<Json<ClearHold>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<crate::openapi::Done>> {
    let Json(body) = body?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::invalid("reason", "say why; the audit log keeps it"));
    }
    let reason = crate::text::clean("reason", &body.reason, 500)?;
    let mut tx = state.db.write().await?;
    let cleared = sqlx::query(
        "UPDATE users SET billing_hold_at = NULL, billing_hold_reason = NULL \
         WHERE id = $1 AND billing_hold_at IS NOT NULL",
    )
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    if cleared.rows_affected() != 1 {
        return Err(ApiError::NotFound);
    }
    audit(&mut tx, &admin.id, "user.billing_hold.clear", &id, &reason).await?;
    tx.commit().await?;
    Ok(Json(crate::openapi::Done { ok: true }))
}
