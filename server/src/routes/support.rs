//! Support requests from the app (signed in) and from visitors (with an email address).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Email, User};
use crate::error::ApiResult;
use crate::support::{self, Category, New, Request};

/// A new request from a signed-in user.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    category: Category,
    subject: String,
    message: String,
    /// One of the user's tasks that the request is about.
    task_id: Option<String>,
}

/// A new request from a visitor, answered at `email`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    email: String,
    category: Category,
    subject: String,
    message: String,
}

/// A follow-up message.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUp {
    message: String,
}

/// The user's requests, newest activity first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Requests {
    pub requests: Vec<Request>,
}

/// A visitor's request was received.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ContactReceived {
    pub id: String,
}

#[utoipa::path(post, path = "/api/v1/support/requests", tag = "support", request_body = NewRequest, responses((status = 201, description = "Filed", body = Request), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<NewRequest>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<Request>)> {
    let Json(body) = body?;
    let new =
        New { task_id: body.task_id, ..New::check(body.category, &body.subject, &body.message)? };
    let id = support::create(&state.db, support::From::User(&user.id), new).await?;
    Ok((StatusCode::CREATED, Json(support::get(&state.db, &id, Some(&user.id)).await?)))
}

#[utoipa::path(get, path = "/api/v1/support/requests", tag = "support", responses((status = 200, description = "The user's requests, without their threads", body = Requests), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn list(State(state): State<AppState>, user: User) -> ApiResult<Json<Requests>> {
    Ok(Json(Requests { requests: support::list(&state.db, Some(&user.id), None, None).await? }))
}

#[utoipa::path(get, path = "/api/v1/support/requests/{id}", tag = "support", params(("id" = String, Path)), responses((status = 200, description = "The request and its thread", body = Request), (status = 404, description = "No such request of yours", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> ApiResult<Json<Request>> {
    Ok(Json(support::get(&state.db, &id, Some(&user.id)).await?))
}

#[utoipa::path(post, path = "/api/v1/support/requests/{id}/messages", tag = "support", params(("id" = String, Path)), request_body = FollowUp, responses((status = 200, description = "Added; the request is open again", body = Request), (status = 404, description = "No such request of yours", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn follow_up(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    body: Result<Json<FollowUp>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Json<Request>> {
    let Json(body) = body?;
    support::get(&state.db, &id, Some(&user.id)).await?;
    support::reply(&state.db, &id, None, &body.message, None).await?;
    Ok(Json(support::get(&state.db, &id, Some(&user.id)).await?))
}

#[utoipa::path(post, path = "/api/v1/support/contact", tag = "support", request_body = Contact, responses((status = 202, description = "Received; the answer goes to the email address", body = ContactReceived), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 429, description = "Too many requests from this address", body = crate::openapi::ErrorBody)))]
pub async fn contact(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Json<Contact>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<(StatusCode, Json<ContactReceived>)> {
    let Json(body) = body?;
    let rule = crate::limits::Rule::contact_per_ip();
    crate::limits::take_now(&state.db, &rule, &peer.ip().to_string(), 1).await?;
    let email = Email::parse(&body.email)?;
    let new = New::check(body.category, &body.subject, &body.message)?;
    let id =
        support::create(&state.db, support::From::Visitor { email: email.as_str() }, new).await?;
    Ok((StatusCode::ACCEPTED, Json(ContactReceived { id })))
}
