//! Who is asking: passwords (argon2id), server-side sessions behind a cookie, API keys sent as
//! `Authorization: Bearer`, and the CSRF check for cookie-authenticated writes. Rate limits are
//! [`crate::limits`].

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use sha2::{Digest, Sha256};

use crate::domain::{DomainError, DomainResult};
use crate::error::{ApiError, ApiResult};
use crate::ids::UserId;
use crate::{AppState, now_ms};

pub const SESSION_COOKIE: &str = "lithos_session";
/// Sessions last 30 days.
pub const SESSION_MS: i64 = 30 * 24 * 3600 * 1000;
/// How stale an API key's last-used time may get before a request refreshes it.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;
/// API keys start with this, so they are recognisable in logs and secret scanners.
pub const KEY_PREFIX: &str = "lk_";

/// An email address, trimmed, checked for shape, and compared case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let email = raw.trim();
        let valid = email.len() <= 254
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
            })
            && !email.chars().any(char::is_whitespace);
        if !valid {
            return Err(DomainError::invalid(
                "email",
                "must be an email address like name@example.com",
            ));
        }
        Ok(Self(email.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }

    /// The key rate limits count attempts under: the same as [`Email::key`] for an address
    /// that parses, so padding or case never buys a fresh budget, and the trimmed, lowercased
    /// text for one that does not.
    pub fn limit_key(raw: &str) -> String {
        Email::parse(raw).map_or_else(|_| raw.trim().to_lowercase(), |email| email.key())
    }
}

/// An argon2id hash of a random password, made once: login verifies against it when the email
/// is unknown, so an unknown account costs the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).expect("16 bytes encode");
        Argon2::default()
            .hash_password(&rand::random::<[u8; 32]>(), &salt)
            .expect("argon2 hashes any password")
            .to_string()
    })
}

/// A new password: 10 to 1024 characters.
pub fn check_password(password: &str) -> DomainResult<()> {
    let n = password.chars().count();
    if !(10..=1024).contains(&n) {
        return Err(DomainError::invalid("password", "must be 10 to 1024 characters long"));
    }
    Ok(())
}

/// Hashes with argon2id (the crate's default parameters) on a blocking thread.
pub async fn hash_password(password: String) -> DomainResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing: {e}"))
    })
    .await
    .map_err(|e| DomainError::Internal(e.into()))?
    .map_err(DomainError::Internal)
}

/// Whether `password` is the one `hash` was made from. An empty hash is an account without a
/// password (it signs in through a login provider), which no password opens.
pub async fn verify_password(password: String, hash: String) -> ApiResult<bool> {
    let none = hash.is_empty();
    // Verified against the dummy all the same, so it takes a password's time.
    let hash = if none { dummy_hash().to_owned() } else { hash };
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok() && !none)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?
    .map_err(ApiError::Internal)
}

/// A random secret as hex, and the SHA-256 stored in its place.
pub fn new_secret() -> (String, String) {
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let hash = sha256(&secret);
    (secret, hash)
}

pub fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The `Set-Cookie` value for a session token (empty and expired to log out).
pub fn session_cookie(token: &str, secure: bool) -> String {
    let age = if token.is_empty() { 0 } else { SESSION_MS / 1000 };
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={age}{secure}")
}

/// Where a request came from, as the sessions list shows it.
#[derive(Clone, Debug)]
pub struct Client {
    pub ip: String,
    /// The `User-Agent`, at most 300 characters.
    pub user_agent: Option<String>,
}

impl Client {
    pub fn of(peer: std::net::SocketAddr, headers: &axum::http::HeaderMap) -> Self {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(300).collect());
        Client { ip: peer.ip().to_string(), user_agent }
    }
}

/// How a request proved who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Via {
    /// A session cookie, by the SHA-256 of its token.
    Session(String),
    /// An API key, by id.
    Key(String),
}

/// The signed-in user of a request.
#[derive(Clone, Debug)]
pub struct User {
    pub id: UserId,
    pub role: String,
    pub via: Via,
}

/// A signed-in administrator: what every `/admin` handler takes instead of [`User`], so the
/// check is made by the type, before any other part of the request is read.
#[derive(Clone, Debug)]
pub struct Admin(pub User);

impl std::ops::Deref for Admin {
    type Target = User;
    fn deref(&self) -> &User {
        &self.0
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let user = User::from_request_parts(parts, state).await?;
        if user.role != "admin" {
            return Err(ApiError::Forbidden("this needs an administrator".into()));
        }
        Ok(Admin(user))
    }
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    cookie_in(&parts.headers, name)
}

/// The value of cookie `name` in a request's headers.
pub fn cookie_in<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
    })
}

/// Cookie-authenticated writes must come from this site: the scheme, host and port of the
/// Origin (or, failing that, the Referer) must be those of the configured `public_url`. The
/// request's own `Host` header is never trusted for this: a client chooses it.
fn same_origin(parts: &Parts, allowed: &[String]) -> bool {
    let source = parts
        .headers
        .get(header::ORIGIN)
        .or_else(|| parts.headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .and_then(|s| url::Url::parse(s).ok());
    source.is_some_and(|url| {
        let origin = url.origin().ascii_serialization();
        allowed.contains(&origin)
    })
}

impl FromRequestParts<AppState> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let db = &state.db.pool;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if let Some(key) = bearer {
            let row: Option<(String, String, String, Option<i64>)> = sqlx::query_as(
                "SELECT k.id, u.id, u.role, k.last_used_at FROM api_keys k \
                 JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL \
                 AND u.disabled_at IS NULL",
            )
            .bind(sha256(key.trim()))
            .fetch_optional(db)
            .await?;
            let (key_id, id, role, last_used) = row.ok_or(ApiError::Unauthorized)?;
            // Last use to the minute: reads stay reads.
            let now = now_ms();
            if last_used.is_none_or(|t| now - t > LAST_USED_RESOLUTION_MS) {
                let _gate = state.db.write_gate().await;
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&key_id)
                    .execute(db)
                    .await?;
            }
            tracing::Span::current().record("user_id", id.as_str());
            return Ok(User { id: id.into(), role, via: Via::Key(key_id) });
        }
        let token = cookie(parts, SESSION_COOKIE).ok_or(ApiError::Unauthorized)?;
        let hash = sha256(token);
        let now = now_ms();
        let row: Option<(String, String, Option<i64>)> = sqlx::query_as(
            "SELECT u.id, u.role, s.last_seen_at FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL",
        )
        .bind(&hash)
        .bind(now)
        .fetch_optional(db)
        .await?;
        let (id, role, seen) = row.ok_or(ApiError::Unauthorized)?;
        // Last seen to the minute, with the address and browser then: reads stay reads.
        if seen.is_none_or(|t| now - t > LAST_USED_RESOLUTION_MS) {
            let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>();
            if let Some(axum::extract::ConnectInfo(peer)) = peer {
                let client = Client::of(*peer, &parts.headers);
                let _gate = state.db.write_gate().await;
                sqlx::query(
                    "UPDATE sessions SET last_seen_at = $1, ip = $2, user_agent = $3 \
                     WHERE token_hash = $4",
                )
                .bind(now)
                .bind(&client.ip)
                .bind(&client.user_agent)
                .bind(&hash)
                .execute(db)
                .await?;
            }
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe && !same_origin(parts, &state.origins) {
            return Err(ApiError::Forbidden(
                "cross-site request refused: send it from this site, or use an API key".into(),
            ));
        }
        tracing::Span::current().record("user_id", id.as_str());
        Ok(User { id: id.into(), role, via: Via::Session(hash) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_keyed_case_insensitively() {
        assert_eq!(Email::parse(" Ada@Example.org ").unwrap().key(), "ada@example.org");
        for bad in ["", "ada", "ada@", "@example.org", "a b@example.org", "ada@localhost"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
