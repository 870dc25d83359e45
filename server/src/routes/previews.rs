//! `POST /previews`: a free, small preview of a task before it is paid for ([`crate::previews`]).

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, Rule};
use crate::routes::tasks::{Create, ReadyUpload, parse_create, ready_upload};

/// A preview: the model on a grid of at most 256 points a side, at the size the task would
/// make it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    /// The mesh as GLB (glTF 2.0 binary, metres, +Y up), base64.
    pub glb: String,
    /// A lithophane lit from behind, as a greyscale PNG, base64.
    pub backlit_png: Option<String>,
    pub triangles: u64,
    /// The preview's grid points, across and down (the task's is larger).
    pub grid: [u32; 2],
    /// Width, depth and height of the model in millimetres.
    pub size_mm: [f32; 3],
}

/// Takes a task's body (its `format` is ignored: a preview is GLB) and answers at once, on
/// the server's CPU. No credits are spent and nothing is stored.
#[utoipa::path(post, path = "/api/v1/previews", tag = "tasks", request_body = Create, responses((status = 200, description = "The preview", body = PreviewView), (status = 429, description = "Over the previews a minute; retry after `Retry-After`", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 415, description = "The upload is not an image Lithos reads", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid, or the upload is a scan", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<PreviewView>> {
    let Json(raw) = body?;
    let body = parse_create(raw)?;
    let job = body.params.build(body.mode, None)?;
    let ReadyUpload { width, height, volume, storage_key } =
        ready_upload(&state, &user, &body.upload_id).await?;
    if volume.is_some() {
        return Err(ApiError::invalid(
            "upload_id",
            "a scan has no live preview: its task shows the surface it makes",
        ));
    }
    limits::take_now(&state.db, &Rule::previews(), &user.id, 1).await?;
    let size = (width as u32, height as u32);
    let (glb, report) =
        state.previews.run(&state, &body.upload_id, &storage_key, size, &job).await?;
    metrics::counter!("lithos_previews_total").increment(1);
    Ok(Json(PreviewView {
        glb: STANDARD.encode(glb),
        backlit_png: report
            .backlit
            .map(|image| STANDARD.encode(lithos_engine::backlit::png(&image))),
        triangles: report.triangles,
        grid: report.grid,
        size_mm: report.size_mm,
    }))
}
