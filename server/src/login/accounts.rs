//! What a verified identity means for Lithos' accounts, by the linking rules of OpenID Connect
//! Core 5.7, Auth.js and Supabase:
//!
//! - an identity is found by (issuer, subject), never by email;
//! - an unknown identity whose email an account already has is linked to it automatically
//!   only when the provider vouches for the email and the account's email is verified;
//!   otherwise the person is told to sign in as before and link from settings, and no second
//!   account is made;
//! - a new person is asked for their birth date before any account exists ([`Signup`]);
//! - linking while signed in is refused when the identity is someone else's, and disables the
//!   password of an account whose email was never verified (the pre-account-takeover defence);
//! - unlinking is refused when it would leave no way to sign in.

use super::{LoginError, SIGNUP_TTL_MS, Verified};
use crate::auth::{Email, new_secret, sha256};
use crate::credits;
use crate::error::{ApiError, ApiResult};
use crate::ids::UserId;
use crate::{AppState, now_ms};

/// Where a finished callback leads.
#[derive(Debug)]
pub enum Outcome {
    /// Sign in as this account (`linked`: the identity was just linked to it automatically).
    SignedIn { user_id: String, linked: bool },
    /// The signed-in user linked the identity (`password_disabled`: their unverified
    /// account's password was disabled first).
    Linked { password_disabled: bool },
    /// A new person: ask for their birth date, then [`complete_signup`] with this token.
    NeedsBirthDate { token: String },
}

/// The account an identity belongs to, and whether it is disabled.
async fn owner(state: &AppState, v: &Verified) -> Result<Option<(String, bool)>, LoginError> {
    let row: Option<(String, Option<i64>)> = sqlx::query_as(
        "SELECT u.id, u.disabled_at FROM identities i JOIN users u ON u.id = i.user_id \
         WHERE i.issuer = $1 AND i.subject = $2",
    )
    .bind(&v.issuer)
    .bind(&v.subject)
    .fetch_optional(&state.db.pool)
    .await?;
    Ok(row.map(|(id, disabled)| (id, disabled.is_some())))
}

/// Sign-in (no one signed in): the identity's account, an automatic link, or a sign-up.
pub async fn sign_in(state: &AppState, v: Verified) -> Result<Outcome, LoginError> {
    let name = state.login.name(&v.provider).to_owned();
    if let Some((user_id, disabled)) = owner(state, &v).await? {
        if disabled {
            return Err(LoginError::Disabled);
        }
        let _gate = state.db.write_gate().await;
        sqlx::query("UPDATE identities SET last_used_at = $1 WHERE issuer = $2 AND subject = $3")
            .bind(now_ms())
            .bind(&v.issuer)
            .bind(&v.subject)
            .execute(&state.db.pool)
            .await?;
        return Ok(Outcome::SignedIn { user_id, linked: false });
    }
    let email = v
        .email
        .as_deref()
        .and_then(|e| Email::parse(e).ok())
        .ok_or_else(|| LoginError::NoEmail(name.clone()))?;
    let local: Option<(String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT id, email_verified_at, disabled_at FROM users WHERE email_lower = $1",
    )
    .bind(email.key())
    .fetch_optional(&state.db.pool)
    .await?;
    match local {
        Some((user_id, Some(_), None)) if v.email_verified => {
            let mut tx = state.db.write().await?;
            insert_identity(&mut tx, &user_id, &v, &name).await?;
            tx.commit().await?;
            Ok(Outcome::SignedIn { user_id, linked: true })
        }
        Some((_, _, Some(_))) => Err(LoginError::Disabled),
        Some(_) => Err(LoginError::LinkFromSettings(name)),
        None => {
            let (token, hash) = new_secret();
            let _gate = state.db.write_gate().await;
            sqlx::query(
                "INSERT INTO login_signups (token_hash, provider, issuer, subject, email, \
                 email_verified, name, picture, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&hash)
            .bind(&v.provider)
            .bind(&v.issuer)
            .bind(&v.subject)
            .bind(email.as_str())
            .bind(i64::from(v.email_verified))
            .bind(v.name.as_deref().unwrap_or_default())
            .bind(&v.picture)
            .bind(now_ms())
            .execute(&state.db.pool)
            .await?;
            Ok(Outcome::NeedsBirthDate { token })
        }
    }
}

/// Links the identity to the signed-in `user_id`.
pub async fn link(state: &AppState, user_id: &str, v: Verified) -> Result<Outcome, LoginError> {
    let name = state.login.name(&v.provider).to_owned();
    if let Some((owner, _)) = owner(state, &v).await? {
        return if owner == user_id {
            Ok(Outcome::Linked { password_disabled: false })
        } else {
            Err(LoginError::TakenIdentity(name))
        };
    }
    let mut tx = state.db.write().await?;
    // An account whose email was never verified may have been made by someone else in the
    // person's name: its password stops working before the identity is trusted with it.
    let disabled = sqlx::query(
        "UPDATE users SET password_hash = '' WHERE id = $1 AND email_verified_at IS NULL \
         AND password_hash <> ''",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    insert_identity(&mut tx, user_id, &v, &name).await?;
    tx.commit().await?;
    Ok(Outcome::Linked { password_disabled: disabled })
}

async fn insert_identity(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
    v: &Verified,
    name: &str,
) -> Result<(), LoginError> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO identities (id, user_id, provider, issuer, subject, email, created_at, \
         last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (issuer, subject) DO NOTHING",
    )
    .bind(crate::new_id())
    .bind(user_id)
    .bind(&v.provider)
    .bind(&v.issuer)
    .bind(&v.subject)
    .bind(&v.email)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(LoginError::TakenIdentity(name.to_owned()));
    }
    // The provider's picture becomes the avatar of an account without one.
    if let Some(picture) = &v.picture {
        sqlx::query("UPDATE users SET avatar_url = $1 WHERE id = $2 AND avatar_url IS NULL")
            .bind(picture)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// A new identity's sign-up, answered with a birth date: the account (without a password), its
/// identity and its free grant; or, for a person under the minimum age, nothing at all. The
/// waiting sign-up is deleted either way.
pub async fn complete_signup(state: &AppState, token: &str, birth_date: &str) -> ApiResult<UserId> {
    type Row = (String, String, String, String, i64, String, Option<String>, i64);
    let row: Option<Row> = {
        let _gate = state.db.write_gate().await;
        sqlx::query_as(
            "DELETE FROM login_signups WHERE token_hash = $1 RETURNING provider, issuer, \
             subject, email, email_verified, name, picture, created_at",
        )
        .bind(sha256(token))
        .fetch_optional(&state.db.pool)
        .await?
    };
    let gone =
        || ApiError::Gone("this sign-up has expired or was already answered; sign in again".into());
    let (provider, issuer, subject, email, email_verified, name, picture, created) =
        row.ok_or_else(gone)?;
    if now_ms() - created > SIGNUP_TTL_MS {
        return Err(gone());
    }
    if !crate::age::old_enough_today(birth_date)? {
        return Err(ApiError::Forbidden(crate::age::REFUSAL.into()));
    }
    let email = Email::parse(&email)?;
    let name = crate::text::clean("name", &name, 100)
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or("you").to_owned());
    let id = UserId::generate();
    let now = now_ms();
    let mut tx = state.db.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, email_lower, name, password_hash, role, created_at, \
         age_confirmed_at, email_verified_at) VALUES ($1, $2, $3, $4, '', 'user', $5, $5, $6) \
         ON CONFLICT (email_lower) DO NOTHING",
    )
    .bind(&id)
    .bind(email.as_str())
    .bind(email.key())
    .bind(&name)
    .bind(now)
    .bind((email_verified == 1).then_some(now))
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(ApiError::Conflict(
            "an account with this email was made meanwhile; sign in with it, then link from \
             your account page"
                .into(),
        ));
    }
    let verified = Verified {
        provider: provider.clone(),
        issuer,
        subject,
        email: Some(email.as_str().to_owned()),
        email_verified: email_verified == 1,
        name: None,
        picture,
    };
    insert_identity(&mut tx, id.as_str(), &verified, state.login.name(&provider))
        .await
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    credits::welcome(&mut tx, &id, state.config.free_credits).await?;
    tx.commit().await?;
    if email_verified != 1 {
        crate::verification::send_verification(state, &id, email.as_str()).await?;
    }
    Ok(id)
}
