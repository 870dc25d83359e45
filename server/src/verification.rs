//! What email links prove: that an address is the user's (at sign-up, or a new address for
//! the account), or that the owner of the address asks for a new password. Each link carries
//! a single-use token that expires; only its SHA-256 is stored (`email_tokens`). A new token
//! voids the user's earlier unused ones of the same purpose.

use std::time::Duration;

use crate::auth::{Email, check_password, hash_password, new_secret, sha256};
use crate::error::{ApiError, ApiResult};
use crate::mail::templates;
use crate::{AppState, now_ms};

/// What a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms the account's address.
    Verify,
    /// Sets a new password.
    Reset,
    /// Moves the account to a new address.
    Change,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::Change => "change",
        }
    }

    /// How long its link works.
    pub fn ttl(self) -> Duration {
        match self {
            Purpose::Reset => Duration::from_secs(30 * 60),
            Purpose::Verify | Purpose::Change => Duration::from_secs(24 * 3600),
        }
    }
}

/// A new token for `user`'s `purpose`, sent to `email`; returns the token.
async fn issue(state: &AppState, user: &str, purpose: Purpose, email: &str) -> ApiResult<String> {
    let (token, hash) = new_secret();
    let now = now_ms();
    let mut tx = state.db.write().await?;
    sqlx::query("DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
        .bind(user)
        .bind(purpose.as_str())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&hash)
    .bind(user)
    .bind(purpose.as_str())
    .bind(email)
    .bind(now)
    .bind(now + purpose.ttl().as_millis() as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// A token redeemed: whose it was and the address it went to.
struct Redeemed {
    user: String,
    email: String,
}

/// Uses `token` for `purpose`, once; a 422 naming `token` when it is unknown, used, expired or
/// for something else.
async fn redeem(
    tx: &mut sqlx::AnyConnection,
    token: &str,
    purpose: Purpose,
) -> ApiResult<Redeemed> {
    let hash = sha256(token.trim());
    let now = now_ms();
    let used = sqlx::query(
        "UPDATE email_tokens SET used_at = $1 WHERE token_hash = $2 AND purpose = $3 \
         AND used_at IS NULL AND expires_at > $1",
    )
    .bind(now)
    .bind(&hash)
    .bind(purpose.as_str())
    .execute(&mut *tx)
    .await?;
    if used.rows_affected() != 1 {
        return Err(ApiError::invalid(
            "token",
            "this link has expired or was already used; ask for a new one",
        ));
    }
    let (user, email): (String, String) =
        sqlx::query_as("SELECT user_id, email FROM email_tokens WHERE token_hash = $1")
            .bind(&hash)
            .fetch_one(&mut *tx)
            .await?;
    Ok(Redeemed { user, email })
}

/// Mails `email` a link confirming it as `user`'s address.
pub async fn send_verification(state: &AppState, user: &str, email: &str) -> ApiResult<()> {
    let token = issue(state, user, Purpose::Verify, email).await?;
    let link = format!("{}/#verify?token={token}", state.site_url());
    state.mailer.send_later(email.to_owned(), templates::verify(&link));
    Ok(())
}

/// Mails `new_email` a link that moves `user` to it.
pub async fn send_change(state: &AppState, user: &str, new_email: &Email) -> ApiResult<()> {
    let token = issue(state, user, Purpose::Change, new_email.as_str()).await?;
    let link = format!("{}/#verify?token={token}", state.site_url());
    state.mailer.send_later(new_email.as_str().to_owned(), templates::change(&link));
    Ok(())
}

/// What following a verification link did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Verified {
    /// The address now confirmed.
    pub email: String,
    /// True when the account moved to this address.
    pub changed: bool,
}

/// Follows a verification link: a sign-up's address is confirmed, or the account moves to the
/// new address (409 when another account took it meanwhile), and the old address is told.
pub async fn confirm(state: &AppState, token: &str) -> ApiResult<Verified> {
    let mut tx = state.db.write().await?;
    let (redeemed, changed) = match redeem(&mut tx, token, Purpose::Verify).await {
        Ok(r) => (r, false),
        Err(_) => (redeem(&mut tx, token, Purpose::Change).await?, true),
    };
    let now = now_ms();
    let old: Option<String> =
        sqlx::query_scalar("SELECT email FROM users WHERE id = $1 AND deleted_at IS NULL")
            .bind(&redeemed.user)
            .fetch_optional(&mut *tx)
            .await?;
    let old = old.ok_or_else(|| ApiError::invalid("token", "this link's account is gone"))?;
    if changed {
        let email = Email::parse(&redeemed.email)?;
        let moved = sqlx::query(
            "UPDATE users SET email = $1, email_lower = $2, email_verified_at = $3 \
             WHERE id = $4 AND NOT EXISTS (SELECT 1 FROM users o WHERE o.email_lower = $2 \
             AND o.id <> $4)",
        )
        .bind(email.as_str())
        .bind(email.key())
        .bind(now)
        .bind(&redeemed.user)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Err(ApiError::Conflict("another account uses this email now".into()));
        }
    } else {
        if !old.eq_ignore_ascii_case(&redeemed.email) {
            return Err(ApiError::invalid(
                "token",
                "the account's address changed since this link was sent",
            ));
        }
        sqlx::query(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2",
        )
        .bind(now)
        .bind(&redeemed.user)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if changed {
        let support = state
            .config
            .support_email
            .clone()
            .unwrap_or_else(|| format!("{}/#support", state.site_url()));
        state.mailer.send_later(old, templates::changed(&redeemed.email, &support));
    }
    Ok(Verified { email: redeemed.email, changed })
}

/// Mails a reset link to `raw_email` when an account has it; says nothing either way.
pub async fn request_reset(state: &AppState, raw_email: &str) -> ApiResult<()> {
    let Ok(email) = Email::parse(raw_email) else { return Ok(()) };
    let user: Option<(String, String)> =
        sqlx::query_as("SELECT id, email FROM users WHERE email_lower = $1 AND deleted_at IS NULL")
            .bind(email.key())
            .fetch_optional(&state.db.pool)
            .await?;
    if let Some((id, address)) = user {
        let token = issue(state, &id, Purpose::Reset, &address).await?;
        let link = format!("{}/#reset?token={token}", state.site_url());
        state.mailer.send_later(address, templates::reset(&link));
    }
    Ok(())
}

/// Sets a new password through a reset link: every session ends, and the address is
/// verified (the link reached it).
pub async fn reset(state: &AppState, token: &str, password: String) -> ApiResult<()> {
    check_password(&password)?;
    let hash = hash_password(password).await?;
    let mut tx = state.db.write().await?;
    let redeemed = redeem(&mut tx, token, Purpose::Reset).await?;
    let moved = sqlx::query(
        "UPDATE users SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2) \
         WHERE id = $3 AND email = $4 AND deleted_at IS NULL",
    )
    .bind(&hash)
    .bind(now_ms())
    .bind(&redeemed.user)
    .bind(&redeemed.email)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() != 1 {
        return Err(ApiError::invalid(
            "token",
            "the account's address changed since this link was sent",
        ));
    }
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(&redeemed.user)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM email_tokens WHERE user_id = $1 AND purpose = 'reset'")
        .bind(&redeemed.user)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
