//! The user's privacy rights over their own account: exporting their data, correcting their
//! email address, and deleting the account. The work is done in `crate::privacy`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Email, User, verify_password};
use crate::error::{ApiError, ApiResult};
use crate::privacy::deletion::{self, By, Deleted};
use crate::privacy::export::{self, ExportView};

#[utoipa::path(post, path = "/api/v1/me/export", tag = "privacy", responses((status = 202, description = "The export is being made; poll it", body = ExportView), (status = 409, description = "An export is already being made", body = crate::openapi::ErrorBody), (status = 429, description = "Too many exports today", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn start_export(
    State(state): State<AppState>,
    user: User,
) -> ApiResult<(StatusCode, Json<ExportView>)> {
    Ok((StatusCode::ACCEPTED, Json(export::start(&state, &user.id).await?)))
}

#[utoipa::path(get, path = "/api/v1/me/exports/{id}", tag = "privacy", params(("id" = String, Path)), responses((status = 200, description = "The export; `download_url` once ready", body = ExportView), (status = 404, description = "No such export of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get_export(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> ApiResult<Json<ExportView>> {
    Ok(Json(export::view(&state, &user.id, &id).await?))
}

#[utoipa::path(get, path = "/api/v1/me/exports/{id}/download", tag = "privacy", params(("id" = String, Path)), responses((status = 200, description = "The ZIP", content_type = "application/zip"), (status = 307, description = "With object storage: a presigned URL of the ZIP, valid for at most 15 minutes"), (status = 404, description = "No such export of yours", body = crate::openapi::ErrorBody), (status = 409, description = "Not ready", body = crate::openapi::ErrorBody), (status = 410, description = "Expired and deleted", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn download_export(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let key = export::ready_key(&state, &user.id, &id).await?;
    super::download::serve(&state, &key, "lithos-export.zip", "application/zip").await
}

/// A new email address, confirmed by the password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailChange {
    email: String,
    /// The password; an account without one is confirmed by a recent sign-in instead.
    #[serde(default)]
    password: String,
}

/// A change waiting for its link to be followed.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PendingEmail {
    /// Where the confirmation link went; the account moves there when it is followed.
    pub pending_email: String,
}

#[utoipa::path(post, path = "/api/v1/me/email", tag = "privacy", request_body = EmailChange, responses((status = 202, description = "A confirmation link went to the new address; the account moves there when it is followed, and the old address is told", body = PendingEmail), (status = 409, description = "Another account has this email", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid, or the password is wrong", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn change_email(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: User,
    body: Result<Json<EmailChange>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<PendingEmail>)> {
    let Json(body) = body?;
    crate::limits::sign_in(&state.db, peer.ip(), &format!("email-change:{}", user.id)).await?;
    let email = Email::parse(&body.email)?;
    confirm_password(&state, &user, body.password).await?;
    let taken: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE email_lower = $1 AND id <> $2")
            .bind(email.key())
            .bind(&user.id)
            .fetch_optional(&state.db.pool)
            .await?;
    if taken.is_some() {
        return Err(ApiError::Conflict("another account uses this email".into()));
    }
    crate::verification::send_change(&state, &user.id, &email).await?;
    Ok((StatusCode::ACCEPTED, Json(PendingEmail { pending_email: email.as_str().to_owned() })))
}

/// The password, to confirm an irreversible or identity-changing request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// The account's password. An account without one (made through a login provider) is
    /// confirmed instead by a sign-in within the last ten minutes.
    #[serde(default)]
    password: String,
}

/// How recent a sign-in confirms deleting an account that has no password.
const RECENT_SIGN_IN_MS: i64 = 10 * 60 * 1000;

/// Deletes the account: tasks canceled, subscription canceled, every file deleted, the
/// account replaced by a tombstone. The email can register again.
#[utoipa::path(delete, path = "/api/v1/me", tag = "privacy", request_body = Confirmation, responses((status = 200, description = "Deleted; signed out", body = Deleted), (status = 422, description = "The password is wrong", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 503, description = "The payment provider did not answer; nothing was deleted", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn delete_me(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: User,
    body: Result<Json<Confirmation>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body?;
    crate::limits::sign_in(&state.db, peer.ip(), &format!("delete:{}", user.id)).await?;
    confirm_password(&state, &user, body.password).await?;
    let deleted = deletion::delete_account(&state, &user.id, By::Owner).await?;
    let cookie = crate::auth::session_cookie("", state.config.secure_cookies);
    Ok(([(header::SET_COOKIE, cookie)], Json(deleted)).into_response())
}

async fn confirm_password(state: &AppState, user: &User, password: String) -> ApiResult<()> {
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(&state.db.pool)
        .await?;
    if hash.is_empty() {
        let signed_in: Option<i64> = match &user.via {
            crate::auth::Via::Session(token_hash) => {
                sqlx::query_scalar("SELECT created_at FROM sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&state.db.pool)
                    .await?
            }
            crate::auth::Via::Key(_) => None,
        };
        return match signed_in {
            Some(at) if crate::now_ms() - at <= RECENT_SIGN_IN_MS => Ok(()),
            _ => Err(ApiError::invalid(
                "password",
                "your account has no password: sign out, sign in again through your login \
                 provider, and delete within ten minutes",
            )),
        };
    }
    if verify_password(password, hash).await? {
        Ok(())
    } else {
        Err(ApiError::invalid("password", "is wrong"))
    }
}
