//! `POST /uploads`: one image in a multipart `file` field. The content is sniffed and decoded
//! under the engine's limits before anything is stored; a non-image or a decompression bomb
//! gets a 4xx and leaves nothing behind.

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use lithos_engine::{DecodeLimits, decode};
use serde_json::{Value, json};

use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::{AppState, new_id, now_ms};

#[utoipa::path(post, path = "/api/v1/uploads", tag = "tasks", request_body(content = crate::openapi::UploadForm, content_type = "multipart/form-data"), responses((status = 201, description = "Stored; its size in pixels", body = serde_json::Value), (status = 413, description = "Over the size limit", body = crate::openapi::ErrorBody), (status = 415, description = "Not an image Lithos reads", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: User,
    mut multipart: Multipart,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let limit = state.config.max_upload_bytes;
    let too_large = || ApiError::TooLarge { limit_mb: limit >> 20 };
    let mut file = None;
    while let Some(mut field) =
        multipart.next_field().await.map_err(|e| ApiError::BadRequest(e.body_text()))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("upload").to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(too_large());
            }
        }
        file = Some((name, bytes));
        break;
    }
    let (name, bytes) = file.ok_or_else(|| {
        ApiError::BadRequest("send the image in a multipart field named `file`".into())
    })?;
    if bytes.is_empty() {
        return Err(ApiError::invalid("file", "is empty"));
    }
    // Decode fully (on a blocking thread) so that a truncated file is refused now, not later.
    let (bytes, format, width, height) = tokio::task::spawn_blocking(move || {
        let limits = DecodeLimits::default();
        let (format, _, _) = decode::probe_bytes(&bytes, limits)?;
        let image = decode::decode_bytes(&bytes, limits)?;
        Ok::<_, lithos_engine::EngineError>((bytes, format, image.width(), image.height()))
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))??;
    let content_type = format.to_mime_type().to_owned();
    let id = new_id();
    let key = format!("uploads/{id}");
    state.storage.put(&key, &bytes).await?;
    let filename: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    sqlx::query(
        "INSERT INTO uploads (id, user_id, storage_key, filename, content_type, bytes, width, height, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(&key)
    .bind(&filename)
    .bind(&content_type)
    .bind(bytes.len() as i64)
    .bind(i64::from(width))
    .bind(i64::from(height))
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": id, "filename": filename, "content_type": content_type,
            "bytes": bytes.len(), "width": width, "height": height,
        })),
    ))
}

#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "tasks", params(("id" = String, Path)), responses((status = 200, description = "The upload's name, type, size and pixels", body = serde_json::Value), (status = 404, description = "No such upload of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Value>> {
    let row: Option<(String, String, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT id, filename, content_type, bytes, width, height, created_at FROM uploads \
         WHERE id = $1 AND user_id = $2",
    )
    .bind(&id)
    .bind(&user.id)
    .fetch_optional(&state.db.pool)
    .await?;
    let (id, filename, content_type, bytes, width, height, created_at) =
        row.ok_or(ApiError::NotFound)?;
    Ok(Json(json!({
        "id": id, "filename": filename, "content_type": content_type, "bytes": bytes,
        "width": width, "height": height, "created_at": created_at,
    })))
}
