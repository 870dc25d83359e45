//! Pricing a task request: its upload made ready, its job planned on it against the limits
//! and the account's plan, and its cost in credits. `create`, `quote` and `formats` all
//! price through here.

use super::Create;
use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::tasks::{Shape, TaskPlan};
use crate::volumes::VolumeInfo;
use lithos_engine::text::{Font, Plan as TextPlan, TextParams};
use lithos_engine::{InputKind, JobKind, JobRequest, MeshFormat};

/// What a task would cost, and the grid it would run at.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Quote {
    pub cost: i64,
    /// The output grid, columns and rows.
    pub grid: [u32; 2],
    pub balance: i64,
}

/// An upload of the user's, ready to convert: what pricing and previews need of it.
#[derive(sqlx::FromRow)]
pub(crate) struct ReadyUpload {
    pub width: i64,
    pub height: i64,
    pub volume: Option<String>,
    /// A 3D file's [`lithos_engine::model::Inspection`], as JSON.
    pub model: Option<String>,
    /// A font's [`crate::routes::uploads::FontInfo`], as JSON.
    pub font: Option<String>,
    pub storage_key: String,
}

impl ReadyUpload {
    /// What the upload is, as the modes' inputs name it.
    fn input(&self) -> InputKind {
        if self.volume.is_some() {
            InputKind::Volume
        } else if self.model.is_some() {
            InputKind::Model
        } else if self.font.is_some() {
            InputKind::Font
        } else {
            InputKind::Image
        }
    }
}

/// The user's upload `id` if it is complete and not swept by retention; a 422 on
/// `upload_id` saying what to do otherwise (another user's upload is "no such upload").
pub(crate) async fn ready_upload(
    state: &AppState,
    user: &User,
    id: &str,
) -> ApiResult<ReadyUpload> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        upload: ReadyUpload,
        state: String,
        /// When retention began deleting it.
        swept: Option<i64>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT width, height, volume, model, font, storage_key, state, \
         COALESCE(deleted_at, sweep_started_at) AS swept FROM uploads WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(&user.id)
    .fetch_optional(&state.db.pool)
    .await?;
    let row = row.ok_or_else(|| ApiError::invalid("upload_id", "no such upload"))?;
    if row.swept.is_some() {
        return Err(ApiError::invalid(
            "upload_id",
            "the upload was deleted after its retention period; upload the file again",
        ));
    }
    if row.state != "ready" {
        return Err(ApiError::invalid(
            "upload_id",
            "the upload is not complete: POST /api/v1/uploads/{id}/complete after the PUT",
        ));
    }
    Ok(row.upload)
}

/// Checks a task's request as `create` does, without creating it: every field, the upload,
/// the work against the limits, and the cost in credits. Returns the request as the task
/// keeps it: a raw volume's dims and sample type come from its upload.
pub(super) async fn price(
    state: &AppState,
    user: &User,
    body: &Create,
) -> ApiResult<(TaskPlan, Quote, JobRequest)> {
    let format = body.format.as_deref().map(str::parse::<MeshFormat>).transpose()?;
    // Fields first, so a bad field is named even when the upload is missing.
    let job = body.params.build(body.mode, format)?;
    let generator = state.generator.as_ref().filter(|_| body.mode.is_generated());
    if body.mode.is_generated() && generator.is_none() {
        return Err(ApiError::invalid(
            "mode",
            format!(
                "{} tasks are off: this Lithos has no AI generation provider configured",
                body.mode
            ),
        ));
    }
    let upload = match &body.upload_id {
        Some(_) if body.mode.input() == InputKind::Prompt => {
            return Err(ApiError::invalid(
                "upload_id",
                "a prompt takes no upload: the provider makes the model from `prompt`",
            ));
        }
        Some(id) => Some(ready_upload(state, user, id).await?),
        None if matches!(body.mode.input(), InputKind::Font | InputKind::Prompt) => None,
        None => {
            return Err(ApiError::invalid(
                "upload_id",
                format!("is required: `mode` {} converts an upload", body.mode),
            ));
        }
    };
    // The provider's model, of a prompt or of a photo, at the provider's price; the plan
    // checks that the upload is what the mode takes.
    if let Some(generator) = generator {
        let input = upload.as_ref().map_or(InputKind::Prompt, ReadyUpload::input);
        let shape = Shape::Generated { input, credits: generator.config.credits };
        return priced(state, user, job, shape, body.params.clone()).await;
    }
    if let JobKind::Text(params) = &job.kind
        && upload.as_ref().is_none_or(|u| u.font.is_some())
    {
        let font = match &upload {
            Some(upload) => Some(state.storage.get(&upload.storage_key).await?),
            None => None,
        };
        let dims = text_dims(**params, font).await?;
        return priced(state, user, job, Shape::Text { dims }, body.params.clone()).await;
    }
    let Some(ReadyUpload { width, height, volume, model, font, .. }) = upload else {
        unreachable!("only text tasks have no upload")
    };
    let model: Option<lithos_engine::model::Inspection> = model
        .map(|m| serde_json::from_str(&m))
        .transpose()
        .map_err(|e| ApiError::Internal(e.into()))?;
    let volume: Option<VolumeInfo> = volume
        .map(|v| serde_json::from_str(&v))
        .transpose()
        .map_err(|e| ApiError::Internal(e.into()))?;
    let mut request = body.params.clone();
    let (job, shape) = match (&volume, &job.kind) {
        (Some(info), JobKind::Volume(params, _)) => {
            let dims = info.dims_for(params.series.as_ref().map(|s| s.as_str()), params.frame)?;
            // A raw upload's shape was given at upload; the task takes it from there.
            let given = (request.raw_dims, request.raw_type);
            match info.raw {
                Some(raw) => {
                    let shape = (Some(raw.dims.map(|d| d as usize)), Some(raw.sample));
                    if given != (None, None) && given != shape {
                        return Err(ApiError::invalid(
                            "raw_dims",
                            "the raw upload's dims and sample type were given at upload; leave \
                             them out here",
                        ));
                    }
                    (request.raw_dims, request.raw_type) = shape;
                }
                None if given != (None, None) => {
                    return Err(ApiError::invalid(
                        "raw_dims",
                        "the upload is not raw samples; its format says its shape",
                    ));
                }
                None => {}
            }
            (request.build(body.mode, format)?, Shape::Volume { dims })
        }
        (Some(info), _) => {
            let dims = info.dims.map(|d| d as usize);
            (job, Shape::Volume { dims })
        }
        (None, _) if let Some(model) = &model => {
            (job, Shape::Model { triangles: model.analysis.triangles as u64 })
        }
        // A font for another mode: refused by the plan, which names what the mode takes.
        (None, _) if font.is_some() => (job, Shape::Text { dims: [0; 3] }),
        (None, _) => {
            let width = u32::try_from(width).unwrap_or(0);
            let height = u32::try_from(height).unwrap_or(0);
            (job, Shape::Image { width, height })
        }
    };
    priced(state, user, job, shape, request).await
}

/// The field text laid out in its font fills (the bundled font without `font`): what its work
/// and cost follow. Laid out on a blocking thread: merging outlines takes a moment.
async fn text_dims(params: TextParams, font: Option<Vec<u8>>) -> ApiResult<[usize; 3]> {
    let planned = tokio::task::spawn_blocking(move || {
        let font = match &font {
            Some(bytes) => Font::parse(bytes)?,
            None => Font::bundled(),
        };
        TextPlan::new(&font, &params).map(|plan| plan.dims())
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(planned?)
}

/// The plan of `job` on `shape`, checked against the limits and the account's plan, its cost,
/// and the balance.
async fn priced(
    state: &AppState,
    user: &User,
    job: lithos_engine::Job,
    shape: Shape,
    request: JobRequest,
) -> ApiResult<(TaskPlan, Quote, JobRequest)> {
    let plan = TaskPlan::for_job(job, shape, &state.config.work_limits)?;
    // The account's plan: a billing hold, the grid it allows, tasks at once.
    let grid_points = matches!(shape, Shape::Image { .. }).then_some(plan.work.grid_points);
    let mut conn = state.db.pool.acquire().await?;
    crate::billing::plans::check_task(&mut conn, &state.config.billing, &user.id, grid_points)
        .await?;
    drop(conn);
    let balance: i64 = sqlx::query_scalar("SELECT balance FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(&state.db.pool)
        .await?;
    let quote = Quote { cost: plan.cost, grid: plan.work.grid, balance };
    Ok((plan, quote, request))
}
