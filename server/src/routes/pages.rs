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
        .route("/privacy", get(privacy))
        .nest_service("/assets", ServeDir::new(dir.join("web/assets")))
        .nest_service("/vendor/three", ServeDir::new(modules.join("three")))
        .nest_service("/vendor/uplot", ServeDir::new(modules.join("uplot/dist")))
        .layer(cache)
}

/// The origin of the short-lived URLs outputs are downloaded from, where that is not this
/// site: the CDN's, or the bucket's (presigning is computed locally, with no request).
async fn download_origin(state: &AppState) -> Option<String> {
    let url = match &state.cdn {
        Some(cdn) => cdn.signed_url("csp/origin", state.config.url_ttl),
        None => state
            .storage
            .presign_get("csp/origin", "origin", "application/octet-stream", state.config.url_ttl)
            .await
            .ok()
            .flatten()?,
    };
    let origin = url::Url::parse(&url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

async fn page(state: &AppState, name: &str) -> Response {
    let path = state.config.console_dir.join("web").join(name);
    match tokio::fs::read_to_string(&path).await {
        Ok(html) => {
            let downloads = download_origin(state).await;
            let csp = super::security::csp_for_page(&html, downloads.as_deref());
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

/// `GET /privacy`: the privacy policy, written from the running configuration, so that what it
/// says is what this server does: what is kept and for how long, where, and who processes it.
async fn privacy(State(state): State<AppState>) -> Response {
    let config = &state.config;
    let e = |s: &str| {
        s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
    };
    let hours = |d: std::time::Duration| {
        let h = d.as_secs_f64() / 3600.0;
        format!("{} hour{}", h, if h == 1.0 { "" } else { "s" })
    };
    let plans: Vec<String> = config
        .billing
        .plans
        .iter()
        .map(|p| format!("<li>{} plan: {} days</li>", e(&p.id), p.limits.retention_days))
        .collect();
    let storage = match &config.storage {
        Some(s) if s.starts_with("s3://") => format!(
            "in S3-compatible object storage (bucket <code>{}</code>{})",
            e(s.trim_start_matches("s3://")),
            config.s3.endpoint.as_deref().map_or(String::new(), |ep| format!(" at {}", e(ep)))
        ),
        _ => "on this server's own disk".to_owned(),
    };
    let mut processors = vec![format!("<li>Files are stored {storage}.</li>")];
    if let Some(cdn) = &config.cdn_base_url {
        processors.push(format!(
            "<li>Downloads are served through a content delivery network at {}.</li>",
            e(cdn)
        ));
    }
    if config.billing.api_key.is_some() {
        processors.push(
            "<li>Payments are processed by <a href=\"https://www.creem.io\">Creem</a> \
             (merchant of record): it receives your email address and payment details; Lithos \
             receives only the payment's amount, status and Creem's ids.</li>"
                .to_owned(),
        );
    }
    if let Some(generator) = &state.generator {
        let provider = generator.config.provider;
        processors.push(format!(
            "<li id=\"generation\">Prompts, and the photos of sculpt tasks, are sent to \
             <a href=\"{}\">{}</a>, the AI generation provider, which makes a model of them; \
             nothing else of yours is sent to it. A photo goes without its metadata (where, \
             when and with what it was taken). A prompt is kept only with its task, and \
             deleted with your account.</li>",
            provider.site(),
            provider.name()
        ));
    }
    let support = match &config.support_email {
        Some(address) => format!("<a href=\"mailto:{0}\">{0}</a>", e(address)),
        None => "the operator of this server (no support address is configured)".to_owned(),
    };
    let client_info_days = format!("{} days", config.retention.client_info.as_secs() / 86_400);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Privacy · Lithos</title><link rel=\"stylesheet\" href=\"/assets/app.css\">\
         </head><body><main class=\"narrow\"><h1>Privacy</h1>\
         <p>This page is written from this server's running configuration: it says what the \
         service does.</p>\
         <h2>What is kept, and for how long</h2><ul>\
         <li id=\"sources\">Files you upload are deleted {source} after the last conversion \
         that used them ended (or after they were uploaded, when none did).</li>\
         <li id=\"pending\">Uploads that were announced but never completed are deleted after \
         {pending}.</li>\
         <li id=\"outputs\">Generated files are kept for your plan's retention period, then \
         deleted: <ul>{plans}</ul></li>\
         <li>Your account (email address, name, a salted argon2id hash of your password), your \
         conversions' parameters and results, and your credit ledger and payments are kept \
         while the account exists.</li>\
         <li id=\"exports\">Exports of your data are deleted {export} after they are \
         made.</li>\
         <li>Of medical scans (DICOM), only geometry and values are kept: no patient \
         attribute is copied into records, logs or outputs.</li>\
         <li>Your date of birth is checked at sign-up and not kept: only the time you \
         confirmed your age is.</li>\
         <li id=\"client-info\">Each signed-in session keeps the address and browser it was \
         last used from, which your account page shows; they are cleared {client_info} \
         after that use, and the session is deleted when it ends (30 days after sign-in at \
         most).</li></ul>\
         <h2>Who processes your data</h2><ul id=\"processors\">{processors}</ul>\
         <h2>Your rights</h2><ul id=\"rights\">\
         <li>See and take your data: <a href=\"/#account\">Account</a>, Export my data, gives \
         you a ZIP of everything kept about you and your files still kept.</li>\
         <li>Correct it: change your name and email address in the app.</li>\
         <li>Delete it: <a href=\"/#account\">Account</a>, Delete my account, cancels your \
         tasks and subscription and deletes your files and your name and email at once. \
         Records of payments are kept without them, as accounting law requires.</li></ul>\
         <h2>Children</h2><p id=\"children\">Lithos does not serve children under 13: sign-up \
         refuses them and keeps nothing about them, and an account found to belong to a \
         child is deleted.</p>\
         <h2>Contact</h2><p id=\"support\">Questions and requests about your data go to \
         {support}, or through <a href=\"/#support\">Support</a>.</p></main></body></html>",
        export = hours(crate::privacy::export::TTL),
        client_info = client_info_days,
        source = hours(config.retention.source_grace),
        pending = hours(config.retention.pending_upload_ttl),
        plans = plans.join(""),
        processors = processors.join(""),
    );
    Html(html).into_response()
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
