//! What every response carries and how every error looks, whichever part of the stack made
//! it: security headers, the `{"error": {...}}` envelope for errors that axum, tower-http or
//! a file service answered in plain text or with no body at all, a cap on URI length, and the
//! guard in front of `/metrics`.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// Scripts and styles from this site only, no inline script, never framed.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                       img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; \
                       object-src 'none'; base-uri 'none'; form-action 'self'; \
                       frame-ancestors 'none'";

/// The API reference at `/api/docs` is Scalar's page, which loads its script and fonts from
/// its CDN and injects its own styles; it still runs no inline script and is never framed.
const DOCS_CSP: &str = "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; \
                        style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net \
                        https://fonts.googleapis.com; font-src 'self' data: \
                        https://fonts.gstatic.com https://cdn.jsdelivr.net; img-src 'self' \
                        data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                        frame-ancestors 'none'";

/// Longest request target served; longer ones get 414 in the envelope.
pub const MAX_URI_BYTES: usize = 8 << 10;

/// The policy for an HTML page: [`CSP`], with each inline `<script type="importmap">` (data
/// that maps module names, not code) allowed by its SHA-256, and `downloads` (the origin of
/// the short-lived URLs object storage or a CDN serves outputs and pictures from, if any)
/// allowed for images and fetches.
pub fn csp_for_page(html: &str, downloads: Option<&str>) -> String {
    let mut hashes = String::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script type=\"importmap\">") {
        let body = &rest[start + "<script type=\"importmap\">".len()..];
        let Some(end) = body.find("</script>") else { break };
        let digest = Sha256::digest(&body.as_bytes()[..end]);
        let encoded = base64::engine::general_purpose::STANDARD.encode(digest);
        hashes.push_str(&format!(" 'sha256-{encoded}'"));
        rest = &body[end..];
    }
    let csp = CSP.replacen("script-src 'self'", &format!("script-src 'self'{hashes}"), 1);
    match downloads {
        Some(origin) => csp
            .replacen("img-src 'self'", &format!("img-src 'self' {origin}"), 1)
            .replacen("connect-src 'self'", &format!("connect-src 'self' {origin}"), 1),
        None => csp,
    }
}

/// Adds the security headers to every response that lacks them.
pub async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let docs = request.uri().path().starts_with("/api/docs");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        let csp = if docs { DOCS_CSP } else { CSP };
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if state.config.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// Refuses over-long URIs, and rewrites every error response that is not already JSON (or an
/// HTML page) into the envelope, keeping its status, its `Allow` and `Retry-After`, and its
/// text as the message; a 5xx keeps no text, which could hold internals.
pub async fn errors(request: Request, next: Next) -> Response {
    if request.uri().to_string().len() > MAX_URI_BYTES {
        return envelope(
            StatusCode::URI_TOO_LONG,
            format!("the URI is over {MAX_URI_BYTES} bytes; send long data in the body"),
            HeaderMap::new(),
        );
    }
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type =
        response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 << 10).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = match status {
        StatusCode::NOT_FOUND => format!("nothing is at {path}"),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok());
            format!("{path} does not take {method}; it takes {}", allow.unwrap_or("other methods"))
        }
        s if s.is_server_error() => s.canonical_reason().unwrap_or("server error").to_lowercase(),
        _ if !text.is_empty() => text,
        s => s.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    envelope(status, message, parts.headers)
}

fn envelope(status: StatusCode, message: String, old: HeaderMap) -> Response {
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "too_slow",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::URI_TOO_LONG => "uri_too_long",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "busy",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let mut response =
        (status, Json(json!({ "error": { "code": code, "message": message } }))).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = old.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

/// `GET /metrics`: with `metrics_token` set, only to `Authorization: Bearer` with it; else, on
/// the main listener of a service with a public, non-loopback `public_url`, only to loopback
/// clients (a scraper on the host, or a sidecar). `metrics_bind` serves it on its own address.
pub async fn metrics(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Err(refused) = may_scrape(&state.config, peer, sent) {
        return refused.into_response();
    }
    crate::telemetry::render(State(state)).await
}

/// Whether a client at `peer`, sending bearer token `sent`, may read the metrics.
fn may_scrape(
    config: &crate::Config,
    peer: SocketAddr,
    sent: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(token) = &config.metrics_token {
        // Compared as digests: the time taken says nothing about how much of it matched.
        let sent = Sha256::digest(sent.unwrap_or("").as_bytes());
        return if sent == Sha256::digest(token.0.as_bytes()) {
            Ok(())
        } else {
            Err(ApiError::Unauthorized)
        };
    }
    if config.metrics_bind.is_none() && !config.is_local() && !peer.ip().is_loopback() {
        return Err(ApiError::Forbidden(
            "metrics are served to loopback clients only; set metrics_token or metrics_bind".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_default_to_loopback_clients_when_the_service_is_public() {
        let outside: SocketAddr = "203.0.113.9:4000".parse().unwrap();
        let inside: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        let local = crate::Config::default();
        assert!(may_scrape(&local, outside, None).is_ok(), "a loopback-only service is open");
        let public = crate::Config {
            public_url: Some("https://lithos.example".into()),
            ..crate::Config::default()
        };
        assert!(matches!(may_scrape(&public, outside, None), Err(ApiError::Forbidden(_))));
        assert!(may_scrape(&public, inside, None).is_ok());
        let separate = crate::Config {
            metrics_bind: Some("10.0.0.2:9100".parse().unwrap()),
            ..public.clone()
        };
        assert!(may_scrape(&separate, outside, None).is_ok(), "its own listener decides");
        let token =
            crate::Config { metrics_token: Some(crate::config::Secret("t0ken".into())), ..public };
        assert!(matches!(may_scrape(&token, inside, None), Err(ApiError::Unauthorized)));
        assert!(may_scrape(&token, outside, Some("t0ken")).is_ok());
    }

    #[test]
    fn an_import_map_is_allowed_by_its_hash_and_nothing_else_inline() {
        let map = "\n{ \"imports\": {} }\n";
        let html = format!("<head><script type=\"importmap\">{map}</script></head>");
        let csp = csp_for_page(&html, None);
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(map));
        assert!(csp.contains(&format!("script-src 'self' 'sha256-{digest}';")), "{csp}");
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(csp_for_page("<p>no scripts</p>", None), CSP);
    }

    #[test]
    fn outputs_served_from_a_bucket_may_be_shown_and_fetched() {
        let csp = csp_for_page("<p></p>", Some("https://bucket.example:9000"));
        assert!(csp.contains("img-src 'self' https://bucket.example:9000 data: blob:;"), "{csp}");
        assert!(csp.contains("connect-src 'self' https://bucket.example:9000;"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "scripts still from this site only");
    }
}
