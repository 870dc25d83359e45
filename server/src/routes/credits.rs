//! `GET /credits`: the balance and the ledger, newest first, paginated.

use axum::Json;
use axum::extract::{Query, State};

use crate::AppState;
use crate::auth::User;
use crate::credits;
use crate::error::{ApiError, ApiResult};
use crate::routes::Page;

/// One entry of the ledger: credits in (positive) or out (negative), and why.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct LedgerEntry {
    pub id: i64,
    /// grant, reserve, capture, release, refund or adjustment.
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    pub task_id: Option<String>,
    pub created_at: i64,
}

/// The balance (the ledger's sum) and a page of the ledger.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Credits {
    pub balance: i64,
    pub entries: Vec<LedgerEntry>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/credits", tag = "credits", params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "Balance and ledger", body = Credits), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
    Query(page): Query<Page>,
) -> ApiResult<Json<Credits>> {
    let before = match &page.cursor {
        Some(c) => c
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("cursor", "is not a cursor from this API"))?,
        None => i64::MAX,
    };
    let limit = page.limit();
    let rows: Vec<(i64, String, i64, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT id, kind, amount, reason, task_id, created_at FROM ledger \
         WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(&user.id)
    .bind(before)
    .bind(limit + 1)
    .fetch_all(&state.db.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<_> = rows.into_iter().take(limit as usize).collect();
    let next = more.then(|| rows.last().map(|r| r.0.to_string())).flatten();
    let entries = rows
        .into_iter()
        .map(|(id, kind, amount, reason, task_id, created_at)| LedgerEntry {
            id,
            kind,
            amount,
            reason,
            task_id,
            created_at,
        })
        .collect();
    let mut conn = state.db.pool.acquire().await?;
    let balance = credits::balance(&mut conn, &user.id).await?;
    Ok(Json(Credits { balance, entries, next_cursor: next }))
}
