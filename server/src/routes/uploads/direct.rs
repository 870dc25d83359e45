//! Uploads direct to object storage: `POST /uploads/presign` answers a presigned PUT for
//! exactly the announced length; `POST /uploads/{id}/complete` checks the object as
//! `POST /uploads` checks a file, and only then makes the upload usable. A refused object is
//! deleted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use lithos_engine::text::FontInfo;
use lithos_engine::{DecodeLimits, decode};
use serde::Deserialize;

use super::{Described, Row, UploadView, check_font, check_model, check_volume, find};
use super::{plan_upload_limit, too_large, upload_key};
use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::{AppState, new_id, now_ms};

/// A direct upload waiting for its file: send it with `upload`, then complete it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PresignedUpload {
    pub id: String,
    /// `pending`.
    pub state: String,
    pub upload: crate::storage::Presigned,
    /// When the URL stops working, in milliseconds since the Unix epoch.
    pub expires_at: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Presign {
    /// The file's name, kept for downloads.
    filename: String,
    /// The exact size of the file in bytes; the URL accepts no other length.
    bytes: u64,
    /// The `Content-Type` the PUT will send; `application/octet-stream` when absent.
    content_type: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/uploads/presign", tag = "tasks", request_body = Presign, responses((status = 201, description = "A pending upload and the presigned PUT to send the file with", body = PresignedUpload), (status = 429, description = "Over the plan's uploads a minute or megabytes a day; retry after `Retry-After`", body = crate::openapi::ErrorBody), (status = 409, description = "The server stores files on local disk, which takes uploads through POST /uploads only", body = crate::openapi::ErrorBody), (status = 413, description = "Over the size limit", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn presign(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<Presign>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<PresignedUpload>)> {
    let Json(body) = body?;
    let (limit, plan) = plan_upload_limit(&state, &user).await?;
    if body.bytes == 0 {
        return Err(ApiError::invalid("bytes", "must be above zero"));
    }
    if body.bytes > limit {
        return Err(too_large(&state, limit, plan));
    }
    let billing = &state.config.billing;
    crate::billing::plans::admit_upload(&state.db, billing, &user.id, body.bytes).await?;
    let content_type = body.content_type.unwrap_or_else(|| "application/octet-stream".into());
    if content_type.is_empty()
        || content_type.len() > 100
        || !content_type.chars().all(|c| c.is_ascii_graphic() || c == ' ')
    {
        return Err(ApiError::invalid("content_type", "must be a media type such as image/png"));
    }
    let filename = crate::text::clean("filename", &body.filename, 200)?;
    let id = new_id();
    let key = upload_key(&user.id, &id);
    let ttl = state.config.url_ttl;
    let request =
        state.storage.presign_put(&key, body.bytes, &content_type, ttl).await?.ok_or_else(
            || {
                ApiError::Conflict(
                    "direct uploads need object storage (--storage s3://BUCKET); send the file to \
                 POST /api/v1/uploads instead"
                        .into(),
                )
            },
        )?;
    let now = now_ms();
    let _gate = state.db.write_gate().await;
    sqlx::query(
        "INSERT INTO uploads (id, user_id, storage_key, filename, content_type, bytes, width, \
         height, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 'pending', $7)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(&key)
    .bind(&filename)
    .bind(&content_type)
    .bind(body.bytes as i64)
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(PresignedUpload {
            id,
            state: "pending".into(),
            upload: request,
            expires_at: now + ttl.as_millis() as i64,
        }),
    ))
}

/// How much of a direct upload `complete` reads to find its format and size.
const HEADER_BYTES: u64 = 1 << 20;

#[utoipa::path(post, path = "/api/v1/uploads/{id}/complete", tag = "tasks", params(("id" = String, Path)), responses((status = 200, description = "Checked and ready; its size in pixels", body = UploadView), (status = 404, description = "No such upload of yours", body = crate::openapi::ErrorBody), (status = 409, description = "Nothing was uploaded to the URL yet", body = crate::openapi::ErrorBody), (status = 413, description = "Over the size limit", body = crate::openapi::ErrorBody), (status = 415, description = "Not an image Lithos reads", body = crate::openapi::ErrorBody), (status = 422, description = "The file is not what was announced", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn complete(
    State(state): State<AppState>,
    user: User,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<UploadView>> {
    let row = find(&state, &user, &id).await?;
    if row.state == "ready" {
        return Ok(Json(row.view()));
    }
    if row.state == "deleted" {
        return Err(ApiError::Conflict(
            "the upload was deleted after its retention period; upload the file again".into(),
        ));
    }
    let Some(size) = state.storage.size(&row.storage_key).await? else {
        return Err(ApiError::Conflict(
            "nothing was uploaded yet: PUT the file to the presigned URL first".into(),
        ));
    };
    let limit = state.config.max_upload_bytes;
    if size > limit {
        return refuse(&state, &row, ApiError::TooLarge { limit_mb: limit >> 20 }).await;
    }
    if size != row.bytes as u64 {
        return refuse(
            &state,
            &row,
            ApiError::invalid(
                "bytes",
                format!("{size} bytes were uploaded but {} were announced", row.bytes),
            ),
        )
        .await;
    }
    let header = state.storage.get_prefix(&row.storage_key, HEADER_BYTES).await?;
    // A 3D file or a volume is read whole, as through `POST /uploads`; an image's header
    // is enough.
    let font = lithos_engine::text::font::sniff(&header);
    let model = lithos_engine::model::sniff_prefix(&header, size).is_some();
    let volume = lithos_engine::volume::sniff(&header);
    let checked = if font {
        let bytes = state.storage.get(&row.storage_key).await?;
        check_font(&state, bytes)
            .await
            .map(|(font, bytes)| (FontInfo::content_type(&bytes), (0, 0), Described::Font(font)))
    } else if model {
        let bytes = state.storage.get(&row.storage_key).await?;
        check_model(&state, bytes).await.map(|(inspection, _)| {
            let content_type = inspection.format.content_type();
            (content_type, (0, 0), Described::Model(inspection))
        })
    } else if let Some(content_type) = volume {
        let bytes = state.storage.get(&row.storage_key).await?;
        check_volume(&state, bytes, None).await.map(|(volume, _)| {
            let size = (volume.dims[0] as i64, volume.dims[1] as i64);
            (content_type, size, Described::Volume(volume))
        })
    } else {
        tokio::task::spawn_blocking(move || decode::probe_bytes(&header, DecodeLimits::default()))
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
            .map(|(format, width, height)| {
                let size = (i64::from(width), i64::from(height));
                (format.to_mime_type(), size, Described::Image)
            })
            .map_err(ApiError::from)
    };
    let (content_type, (width, height), described) = match checked {
        Ok(checked) => checked,
        // A full budget or a storage failure while reading it whole is not the file's fault.
        Err(e @ (ApiError::Busy { .. } | ApiError::Internal(_)))
            if font || model || volume.is_some() =>
        {
            return Err(e);
        }
        Err(e) => return refuse(&state, &row, e).await,
    };
    let columns = described.columns();
    let _gate = state.db.write_gate().await;
    sqlx::query(
        "UPDATE uploads SET state = 'ready', content_type = $1, width = $2, height = $3, \
         volume = $4, model = $5, font = $6 WHERE id = $7 AND state = 'pending'",
    )
    .bind(content_type)
    .bind(width)
    .bind(height)
    .bind(columns.volume)
    .bind(columns.model)
    .bind(columns.font)
    .bind(&row.id)
    .execute(&state.db.pool)
    .await?;
    drop(_gate);
    Ok(Json(find(&state, &user, &id).await?.view()))
}

/// Deletes a refused direct upload, object and record, and answers `error`.
async fn refuse(state: &AppState, row: &Row, error: ApiError) -> ApiResult<Json<UploadView>> {
    state.storage.delete(&row.storage_key).await?;
    let _gate = state.db.write_gate().await;
    sqlx::query("DELETE FROM uploads WHERE id = $1").bind(&row.id).execute(&state.db.pool).await?;
    Err(error)
}
