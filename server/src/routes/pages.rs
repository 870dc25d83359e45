//! The web pages, served from `console/` (`console_dir`): the end-user app at `/`, the
//! operators' console at `/console` (administrators only), their assets under `/assets`, and
//! three.js and uPlot from `console/node_modules` under `/vendor`. Nothing comes from a CDN.

use std::path::Path;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::auth::User;
use crate::error::ApiError;

/// The pages' routes, for a console directory at `dir`.
pub fn router(dir: &Path) -> Router<AppState> {
    let modules = dir.join("node_modules");
    if !modules.join("three").is_dir() || !modules.join("uplot").is_dir() {
        tracing::warn!(
            dir = %dir.display(),
            "the web pages need three.js and uPlot: run `npm ci --prefix console`"
        );
    }
    let cache = SetResponseHeaderLayer::overriding(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    Router::new()
        .route("/", get(app))
        .route("/console", get(console))
        .nest_service("/assets", ServeDir::new(dir.join("web/assets")))
        .nest_service("/vendor/three", ServeDir::new(modules.join("three")))
        .nest_service("/vendor/uplot", ServeDir::new(modules.join("uplot/dist")))
        .layer(cache)
}

async fn page(state: &AppState, name: &str) -> Response {
    let path = state.config.console_dir.join("web").join(name);
    match tokio::fs::read_to_string(&path).await {
        Ok(html) => {
            let csp = super::security::csp_for_page(&html);
            let mut response = Html(html).into_response();
            if let Ok(csp) = HeaderValue::from_str(&csp) {
                response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
            }
            response
        }
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "a web page is missing");
            (StatusCode::SERVICE_UNAVAILABLE, "The web pages are not installed on this server.")
                .into_response()
        }
    }
}

/// `GET /`: the end-user app (sign up, upload, convert, preview, download, history, keys).
async fn app(State(state): State<AppState>) -> Response {
    page(&state, "index.html").await
}

/// `GET /console`: administrators get the console; someone signed out is sent to log in and
/// come back; anyone else gets 403.
async fn console(State(state): State<AppState>, user: Result<User, ApiError>) -> Response {
    match user {
        Err(_) => Redirect::to("/?next=/console#login").into_response(),
        Ok(user) if user.role != "admin" => (
            StatusCode::FORBIDDEN,
            Html(
                "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                 <title>Administrators only · Lithos</title>\
                 <link rel=\"stylesheet\" href=\"/assets/app.css\">\
                 <main class=\"narrow\"><h1>Administrators only</h1>\
                 <p id=\"refused\">The console is for Lithos operators. \
                 <a href=\"/\">Back to your conversions</a>.</p></main></html>",
            ),
        )
            .into_response(),
        Ok(_) => page(&state, "console.html").await,
    }
}
