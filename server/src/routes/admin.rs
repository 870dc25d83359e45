//! Administrators only: accounts and usage events. Everyone else gets 403.

use axum::Json;
use axum::extract::{Query, State};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::User;
use crate::error::ApiResult;
use crate::routes::Page;

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

pub async fn usage(
    State(state): State<AppState>,
    user: User,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    user.require_admin()?;
    let rows: Vec<(i64, String, String, Option<String>, i64, Option<String>, i64)> = sqlx::query_as(
        "SELECT id, user_id, feature, mode, credits, task_id, created_at FROM usage_events ORDER BY id DESC LIMIT $1",
    )
    .bind(page.limit())
    .fetch_all(&state.db.pool)
    .await?;
    let events: Vec<Value> = rows
        .into_iter()
        .map(|(id, user_id, feature, mode, credits, task_id, created_at)| {
            json!({ "id": id, "user_id": user_id, "feature": feature, "mode": mode, "credits": credits, "task_id": task_id, "created_at": created_at })
        })
        .collect();
    Ok(Json(json!({ "events": events })))
}
