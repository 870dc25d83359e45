//! The console's support inbox: requests filtered by state and category, each opened with
//! its requester's context (plan, balance, recent tasks), replied to, and closed.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::views::AccountTask;
use crate::AppState;
use crate::auth::Admin;
use crate::error::ApiResult;
use crate::support::{self, Category, Request};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct Filter {
    state: Option<support::State>,
    category: Option<Category>,
}

/// The inbox.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub requests: Vec<Request>,
}

/// A request as the console opens it: the thread, and who asked.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Opened {
    pub request: Request,
    pub requester: Option<Requester>,
}

/// The signed-in requester's account.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Requester {
    pub id: String,
    pub email: String,
    pub name: String,
    pub plan: String,
    pub credits: i64,
    /// The newest 10.
    pub recent_tasks: Vec<AccountTask>,
}

/// A reply; the request becomes `state` (`answered` unless given).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    message: String,
    state: Option<support::State>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateChange {
    state: support::State,
}

#[utoipa::path(get, path = "/api/v1/admin/support", tag = "admin", params(Filter), responses((status = 200, description = "Requests, newest activity first", body = Inbox), (status = 400, description = "Malformed filter", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn inbox(
    State(state): State<AppState>,
    _: Admin,
    Query(filter): Query<Filter>,
) -> ApiResult<Json<Inbox>> {
    let requests = support::list(&state.db, None, filter.state, filter.category).await?;
    Ok(Json(Inbox { requests }))
}

#[utoipa::path(get, path = "/api/v1/admin/support/{id}", tag = "admin", params(("id" = String, Path)), responses((status = 200, description = "The request with its requester's context", body = Opened), (status = 404, description = "No such request", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn open(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Opened>> {
    opened(&state, &id).await.map(Json)
}

async fn opened(state: &AppState, id: &str) -> ApiResult<Opened> {
    let request = support::get(&state.db, id, None).await?;
    let requester = match &request.user_id {
        None => None,
        Some(user) => {
            let pool = &state.db.pool;
            let row: Option<(String, String, String, String, i64)> =
                sqlx::query_as("SELECT id, email, name, plan, balance FROM users WHERE id = $1")
                    .bind(user)
                    .fetch_optional(pool)
                    .await?;
            let recent_tasks: Vec<AccountTask> = sqlx::query_as(
                "SELECT id, mode, status, cost, created_at, finished_at FROM tasks \
                 WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 10",
            )
            .bind(user)
            .fetch_all(pool)
            .await?;
            row.map(|(id, email, name, plan, credits)| Requester {
                id,
                email,
                name,
                plan,
                credits,
                recent_tasks,
            })
        }
    };
    Ok(Opened { request, requester })
}

#[utoipa::path(post, path = "/api/v1/admin/support/{id}/reply", tag = "admin", params(("id" = String, Path)), request_body = Reply, responses((status = 200, description = "Replied", body = Opened), (status = 404, description = "No such request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn reply(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    body: Result<Json<Reply>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Opened>> {
    let Json(body) = body?;
    support::reply(&state.db, &id, Some(&admin.id), &body.message, body.state).await?;
    let now = opened(&state, &id).await?;
    // The requester hears of it by email too: an account's address, or the visitor's.
    let to = now.requester.as_ref().map(|r| r.email.clone()).or_else(|| now.request.email.clone());
    if let (Some(to), Some(reply)) = (to, now.request.messages.last()) {
        let link = format!("{}/#support", state.site_url());
        let mail = crate::mail::templates::support_reply(&now.request.subject, &reply.body, &link);
        state.mailer.send_later(to, mail);
    }
    Ok(Json(now))
}

#[utoipa::path(post, path = "/api/v1/admin/support/{id}/state", tag = "admin", params(("id" = String, Path)), request_body = StateChange, responses((status = 200, description = "Changed", body = Opened), (status = 404, description = "No such request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 403, description = "Not an administrator", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn change_state(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
    body: Result<Json<StateChange>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Opened>> {
    let Json(body) = body?;
    support::set_state(&state.db, &id, body.state).await?;
    opened(&state, &id).await.map(Json)
}
