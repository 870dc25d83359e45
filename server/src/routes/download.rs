//! Serving a stored file (a task's output, a data export): a short-lived URL where object
//! storage or its CDN serves the bytes, else the file streamed from disk.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The object at `key`, downloaded as `download_name`.
pub(crate) async fn serve(
    state: &AppState,
    key: &str,
    download_name: &str,
    content_type: &str,
) -> ApiResult<Response> {
    let ttl = state.config.url_ttl;
    let redirect = match &state.cdn {
        // The CDN's edge checks the link's token and expiry, then pulls from the bucket.
        Some(cdn) => Some(cdn.signed_url(key, ttl)),
        None => state.storage.presign_get(key, download_name, content_type, ttl).await?,
    };
    if let Some(url) = redirect {
        return Ok((
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, url), (header::CACHE_CONTROL, "no-store".to_owned())],
        )
            .into_response());
    }
    let (file, length) = state.storage.open_file(key).await?.ok_or(ApiError::NotFound)?;
    let disposition = format!("attachment; filename=\"{download_name}\"");
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CONTENT_LENGTH, length.to_string()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// Epoch milliseconds as RFC 3339, for messages.
pub(crate) fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}
