//! The account's avatar: an uploaded image, sniffed and decoded under limits, cropped to its
//! central square, resized to 256 px and stored as PNG through the storage interface
//! (`users/<id>/avatar/<version>.png`). `avatar_url` then points at `GET /api/v1/me/avatar`
//! with the version, so the picture can be cached for good and a new one is fetched anew.
//! It goes with the account, and into its export.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::auth::User;
use crate::error::{ApiError, ApiResult};
use crate::openapi::Profile;
use crate::routes::account::profile;

/// The side of a stored avatar, in pixels.
pub const SIDE: u32 = 256;
/// The largest avatar upload.
pub const MAX_BYTES: usize = 10 << 20;

/// An avatar upload: one image in the field `file`.
#[derive(Debug, utoipa::ToSchema)]
#[expect(dead_code, reason = "describes the multipart form")]
pub struct AvatarForm {
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// `bytes` as a `SIDE` x `SIDE` PNG: decoded under limits (64 megapixels, 512 MB), its central
/// square, resized.
pub fn square_png(bytes: &[u8]) -> ApiResult<Vec<u8>> {
    use lithos_engine::DecodeLimits;
    let limits = DecodeLimits { max_pixels: 64 << 20, max_alloc_bytes: 512 << 20 };
    let image = lithos_engine::decode::decode_bytes(bytes, limits)
        .map_err(|e| {
            ApiError::Unsupported(format!("the avatar is not an image Lithos can read: {e}"))
        })?
        .into_rgba8();
    let side = image.width().min(image.height());
    let (x, y) = ((image.width() - side) / 2, (image.height() - side) / 2);
    let square = image::imageops::crop_imm(&image, x, y, side, side).to_image();
    let small = image::imageops::resize(&square, SIDE, SIDE, image::imageops::FilterType::Lanczos3);
    let mut png = std::io::Cursor::new(Vec::new());
    small
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("encoding an avatar: {e}")))?;
    Ok(png.into_inner())
}

#[utoipa::path(post, path = "/api/v1/me/avatar", tag = "accounts", request_body(content = AvatarForm, content_type = "multipart/form-data"), responses((status = 200, description = "Stored; `avatar_url` points at it", body = Profile), (status = 400, description = "No `file` field", body = crate::openapi::ErrorBody), (status = 413, description = "Over 10 MB", body = crate::openapi::ErrorBody), (status = 415, description = "Not an image", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    user: User,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Json<Profile>> {
    let mut multipart = multipart.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let too_large = || ApiError::TooLarge { limit_mb: (MAX_BYTES >> 20) as u64 };
    let body_error = |e| crate::routes::uploads::multipart_error(e, too_large);
    let mut bytes: Option<Bytes> = None;
    while let Some(field) = multipart.next_field().await.map_err(body_error)? {
        if field.name() == Some("file") {
            bytes = Some(field.bytes().await.map_err(body_error)?);
        }
    }
    let bytes =
        bytes.ok_or_else(|| ApiError::BadRequest("send the image in the field `file`".into()))?;
    let png = tokio::task::spawn_blocking(move || square_png(&bytes))
        .await
        .map_err(|e| ApiError::Internal(e.into()))??;
    let version = crate::new_id();
    let key = format!("users/{}/avatar/{version}.png", user.id);
    state.storage.put(&key, png, "image/png").await?;
    let url = format!("/api/v1/me/avatar?v={version}");
    set(&state, &user.id, Some(&key), Some(&url)).await?;
    Ok(Json(profile(&state, &user.id).await?))
}

/// Sets the account's avatar: a stored one (`key`, with the `url` that serves it), a URL
/// elsewhere (`key` None), or none. A stored avatar it replaces is deleted after the row has
/// moved on, so no row ever points at a missing file.
pub(crate) async fn set(
    state: &AppState,
    user: &str,
    key: Option<&str>,
    url: Option<&str>,
) -> ApiResult<()> {
    let old: Option<String> = {
        let mut tx = state.db.write().await?;
        let old = sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE users SET avatar_key = $1, avatar_url = $2 WHERE id = $3")
            .bind(key)
            .bind(url)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        old
    };
    if let Some(old) = old.filter(|old| Some(old.as_str()) != key) {
        state.storage.delete(&old).await?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/v1/me/avatar", tag = "accounts", responses((status = 200, description = "The avatar, a 256 x 256 PNG", content_type = "image/png"), (status = 304, description = "Not modified"), (status = 404, description = "No uploaded avatar", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let key: Option<String> = sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(&state.db.pool)
        .await?;
    let key = key.ok_or(ApiError::NotFound)?;
    let etag =
        format!("\"{}\"", key.rsplit('/').next().unwrap_or_default().trim_end_matches(".png"));
    let cache = "private, max-age=31536000, immutable";
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache.to_owned())],
        )
            .into_response());
    }
    let png = state.storage.get(&key).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache.to_owned()),
        ],
        png,
    )
        .into_response())
}

#[utoipa::path(delete, path = "/api/v1/me/avatar", tag = "accounts", responses((status = 200, description = "Removed", body = Profile), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn remove(State(state): State<AppState>, user: User) -> ApiResult<Json<Profile>> {
    set(&state, &user.id, None, None).await?;
    Ok(Json(profile(&state, &user.id).await?))
}
