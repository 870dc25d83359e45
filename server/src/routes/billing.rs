//! Billing: the public catalog, the account's plan and payments, and Creem's webhook.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;

use crate::AppState;
use crate::auth::User;
use crate::billing::{self, Delivery};
use crate::config::{Limits, Pack, Plan};
use crate::error::ApiResult;

/// What can be bought: credit packs and plans, with their prices and limits.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Catalog {
    pub packs: Vec<Pack>,
    /// The free plan first.
    pub plans: Vec<Plan>,
}

#[utoipa::path(get, path = "/api/v1/billing/catalog", tag = "billing", responses((status = 200, description = "Packs and plans, with prices and limits; no sign-in needed", body = Catalog)))]
pub async fn catalog(State(state): State<AppState>) -> Json<Catalog> {
    let billing = &state.config.billing;
    let mut packs = billing.packs.clone();
    for pack in &mut packs {
        pack.creem_product_id.clear();
    }
    Json(Catalog { packs, plans: billing.plans.clone() })
}

/// A payment, with what was taken back of it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub transaction_id: String,
    /// `pack` or `period`.
    pub kind: String,
    pub product: String,
    pub amount_paid: i64,
    pub currency: String,
    pub credits: i64,
    pub clawed_back: i64,
    pub created_at: i64,
    pub reversals: Vec<Reversal>,
}

/// A refund or a dispute.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Reversal {
    pub id: String,
    /// `refund` or `dispute`.
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    /// Credits taken from the balance.
    pub credits: i64,
    /// Credits the balance could not cover.
    pub shortfall: i64,
    pub created_at: i64,
}

/// A subscription as Creem last told it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Subscription {
    pub id: String,
    pub plan: String,
    pub status: String,
    pub period_start: Option<i64>,
    /// The period's end: the renewal date, or when a canceled plan ends.
    pub period_end: Option<i64>,
}

/// The account's plan, its limits, subscription and payments.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Account {
    pub plan: String,
    pub limits: Limits,
    /// When a canceled plan ends (the account then returns to the free plan).
    pub plan_ends_at: Option<i64>,
    /// Why new tasks are refused, while the account is on a billing hold.
    pub hold: Option<String>,
    pub subscription: Option<Subscription>,
    pub payments: Vec<Payment>,
}

#[utoipa::path(get, path = "/api/v1/billing", tag = "billing", responses((status = 200, description = "Plan, subscription, payments with their refunds and disputes", body = Account), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn account(State(state): State<AppState>, user: User) -> ApiResult<Json<Account>> {
    let mut conn = state.db.pool.acquire().await?;
    let standing = billing::plans::standing(&mut conn, &user.id).await?;
    let plan = standing.plan(&state.config.billing).clone();
    let plan_ends_at: Option<i64> =
        sqlx::query_scalar("SELECT plan_ends_at FROM users WHERE id = $1")
            .bind(&user.id)
            .fetch_one(&mut *conn)
            .await?;
    let subscription: Option<(String, String, String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT id, plan, status, period_start, period_end FROM subscriptions \
         WHERE user_id = $1 ORDER BY state_at DESC LIMIT 1",
    )
    .bind(&user.id)
    .fetch_optional(&mut *conn)
    .await?;
    let rows: Vec<(String, String, String, i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT transaction_id, kind, product, amount_paid, currency, credits, clawed_back, \
         created_at FROM payments WHERE user_id = $1 ORDER BY created_at DESC LIMIT 100",
    )
    .bind(&user.id)
    .fetch_all(&mut *conn)
    .await?;
    let reversals: Vec<(String, String, String, i64, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, kind, transaction_id, amount, currency, credits, shortfall, created_at \
         FROM payment_reversals WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(&user.id)
    .fetch_all(&mut *conn)
    .await?;
    let payments = rows
        .into_iter()
        .map(
            |(
                transaction_id,
                kind,
                product,
                amount_paid,
                currency,
                credits,
                clawed_back,
                created_at,
            )| {
                let reversals = reversals
                    .iter()
                    .filter(|r| r.2 == transaction_id)
                    .map(|r| Reversal {
                        id: r.0.clone(),
                        kind: r.1.clone(),
                        amount: r.3,
                        currency: r.4.clone(),
                        credits: r.5,
                        shortfall: r.6,
                        created_at: r.7,
                    })
                    .collect();
                Payment {
                    transaction_id,
                    kind,
                    product,
                    amount_paid,
                    currency,
                    credits,
                    clawed_back,
                    created_at,
                    reversals,
                }
            },
        )
        .collect();
    Ok(Json(Account {
        plan: plan.id,
        limits: plan.limits,
        plan_ends_at,
        hold: standing.hold,
        subscription: subscription.map(|(id, plan, status, period_start, period_end)| {
            Subscription { id, plan, status, period_start, period_end }
        }),
        payments,
    }))
}

/// What the webhook did with a delivery.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Received {
    pub delivery: Delivery,
}

/// The largest webhook body accepted.
pub const WEBHOOK_LIMIT: usize = 256 << 10;

#[utoipa::path(post, path = "/api/v1/billing/creem/webhook", tag = "billing", request_body(content = String, content_type = "application/json", description = "A Creem event, signed in `creem-signature`"), params(("creem-signature" = String, Header, description = "Lowercase hex HMAC-SHA256 of the raw body, keyed with the webhook secret")), responses((status = 200, description = "Recorded (processed, a duplicate, waiting for its customer or payment, or ignored)", body = Received), (status = 401, description = "Missing or wrong signature; nothing stored", body = crate::openapi::ErrorBody), (status = 400, description = "Not a Creem event", body = crate::openapi::ErrorBody), (status = 413, description = "Over the size limit", body = crate::openapi::ErrorBody), (status = 503, description = "Billing is not configured; retried", body = crate::openapi::ErrorBody)))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    let signature = headers.get("creem-signature").and_then(|v| v.to_str().ok());
    let delivery = billing::receive(&state, signature, &body).await?;
    Ok(Json(Received { delivery }))
}
