//! The signed-in user's sessions: each with when it began and was last seen, from which
//! address and browser; any one can be ended, or every one but the current. Addresses and
//! browsers are cleared by the retention sweeper `client_info_days` after they were seen.

use axum::Json;
use axum::extract::{Path, State};

use crate::AppState;
use crate::auth::{User, Via};
use crate::error::{ApiError, ApiResult};
use crate::openapi::Done;

/// One session of the account.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub expires_at: i64,
    /// The address it was last seen from (cleared after `client_info_days`).
    pub ip: Option<String>,
    /// The browser's `User-Agent` (cleared likewise).
    pub user_agent: Option<String>,
    /// Whether this request came with it.
    pub current: bool,
}

/// The account's live sessions, the most recently seen first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Sessions {
    pub sessions: Vec<SessionView>,
}

/// The session a request came with, by its token's hash ("" for an API key).
fn current(user: &User) -> &str {
    match &user.via {
        Via::Session(hash) => hash,
        Via::Key(_) => "",
    }
}

#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "accounts", responses((status = 200, description = "The live sessions", body = Sessions), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn list(State(state): State<AppState>, user: User) -> ApiResult<Json<Sessions>> {
    type Row = (String, String, i64, Option<i64>, i64, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, token_hash, created_at, last_seen_at, expires_at, ip, user_agent \
         FROM sessions WHERE user_id = $1 AND expires_at > $2 \
         ORDER BY COALESCE(last_seen_at, created_at) DESC, id",
    )
    .bind(&user.id)
    .bind(crate::now_ms())
    .fetch_all(&state.db.pool)
    .await?;
    let sessions = rows
        .into_iter()
        .map(|(id, hash, created_at, last_seen_at, expires_at, ip, user_agent)| SessionView {
            current: hash == current(&user),
            id,
            created_at,
            last_seen_at,
            expires_at,
            ip,
            user_agent,
        })
        .collect();
    Ok(Json(Sessions { sessions }))
}

#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "accounts", params(("id" = String, Path)), responses((status = 200, description = "Ended: its cookie no longer signs in", body = Done), (status = 404, description = "No such session of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    let _gate = state.db.write_gate().await;
    let gone = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
        .bind(&id)
        .bind(&user.id)
        .execute(&state.db.pool)
        .await?;
    if gone.rows_affected() != 1 {
        return Err(ApiError::NotFound);
    }
    Ok(Json(Done { ok: true }))
}

#[utoipa::path(post, path = "/api/v1/me/sessions/revoke-others", tag = "accounts", responses((status = 200, description = "Every other session ended", body = Done), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn revoke_others(State(state): State<AppState>, user: User) -> ApiResult<Json<Done>> {
    let mut tx = state.db.write().await?;
    end_others(&mut tx, &user).await?;
    tx.commit().await?;
    Ok(Json(Done { ok: true }))
}

/// Ends every session of `user` but the one the request came with (all of them for a request
/// with an API key), inside `conn`: what signing out elsewhere and a password change do.
pub(crate) async fn end_others(conn: &mut sqlx::AnyConnection, user: &User) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
        .bind(&user.id)
        .bind(current(user))
        .execute(conn)
        .await?;
    Ok(())
}
