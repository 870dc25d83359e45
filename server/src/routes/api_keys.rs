//! API keys: created with a name and shown once, stored as a SHA-256, listed with their last
//! use, revoked by id.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{KEY_PREFIX, User, sha256};
use crate::error::{ApiError, ApiResult};
use crate::{AppState, new_id, now_ms};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Create {
    name: String,
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api keys", request_body = Create, responses((status = 201, description = "The key, shown this once in `key`", body = serde_json::Value), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<Create>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
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
        Json(
            json!({ "id": id, "name": name, "key": key, "prefix": &key[..11], "created_at": now }),
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api keys", responses((status = 200, description = "Live keys, without the secrets", body = serde_json::Value), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn list(State(state): State<AppState>, user: User) -> ApiResult<Json<Value>> {
    let rows: Vec<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at FROM api_keys \
         WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at, id",
    )
    .bind(&user.id)
    .fetch_all(&state.db.pool)
    .await?;
    let keys: Vec<Value> = rows
        .into_iter()
        .map(|(id, name, prefix, created_at, last_used_at)| {
            json!({ "id": id, "name": name, "prefix": prefix, "created_at": created_at, "last_used_at": last_used_at })
        })
        .collect();
    Ok(Json(json!({ "keys": keys })))
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
