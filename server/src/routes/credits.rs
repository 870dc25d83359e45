//! `GET /credits`: the balance and the ledger, newest first, paginated.

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::User;
use crate::credits;
use crate::error::{ApiError, ApiResult};
use crate::routes::Page;

#[utoipa::path(get, path = "/api/v1/credits", tag = "credits", params(("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "Balance and ledger", body = serde_json::Value), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
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
    let entries: Vec<Value> = rows
        .into_iter()
        .map(|(id, kind, amount, reason, task_id, created_at)| {
            json!({ "id": id, "kind": kind, "amount": amount, "reason": reason, "task_id": task_id, "created_at": created_at })
        })
        .collect();
    let mut conn = state.db.pool.acquire().await?;
    let balance = credits::balance(&mut conn, &user.id).await?;
    Ok(Json(json!({ "balance": balance, "entries": entries, "next_cursor": next })))
}
