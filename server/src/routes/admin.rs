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

/// One registered worker.
#[derive(sqlx::FromRow)]
struct WorkerRow {
    id: String,
    hostname: String,
    pid: i64,
    version: String,
    backend: String,
    adapter: String,
    concurrency: i64,
    kind: String,
    started_at: i64,
    last_seen: i64,
    stopped_at: Option<i64>,
    jobs_done: i64,
}

#[utoipa::path(get, path = "/api/v1/admin/workers", tag = "admin", params(("limit" = Option<i64>, Query, description = "The most recently seen this many")), responses((status = 200, description = "Registered workers, whether each is live, and the queue's depth", body = serde_json::Value), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn workers(
    State(state): State<AppState>,
    user: User,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    user.require_admin()?;
    let rows: Vec<WorkerRow> = sqlx::query_as(
        "SELECT id, hostname, pid, version, backend, adapter, concurrency, kind, started_at, \
         last_seen, stopped_at, jobs_done FROM workers ORDER BY last_seen DESC, id LIMIT $1",
    )
    .bind(page.limit())
    .fetch_all(&state.db.pool)
    .await?;
    // Live: not stopped, and seen within three heartbeats.
    let stale_after = 3 * state.config.queue.heartbeat.as_millis() as i64;
    let now = crate::now_ms();
    let workers: Vec<Value> = rows
        .into_iter()
        .map(|w| {
            let live = w.stopped_at.is_none() && now - w.last_seen <= stale_after;
            json!({
                "id": w.id, "hostname": w.hostname, "pid": w.pid, "version": w.version,
                "backend": w.backend, "adapter": w.adapter, "concurrency": w.concurrency,
                "kind": w.kind, "started_at": w.started_at, "last_seen": w.last_seen,
                "stopped_at": w.stopped_at, "jobs_done": w.jobs_done, "live": live,
            })
        })
        .collect();
    let depth: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM jobs WHERE state <> 'done' GROUP BY state")
            .fetch_all(&state.db.pool)
            .await?;
    let count = |s: &str| depth.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
    Ok(Json(json!({
        "workers": workers,
        "queue": { "queued": count("queued"), "running": count("running") },
    })))
}
