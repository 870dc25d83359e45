//! Billing: the public catalog, checkouts and Creem's return, the portal, subscription
//! changes, the account's plan and payments, and Creem's webhook.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::json;

use crate::auth::User;
use crate::billing::creem::{self, Creem, CreemError};
use crate::billing::{self, Delivery};
use crate::config::{Limits, Pack, Plan};
use crate::error::{ApiError, ApiResult};
use crate::{AppState, now_ms};

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
#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
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
    #[sqlx(skip)]
    pub reversals: Vec<Reversal>,
}

/// A refund or a dispute.
#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Reversal {
    pub id: String,
    #[serde(skip)]
    pub transaction_id: String,
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
#[derive(Debug, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
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
    let subscription: Option<Subscription> = sqlx::query_as(
        "SELECT id, plan, status, period_start, period_end FROM subscriptions \
         WHERE user_id = $1 ORDER BY state_at DESC LIMIT 1",
    )
    .bind(&user.id)
    .fetch_optional(&mut *conn)
    .await?;
    let mut payments: Vec<Payment> = sqlx::query_as(
        "SELECT transaction_id, kind, product, amount_paid, currency, credits, clawed_back, \
         created_at FROM payments WHERE user_id = $1 ORDER BY created_at DESC LIMIT 100",
    )
    .bind(&user.id)
    .fetch_all(&mut *conn)
    .await?;
    let reversals: Vec<Reversal> = sqlx::query_as(
        "SELECT id, transaction_id, kind, amount, currency, credits, shortfall, created_at \
         FROM payment_reversals WHERE user_id = $1 ORDER BY created_at",
    )
    .bind(&user.id)
    .fetch_all(&mut *conn)
    .await?;
    for reversal in reversals {
        if let Some(p) = payments.iter_mut().find(|p| p.transaction_id == reversal.transaction_id) {
            p.reversals.push(reversal);
        }
    }
    Ok(Json(Account {
        plan: plan.id,
        limits: plan.limits,
        plan_ends_at,
        hold: standing.hold,
        subscription,
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

#[utoipa::path(post, path = "/api/v1/billing/creem/webhook", tag = "billing", request_body(content = String, content_type = "application/json", description = "A Creem event, signed in `creem-signature`"), params(("creem-signature" = String, Header, description = "Lowercase hex HMAC-SHA256 of the raw body, keyed with the webhook secret")), responses((status = 200, description = "Recorded (processed, a duplicate, waiting for its customer or payment, or ignored)", body = Received), (status = 401, description = "Missing or wrong signature; nothing stored", body = crate::openapi::ErrorBody), (status = 400, description = "Not a Creem event", body = crate::openapi::ErrorBody), (status = 413, description = "Over the size limit", body = crate::openapi::ErrorBody), (status = 409, description = "Billing is not configured; Creem retries", body = crate::openapi::ErrorBody)))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<Received>> {
    let signature = headers.get("creem-signature").and_then(|v| v.to_str().ok());
    let delivery = billing::receive(&state, signature, &body).await?;
    Ok(Json(Received { delivery }))
}

/// What to buy: a pack (`units` of it) or a plan.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutRequest {
    /// A pack's or a plan's id from the catalog.
    pub product: String,
    /// Packs only: how many [default: 1].
    pub units: Option<i64>,
}

/// Where to pay.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CheckoutCreated {
    /// Lithos' id of the checkout (Creem's `request_id`).
    pub id: String,
    /// Creem's hosted payment page.
    pub checkout_url: String,
}

pub(crate) fn provider(e: CreemError) -> ApiError {
    match e {
        CreemError::NotConfigured => ApiError::Conflict(e.to_string()),
        e => ApiError::Busy { message: e.to_string(), retry_after: 5 },
    }
}

#[utoipa::path(post, path = "/api/v1/billing/checkout", tag = "billing", request_body = CheckoutRequest, responses((status = 201, description = "A Creem checkout to send the user to", body = CheckoutCreated), (status = 422, description = "No such product", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 409, description = "Billing is not configured", body = crate::openapi::ErrorBody), (status = 503, description = "Creem did not answer", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn checkout(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<CheckoutRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<CheckoutCreated>)> {
    let Json(body) = body?;
    let billing = &state.config.billing;
    let (product_id, units) =
        if let Some(pack) = billing.packs.iter().find(|p| p.id == body.product) {
            let units = body.units.unwrap_or(1);
            if !(1..=1000).contains(&units) {
                return Err(ApiError::invalid("units", "must be 1 to 1000"));
            }
            (pack.creem_product_id.clone(), units)
        } else if let Some(plan) = billing.plans[1..].iter().find(|p| p.id == body.product) {
            if body.units.is_some() {
                return Err(ApiError::invalid("units", "applies to packs only"));
            }
            (plan.creem_product_id.clone(), 1)
        } else {
            let ids: Vec<&str> = billing
                .packs
                .iter()
                .map(|p| p.id.as_str())
                .chain(billing.plans[1..].iter().map(|p| p.id.as_str()))
                .collect();
            return Err(ApiError::invalid(
                "product",
                format!("no product `{}`; the catalog has {}", body.product, ids.join(", ")),
            ));
        };
    let creem = Creem::new(billing).map_err(provider)?;
    let id = crate::new_id();
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(&state.db.pool)
        .await?;
    let base = state.origins.first().cloned().unwrap_or_default();
    let mut request = json!({
        "product_id": product_id,
        "request_id": id,
        "customer": { "email": email },
        "success_url": format!("{base}/billing/return"),
        "metadata": { "user_id": user.id.as_str(), "checkout_id": id },
    });
    if units > 1 {
        request["units"] = json!(units);
    }
    {
        let _gate = state.db.write_gate().await;
        sqlx::query(
            "INSERT INTO checkouts (id, user_id, product, units, status, created_at) \
             VALUES ($1, $2, $3, $4, 'created', $5)",
        )
        .bind(&id)
        .bind(&user.id)
        .bind(&body.product)
        .bind(units)
        .bind(now_ms())
        .execute(&state.db.pool)
        .await?;
    }
    let created = creem.create_checkout(&request).await.map_err(provider)?;
    let checkout_url = created["checkout_url"]
        .as_str()
        .ok_or_else(|| ApiError::Busy {
            message: "the payment provider's answer had no checkout_url".into(),
            retry_after: 5,
        })?
        .to_owned();
    let _gate = state.db.write_gate().await;
    sqlx::query("UPDATE checkouts SET creem_checkout_id = $1 WHERE id = $2")
        .bind(created["id"].as_str())
        .bind(&id)
        .execute(&state.db.pool)
        .await?;
    Ok((StatusCode::CREATED, Json(CheckoutCreated { id, checkout_url })))
}

/// A checkout's state: `created` until Creem's webhook says it is `completed`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CheckoutState {
    pub id: String,
    pub product: String,
    pub units: i64,
    pub status: String,
    pub created_at: i64,
    pub completed_at: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/billing/checkouts/{id}", tag = "billing", params(("id" = String, Path)), responses((status = 200, description = "The checkout's state", body = CheckoutState), (status = 404, description = "No such checkout of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn checkout_state(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> ApiResult<Json<CheckoutState>> {
    let row: Option<(String, String, i64, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, product, units, status, created_at, completed_at FROM checkouts \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(&id)
    .bind(&user.id)
    .fetch_optional(&state.db.pool)
    .await?;
    let (id, product, units, status, created_at, completed_at) = row.ok_or(ApiError::NotFound)?;
    Ok(Json(CheckoutState { id, product, units, status, created_at, completed_at }))
}

/// A link to Creem's customer portal.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Portal {
    pub url: String,
}

#[utoipa::path(post, path = "/api/v1/billing/portal", tag = "billing", responses((status = 200, description = "Creem's customer portal for the account", body = Portal), (status = 409, description = "Nothing bought yet, or billing is not configured", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 503, description = "Creem did not answer", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn portal(State(state): State<AppState>, user: User) -> ApiResult<Json<Portal>> {
    let customer: Option<String> = sqlx::query_scalar(
        "SELECT customer_id FROM creem_customers WHERE user_id = $1 ORDER BY linked_at DESC LIMIT 1",
    )
    .bind(&user.id)
    .fetch_optional(&state.db.pool)
    .await?;
    let customer = customer.ok_or_else(|| {
        ApiError::Conflict("the account has bought nothing yet, so it has no billing portal".into())
    })?;
    let creem = Creem::new(&state.config.billing).map_err(provider)?;
    Ok(Json(Portal { url: creem.portal(&customer).await.map_err(provider)? }))
}

/// A change to the account's subscription.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionChange {
    /// `cancel` (at the period's end), `resume`, or `change` to `plan`.
    pub action: String,
    pub plan: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/billing/subscription", tag = "billing", request_body = SubscriptionChange, responses((status = 202, description = "Asked of Creem; the plan changes when its webhook arrives", body = crate::openapi::Done), (status = 409, description = "No subscription, or billing is not configured", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 503, description = "Creem did not answer", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn change_subscription(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<SubscriptionChange>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<crate::openapi::Done>)> {
    let Json(body) = body?;
    let id: Option<String> = sqlx::query_scalar(
        "SELECT id FROM subscriptions WHERE user_id = $1 ORDER BY state_at DESC LIMIT 1",
    )
    .bind(&user.id)
    .fetch_optional(&state.db.pool)
    .await?;
    let id = id.ok_or_else(|| ApiError::Conflict("the account has no subscription".into()))?;
    let (action, request) = match (body.action.as_str(), &body.plan) {
        ("cancel", None) => ("cancel", Some(json!({ "mode": "scheduled", "onExecute": "cancel" }))),
        ("resume", None) => ("resume", None),
        ("change", Some(plan)) => {
            let plan = state.config.billing.plans[1..]
                .iter()
                .find(|p| &p.id == plan)
                .ok_or_else(|| ApiError::invalid("plan", format!("no plan `{plan}`")))?;
            let body = json!({
                "product_id": plan.creem_product_id,
                "update_behavior": "proration-charge-immediately",
            });
            ("upgrade", Some(body))
        }
        ("change", None) => return Err(ApiError::invalid("plan", "`change` needs a plan")),
        _ => return Err(ApiError::invalid("action", "must be cancel, resume or change")),
    };
    let creem = Creem::new(&state.config.billing).map_err(provider)?;
    creem.subscription(&id, action, request).await.map_err(provider)?;
    Ok((StatusCode::ACCEPTED, Json(crate::openapi::Done { ok: true })))
}

/// Creem's success redirect: its signature is checked, then the app shows the checkout
/// waiting for its webhook. It grants nothing: only a verified webhook does.
pub async fn checkout_return(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect();
    let key = state.config.billing.api_key.as_ref().map(|k| k.0.clone()).unwrap_or_default();
    let request = params.iter().find(|(k, _)| k == "request_id").map(|(_, v)| v.clone());
    match request {
        Some(request)
            if !key.is_empty()
                && creem::verify_redirect(&key, &params)
                && request.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Redirect::to(&format!("/#billing?checkout={request}")).into_response()
        }
        _ => (
            StatusCode::BAD_REQUEST,
            Html(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Payment \
                 return not valid · Lithos</title><link rel=\"stylesheet\" href=\"/assets/app.css\">\
                 </head><body><main class=\"narrow\"><h1>This return link is not valid</h1><p>Its \
                 signature does not match, so nothing was changed. If you paid, your credits \
                 arrive when the payment provider confirms the payment; see <a \
                 href=\"/#billing\">Billing</a>.</p></main></body></html>",
            ),
        )
            .into_response(),
    }
}
