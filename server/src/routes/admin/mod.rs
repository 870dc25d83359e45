//! Administrators only; everyone else gets 403. What the operators' console reads and does:
//! `overview` (live charts), `jobs` (list, detail, retry, cancel, delete), `users` (detail,
//! credit adjustments, disabling), and here the account list, workers, usage and the audit log.

pub(crate) mod billing;
pub(crate) mod jobs;
pub mod overview;
pub(crate) mod support;
pub(crate) mod users;
pub mod views;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;

use crate::AppState;
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::routes::Page;
use views::{
    AccountList, AccountSummary, AuditEntry, AuditLog, DailyUsage, DaySpend, ModeCount, QueueDepth,
    UsageEvent, UsageEvents, WorkerView, Workers,
};

pub(crate) use crate::audit::by_admin as audit;

#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    /// Part of the email.
    pub q: Option<String>,
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(("q" = Option<String>, Query, description = "Part of the email"), ("limit" = Option<i64>, Query, description = "The newest this many")), responses((status = 200, description = "Accounts", body = AccountList), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn users(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<UsersQuery>,
) -> ApiResult<Json<AccountList>> {
    let limit = query.limit.unwrap_or(20).clamp(1, 100);
    let pattern =
        format!("%{}%", query.q.unwrap_or_default().trim().to_lowercase().replace(['%', '_'], ""));
    let users: Vec<AccountSummary> = sqlx::query_as(
        "SELECT id, email, name, role, plan, balance AS credits, disabled_at, created_at \
         FROM users WHERE email_lower LIKE $1 AND deleted_at IS NULL \
         ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(pattern)
    .bind(limit)
    .fetch_all(&state.db.pool)
    .await?;
    Ok(Json(AccountList { users }))
}

#[utoipa::path(get, path = "/api/v1/admin/usage", tag = "admin", params(("limit" = Option<i64>, Query, description = "The newest this many")), responses((status = 200, description = "Usage events", body = UsageEvents), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn usage(
    State(state): State<AppState>,
    _: Admin,
    Query(page): Query<Page>,
) -> ApiResult<Json<UsageEvents>> {
    let events: Vec<UsageEvent> = sqlx::query_as(
        "SELECT id, user_id, feature, mode, credits, task_id, created_at FROM usage_events ORDER BY id DESC LIMIT $1",
    )
    .bind(page.limit())
    .fetch_all(&state.db.pool)
    .await?;
    Ok(Json(UsageEvents { events }))
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

#[utoipa::path(get, path = "/api/v1/admin/workers", tag = "admin", params(("limit" = Option<i64>, Query, description = "The most recently seen this many")), responses((status = 200, description = "Registered workers: state (live, lost or stopped), busy slots, jobs done and failed, throughput over 5 minutes; and the queue's depth", body = Workers), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn workers(
    State(state): State<AppState>,
    _: Admin,
    Query(page): Query<Page>,
) -> ApiResult<Json<Workers>> {
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
    let workers = rows
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
            WorkerView {
                busy: of(&busy, &w.id),
                jobs_per_minute: of(&recent, &w.id) as f64 / window_min,
                id: w.id,
                hostname: w.hostname,
                pid: w.pid,
                version: w.version,
                backend: w.backend,
                adapter: w.adapter,
                concurrency: w.concurrency,
                kind: w.kind,
                started_at: w.started_at,
                last_seen: w.last_seen,
                stopped_at: w.stopped_at,
                jobs_done: w.jobs_done,
                jobs_failed: w.jobs_failed,
                live,
                status: status.to_owned(),
            }
        })
        .collect();
    let depth: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, COUNT(*) FROM jobs WHERE state <> 'done' GROUP BY state")
            .fetch_all(&state.db.pool)
            .await?;
    let queue = QueueDepth { queued: of(&depth, "queued"), running: of(&depth, "running") };
    Ok(Json(Workers { workers, queue }))
}

#[derive(Debug, Deserialize)]
pub struct DaysQuery {
    /// Days back from today, 1 to 365 (default 30).
    pub days: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/admin/usage/daily", tag = "admin", params(("days" = Option<i64>, Query, description = "1 to 365, default 30")), responses((status = 200, description = "Credits spent per day (UTC) and tasks per mode", body = DailyUsage), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn usage_daily(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<DaysQuery>,
) -> ApiResult<Json<DailyUsage>> {
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
    let per_day = (0..days)
        .map(|i| {
            let day = since / DAY + i;
            let credits = spent.iter().find(|(d, _)| *d == day).map_or(0, |(_, c)| *c);
            DaySpend { day: day * DAY, credits }
        })
        .collect();
    let per_mode = modes.into_iter().map(|(mode, tasks)| ModeCount { mode, tasks }).collect();
    Ok(Json(DailyUsage { days: per_day, modes: per_mode }))
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(("limit" = Option<i64>, Query, description = "The newest this many")), responses((status = 200, description = "Administrators' actions, newest first", body = AuditLog), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn audit_log(
    State(state): State<AppState>,
    _: Admin,
    Query(page): Query<Page>,
) -> ApiResult<Json<AuditLog>> {
    let entries: Vec<AuditEntry> = sqlx::query_as(
        "SELECT a.id, a.admin_id, u.email AS admin_email, a.action, a.target_id, a.detail, a.created_at \
         FROM audit_log a LEFT JOIN users u ON u.id = a.admin_id ORDER BY a.id DESC LIMIT $1",
    )
    .bind(page.limit())
    .fetch_all(&state.db.pool)
    .await?;
    Ok(Json(AuditLog { entries }))
}
