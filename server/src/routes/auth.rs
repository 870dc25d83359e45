//! Registration, login and logout with email and password; a session cookie on success.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::{
    Client, Email, SESSION_MS, User, Via, check_password, hash_password, new_secret,
    session_cookie, verify_password,
};
use crate::credits;
use crate::error::{ApiError, ApiResult};
use crate::ids::UserId;
use crate::limits::{self, Rule};
use crate::routes::account::profile;
use crate::{AppState, now_ms};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Register {
    email: String,
    password: String,
    name: String,
    /// `YYYY-MM-DD`. Checked and dropped: only the time of the confirmation is kept.
    birth_date: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

/// Creates the account with its free grant, and signs it in.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "accounts", request_body = Register, responses((status = 201, description = "Created and signed in", body = crate::openapi::Profile), (status = 409, description = "Email taken", body = crate::openapi::ErrorBody), (status = 403, description = "The person is under the minimum age; nothing was stored", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Register>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body?;
    // First, before anything about the person is read or kept (even by the rate limiter).
    if !crate::age::old_enough_today(&body.birth_date)? {
        return Err(ApiError::Forbidden(crate::age::REFUSAL.into()));
    }
    limits::take_now(&state.db, &Rule::sign_up_per_ip(), &peer.ip().to_string(), 1).await?;
    limits::take_now(&state.db, &Rule::per_account(), &Email::limit_key(&body.email), 1).await?;
    let email = Email::parse(&body.email)?;
    check_password(&body.password)?;
    let name = crate::text::clean("name", &body.name, 100)?;
    let hash = hash_password(body.password).await?;
    let id = UserId::generate();
    let mut tx = state.db.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, email_lower, name, password_hash, role, created_at, \
         age_confirmed_at) VALUES ($1, $2, $3, $4, $5, 'user', $6, $6) \
         ON CONFLICT (email_lower) DO NOTHING",
    )
    .bind(&id)
    .bind(email.as_str())
    .bind(email.key())
    .bind(&name)
    .bind(&hash)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(ApiError::Conflict("an account with this email exists; log in instead".into()));
    }
    credits::welcome(&mut tx, &id, state.config.free_credits).await?;
    tx.commit().await?;
    crate::verification::send_verification(&state, &id, email.as_str()).await?;
    let cookie = start_session(&state, &id, &Client::of(peer, &headers)).await?;
    let me = profile(&state, &id).await?;
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "accounts", request_body = Login, responses((status = 200, description = "Signed in", body = crate::openapi::Profile), (status = 401, description = "Wrong email or password", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body?;
    limits::sign_in(&state.db, peer.ip(), &Email::limit_key(&body.email)).await?;
    let email = Email::parse(&body.email).map_err(|_| ApiError::BadCredentials)?;
    let row: Option<(String, String, Option<i64>)> =
        sqlx::query_as("SELECT id, password_hash, disabled_at FROM users WHERE email_lower = $1")
            .bind(email.key())
            .fetch_optional(&state.db.pool)
            .await?;
    let Some((id, hash, disabled_at)) = row else {
        // As slow as a wrong password, so the time does not tell whether the account exists.
        verify_password(body.password, crate::auth::dummy_hash().to_owned()).await?;
        return Err(ApiError::BadCredentials);
    };
    if !verify_password(body.password, hash).await? {
        return Err(ApiError::BadCredentials);
    }
    if disabled_at.is_some() {
        return Err(ApiError::Forbidden(
            "this account is disabled; contact support to have it enabled".into(),
        ));
    }
    let cookie = start_session(&state, &id, &Client::of(peer, &headers)).await?;
    let me = profile(&state, &id).await?;
    Ok(([(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "accounts", responses((status = 200, description = "Signed out", body = crate::openapi::Done), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, user: User) -> ApiResult<Response> {
    if let Via::Session(hash) = &user.via {
        let _gate = state.db.write_gate().await;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(hash)
            .execute(&state.db.pool)
            .await?;
    }
    let cookie = session_cookie("", state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Json(crate::openapi::Done { ok: true })).into_response())
}

/// A new session for `user_id`, started from `client`; returns the `Set-Cookie` value.
pub(crate) async fn start_session(
    state: &AppState,
    user_id: &str,
    client: &Client,
) -> ApiResult<String> {
    let (token, hash) = new_secret();
    let now = now_ms();
    let _gate = state.db.write_gate().await;
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, id, last_seen_at, \
         ip, user_agent) VALUES ($1, $2, $3, $4, $5, $3, $6, $7)",
    )
    .bind(&hash)
    .bind(user_id)
    .bind(now)
    .bind(now + SESSION_MS)
    .bind(crate::new_id())
    .bind(&client.ip)
    .bind(&client.user_agent)
    .execute(&state.db.pool)
    .await?;
    Ok(session_cookie(&token, state.config.secure_cookies))
}
