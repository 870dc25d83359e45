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
use lithos_engine::JobKind;

/// A preview: the model on a grid of at most 256 points a side, at the size the task would
/// make it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PreviewView {
    /// The mesh as GLB (glTF 2.0 binary, metres, +Y up), base64.
    pub glb: String,
    /// A lithophane lit from behind, as a greyscale PNG, base64.
    pub backlit_png: Option<String>,
    /// A relief with a `palette`: the colours its filaments are expected to show, as a PNG
    /// (transparent outside its mask), base64.
    pub colours_png: Option<String>,
    pub triangles: u64,
    /// The preview's grid points, across and down (the task's is larger).
    pub grid: [u32; 2],
    /// Width, depth and height of the model in millimetres.
    pub size_mm: [f32; 3],
    /// About how many triangles the task will make: for an adaptive surface (`max_error_mm`,
    /// `max_triangles`), extrapolated from this preview and a coarser one.
    pub expected_triangles: u64,
    /// About how many bytes its output will take in the task's format.
    pub expected_bytes: u64,
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
    let format: lithos_engine::MeshFormat = body.format.as_deref().unwrap_or("stl").parse()?;
    let job = body.params.build(body.mode, Some(format))?;
    if let JobKind::Text(params) = &job.kind {
        let font = match &body.upload_id {
            Some(id) => {
                let upload = ready_upload(&state, &user, id).await?;
                if upload.font.is_none() {
                    return Err(ApiError::invalid(
                        "upload_id",
                        "text is set in a font upload (TTF or OTF), or with none in the bundled \
                         font",
                    ));
                }
                Some(state.storage.get(&upload.storage_key).await?)
            }
            None => None,
        };
        limits::take_now(&state.db, &Rule::previews(), &user.id, 1).await?;
        let preview = job.preview(0, 0)?;
        let coarse = preview.text_params().expect("a text job").pitch_mm();
        let (glb, report) = state.previews.run_text(font, preview).await?;
        // Flat faces keep about two triangles per field sample, so the count grows as the
        // inverse square of the spacing.
        let finer = f64::from((coarse / params.pitch_mm()).powi(2));
        let expected = (report.triangles as f64 * finer).round() as u64;
        return Ok(Json(view(glb, report, expected, format)));
    }
    let upload_id = body.upload_id.as_deref().ok_or_else(|| {
        ApiError::invalid(
            "upload_id",
            format!("is required: `mode` {} converts an upload", body.mode),
        )
    })?;
    let ReadyUpload { width, height, volume, model, font, storage_key } =
        ready_upload(&state, &user, upload_id).await?;
    if font.is_some() {
        return Err(ApiError::invalid(
            "upload_id",
            "a font is for `mode` text: it sets the text you type",
        ));
    }
    if volume.is_some() {
        return Err(ApiError::invalid(
            "upload_id",
            "a scan has no live preview: its task shows the surface it makes",
        ));
    }
    if model.is_some() {
        return Err(ApiError::invalid(
            "upload_id",
            "a 3D file has no live preview: its upload shows what is wrong with it, and its \
             task the repaired model",
        ));
    }
    limits::take_now(&state.db, &Rule::previews(), &user.id, 1).await?;
    let (width, height) = (width as u32, height as u32);
    let run = |preview| state.previews.run(&state, upload_id, &storage_key, preview);
    let (glb, report) = run(job.preview(width, height)?).await?;
    // What the task will make: the work estimate's count (exact for the full grid, a bound
    // under `max_triangles`), or for an adaptive surface the count of a second, coarser
    // preview extrapolated with this one's.
    let params = job.image_params().expect("an image job");
    let work = lithos_engine::work::estimate(params, None, format, width, height);
    let expected_triangles = if job.is_adaptive() {
        let coarse_grid = (report.grid[0].max(report.grid[1]) / 2).max(2);
        let (_, coarse) = run(job.preview_at(width, height, coarse_grid)?).await?;
        let long = |grid: [u32; 2]| grid[0].max(grid[1]);
        lithos_engine::job::expected_triangles(
            (long(coarse.grid), coarse.triangles),
            (long(report.grid), report.triangles),
            long(work.grid),
            work.triangles,
        )
    } else {
        work.triangles
    };
    Ok(Json(view(glb, report, expected_triangles, format)))
}

/// The preview's answer, counted.
fn view(
    glb: Vec<u8>,
    report: lithos_engine::Report,
    expected_triangles: u64,
    format: lithos_engine::MeshFormat,
) -> PreviewView {
    metrics::counter!("lithos_previews_total").increment(1);
    PreviewView {
        glb: STANDARD.encode(glb),
        backlit_png: report
            .backlit
            .map(|image| STANDARD.encode(lithos_engine::backlit::png(&image))),
        colours_png: report
            .colours
            .map(|image| STANDARD.encode(lithos_engine::palette::png(&image))),
        triangles: report.triangles,
        grid: report.grid,
        size_mm: report.size_mm,
        expected_triangles,
        expected_bytes: expected_triangles * lithos_engine::work::bytes_per_triangle(format),
    }
}
