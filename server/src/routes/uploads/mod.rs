//! Uploads of images, volumes, 3D files and fonts, two ways:
//!
//! - `POST /uploads`: one file in a multipart `file` field, through the server (a raw volume
//!   with `raw_dims` and `raw_type` fields beside it). The content is sniffed and read whole
//!   under the engine's limits before anything is stored; a file Lithos cannot read, a broken
//!   series or a decompression bomb (a PNG's or a ZIP's) gets a 4xx and leaves nothing
//!   behind. A volume's answer gives its dims, spacing, value range and histogram.
//! - Direct to object storage (`direct`): `POST /uploads/presign` answers a presigned PUT for exactly the
//!   announced length, valid for at most 15 minutes; `POST /uploads/{id}/complete` then checks
//!   the object's size, sniffs and reads its header under the engine's limits, and only then
//!   makes the upload usable. A refused object is deleted.

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use lithos_engine::model::{Inspection, ModelFormat, ModelLimits, Units};
use lithos_engine::text::FontInfo;
use lithos_engine::{DecodeLimits, RawType, decode};

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::volumes::{RawShape, VolumeInfo};
use crate::{AppState, new_id, now_ms};

mod direct;

pub use direct::*;

/// An uploaded image or volume: its name, type, size and pixels (a volume's first two dims),
/// and for a volume what it holds.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UploadView {
    pub id: String,
    pub filename: String,
    /// The media type of the format found in the file.
    pub content_type: String,
    pub bytes: i64,
    /// Pixels across and down.
    pub width: i64,
    pub height: i64,
    /// `pending` until a direct upload is completed, then `ready`; `deleted` once retention
    /// removed the file (its tasks' outputs may outlive it).
    pub state: String,
    pub created_at: i64,
    /// For a volume (`mode` volume takes it): dims, spacing, values and DICOM series.
    pub volume: Option<VolumeInfo>,
    /// For a 3D file (`mode` mesh takes it): its format and what is wrong with it.
    pub model: Option<Inspection>,
    /// For a font (`mode` text takes it): its name and glyphs.
    pub font: Option<FontInfo>,
}

/// What a multipart body that could not be read is told: too slow (408), too large (as
/// `too_large` says), or malformed (400). Every multipart route maps its errors here.
pub(crate) fn multipart_error(
    e: axum::extract::multipart::MultipartError,
    too_large: impl FnOnce() -> ApiError,
) -> ApiError {
    if crate::connections::is_too_slow(&e) {
        ApiError::TooSlow(
            "the upload arrived too slowly and was stopped; send it again on a faster connection"
                .into(),
        )
    } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::BadRequest(e.body_text())
    }
}

#[utoipa::path(post, path = "/api/v1/uploads", tag = "tasks", request_body(content = crate::openapi::UploadForm, content_type = "multipart/form-data"), responses((status = 201, description = "Stored; its size in pixels, and for a volume its dims, spacing, value range and histogram", body = UploadView), (status = 413, description = "Over the size limit", body = crate::openapi::ErrorBody), (status = 415, description = "Not an image or volume Lithos reads", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 408, description = "The body came too slowly", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 429, description = "Too many uploads in progress, or over the plan's uploads a minute or megabytes a day; retry after `Retry-After`", body = crate::openapi::ErrorBody), (status = 503, description = "The decode budget is full; retry after `Retry-After`", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: User,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<(StatusCode, Json<UploadView>)> {
    let mut multipart = multipart.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let _slot =
        state.upload_slots.take(&user.id, state.config.uploads_per_user).ok_or_else(|| {
            ApiError::TooManyAtOnce {
                message: format!(
                    "you have {} uploads in progress; wait for one to finish",
                    state.config.uploads_per_user
                ),
                retry_after: 1,
            }
        })?;
    let (limit, plan) = plan_upload_limit(&state, &user).await?;
    let too_large = || too_large(&state, limit, plan.clone());
    let body_error = |e| multipart_error(e, too_large);
    let mut file = None;
    let (mut raw_dims, mut raw_type) = (None, None);
    while let Some(mut field) = multipart.next_field().await.map_err(body_error)? {
        match field.name() {
            Some("file") if file.is_none() => {}
            Some(name @ ("raw_dims" | "raw_type")) => {
                let name = name.to_owned();
                let text = field.text().await.map_err(body_error)?;
                let text = text.trim().chars().take(100).collect::<String>();
                if name == "raw_dims" {
                    raw_dims = Some(text)
                } else {
                    raw_type = Some(text)
                }
                continue;
            }
            _ => continue,
        }
        let name = field.file_name().unwrap_or("upload").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(body_error)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(too_large());
            }
        }
        file = Some((name, bytes));
    }
    let (name, bytes) = file.ok_or_else(|| {
        ApiError::BadRequest("send the file in a multipart field named `file`".into())
    })?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("file", "is empty"));
    }
    let billing = &state.config.billing;
    crate::billing::plans::admit_upload(&state.db, billing, &user.id, bytes.len() as u64).await?;
    let filename = crate::text::clean("filename", &name, 200)?;
    let raw = raw_shape(raw_dims.as_deref(), raw_type.as_deref())?;
    if raw.is_none() && lithos_engine::text::font::sniff(&bytes) {
        let (font, bytes) = check_font(&state, bytes).await?;
        let content_type = FontInfo::content_type(&bytes);
        let upload =
            store(&state, &user, filename, bytes, content_type, (0, 0), Described::Font(font))
                .await?;
        return Ok((StatusCode::CREATED, Json(upload)));
    }
    // A 3MF is a ZIP, which is otherwise a volume's slices: it is asked first.
    let model = lithos_engine::model::sniff_exact(&bytes).filter(|_| raw.is_none());
    if model == Some(ModelFormat::ThreeMf) {
        return stored_model(&state, &user, filename, bytes).await;
    }
    let volume_type = match raw {
        Some(_) => Some("application/octet-stream"),
        None => lithos_engine::volume::sniff(&bytes),
    };
    if let Some(content_type) = volume_type {
        let (volume, bytes) = check_volume(&state, bytes, raw).await?;
        let size = (volume.dims[0] as i64, volume.dims[1] as i64);
        let upload =
            store(&state, &user, filename, bytes, content_type, size, Described::Volume(volume))
                .await?;
        return Ok((StatusCode::CREATED, Json(upload)));
    }
    if model.is_some() {
        return stored_model(&state, &user, filename, bytes).await;
    }
    // The header says what checking the whole file costs; that much of the process's decode
    // budget is held while it runs, so parallel bombs cannot add up.
    let (probe, bytes) = tokio::task::spawn_blocking(move || {
        (decode::probe_cost(&bytes, DecodeLimits::default()), bytes)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let probe = probe?;
    let reservation = reserve(&state, probe.validation_bytes).await?;
    // Decode it all (on a blocking thread) so that a truncated file is refused now, not later.
    let bytes = tokio::task::spawn_blocking(move || {
        let checked = decode::validate_bytes(&bytes, DecodeLimits::default());
        drop(reservation);
        checked.map(|_| bytes)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let content_type = probe.format.to_mime_type();
    let size = (i64::from(probe.width), i64::from(probe.height));
    let upload =
        store(&state, &user, filename, bytes, content_type, size, Described::Image).await?;
    Ok((StatusCode::CREATED, Json(upload)))
}

/// Reads and inspects a 3D file, under the engine's limits and the decode budget, then stores
/// it. A file the engine refuses gets its 4xx.
async fn stored_model(
    state: &AppState,
    user: &User,
    filename: String,
    bytes: Vec<u8>,
) -> ApiResult<(StatusCode, Json<UploadView>)> {
    let (inspection, bytes) = check_model(state, bytes).await?;
    let content_type = inspection.format.content_type();
    let upload =
        store(state, user, filename, bytes, content_type, (0, 0), Described::Model(inspection))
            .await?;
    Ok((StatusCode::CREATED, Json(upload)))
}

/// Reads a 3D file whole and inspects it on a blocking thread, holding the decode budget for
/// what reading and analysing it takes (about 200 bytes a triangle, and a triangle takes at
/// least 12 bytes of file); gives the bytes back.
async fn check_model(state: &AppState, bytes: Vec<u8>) -> ApiResult<(Inspection, Vec<u8>)> {
    let estimate = (bytes.len() as u64).saturating_mul(16).max(64 << 20);
    let reservation = reserve(state, estimate).await?;
    let (inspected, bytes) = tokio::task::spawn_blocking(move || {
        let read = lithos_engine::model::read(&bytes, Units::Mm, ModelLimits::default());
        let inspected = read.map(|loaded| Inspection::of(&loaded));
        drop(reservation);
        (inspected, bytes)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok((inspected?, bytes))
}

/// Reads a font whole on a blocking thread (a font is at most 32 MiB, and parsing it reads
/// its tables in place); gives the bytes back.
async fn check_font(state: &AppState, bytes: Vec<u8>) -> ApiResult<(FontInfo, Vec<u8>)> {
    let reservation = reserve(state, bytes.len() as u64).await?;
    let (described, bytes) = tokio::task::spawn_blocking(move || {
        let described = FontInfo::of(&bytes);
        drop(reservation);
        (described, bytes)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok((described?, bytes))
}

/// What an upload holds, described.
enum Described {
    Image,
    Volume(VolumeInfo),
    Model(Inspection),
    Font(FontInfo),
}

/// The description columns of an upload: `volume`, `model` and `font`, each JSON or NULL.
struct Columns {
    volume: Option<String>,
    model: Option<String>,
    font: Option<String>,
}

impl Described {
    fn columns(&self) -> Columns {
        let json = |value: Result<String, serde_json::Error>| Some(value.expect("serialises"));
        let mut columns = Columns { volume: None, model: None, font: None };
        match self {
            Described::Image => {}
            Described::Volume(volume) => columns.volume = json(serde_json::to_string(volume)),
            Described::Model(model) => columns.model = json(serde_json::to_string(model)),
            Described::Font(font) => columns.font = json(serde_json::to_string(font)),
        }
        columns
    }
}

/// The account's plan's upload limit, never above the server's, and the plan's name.
async fn plan_upload_limit(state: &AppState, user: &User) -> ApiResult<(u64, String)> {
    let mut conn = state.db.pool.acquire().await?;
    let billing = &state.config.billing;
    crate::billing::plans::upload_limit(&mut conn, billing, &user.id, state.config.max_upload_bytes)
        .await
}

/// 413, naming the plan when its limit is the one exceeded.
fn too_large(state: &AppState, limit: u64, plan: String) -> ApiError {
    if limit < state.config.max_upload_bytes {
        ApiError::TooLargeForPlan { limit_mb: limit >> 20, plan }
    } else {
        ApiError::TooLarge { limit_mb: limit >> 20 }
    }
}

/// `bytes` of the process's decode budget, waiting a moment for it; 503 when it stays full.
pub(crate) async fn reserve(
    state: &AppState,
    bytes: u64,
) -> ApiResult<crate::decode_budget::Reservation> {
    state.decode_budget.try_reserve(bytes, state.config.decode_wait).await.ok_or_else(|| {
        ApiError::Busy {
            message: "the server is decoding as many files as its memory allows; try again in \
                      a few seconds"
                .into(),
            retry_after: 2,
        }
    })
}

/// The `raw_dims` (`X,Y,Z`) and `raw_type` fields of a raw volume upload, both or neither.
fn raw_shape(dims: Option<&str>, sample: Option<&str>) -> ApiResult<Option<RawShape>> {
    let (dims, sample) = match (dims, sample) {
        (None, None) => return Ok(None),
        (Some(_), None) => {
            return Err(ApiError::invalid(
                "raw_type",
                "a raw upload needs `raw_type` beside `raw_dims`",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid(
                "raw_dims",
                "a raw upload needs `raw_dims` beside `raw_type`",
            ));
        }
        (Some(d), Some(t)) => (d, t),
    };
    let parsed: Vec<u64> = dims
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|v| v.trim().parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| ApiError::invalid("raw_dims", "must be three whole numbers, X,Y,Z"))?;
    let dims: [u64; 3] = parsed
        .try_into()
        .map_err(|_| ApiError::invalid("raw_dims", "must be three whole numbers, X,Y,Z"))?;
    if dims.contains(&0) {
        return Err(ApiError::invalid("raw_dims", "every dimension must be at least 1"));
    }
    let sample: RawType = sample.parse()?;
    Ok(Some(RawShape { dims, sample }))
}

/// Reads a volume whole, under the engine's limits and the decode budget, and describes it;
/// gives the bytes back. A file the engine refuses gets its 4xx.
async fn check_volume(
    state: &AppState,
    bytes: Vec<u8>,
    raw: Option<RawShape>,
) -> ApiResult<(VolumeInfo, Vec<u8>)> {
    // The samples' size is known for raw files; otherwise allow for compression.
    let estimate = match raw {
        Some(shape) => shape.dims.iter().product::<u64>().saturating_mul(4),
        None => (bytes.len() as u64).saturating_mul(8).max(64 << 20),
    };
    let reservation = reserve(state, estimate).await?;
    let (described, bytes) = tokio::task::spawn_blocking(move || {
        let described = (|| {
            let mut file = tempfile::NamedTempFile::new()?;
            std::io::Write::write_all(&mut file, &bytes)?;
            anyhow::Ok(crate::volumes::describe(file.path(), raw, DecodeLimits::default()))
        })();
        drop(reservation);
        (described, bytes)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    let volume = described.map_err(ApiError::Internal)??;
    Ok((volume, bytes))
}

/// Stores a checked upload and records it, ready.
async fn store(
    state: &AppState,
    user: &User,
    filename: String,
    bytes: Vec<u8>,
    content_type: &str,
    (width, height): (i64, i64),
    described: Described,
) -> ApiResult<UploadView> {
    let columns = described.columns();
    let (volume, model, font) = match described {
        Described::Image => (None, None, None),
        Described::Volume(volume) => (Some(volume), None, None),
        Described::Model(model) => (None, Some(model), None),
        Described::Font(font) => (None, None, Some(font)),
    };
    let id = new_id();
    let key = upload_key(&user.id, &id);
    let size = bytes.len();
    state.storage.put(&key, bytes, content_type).await?;
    let now = now_ms();
    let _gate = state.db.write_gate().await;
    sqlx::query(
        "INSERT INTO uploads (id, user_id, storage_key, filename, content_type, bytes, width, height, volume, model, font, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(&key)
    .bind(&filename)
    .bind(content_type)
    .bind(size as i64)
    .bind(width)
    .bind(height)
    .bind(columns.volume)
    .bind(columns.model)
    .bind(columns.font)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    Ok(UploadView {
        id,
        filename,
        content_type: content_type.to_owned(),
        bytes: size as i64,
        width,
        height,
        state: "ready".into(),
        created_at: now,
        volume,
        model,
        font,
    })
}

#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "tasks", params(("id" = String, Path)), responses((status = 200, description = "The upload's name, type, size and pixels", body = UploadView), (status = 404, description = "No such upload of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<UploadView>> {
    Ok(Json(find(&state, &user, &id).await?.view()))
}

/// Where a user's upload is stored.
fn upload_key(user_id: &str, upload_id: &str) -> String {
    format!("users/{user_id}/uploads/{upload_id}")
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    storage_key: String,
    filename: String,
    content_type: String,
    bytes: i64,
    width: i64,
    height: i64,
    state: String,
    created_at: i64,
    volume: Option<String>,
    model: Option<String>,
    font: Option<String>,
}

impl Row {
    fn view(&self) -> UploadView {
        UploadView {
            id: self.id.clone(),
            filename: self.filename.clone(),
            content_type: self.content_type.clone(),
            bytes: self.bytes,
            width: self.width,
            height: self.height,
            state: self.state.clone(),
            created_at: self.created_at,
            volume: self.volume.as_deref().and_then(|v| serde_json::from_str(v).ok()),
            model: self.model.as_deref().and_then(|m| serde_json::from_str(m).ok()),
            font: self.font.as_deref().and_then(|f| serde_json::from_str(f).ok()),
        }
    }
}

async fn find(state: &AppState, user: &User, id: &str) -> ApiResult<Row> {
    sqlx::query_as(
        "SELECT id, storage_key, filename, content_type, bytes, width, height, \
         CASE WHEN deleted_at IS NULL AND sweep_started_at IS NULL THEN state ELSE 'deleted' END \
         AS state, created_at, volume, model, font FROM uploads WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(&user.id)
    .fetch_optional(&state.db.pool)
    .await?
    .ok_or(ApiError::NotFound)
}
