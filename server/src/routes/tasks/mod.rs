//! Tasks: create (credits reserved, `Idempotency-Key` honoured), read, list, cancel, and the
//! output file.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::ids::TaskId;
use crate::routes::Page;
use crate::tasks::TaskStatus;
use crate::tasks::lifecycle::{self, NewTask, ToCancel};
use crate::tasks::pictures::Picture;
use crate::tasks::view::{self, COLUMNS, TaskPage, TaskView, find};
use lithos_engine::{JobMode, JobRequest, MeshFormat};

mod pricing;

use pricing::price;
pub(crate) use pricing::{Quote, ReadyUpload, ready_upload};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Create {
    /// The upload to convert; for `mode` text, a font upload, or nothing for the bundled font.
    #[serde(default)]
    pub(crate) upload_id: Option<String>,
    pub(crate) mode: JobMode,
    #[serde(default)]
    pub(crate) params: JobRequest,
    /// [default: stl]
    #[schema(value_type = Option<MeshFormat>)]
    pub(crate) format: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks", request_body = Create, params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body: the same task; another body: 409")), responses((status = 201, description = "Queued; credits reserved", body = TaskView), (status = 200, description = "A replay of the same key", body = TaskView), (status = 429, description = "Over the plan's tasks a minute or tasks at once; retry after `Retry-After`", body = crate::openapi::ErrorBody), (status = 402, description = "Not enough credits", body = crate::openapi::ErrorBody), (status = 409, description = "Key reused with another body", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(raw) = body?;
    let body = parse_create(raw)?;
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().map(str::to_owned))
        .transpose()
        .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII"))?;
    if let Some(key) = &key
        && (key.is_empty() || key.len() > 200)
    {
        return Err(ApiError::invalid("Idempotency-Key", "must be 1 to 200 characters"));
    }
    let (plan, _, request) = price(&state, &user, &body).await?;
    let request_hash = plan.fingerprint(body.upload_id.as_deref());
    if let Some(key) = &key
        && let Some(existing) = replay(&state, &user, key, &request_hash).await?
    {
        return Ok((StatusCode::OK, Json(existing)).into_response());
    }
    let new = NewTask {
        owner: &user.id,
        upload_id: body.upload_id.as_deref(),
        mode: body.mode,
        request: &request,
        plan: &plan,
        idempotency_key: key.as_deref(),
        request_hash: &request_hash,
        derived_from: None,
    };
    let Some(id) = lifecycle::create(&state, new).await? else {
        // The same key raced in: answer as a replay.
        let key = key.as_deref().unwrap_or_default();
        let existing =
            replay(&state, &user, key, &request_hash).await?.ok_or(ApiError::NotFound)?;
        return Ok((StatusCode::OK, Json(existing)).into_response());
    };
    let row = find(&state, &user.id, &id).await?;
    Ok((StatusCode::CREATED, Json(TaskView::new(&state, row))).into_response())
}

/// The body of `POST /tasks/{id}/formats`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtherFormat {
    #[schema(value_type = MeshFormat)]
    format: String,
}

/// The model of a succeeded task in another format, free: a task of its own from the same
/// file and options, or the one already made or being made (200).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/formats", tag = "tasks", params(("id" = String, Path)), request_body = OtherFormat, responses((status = 201, description = "Queued at no cost: the same model in `format`", body = TaskView), (status = 200, description = "That format was made, or is being made: its task", body = TaskView), (status = 404, description = "No such task of yours", body = crate::openapi::ErrorBody), (status = 409, description = "The task has not succeeded", body = crate::openapi::ErrorBody), (status = 402, description = "A billing hold on the account", body = crate::openapi::ErrorBody), (status = 429, description = "Over the plan's tasks at once; retry after `Retry-After`", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "The format the task has, or its file was deleted", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn other_format(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<TaskId>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(raw) = body?;
    let OtherFormat { format } =
        serde_json::from_value(raw).map_err(|e| ApiError::from_json_data(&e.to_string()))?;
    let format: MeshFormat = format.parse()?;
    let task = TaskView::new(&state, find(&state, &user.id, &id).await?);
    if task.status != TaskStatus::Succeeded {
        return Err(ApiError::Conflict(format!(
            "the task is {}: only a finished model is made in another format",
            task.status
        )));
    }
    if task.format == format.name() {
        return Err(ApiError::invalid("format", format!("the task made {format}: download it")));
    }
    let made: Option<TaskId> = sqlx::query_scalar(
        "SELECT id FROM tasks WHERE derived_from = $1 AND user_id = $2 AND format = $3 \
         AND status IN ('queued', 'running', 'succeeded') AND deleted_at IS NULL \
         ORDER BY created_at DESC LIMIT 1",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(format.name())
    .fetch_optional(&state.db.pool)
    .await?;
    if let Some(made) = made {
        let row = find(&state, &user.id, &made).await?;
        return Ok((StatusCode::OK, Json(TaskView::new(&state, row))).into_response());
    }
    let mode = task.mode.parse::<JobMode>()?;
    let params: JobRequest =
        serde_json::from_value(task.params).map_err(|e| ApiError::Internal(e.into()))?;
    let body =
        Create { upload_id: task.upload_id, mode, params, format: Some(format.name().into()) };
    let (plan, _, request) = price(&state, &user, &body).await?;
    let request_hash = plan.fingerprint(body.upload_id.as_deref());
    let new = NewTask {
        owner: &user.id,
        upload_id: body.upload_id.as_deref(),
        mode,
        request: &request,
        plan: &plan,
        idempotency_key: None,
        request_hash: &request_hash,
        derived_from: Some(&id),
    };
    let made = lifecycle::create(&state, new).await?.ok_or(ApiError::NotFound)?;
    let row = find(&state, &user.id, &made).await?;
    Ok((StatusCode::CREATED, Json(TaskView::new(&state, row))).into_response())
}

/// `POST /tasks/quote`: the cost of a task before submitting it, with every field checked.
#[utoipa::path(post, path = "/api/v1/tasks/quote", tag = "tasks", request_body = Create, responses((status = 200, description = "The task's cost in credits, its grid and the balance", body = Quote), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn quote(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Quote>> {
    let Json(raw) = body?;
    let body = parse_create(raw)?;
    Ok(Json(price(&state, &user, &body).await?.1))
}

/// The body of `create` and `quote`; an unknown field is named.
pub(crate) fn parse_create(raw: Value) -> ApiResult<Create> {
    serde_json::from_value(raw).map_err(|e| ApiError::from_json_data(&e.to_string()))
}

/// The task an idempotency key already made: the same one for the same body, 409 otherwise.
async fn replay(
    state: &AppState,
    user: &User,
    key: &str,
    request_hash: &str,
) -> ApiResult<Option<TaskView>> {
    let existing: Option<(String, String)> = sqlx::query_as(
        "SELECT id, request_hash FROM tasks WHERE user_id = $1 AND idempotency_key = $2",
    )
    .bind(&user.id)
    .bind(key)
    .fetch_optional(&state.db.pool)
    .await?;
    match existing {
        None => Ok(None),
        Some((id, hash)) if hash == request_hash => {
            Ok(Some(TaskView::new(state, find(state, &user.id, &id).await?)))
        }
        Some(_) => Err(ApiError::Conflict(
            "this Idempotency-Key was used with a different request; use a new key".into(),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks", params(("id" = String, Path)), responses((status = 200, description = "Status, progress, result", body = TaskView), (status = 404, description = "No such task of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<TaskId>,
) -> ApiResult<Json<TaskView>> {
    let row = find(&state, &user.id, &id).await?;
    Ok(Json(TaskView::new(&state, row)))
}

/// `?status=&limit=&cursor=` (not a flattened [`Page`]: flattening makes every query value a
/// string, and `limit` would no longer parse).
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Newest first; `next_cursor` continues the list.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(("status" = Option<String>, Query), ("limit" = Option<i64>, Query), ("cursor" = Option<String>, Query)), responses((status = 200, description = "A page of tasks", body = TaskPage), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: User,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<TaskPage>> {
    let status = match query.status.as_deref() {
        None | Some("") => "",
        Some(name) => name
            .parse::<TaskStatus>()
            .map_err(|e| ApiError::invalid("status", e.to_string()))?
            .as_str(),
    };
    let page = Page { limit: query.limit, cursor: query.cursor };
    let (before_time, before_id) = match &page.cursor {
        Some(cursor) => {
            let (t, id) = cursor
                .split_once('_')
                .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor from this API"))?;
            (
                t.parse::<i64>()
                    .map_err(|_| ApiError::invalid("cursor", "is not a cursor from this API"))?,
                id.to_owned(),
            )
        }
        None => (i64::MAX, String::new()),
    };
    let limit = page.limit();
    let rows: Vec<view::Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE user_id = $1 AND deleted_at IS NULL \
         AND ($2 = '' OR status = $2) \
         AND (created_at < $3 OR (created_at = $3 AND ($4 = '' OR id < $4))) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    ))
    .bind(&user.id)
    .bind(status)
    .bind(before_time)
    .bind(&before_id)
    .bind(limit + 1)
    .fetch_all(&state.db.pool)
    .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<view::Row> = rows.into_iter().take(limit as usize).collect();
    let next = more.then(|| rows.last().map(|r| format!("{}_{}", r.created_at, r.id()))).flatten();
    let tasks = rows.into_iter().map(|r| TaskView::new(&state, r)).collect();
    Ok(Json(TaskPage { tasks, next_cursor: next }))
}

/// A queued task is canceled at once and its credits released; a running one stops at its
/// next stage boundary and the worker releases them.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/cancel", tag = "tasks", params(("id" = String, Path)), responses((status = 200, description = "The task after the request", body = TaskView), (status = 404, description = "No such task of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<TaskId>,
) -> ApiResult<Json<TaskView>> {
    let row = find(&state, &user.id, &id).await?;
    let task = ToCancel { id: &id, owner: &user.id, status: row.status, cost: row.cost };
    lifecycle::cancel(&state, task).await?;
    Ok(Json(TaskView::new(&state, find(&state, &user.id, &id).await?)))
}

/// Streams a succeeded task's file.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/output", tag = "tasks", params(("id" = String, Path)), responses((status = 200, description = "The mesh file", content_type = "application/octet-stream"), (status = 307, description = "With object storage: a presigned URL of the mesh file, valid for at most 15 minutes"), (status = 404, description = "No such task of yours", body = crate::openapi::ErrorBody), (status = 409, description = "Not succeeded (yet)", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn output(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<TaskId>,
) -> ApiResult<Response> {
    serve_output(&state, &id, Asker::Owner(&user.id), None).await
}

/// Streams a picture of a succeeded task's output: its thumbnail (every output), or the view
/// of a lithophane lit from behind.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/pictures/{picture}", tag = "tasks", params(("id" = String, Path), ("picture" = Picture, Path)), responses((status = 200, description = "A PNG", content_type = "image/png"), (status = 307, description = "With object storage: a presigned URL of the PNG, valid for at most 15 minutes"), (status = 404, description = "No such task of yours, or no such picture of it", body = crate::openapi::ErrorBody), (status = 400, description = "Not a picture's name", body = crate::openapi::ErrorBody), (status = 409, description = "Not succeeded (yet)", body = crate::openapi::ErrorBody), (status = 410, description = "Expired with the output", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn picture(
    State(state): State<AppState>,
    user: User,
    Path((id, picture)): Path<(TaskId, Picture)>,
) -> ApiResult<Response> {
    serve_output(&state, &id, Asker::Owner(&user.id), Some(picture)).await
}

/// Who asks for a task's output: its owner (anyone else's task is 404), or an administrator.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Asker<'a> {
    Owner(&'a str),
    Administrator,
}

/// The output of task `id` (or, with `picture`, that picture of it) for `asker`: the file,
/// or a redirect to a short-lived URL where object storage serves it.
pub(crate) async fn serve_output(
    state: &AppState,
    id: &str,
    asker: Asker<'_>,
    picture: Option<Picture>,
) -> ApiResult<Response> {
    // Text in the bundled font and prompts have no upload: their files are named by mode.
    const SELECT: &str = "SELECT t.status, t.output_key, t.format, \
                          COALESCE(u.filename, t.mode), t.expired_at FROM tasks t \
                          LEFT JOIN uploads u ON u.id = t.upload_id \
                          WHERE t.id = $1 AND t.deleted_at IS NULL";
    let query = match asker {
        Asker::Owner(_) => format!("{SELECT} AND t.user_id = $2"),
        Asker::Administrator => SELECT.to_owned(),
    };
    let mut query =
        sqlx::query_as::<_, (String, Option<String>, String, String, Option<i64>)>(&query).bind(id);
    if let Asker::Owner(owner) = asker {
        query = query.bind(owner);
    }
    let row = query.fetch_optional(&state.db.pool).await?;
    let (status, key, format, filename, expired_at) = row.ok_or(ApiError::NotFound)?;
    if let Some(at) = expired_at {
        let when = super::download::rfc3339(at);
        return Err(ApiError::Gone(format!(
            "the output expired at {when} (outputs are kept for the plan's retention period) \
             and was deleted; run the task again to make it anew"
        )));
    }
    let status: TaskStatus =
        status.parse().map_err(|e| ApiError::Internal(anyhow::anyhow!("task {id}: {e}")))?;
    let Some(key) = key.filter(|_| status == TaskStatus::Succeeded) else {
        return Err(ApiError::Conflict(format!(
            "the task is {status}; its output exists once it has succeeded"
        )));
    };
    let format: MeshFormat = format
        .parse()
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("task {id} has format {format:?}: {e}")))?;
    let (content_type, extension) = (format.content_type(), format.extension());
    let stem: String = std::path::Path::new(&filename)
        .file_stem()
        .map(|s| {
            s.to_string_lossy()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
                .collect()
        })
        .filter(|s: &String| !s.is_empty())
        .unwrap_or_else(|| "lithos".into());
    let Some(picture) = picture else {
        let download_name = format!("{stem}.{extension}");
        return super::download::serve(state, &key, &download_name, content_type).await;
    };
    let key = picture.key(&key);
    // A plain relief has no backlit view or colours, and outputs made before pictures
    // existed have none.
    if state.storage.size(&key).await?.is_none() {
        return Err(ApiError::NotFound);
    }
    let download_name = format!("{stem}.{}.png", picture.name());
    super::download::serve(state, &key, &download_name, "image/png").await
}

/// `GET /tasks/{id}/events`: Server-Sent Events, one `task` event (the task's JSON) whenever
/// its status or progress changes, ending after the final status.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/events", tag = "tasks", params(("id" = String, Path)), responses((status = 200, description = "Server-sent `task` events", content_type = "text/event-stream"), (status = 404, description = "No such task of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn events(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<TaskId>,
) -> ApiResult<
    axum::response::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    // 404 now, before the stream starts, for a task that is not the caller's.
    find(&state, &user.id, &id).await?;
    let stream = futures_util::stream::unfold(
        (state, user, id, None::<(TaskStatus, u64)>, false),
        |(state, user, id, last, finished)| async move {
            if finished {
                return None;
            }
            loop {
                let Ok(row) = find(&state, &user.id, &id).await else { return None };
                let task = TaskView::new(&state, row);
                let (status, progress) = (task.status, (task.progress * 1000.0) as u64);
                if last != Some((status, progress)) {
                    let json = serde_json::to_string(&task).unwrap_or_default();
                    let event = Event::default().event("task").data(json);
                    let done = !status.is_active();
                    return Some((Ok(event), (state, user, id, Some((status, progress)), done)));
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
