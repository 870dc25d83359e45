//! The API's one error type. Each variant says its status; the body is always
//! `{"error": {"code", "message", "field"?}}`. Database and internal errors are logged with
//! their detail and shown to the client as a plain 500 without it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lithos_engine::EngineError;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed (bad JSON, missing multipart field).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid session or key.
    #[error("sign in or send a valid API key")]
    Unauthorized,
    /// 401: wrong email or password.
    #[error("the email or password is wrong")]
    BadCredentials,
    /// 402: not enough credits.
    #[error(
        "this task costs {cost} credits and the balance is {balance}; buy credits or choose a smaller grid"
    )]
    InsufficientCredits { cost: i64, balance: i64 },
    /// 402: an administrator's adjustment would take the balance below zero.
    #[error(
        "taking {take} credits would leave the balance below zero: it is {balance}, so at most \
         {balance} can be taken back"
    )]
    WouldOverdraw { take: i64, balance: i64 },
    /// 402: the account is on a billing hold (a disputed payment it could not cover).
    #[error("{0}")]
    BillingHold(String),
    /// 401: a webhook whose signature does not verify.
    #[error("the webhook signature is missing or does not match")]
    BadSignature,
    /// 403: signed in, but not allowed (admin routes, cross-site requests).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such thing, or not yours.
    #[error("not found")]
    NotFound,
    /// 409: conflicts with existing state (email taken, idempotency key reused).
    #[error("{0}")]
    Conflict(String),
    /// 410: it existed, and retention deleted it.
    #[error("{0}")]
    Gone(String),
    /// 408: the request body came slower than the server's minimum rate.
    #[error("{0}")]
    TooSlow(String),
    /// 413: the upload is over the size limit.
    #[error("the upload is over the {limit_mb} MB limit")]
    TooLarge { limit_mb: u64 },
    /// 413: the upload is over the account's plan's limit.
    #[error(
        "the upload is over the {limit_mb} MB the {plan} plan allows (max_upload_mb); change plans for larger files"
    )]
    TooLargeForPlan { limit_mb: u64, plan: String },
    /// 413: a JSON body is over the size limit.
    #[error("the request body is over the {limit_mb} MB limit")]
    BodyTooLarge { limit_mb: u64 },
    /// 415: not an image Lithos can read.
    #[error("{0}")]
    Unsupported(String),
    /// 422: a field is invalid; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// 429: over an abuse limit, which `limit` names; retry after the given seconds.
    #[error("too many requests ({limit}); try again in {retry_after} seconds")]
    RateLimited { limit: String, retry_after: u64 },
    /// 429: too much in progress at once (uploads of one user); retry after the given seconds.
    #[error("{message}")]
    TooManyAtOnce { message: String, retry_after: u64 },
    /// 503: the server is at capacity for this kind of work; retry after the given seconds.
    #[error("{message}")]
    Busy { message: String, retry_after: u64 },
    /// 500: logged in full, shown without detail.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid { field: field.into(), message: message.into() }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::InsufficientCredits { .. } | ApiError::WouldOverdraw { .. } => {
                StatusCode::PAYMENT_REQUIRED
            }
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::BillingHold(_) => StatusCode::PAYMENT_REQUIRED,
            ApiError::BadSignature => StatusCode::UNAUTHORIZED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::TooLarge { .. }
            | ApiError::TooLargeForPlan { .. }
            | ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } | ApiError::TooManyAtOnce { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadCredentials => "bad_credentials",
            ApiError::InsufficientCredits { .. } | ApiError::WouldOverdraw { .. } => {
                "insufficient_credits"
            }
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound => "not_found",
            ApiError::BillingHold(_) => "billing_hold",
            ApiError::BadSignature => "bad_signature",
            ApiError::Conflict(_) => "conflict",
            ApiError::TooSlow(_) => "too_slow",
            ApiError::Gone(_) => "gone",
            ApiError::TooLarge { .. }
            | ApiError::TooLargeForPlan { .. }
            | ApiError::BodyTooLarge { .. } => "too_large",
            ApiError::Unsupported(_) => "unsupported_media",
            ApiError::Invalid { .. } => "invalid",
            ApiError::RateLimited { .. } | ApiError::TooManyAtOnce { .. } => "rate_limited",
            ApiError::Busy { .. } => "busy",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let mut body = json!({ "code": self.code(), "message": self.to_string() });
        if let ApiError::Invalid { field, .. } = &self {
            body["field"] = json!(field);
        }
        let mut response = (self.status(), Json(json!({ "error": body }))).into_response();
        if let ApiError::RateLimited { retry_after, .. }
        | ApiError::TooManyAtOnce { retry_after, .. }
        | ApiError::Busy { retry_after, .. } = self
        {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// A body that is not JSON (400), not the expected shape (422, naming the field, as
/// [`ApiError::from_json_data`] does for every route), too large (413), or sent without a
/// JSON content type (415).
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::BodyTooLarge { limit_mb: JSON_LIMIT_MB },
            StatusCode::UNPROCESSABLE_ENTITY => ApiError::from_json_data(&e.body_text()),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::Unsupported(e.body_text()),
            _ => ApiError::BadRequest(e.body_text()),
        }
    }
}

/// axum's default limit on a request body other than an upload.
pub const JSON_LIMIT_MB: u64 = 2;

impl ApiError {
    /// A JSON body of the wrong shape: 422, naming the unknown or invalid field where serde
    /// says which (`unknown field `x``), else the body.
    pub fn from_json_data(message: &str) -> Self {
        // A request field's own check, as its type's deserializer words it (`prompt: …`).
        if let Some((field, rest)) = message.split_once(": ")
            && let Some(field) = lithos_engine::job::field(field)
        {
            return ApiError::invalid(field.name, rest.trim());
        }
        let field = message
            .split_once("unknown field `")
            .and_then(|(_, rest)| rest.split('`').next())
            .or_else(|| {
                message.split_once("missing field `").and_then(|(_, rest)| rest.split('`').next())
            })
            .unwrap_or("body")
            .to_owned();
        ApiError::invalid(field, message.trim())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl From<std::io::Error> for ApiError {
    fn from(e: std::io::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

/// The engine's verdict on a user's input, as an API error.
impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::InvalidParameter(p) => ApiError::invalid(p.field, p.message),
            EngineError::UnsupportedFormat(_) | EngineError::CorruptImage(_) => {
                ApiError::Unsupported(e.to_string())
            }
            EngineError::TooManyPixels { .. }
            | EngineError::TooMuchMemory { .. }
            | EngineError::TooSmall { .. } => ApiError::invalid("file", e.to_string()),
            // A volume Lithos cannot read at all: the wrong kind of file.
            EngineError::UnsupportedVolume(_)
            | EngineError::UnsupportedNifti(_)
            | EngineError::UnsupportedDicom(_)
            | EngineError::DicomTransferSyntax { .. } => ApiError::Unsupported(e.to_string()),
            // A volume that is broken, too large or ambiguous: the file is at fault, and the
            // message says how.
            EngineError::NoSlices(_)
            | EngineError::NotDicom(_)
            | EngineError::CorruptDicom { .. }
            | EngineError::BadSlice { .. }
            | EngineError::SliceSizeMismatch { .. }
            | EngineError::CorruptArchive(_)
            | EngineError::ZipBomb { .. }
            | EngineError::RawSizeMismatch { .. }
            | EngineError::CorruptVolume(_)
            | EngineError::NiftiShape { .. }
            | EngineError::VolumeTooLarge { .. }
            | EngineError::DicomGeometry(_)
            | EngineError::DicomGaps { .. }
            | EngineError::EmptyVolume => ApiError::invalid("file", e.to_string()),
            EngineError::SeveralSeries { .. } | EngineError::NoSuchSeries { .. } => {
                ApiError::invalid("series", e.to_string())
            }
            // The options leave nothing to mesh, or one too large: the request can change.
            EngineError::NoAlpha => ApiError::invalid("mask", e.to_string()),
            EngineError::EmptyMask { .. } => ApiError::invalid("threshold", e.to_string()),
            EngineError::EmptySurface | EngineError::MeshTooLarge => {
                ApiError::invalid("iso", e.to_string())
            }
            EngineError::SolidTooLarge { .. } => ApiError::invalid("max_grid", e.to_string()),
            // A 3D file that is broken, empty or too large: the file is at fault.
            EngineError::CorruptModel { .. }
            | EngineError::EmptyModel(_)
            | EngineError::ModelFileTooLarge { .. }
            | EngineError::TooManyTriangles { .. }
            | EngineError::ModelZipBomb { .. }
            | EngineError::ModelNotPrintable { .. } => ApiError::invalid("file", e.to_string()),
            // Text: a file that is not a font, a letter the font lacks, a field too large.
            EngineError::NotAFont(_) => ApiError::invalid("file", e.to_string()),
            EngineError::MissingGlyph { .. } => ApiError::invalid("text", e.to_string()),
            EngineError::TextTooLarge { .. } => ApiError::invalid("pixel_mm", e.to_string()),
            other => ApiError::Internal(other.into()),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
