//! Sign-in through login providers, over HTTP: the buttons' list, the browser's trip to the
//! provider and back (`/auth/{provider}/start` and `/auth/{provider}/callback`, pages rather
//! than API operations), the birth-date question that comes before a new account, and the
//! account page's linked identities.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use crate::auth::{Client, User, Via, sha256};
use crate::error::{ApiError, ApiResult};
use crate::login::accounts::{self, Outcome};
use crate::login::{Callback, LoginError, REQUEST_TTL_MS, STATE_COOKIE};
use crate::openapi::Done;
use crate::routes::account::profile;
use crate::routes::auth::start_session;
use crate::{AppState, now_ms};

/// A login provider people can sign in with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderInfo {
    /// In `/auth/{id}/start`.
    id: String,
    /// What its button names: "Continue with {name}".
    name: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderList {
    providers: Vec<ProviderInfo>,
}

/// The configured login providers, for the sign-in page's buttons.
#[utoipa::path(get, path = "/api/v1/auth/providers", tag = "accounts", responses((status = 200, description = "The providers", body = ProviderList)))]
pub async fn providers(State(state): State<AppState>) -> Json<ProviderList> {
    let providers = state
        .login
        .list()
        .into_iter()
        .map(|(id, name)| ProviderInfo { id: id.to_owned(), name: name.to_owned() })
        .collect();
    Json(ProviderList { providers })
}

fn callback_url(state: &AppState, provider: &str) -> String {
    format!("{}/auth/{provider}/callback", state.site_url())
}

/// The cookie that binds a sign-in's `state` to this browser (empty to clear it).
fn state_cookie(state: &AppState, value: &str) -> String {
    let age = if value.is_empty() { 0 } else { REQUEST_TTL_MS / 1000 };
    let secure = if state.config.secure_cookies { "; Secure" } else { "" };
    format!("{STATE_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/auth; Max-Age={age}{secure}")
}

/// Starts a sign-in (or, with `user_id`, a link) at `provider`: the request is kept until its
/// callback, and the answer is the provider's URL and the cookie to set.
async fn begin(
    state: &AppState,
    provider: &str,
    user_id: Option<&str>,
) -> Result<(String, String), LoginError> {
    let authorization = state.login.authorize(provider, &callback_url(state, provider)).await?;
    let _gate = state.db.write_gate().await;
    sqlx::query(
        "INSERT INTO login_requests (state_hash, provider, pkce_verifier, nonce, user_id, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(sha256(&authorization.state))
    .bind(provider)
    .bind(&authorization.pkce_verifier)
    .bind(&authorization.nonce)
    .bind(user_id)
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok((authorization.url, state_cookie(state, &authorization.state)))
}

/// Where the web app shows a failed sign-in.
fn to_page(view: &str, key: &str, message: &str) -> String {
    let query: String =
        url::form_urlencoded::Serializer::new(String::new()).append_pair(key, message).finish();
    format!("/#{view}?{query}")
}

/// `GET /auth/{provider}/start`: the sign-in button's link.
pub async fn start(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(provider): Path<String>,
) -> Response {
    let rule = crate::limits::Rule::sign_in_per_ip();
    if let Err(e) = crate::limits::take_now(&state.db, &rule, &peer.ip().to_string(), 1).await {
        return to_login(&e.to_string()).into_response();
    }
    match begin(&state, &provider, None).await {
        Ok((url, cookie)) => ([(header::SET_COOKIE, cookie)], Redirect::to(&url)).into_response(),
        Err(e) => to_login(&e.to_string()).into_response(),
    }
}

fn to_login(message: &str) -> Redirect {
    Redirect::to(&to_page("login", "error", message))
}

/// `GET /auth/{provider}/callback`: the provider sends the browser back here.
pub async fn callback(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Callback>,
) -> Response {
    let clear = state_cookie(&state, "");
    let (request, outcome) = match take_request(&state, &provider, &query).await {
        Ok(request) => {
            let outcome = finish(&state, &provider, &headers, &query, &request).await;
            (Some(request), outcome)
        }
        Err(e) => (None, Err(e)),
    };
    // A failed link goes back to the account page, a failed sign-in to the sign-in page.
    let linking = request.as_ref().is_some_and(|r| r.user_id.is_some());
    let (view, key) = if linking { ("account", "link_error") } else { ("login", "error") };
    let failed = |e: LoginError| {
        if let LoginError::Internal(cause) = &e {
            tracing::error!(%provider, "sign-in failed: {cause:#}");
        }
        Redirect::to(&to_page(view, key, &e.to_string()))
    };
    let response = match outcome {
        Ok(Outcome::SignedIn { user_id, linked }) => {
            match start_session(&state, &user_id, &Client::of(peer, &headers)).await {
                Ok(session) => {
                    tracing::info!(%provider, linked, "signed in through a login provider");
                    let to = if linked {
                        format!("/#convert?linked={provider}")
                    } else {
                        "/#convert".into()
                    };
                    return (
                        // Appended: an array of headers would keep only the last cookie.
                        AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, clear)]),
                        Redirect::to(&to),
                    )
                        .into_response();
                }
                Err(e) => {
                    failed(LoginError::Internal(anyhow::anyhow!("starting the session: {e}")))
                }
            }
        }
        Ok(Outcome::Linked { password_disabled }) => {
            let extra = if password_disabled { "&password_disabled=1" } else { "" };
            Redirect::to(&format!("/#account?linked={provider}{extra}"))
        }
        Ok(Outcome::NeedsBirthDate { token }) => {
            let name = state.login.name(&provider);
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("token", &token)
                .append_pair("provider", name)
                .finish();
            Redirect::to(&format!("/#join?{query}"))
        }
        Err(e) => failed(e),
    };
    ([(header::SET_COOKIE, clear)], response).into_response()
}

/// A sign-in or link as [`begin`] stored it.
struct Request {
    pkce_verifier: String,
    nonce: String,
    /// The account being linked to; `None` for a sign-in.
    user_id: Option<String>,
    created_at: i64,
}

/// The stored request the callback's `state` names, taken once: a replayed callback finds
/// nothing.
async fn take_request(
    state: &AppState,
    provider: &str,
    query: &Callback,
) -> Result<Request, LoginError> {
    let sent = query.state.as_deref().filter(|s| !s.is_empty()).ok_or(LoginError::BadState)?;
    // One statement: of two callbacks racing with one state, one gets the row.
    let _gate = state.db.write_gate().await;
    let row: Option<(String, String, Option<String>, i64)> = sqlx::query_as(
        "DELETE FROM login_requests WHERE state_hash = $1 AND provider = $2 \
         RETURNING pkce_verifier, nonce, user_id, created_at",
    )
    .bind(sha256(sent))
    .bind(provider)
    .fetch_optional(&state.db.pool)
    .await?;
    let (pkce_verifier, nonce, user_id, created_at) = row.ok_or(LoginError::BadState)?;
    Ok(Request { pkce_verifier, nonce, user_id, created_at })
}

/// Checks that the callback comes back to the browser (and, for a link, the account) that
/// started it, asks the provider, and applies the linking rules.
async fn finish(
    state: &AppState,
    provider: &str,
    headers: &HeaderMap,
    query: &Callback,
    request: &Request,
) -> Result<Outcome, LoginError> {
    // The browser that comes back must be the one that left (login CSRF).
    if crate::auth::cookie_in(headers, STATE_COOKIE) != query.state.as_deref()
        || now_ms() - request.created_at > REQUEST_TTL_MS
    {
        return Err(LoginError::BadState);
    }
    // A link is finished by the account that started it, still signed in.
    if let Some(user_id) = &request.user_id {
        let session = crate::auth::cookie_in(headers, crate::auth::SESSION_COOKIE).unwrap_or("");
        let signed_in: Option<String> = sqlx::query_scalar(
            "SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(sha256(session))
        .bind(now_ms())
        .fetch_optional(&state.db.pool)
        .await?;
        if signed_in.as_deref() != Some(user_id) {
            return Err(LoginError::BadState);
        }
    }
    let verified = state
        .login
        .finish(
            provider,
            &callback_url(state, provider),
            query,
            request.pkce_verifier.clone(),
            request.nonce.clone(),
        )
        .await?;
    match &request.user_id {
        Some(user_id) => accounts::link(state, user_id, verified).await,
        None => accounts::sign_in(state, verified).await,
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// From the callback's redirect (`#join?token=…`).
    token: String,
    /// `YYYY-MM-DD`. Checked and dropped, as at sign-up with a password.
    birth_date: String,
}

/// Creates the account of a person new to Lithos who signed in through a login provider, once
/// they have given their birth date, and signs it in. A person under the minimum age gets 403
/// and nothing about them is kept.
#[utoipa::path(post, path = "/api/v1/auth/providers/join", tag = "accounts", request_body = Join, responses((status = 201, description = "Created and signed in", body = crate::openapi::Profile), (status = 403, description = "The person is under the minimum age; nothing was stored", body = crate::openapi::ErrorBody), (status = 409, description = "The email or identity was taken meanwhile", body = crate::openapi::ErrorBody), (status = 410, description = "The sign-up expired or was answered", body = crate::openapi::ErrorBody), (status = 429, description = "Too many attempts", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody)))]
pub async fn join(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Json<Join>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body?;
    let rule = crate::limits::Rule::sign_up_per_ip();
    crate::limits::take_now(&state.db, &rule, &peer.ip().to_string(), 1).await?;
    let id = accounts::complete_signup(&state, &body.token, &body.birth_date).await?;
    let cookie = start_session(&state, &id, &Client::of(peer, &headers)).await?;
    let me = profile(&state, &id).await?;
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie)], Json(me)).into_response())
}

/// A login provider's account linked to this one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Identity {
    id: String,
    /// The provider's id.
    provider: String,
    /// The provider's name, as its button shows it.
    provider_name: String,
    /// The address the provider gave when it was linked.
    email: Option<String>,
    created_at: i64,
    last_used_at: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IdentityList {
    identities: Vec<Identity>,
}

/// The login providers linked to this account.
#[utoipa::path(get, path = "/api/v1/me/identities", tag = "accounts", responses((status = 200, description = "Linked identities", body = IdentityList), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn list(State(state): State<AppState>, user: User) -> ApiResult<Json<IdentityList>> {
    let rows: Vec<(String, String, Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT id, provider, email, created_at, last_used_at FROM identities WHERE user_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(&user.id)
    .fetch_all(&state.db.pool)
    .await?;
    let identities = rows
        .into_iter()
        .map(|(id, provider, email, created_at, last_used_at)| Identity {
            id,
            provider_name: state.login.name(&provider).to_owned(),
            provider,
            email,
            created_at,
            last_used_at,
        })
        .collect();
    Ok(Json(IdentityList { identities }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// A configured provider's id.
    provider: String,
}

/// Where to send the browser to link a provider.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LinkStart {
    redirect_url: String,
}

/// Starts linking a login provider to this account: the answer's URL is the provider's, and a
/// cookie binds the request to this browser. Needs a browser session.
#[utoipa::path(post, path = "/api/v1/me/identities", tag = "accounts", request_body = Link, responses((status = 200, description = "Go to the provider", body = LinkStart), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 403, description = "Needs a browser session, not an API key", body = crate::openapi::ErrorBody), (status = 404, description = "No such provider", body = crate::openapi::ErrorBody), (status = 400, description = "Malformed request", body = crate::openapi::ErrorBody), (status = 422, description = "A field is invalid", body = crate::openapi::ErrorBody), (status = 503, description = "The provider could not be reached", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn link(
    State(state): State<AppState>,
    user: User,
    body: Result<Json<Link>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(Link { provider }) = body?;
    if !matches!(user.via, Via::Session(_)) {
        return Err(ApiError::Forbidden("link a login provider from the web app".into()));
    }
    let (url, cookie) = begin(&state, &provider, Some(&user.id)).await.map_err(|e| match e {
        LoginError::UnknownProvider(_) => ApiError::NotFound,
        LoginError::Internal(e) => ApiError::Internal(e),
        other => ApiError::Busy { message: other.to_string(), retry_after: 30 },
    })?;
    Ok(([(header::SET_COOKIE, cookie)], Json(LinkStart { redirect_url: url })).into_response())
}

/// Unlinks a login provider, unless it is the account's last way to sign in.
#[utoipa::path(delete, path = "/api/v1/me/identities/{id}", tag = "accounts", params(("id" = String, Path, description = "The identity's id")), responses((status = 200, description = "Unlinked", body = Done), (status = 401, description = "Not signed in", body = crate::openapi::ErrorBody), (status = 404, description = "No such identity on this account", body = crate::openapi::ErrorBody), (status = 409, description = "It is the last way to sign in", body = crate::openapi::ErrorBody)), security(("session" = []), ("bearer" = [])))]
pub async fn unlink(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    let mut tx = state.db.write().await?;
    let (others, password): (i64, String) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM identities WHERE user_id = $1 AND id <> $2), \
         password_hash FROM users WHERE id = $1",
    )
    .bind(&user.id)
    .bind(&id)
    .fetch_one(&mut *tx)
    .await?;
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM identities WHERE id = $1 AND user_id = $2")
            .bind(&id)
            .bind(&user.id)
            .fetch_optional(&mut *tx)
            .await?;
    if found.is_none() {
        return Err(ApiError::NotFound);
    }
    if others == 0 && password.is_empty() {
        return Err(ApiError::Conflict(
            "this is your only way to sign in: set a password (through \"Forgot your password?\") \
             or link another provider first"
                .into(),
        ));
    }
    sqlx::query("DELETE FROM identities WHERE id = $1 AND user_id = $2")
        .bind(&id)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(Done { ok: true }))
}
