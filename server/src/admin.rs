//! Operator commands behind `lithos admin`: create a user, grant credits.

use crate::auth::{Email, check_password, hash_password};
use crate::credits::{self, Kind};
use crate::db::Db;
use crate::domain::{DomainError, DomainResult};
use crate::ids::UserId;
use crate::now_ms;

/// Creates an account (an administrator with `admin`) with `free_credits`; returns its id.
pub async fn create_user(
    db: &Db,
    email: &str,
    name: &str,
    password: &str,
    admin: bool,
    free_credits: i64,
) -> DomainResult<UserId> {
    let email = Email::parse(email)?;
    check_password(password)?;
    let hash = hash_password(password.to_owned()).await?;
    let id = UserId::generate();
    let mut tx = db.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, email_lower, name, password_hash, role, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email_lower) DO NOTHING",
    )
    .bind(&id)
    .bind(email.as_str())
    .bind(email.key())
    .bind(name)
    .bind(&hash)
    .bind(if admin { "admin" } else { "user" })
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(DomainError::Conflict(format!("{} already has an account", email.as_str())));
    }
    credits::welcome(&mut tx, &id, free_credits).await?;
    tx.commit().await?;
    Ok(id)
}

/// Grants `credits` (negative to take back, never below zero) to the account with `email`;
/// returns the new balance.
pub async fn grant(db: &Db, email: &str, credits: i64, reason: &str) -> DomainResult<i64> {
    let email = Email::parse(email)?;
    if reason.trim().is_empty() {
        return Err(DomainError::invalid("reason", "say why, for the ledger"));
    }
    let id: Option<UserId> = sqlx::query_scalar("SELECT id FROM users WHERE email_lower = $1")
        .bind(email.key())
        .fetch_optional(&db.pool)
        .await?;
    let id = id.ok_or(DomainError::NotFound)?;
    let kind = if credits >= 0 { Kind::Grant } else { Kind::Adjustment };
    let mut tx = db.write().await?;
    credits::post(&mut tx, &id, kind, credits, reason.trim(), None, None).await?;
    let balance = credits::balance(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(balance)
}
