//! Administrators only: accounts and usage events. Everyone else gets 403.

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::User;
use crate::error::ApiResult;
use crate::routes::Page;

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(("limit" = Option<i64>, Query, description = "The newest this many")), responses((status = 200, description = "Accounts", body = serde_json::Value), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn users(
    State(state): State<AppState>,
    user: User,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    user.require_admin()?;
    let rows: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
        "SELECT id, email, name, role, balance, created_at FROM users ORDER BY created_at DESC, id LIMIT $1",
    )
    .bind(page.limit())
    .fetch_all(&state.db.pool)
    .await?;
    let users: Vec<Value> = rows
        .into_iter()
        .map(|(id, email, name, role, credits, created_at)| {
            json!({ "id": id, "email": email, "name": name, "role": role, "credits": credits, "created_at": created_at })
        })
        .collect();
    Ok(Json(json!({ "users": users })))
}

/// One usage event: id, user, feature, mode, credits, task, time.
#[derive(sqlx::FromRow)]
struct UsageRow {
    id: i64,
    user_id: String,
    feature: String,
    mode: Option<String>,
    credits: i64,
    task_id: Option<String>,
    created_at: i64,
}

#[utoipa::path(get, path = "/api/v1/admin/usage", tag = "admin", params(("limit" = Option<i64>, Query, description = "The newest this many")), responses((status = 200, description = "Usage events", body = serde_json::Value), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn usage(
    State(state): State<AppState>,
    user: User,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    user.require_admin()?;
    let rows: Vec<UsageRow> = sqlx::query_as(
        "SELECT id, user_id, feature, mode, credits, task_id, created_at FROM usage_events ORDER BY id DESC LIMIT $1",
    )
    .bind(page.limit())
    .fetch_all(&state.db.pool)
    .await?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            json!({ "id": r.id, "user_id": r.user_id, "feature": r.feature, "mode": r.mode, "credits": r.credits, "task_id": r.task_id, "created_at": r.created_at })
        })
        .collect();
    Ok(Json(json!({ "events": events })))
}
