//! A task as its owner sees it: the user's routes, the event stream and the console read it
//! through [`TaskView`], and find it with [`find`], which answers 404 for anyone else's.

use serde::Serialize;
use serde_json::Value;

use super::TaskStatus;
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::ids::{TaskId, UserId};

#[derive(sqlx::FromRow)]
pub(crate) struct Row {
    id: TaskId,
    upload_id: Option<String>,
    mode: String,
    params: String,
    format: String,
    #[sqlx(try_from = "String")]
    pub(crate) status: TaskStatus,
    progress: f64,
    pub(crate) cost: i64,
    error: Option<String>,
    result: Option<String>,
    pub(crate) created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    expired_at: Option<i64>,
    derived_from: Option<String>,
}

impl Row {
    pub(crate) fn id(&self) -> &TaskId {
        &self.id
    }
}

pub(crate) const COLUMNS: &str = "id, upload_id, mode, params, format, status, progress, cost, \
                                  error, result, created_at, started_at, finished_at, \
                                  expired_at, derived_from";

/// A task: what was asked, where it stands, and what it made.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TaskView {
    #[schema(value_type = String)]
    pub id: TaskId,
    /// None for text in the bundled font.
    pub upload_id: Option<String>,
    #[schema(value_type = lithos_engine::JobMode)]
    pub mode: String,
    /// The options as they were given.
    #[schema(value_type = lithos_engine::JobRequest)]
    pub params: Value,
    #[schema(value_type = lithos_engine::MeshFormat)]
    pub format: String,
    pub status: TaskStatus,
    /// 0 to 1.
    pub progress: f64,
    /// Credits reserved, then captured on success or released.
    pub cost: i64,
    /// Why it failed.
    pub error: Option<String>,
    /// The run's report once it succeeded: triangles, bytes, format, backend, adapter,
    /// seconds, seconds per stage, grid, size in millimetres, and for meshes of a field its
    /// vertices and voxels; and the attempt that made it.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// When retention deleted the output (the plan's retention days after it finished); its
    /// download then answers 410. The task, its parameters and its ledger stay.
    pub expired_at: Option<i64>,
    /// The task this one made again in another format, free (`POST /tasks/{id}/formats`).
    pub derived_from: Option<String>,
}

impl TaskView {
    /// The view an operator gets: a prompt is the user's own words, sent to the generation
    /// provider and used for nothing else, so the console sees only its length.
    pub fn for_operators(mut self) -> Self {
        if let Some(prompt) = self.params.get_mut("prompt")
            && let Some(text) = prompt.as_str()
        {
            *prompt = Value::String(format!("[a prompt of {} characters]", text.chars().count()));
        }
        self
    }

    /// The row as its owner sees it, with a running task's live progress.
    pub(crate) fn new(state: &AppState, row: Row) -> Self {
        let progress = match row.status {
            TaskStatus::Running => state.worker.progress(&row.id).unwrap_or(row.progress),
            TaskStatus::Succeeded => 1.0,
            _ => row.progress,
        };
        TaskView {
            params: serde_json::from_str(&row.params).unwrap_or(Value::Null),
            result: row.result.and_then(|r| serde_json::from_str(&r).ok()),
            id: row.id,
            upload_id: row.upload_id,
            mode: row.mode,
            format: row.format,
            status: row.status,
            progress,
            cost: row.cost,
            error: row.error,
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            expired_at: row.expired_at,
            derived_from: row.derived_from,
        }
    }
}

/// A page of tasks, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TaskPage {
    pub tasks: Vec<TaskView>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Task `id` of `owner`'s: 404 when it is anyone else's, or deleted.
pub(crate) async fn find(state: &AppState, owner: &UserId, id: &str) -> ApiResult<Row> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM tasks WHERE id = $1 AND user_id = $2 AND deleted_at IS NULL"
    ))
    .bind(id)
    .bind(owner)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(ApiError::NotFound)
}
