//! The console's jobs: every user's tasks with their queue state and attempts, and the retry,
//! cancel and delete actions, each written to the audit log.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::audit;
use super::views::{
    AttemptView, JobChanged, JobDetail, JobPage, JobSummary, JobUpload, QueueState,
};
use crate::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ApiResult};
use crate::ids::{TaskId, UserId};
use crate::routes::tasks::{Asker, serve_output};
use crate::tasks::lifecycle::{self, ToCancel};
use crate::tasks::pictures::{Picture, stored_keys};
use crate::tasks::status::{TaskStatus, UnknownStatus};
use crate::tasks::view::{self, TaskView};

#[derive(Debug, Deserialize)]
pub struct JobsQuery {
    /// queued, running, succeeded, failed or canceled.
    pub state: Option<String>,
    /// relief, lithophane or solid.
    pub mode: Option<String>,
    /// Part of the owner's email, or their id.
    pub user: Option<String>,
    pub limit: Option<i64>,
    /// `created_at_id` of the last row seen.
    pub cursor: Option<String>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    #[sqlx(flatten)]
    task: view::Row,
    user_id: UserId,
    email: String,
    attempts: i64,
}

/// The task's columns, as `tasks::view` reads them, from `t`.
fn task_columns() -> String {
    view::COLUMNS.split(", ").map(|c| format!("t.{}", c.trim())).collect::<Vec<_>>().join(", ")
}

#[utoipa::path(get, path = "/api/v1/admin/jobs", tag = "admin", params(("state" = Option<String>, Query), ("mode" = Option<String>, Query), ("user" = Option<String>, Query, description = "Part of the owner's email, or their id"), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "Jobs, newest first, and the cursor of the next page", body = JobPage), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 422, description = "A filter is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _: Admin,
    Query(query): Query<JobsQuery>,
) -> ApiResult<Json<JobPage>> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    // Only the filters given become conditions, so each query can use its index.
    let mut conditions = vec!["t.deleted_at IS NULL".to_owned()];
    let mut binds: Vec<String> = Vec::new();
    // Binds a text value and names its placeholder.
    let mut param = |value: String| {
        binds.push(value);
        format!("${}", binds.len())
    };
    if let Some(s) = query.state.filter(|s| !s.is_empty()) {
        let status: TaskStatus =
            s.parse().map_err(|e: UnknownStatus| ApiError::invalid("state", e.to_string()))?;
        conditions.push(format!("t.status = {}", param(status.as_str().to_owned())));
    }
    if let Some(m) = query.mode.filter(|m| !m.is_empty()) {
        let mode: lithos_engine::JobMode = m.parse()?;
        conditions.push(format!("t.mode = {}", param(mode.name().to_owned())));
    }
    if let Some(u) = query.user.map(|u| u.trim().to_lowercase()).filter(|u| !u.is_empty()) {
        let pattern = param(format!("%{}%", u.replace(['%', '_'], "")));
        conditions.push(format!("(u.email_lower LIKE {pattern} OR t.user_id = {})", param(u)));
    }
    // The cursor's time is the one number, bound after every text value.
    let mut before: Option<i64> = None;
    if let Some(cursor) = query.cursor.filter(|c| !c.is_empty()) {
        let (t, id) = cursor
            .split_once('_')
            .and_then(|(t, id)| Some((t.parse::<i64>().ok()?, id.to_owned())))
            .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor from this API"))?;
        let id = param(id);
        let time = format!("${}", binds.len() + 1);
        before = Some(t);
        conditions
            .push(format!("(t.created_at < {time} OR (t.created_at = {time} AND t.id < {id}))"));
    }
    let sql = format!(
        "SELECT {}, t.user_id, u.email, t.attempts \
         FROM tasks t JOIN users u ON u.id = t.user_id WHERE {} \
         ORDER BY t.created_at DESC, t.id DESC LIMIT {}",
        task_columns(),
        conditions.join(" AND "),
        limit + 1
    );
    let mut q = sqlx::query_as::<_, JobRow>(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    if let Some(t) = before {
        q = q.bind(t);
    }
    let rows = q.fetch_all(&state.db.pool).await?;
    let more = rows.len() as i64 > limit;
    let next = more
        .then(|| rows.get(limit as usize - 1))
        .flatten()
        .map(|r| format!("{}_{}", r.task.created_at, r.task.id()));
    let jobs = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| JobSummary {
            task: TaskView::new(&state, r.task).for_operators(),
            user_id: r.user_id,
            email: r.email,
            attempts: r.attempts,
        })
        .collect();
    Ok(Json(JobPage { jobs, next_cursor: next }))
}

#[derive(sqlx::FromRow)]
struct Detail {
    #[sqlx(flatten)]
    task: view::Row,
    user_id: UserId,
    email: String,
    filename: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    output_key: Option<String>,
}

async fn detail_of(state: &AppState, id: &str) -> ApiResult<Detail> {
    sqlx::query_as(&format!(
        "SELECT {}, t.user_id, u.email, up.filename, up.width, up.height, t.output_key \
             FROM tasks t JOIN users u ON u.id = t.user_id \
             LEFT JOIN uploads up ON up.id = t.upload_id WHERE t.id = $1 AND t.deleted_at IS NULL",
        task_columns()
    ))
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(ApiError::NotFound)
}

#[utoipa::path(get, path = "/api/v1/admin/jobs/{id}", tag = "admin", params(("id" = String, Path)), responses((status = 200, description = "Parameters, queue state, attempts with their worker and error, per-stage timings and the output link", body = JobDetail), (status = 404, description = "No such job", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<TaskId>,
) -> ApiResult<Json<JobDetail>> {
    let d = detail_of(&state, &id).await?;
    let queue: Option<QueueState> = sqlx::query_as(
        "SELECT state, attempt, max_attempts, run_after, lease_owner, lease_expires_at, \
             last_error FROM jobs WHERE task_id = $1",
    )
    .bind(&id)
    .fetch_optional(&state.db.pool)
    .await?;
    let attempts: Vec<AttemptView> = sqlx::query_as(
        "SELECT a.attempt, a.worker_id, w.hostname, a.started_at, a.finished_at, a.outcome, \
         a.error FROM job_attempts a LEFT JOIN workers w ON w.id = a.worker_id \
         WHERE a.task_id = $1 ORDER BY a.attempt",
    )
    .bind(&id)
    .fetch_all(&state.db.pool)
    .await?;
    let task = TaskView::new(&state, d.task).for_operators();
    let stages = task.result.as_ref().and_then(|r| r.get("stages").cloned());
    let output_url = d
        .output_key
        .filter(|_| task.status == TaskStatus::Succeeded)
        .map(|_| format!("/api/v1/admin/jobs/{}/output", task.id));
    let upload = task.upload_id.clone().map(|id| JobUpload {
        id,
        filename: d.filename.unwrap_or_default(),
        width: d.width.unwrap_or(0),
        height: d.height.unwrap_or(0),
    });
    Ok(Json(JobDetail {
        task,
        user_id: d.user_id,
        email: d.email,
        upload,
        stages,
        queue,
        attempts,
        output_url,
    }))
}

#[utoipa::path(get, path = "/api/v1/admin/jobs/{id}/output", tag = "admin", params(("id" = String, Path)), responses((status = 200, description = "The mesh file", content_type = "application/octet-stream"), (status = 307, description = "With object storage: a short-lived URL"), (status = 404, description = "No such job", body = crate::openapi::ErrorBody), (status = 409, description = "Not succeeded", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn output(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<TaskId>,
) -> ApiResult<Response> {
    serve_output(&state, &id, Asker::Administrator, None).await
}

#[utoipa::path(get, path = "/api/v1/admin/jobs/{id}/pictures/{picture}", tag = "admin", params(("id" = String, Path), ("picture" = Picture, Path)), responses((status = 200, description = "A PNG", content_type = "image/png"), (status = 307, description = "With object storage: a short-lived URL"), (status = 404, description = "No such job, or no such picture of it", body = crate::openapi::ErrorBody), (status = 400, description = "Not a picture's name", body = crate::openapi::ErrorBody), (status = 409, description = "Not succeeded", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn picture(
    State(state): State<AppState>,
    _: Admin,
    Path((id, picture)): Path<(TaskId, Picture)>,
) -> ApiResult<Response> {
    serve_output(&state, &id, Asker::Administrator, Some(picture)).await
}

#[utoipa::path(post, path = "/api/v1/admin/jobs/{id}/retry", tag = "admin", params(("id" = String, Path)), responses((status = 200, description = "Queued again; the owner's credits are reserved again", body = JobChanged), (status = 402, description = "The owner's balance does not cover it", body = crate::openapi::ErrorBody), (status = 409, description = "Not failed or canceled", body = crate::openapi::ErrorBody), (status = 404, description = "No such job", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn retry(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<TaskId>,
) -> ApiResult<Json<JobChanged>> {
    let d = detail_of(&state, &id).await?;
    let task = ToCancel { id: &id, owner: &d.user_id, status: d.task.status, cost: d.task.cost };
    let mut tx = state.db.write().await?;
    lifecycle::retry(&state, &mut tx, task, &admin.id).await?;
    audit(&mut tx, &admin.id, "job.retry", &id, &format!("was {}", d.task.status)).await?;
    tx.commit().await?;
    state.worker.notify();
    Ok(Json(JobChanged { id, status: Some(TaskStatus::Queued), deleted: None }))
}

#[utoipa::path(post, path = "/api/v1/admin/jobs/{id}/cancel", tag = "admin", params(("id" = String, Path)), responses((status = 200, description = "Canceled, or flagged for its worker's next heartbeat", body = JobChanged), (status = 409, description = "Already finished", body = crate::openapi::ErrorBody), (status = 404, description = "No such job", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<TaskId>,
) -> ApiResult<Json<JobChanged>> {
    let d = detail_of(&state, &id).await?;
    if !d.task.status.is_active() {
        return Err(ApiError::Conflict(format!("the job is {}; nothing to cancel", d.task.status)));
    }
    let task = ToCancel { id: &id, owner: &d.user_id, status: d.task.status, cost: d.task.cost };
    lifecycle::cancel(&state, task).await?;
    let status: String = sqlx::query_scalar("SELECT status FROM tasks WHERE id = $1")
        .bind(&id)
        .fetch_one(&state.db.pool)
        .await?;
    let _gate = state.db.write_gate().await;
    let mut conn = state.db.pool.acquire().await?;
    audit(&mut conn, &admin.id, "job.cancel", &id, &format!("was {}", d.task.status)).await?;
    Ok(Json(JobChanged { id, status: status.parse().ok(), deleted: None }))
}

#[utoipa::path(delete, path = "/api/v1/admin/jobs/{id}", tag = "admin", params(("id" = String, Path)), responses((status = 200, description = "The job left the queue and the lists, and its output was deleted; its ledger stays", body = JobChanged), (status = 409, description = "Still queued or running: cancel it first", body = crate::openapi::ErrorBody), (status = 404, description = "No such job", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<TaskId>,
) -> ApiResult<Json<JobChanged>> {
    let d = detail_of(&state, &id).await?;
    {
        let mut tx = state.db.write().await?;
        lifecycle::delete(&mut tx, &id, d.task.status).await?;
        audit(&mut tx, &admin.id, "job.delete", &id, &format!("was {}", d.task.status)).await?;
        tx.commit().await?;
    }
    if let Some(key) = &d.output_key
        && let Err(e) = state.storage.delete_many(stored_keys(key)).await
    {
        tracing::warn!(task = %id, error = %e, "the deleted job's output stays in storage");
    }
    Ok(Json(JobChanged { id, status: None, deleted: Some(true) }))
}
