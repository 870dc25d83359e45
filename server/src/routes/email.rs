//! Email links: confirming an address, asking for another confirmation, and resetting a
//! forgotten password. The work is in `crate::verification`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Email, User};
use crate::error::{ApiError, ApiResult};
use crate::openapi::Done;
use crate::verification::{self, Verified};

/// A token from an email link.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Token {
    token: String,
}

#[utoipa::path(post, path = "/api/v1/auth/verify", tag = "accounts", request_body = Token, responses((status = 200, description = "The address is confirmed, or the account moved to it", body = Verified), (status = 409, description = "Another account took the new address meanwhile", body = crate::openapi::ErrorBody), (status = 422, description = "The link expired or was used", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<Token>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Verified>> {
    let Json(body) = body?;
    crate::limits::sign_in(&state.db, peer.ip(), &token_key(&body.token)).await?;
    Ok(Json(verification::confirm(&state, &body.token).await?))
}

#[utoipa::path(post, path = "/api/v1/me/verify", tag = "accounts", responses((status = 202, description = "A new confirmation link is on its way", body = Done), (status = 409, description = "The address is already confirmed", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn resend(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: User,
) -> ApiResult<(StatusCode, Json<Done>)> {
    crate::limits::sign_in(&state.db, peer.ip(), &format!("verify:{}", user.id)).await?;
    let (email, verified): (String, Option<i64>) =
        sqlx::query_as("SELECT email, email_verified_at FROM users WHERE id = $1")
            .bind(&user.id)
            .fetch_one(&state.db.pool)
            .await?;
    if verified.is_some() {
        return Err(ApiError::Conflict("this email address is already confirmed".into()));
    }
    verification::send_verification(&state, &user.id, &email).await?;
    Ok((StatusCode::ACCEPTED, Json(Done { ok: true })))
}

/// The address of an account whose password is forgotten.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    email: String,
}

/// The reset link's token and the new password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reset {
    token: String,
    password: String,
}

/// The same answer whether or not an account has the address.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "accounts", request_body = ResetRequest, responses((status = 202, description = "If an account has this address, a link is on its way", body = Done), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody)))]
pub async fn request_reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<ResetRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Done>)> {
    let Json(body) = body?;
    let ip = peer.ip().to_string();
    crate::limits::take_now(&state.db, &crate::limits::Rule::reset_per_ip(), &ip, 1).await?;
    let account = format!("reset:{}", Email::limit_key(&body.email));
    crate::limits::take_now(&state.db, &crate::limits::Rule::per_account(), &account, 1).await?;
    verification::request_reset(&state, &body.email).await?;
    Ok((StatusCode::ACCEPTED, Json(Done { ok: true })))
}

/// Sets the new password; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "accounts", request_body = Reset, responses((status = 200, description = "The password is set; sign in with it", body = Done), (status = 422, description = "The link expired or was used, or the password is too short", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody)))]
pub async fn reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<Reset>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Done>> {
    let Json(body) = body?;
    crate::limits::sign_in(&state.db, peer.ip(), &token_key(&body.token)).await?;
    verification::reset(&state, &body.token, body.password).await?;
    Ok(Json(Done { ok: true }))
}

/// The rate limiter's key for attempts with one token.
fn token_key(token: &str) -> String {
    format!("token:{}", &crate::auth::sha256(token.trim())[..16])
}
