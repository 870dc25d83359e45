//! The signed-in user's own account: profile, and password change.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{User, check_password, hash_password, verify_password};
use crate::credits;
use crate::error::{ApiError, ApiResult};
use crate::openapi::{Done, Profile};

/// `id`, `email`, `email_verified`, `name`, `avatar_url`, `plan`, `role` and `credits` (the
/// ledger's balance).
pub async fn profile(state: &AppState, id: &str) -> ApiResult<Profile> {
    type Row = (String, String, Option<i64>, String, Option<String>, String, String, String);
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, email, email_verified_at, name, avatar_url, plan, role, password_hash \
         FROM users WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?;
    let (id, email, verified, name, avatar_url, plan, role, password) =
        row.ok_or(ApiError::NotFound)?;
    let mut conn = state.db.pool.acquire().await?;
    let balance = credits::balance(&mut conn, &id).await?;
    Ok(Profile {
        id,
        email,
        email_verified: verified.is_some(),
        has_password: !password.is_empty(),
        name,
        avatar_url,
        plan,
        role,
        credits: balance,
    })
}

#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", responses((status = 200, description = "The account", body = Profile), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn me(State(state): State<AppState>, user: User) -> ApiResult<Json<Profile>> {
    Ok(Json(profile(&state, &user.id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    name: Option<String>,
    /// An `https://` URL, or null to remove it.
    #[serde(default, with = "double_option")]
    avatar_url: Option<Option<String>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

#[utoipa::path(patch, path = "/api/v1/me", tag = "accounts", request_body = Update, responses((status = 200, description = "The updated account", body = Profile), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<Update>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Profile>> {
    let Json(body) = body?;
    if let Some(name) = &body.name {
        let name = crate::text::clean("name", name, 100)?;
        let _gate = state.db.write_gate().await;
        sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(&user.id)
            .execute(&state.db.pool)
            .await?;
    }
    if let Some(avatar) = &body.avatar_url {
        if let Some(url) = avatar
            && (!url.starts_with("https://")
                || url.len() > 2048
                || url.contains(char::is_whitespace))
        {
            return Err(ApiError::invalid("avatar_url", "must be an https:// URL"));
        }
        // An uploaded avatar it replaces is deleted.
        crate::routes::avatar::set(&state, &user.id, None, avatar.as_deref()).await?;
    }
    Ok(Json(profile(&state, &user.id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Changes the password and ends every other session of the account.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts", request_body = PasswordChange, responses((status = 200, description = "Changed; other sessions ended", body = Done), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    user: User,
    body: Result<Json<PasswordChange>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Done>> {
    let Json(body) = body?;
    // Guessing the current password is limited like logging in, per address and account.
    crate::limits::sign_in(&state.db, peer.ip(), &format!("password-change:{}", user.id)).await?;
    check_password(&body.new_password)?;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(&user.id)
        .fetch_one(&state.db.pool)
        .await?;
    if !verify_password(body.current_password, hash).await? {
        return Err(ApiError::invalid("current_password", "is wrong"));
    }
    let new_hash = hash_password(body.new_password).await?;
    let mut tx = state.db.write().await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(&new_hash)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    crate::routes::sessions::end_others(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(Json(Done { ok: true }))
}
