//! Administrators only; everyone else gets 403. What the operators' console reads and does:
//! `overview` (live charts), `jobs` (list, detail, retry, cancel, delete), `users` (detail,
//! credit adjustments, disabling), and here the account list, workers, usage and the audit log.

pub(crate) mod jobs;
pub mod overview;
pub(crate) mod users;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::AnyConnection;

use crate::AppState;
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::routes::Page;

/// Records an administrator's action, in the transaction that makes it when there is one.
pub(crate) async fn audit(
    conn: &mut AnyConnection,
    admin_id: &str,
    action: &str,
    target_id: &str,
    detail: &str,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (admin_id, action, target_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(admin_id)
    .bind(action)
    .bind(target_id)
    .bind(detail)
    .bind(crate::now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    /// Part of the email.
    pub q: Option<String>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(("q" = Option<String>, Query, description = "Part of the email"), ("limit" = Option<i64>, Query, description = "The newest this many")), responses((status = 200, description = "Accounts", body = serde_json::Value), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn users(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<UsersQuery>,
) -> ApiResult<Json<Value>> {
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    let pattern =
        format!("%{}%", query.q.unwrap_or_default().trim().to_lowercase().replace(['%', '_'], ""));
    let rows: Vec<users::UserRow> = sqlx::query_as(
        "SELECT id, email, name, role, plan, balance, disabled_at, created_at FROM users \
             WHERE email_lower LIKE $1 ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(pattern)
    .bind(limit)
    .fetch_all(&state.db.pool)
    .await?;
    let users: Vec<Value> = rows
        .into_iter()
        .map(|(id, email, name, role, plan, credits, disabled_at, created_at)| {
            json!({ "id": id, "email": email, "name": name, "role": role, "plan": plan,
                    "credits": credits, "disabled_at": disabled_at, "created_at": created_at })
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
    _: Admin,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
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
    jobs_failed: i64,
}

/// The window of a worker's throughput figure.
const THROUGHPUT_WINDOW_MS: i64 = 5 * 60_000;

#[utoipa::path(get, path = "/api/v1/admin/workers", tag = "admin", params(("limit" = Option<i64>, Query, description = "The most recently seen this many")), responses((status = 200, description = "Registered workers: state (live, lost or stopped), busy slots, jobs done and failed, throughput over 5 minutes; and the queue's depth", body = serde_json::Value), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn workers(
    State(state): State<AppState>,
    _: Admin,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    let rows: Vec<WorkerRow> = sqlx::query_as(
        "SELECT id, hostname, pid, version, backend, adapter, concurrency, kind, started_at, \
         last_seen, stopped_at, jobs_done, jobs_failed FROM workers \
         ORDER BY last_seen DESC, id LIMIT $1",
    )
    .bind(page.limit())
    .fetch_all(&state.db.pool)
    .await?;
    let busy: Vec<(String, i64)> = sqlx::query_as(
        "SELECT lease_owner, COUNT(*) FROM jobs WHERE state = 'running' GROUP BY lease_owner",
    )
    .fetch_all(&state.db.pool)
    .await?;
    let now = crate::now_ms();
    let recent: Vec<(String, i64)> = sqlx::query_as(
        "SELECT worker_id, COUNT(*) FROM job_attempts WHERE finished_at >= $1 \
         AND outcome = 'succeeded' GROUP BY worker_id",
    )
    .bind(now - THROUGHPUT_WINDOW_MS)
    .fetch_all(&state.db.pool)
    .await?;
    let of = |list: &[(String, i64)], id: &str| {
        list.iter().find(|(k, _)| k == id).map_or(0, |(_, n)| *n)
    };
    // Live: not stopped, and seen within three heartbeats; otherwise lost.
    let stale_after = 3 * state.config.queue.heartbeat.as_millis() as i64;
    let workers: Vec<Value> = rows
        .into_iter()
        .map(|w| {
            let live = w.stopped_at.is_none() && now - w.last_seen <= stale_after;
            let status = match (w.stopped_at, live) {
                (Some(_), _) => "stopped",
                (None, true) => "live",
                (None, false) => "lost",
            };
            let window_min =
                (THROUGHPUT_WINDOW_MS.min(now - w.started_at).max(60_000)) as f64 / 60_000.0;
            json!({
                "id": w.id, "hostname": w.hostname, "pid": w.pid, "version": w.version,
                "backend": w.backend, "adapter": w.adapter, "concurrency": w.concurrency,
                "busy": of(&busy, &w.id), "kind": w.kind, "started_at": w.started_at,
                "last_seen": w.last_seen, "stopped_at": w.stopped_at, "jobs_done": w.jobs_done,
                "jobs_failed": w.jobs_failed, "live": live, "status": status,
                "jobs_per_minute": of(&recent, &w.id) as f64 / window_min,
            })
        })
        .collect();
    let depth: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM jobs WHERE state <> 'done' GROUP BY state")
            .fetch_all(&state.db.pool)
            .await?;
    Ok(Json(json!({
        "workers": workers,
        "queue": { "queued": of(&depth, "queued"), "running": of(&depth, "running") },
    })))
}

#[derive(Debug, Deserialize)]
pub struct DaysQuery {
    /// Days back from today, 1 to 365 (default 30).
    pub days: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/admin/usage/daily", tag = "admin", params(("days" = Option<i64>, Query, description = "1 to 365, default 30")), responses((status = 200, description = "Credits spent per day (UTC) and tasks per mode", body = serde_json::Value), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn usage_daily(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<DaysQuery>,
) -> ApiResult<Json<Value>> {
    const DAY: i64 = 86_400_000;
    let days = query.days.unwrap_or(30).clamp(1, 365);
    let since = (crate::now_ms() / DAY - days + 1) * DAY;
    let spent: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT created_at / 86400000 AS day, CAST(SUM(credits) AS BIGINT) FROM usage_events \
         WHERE created_at >= $1 GROUP BY created_at / 86400000 ORDER BY day",
    )
    .bind(since)
    .fetch_all(&state.db.pool)
    .await?;
    let modes: Vec<(String, i64)> = sqlx::query_as(
        "SELECT mode, COUNT(*) FROM tasks WHERE created_at >= $1 GROUP BY mode ORDER BY mode",
    )
    .bind(since)
    .fetch_all(&state.db.pool)
    .await?;
    let per_day: Vec<Value> = (0..days)
        .map(|i| {
            let day = since / DAY + i;
            let credits = spent.iter().find(|(d, _)| *d == day).map_or(0, |(_, c)| *c);
            json!({ "day": day * DAY, "credits": credits })
        })
        .collect();
    let per_mode: Vec<Value> =
        modes.into_iter().map(|(mode, tasks)| json!({ "mode": mode, "tasks": tasks })).collect();
    Ok(Json(json!({ "days": per_day, "modes": per_mode })))
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(("limit" = Option<i64>, Query, description = "The newest this many")), responses((status = 200, description = "Administrators' actions, newest first", body = serde_json::Value), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn audit_log(
    State(state): State<AppState>,
    _: Admin,
    Query(page): Query<Page>,
) -> ApiResult<Json<Value>> {
    let rows: Vec<(i64, String, String, String, String, String, i64)> = sqlx::query_as(
        "SELECT a.id, a.admin_id, u.email, a.action, a.target_id, a.detail, a.created_at \
         FROM audit_log a JOIN users u ON u.id = a.admin_id ORDER BY a.id DESC LIMIT $1",
    )
    .bind(page.limit())
    .fetch_all(&state.db.pool)
    .await?;
    let entries: Vec<Value> = rows
        .into_iter()
        .map(|(id, admin_id, email, action, target_id, detail, created_at)| {
            json!({ "id": id, "admin_id": admin_id, "admin_email": email, "action": action,
                    "target_id": target_id, "detail": detail, "created_at": created_at })
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}
