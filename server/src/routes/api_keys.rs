//! API keys: created with a name and shown once, stored as a SHA-256, listed with their last
//! use, revoked by id.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::auth::{KEY_PREFIX, User, sha256};
use crate::error::{ApiError, ApiResult};
use crate::{AppState, new_id, now_ms};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Create {
    name: String,
}

/// A new key: its secret, shown this once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct NewApiKey {
    pub id: String,
    pub name: String,
    /// The secret: send it as `Authorization: Bearer <key>`.
    pub key: String,
    /// Its first characters, which the list shows.
    pub prefix: String,
    pub created_at: i64,
}

/// A live key, without its secret.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The caller's live keys.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKeyView>,
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api keys", request_body = Create, responses((status = 201, description = "The key, shown this once in `key`", body = NewApiKey), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<Create>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<NewApiKey>)> {
    let Json(body) = body?;
    let name = crate::text::clean("name", &body.name, 100)?;
    let name = name.as_str();
    let key = format!("{KEY_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let id = new_id();
    let now = now_ms();
    let _gate = state.db.write_gate().await;
    sqlx::query(
        "INSERT INTO api_keys (id, user_id, name, key_hash, prefix, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(&user.id)
    .bind(name)
    .bind(sha256(&key))
    .bind(&key[..11])
    .bind(now)
    .execute(&state.db.pool)
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewApiKey {
            prefix: key[..11].to_owned(),
            id,
            name: name.to_owned(),
            key,
            created_at: now,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api keys", responses((status = 200, description = "Live keys, without the secrets", body = ApiKeyList), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn list(State(state): State<AppState>, user: User) -> ApiResult<Json<ApiKeyList>> {
    let rows: Vec<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at FROM api_keys \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id",
    )
    .bind(&user.id)
    .fetch_all(&state.db.pool)
    .await?;
    let keys = rows
        .into_iter()
        .map(|(id, name, prefix, created_at, last_used_at)| ApiKeyView {
            id,
            name,
            prefix,
            created_at,
            last_used_at,
        })
        .collect();
    Ok(Json(ApiKeyList { keys }))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "api keys", params(("id" = String, Path)), responses((status = 204, description = "Revoked"), (status = 404, description = "No such key of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let _gate = state.db.write_gate().await;
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(&id)
    .bind(&user.id)
    .execute(&state.db.pool)
    .await?;
    if done.rows_affected() == 1 { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::NotFound) }
}
