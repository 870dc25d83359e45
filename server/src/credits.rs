//! Credits: an append-only ledger and the one place the cost model lives.
//!
//! Every change to a balance is a ledger entry (grant, reserve, capture, release, refund,
//! adjustment) with a reason and the task or admin it concerns. `users.balance` is the running
//! sum, updated in the same transaction by a conditional `UPDATE … WHERE balance + amount >= 0`,
//! so two concurrent reservations can never both spend the last credits (a row lock on
//! PostgreSQL, the single writer on SQLite) and a `CHECK (balance >= 0)` backs it up.

use sqlx::AnyConnection;

use crate::domain::{DomainError, DomainResult};
use crate::ids::{TaskId, UserId};
use crate::now_ms;

/// Ledger entry kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Grant,
    Reserve,
    Capture,
    Release,
    Refund,
    Adjustment,
    /// Credits bought: a pack, or a subscription period.
    Purchase,
    /// Credits taken back after a refund or a dispute.
    Clawback,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Grant => "grant",
            Kind::Reserve => "reserve",
            Kind::Capture => "capture",
            Kind::Release => "release",
            Kind::Refund => "refund",
            Kind::Adjustment => "adjustment",
            Kind::Purchase => "purchase",
            Kind::Clawback => "clawback",
        }
    }
}

/// The cost model: 1 credit per started megapixel of the output grid (reliefs and
/// lithophanes), 1 credit per started 16 M voxels (solids and volumes).
pub fn cost_of_grid(width: u32, height: u32) -> i64 {
    (u64::from(width) * u64::from(height)).div_ceil(1_000_000).max(1) as i64
}

pub fn cost_of_voxels(voxels: u64) -> i64 {
    voxels.div_ceil(16 << 20).max(1) as i64
}

/// A 3D file's cost: a credit per started million triangles.
pub fn cost_of_triangles(triangles: u64) -> i64 {
    triangles.div_ceil(1_000_000).max(1) as i64
}

/// The cost of a job's work: by voxels for solids and volumes, by triangles for 3D files, by
/// grid points otherwise.
pub fn cost_of(work: &lithos_engine::Work) -> i64 {
    if work.is_solid() {
        cost_of_voxels(work.voxels)
    } else if work.is_model() {
        cost_of_triangles(work.triangles)
    } else {
        cost_of_grid(work.grid[0], work.grid[1])
    }
}

/// A new account's free grant of `amount` credits (`free_credits`); nothing when it is 0. Run
/// it inside the transaction that creates the account.
pub async fn welcome(conn: &mut AnyConnection, user_id: &UserId, amount: i64) -> DomainResult<()> {
    if amount > 0 {
        post(conn, user_id, Kind::Grant, amount, "welcome grant", None, None).await?;
    }
    Ok(())
}

/// Appends an entry of `amount` (negative spends) and moves the balance with it, or refuses
/// with [`DomainError::InsufficientCredits`] when the balance would go below zero. Run it
/// inside the caller's transaction.
pub async fn post(
    conn: &mut AnyConnection,
    user_id: &UserId,
    kind: Kind,
    amount: i64,
    reason: &str,
    task_id: Option<&TaskId>,
    admin_id: Option<&UserId>,
) -> DomainResult<()> {
    let moved =
        sqlx::query("UPDATE users SET balance = balance + $1 WHERE id = $2 AND balance + $1 >= 0")
            .bind(amount)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    if moved.rows_affected() != 1 {
        let balance: Option<i64> = sqlx::query_scalar("SELECT balance FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?;
        return match balance {
            Some(balance) => Err(DomainError::InsufficientCredits { cost: -amount, balance }),
            None => Err(DomainError::NotFound),
        };
    }
    sqlx::query(
        "INSERT INTO ledger (user_id, kind, amount, reason, task_id, admin_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(amount)
    .bind(reason)
    .bind(task_id)
    .bind(admin_id)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends an entry keyed by `key` (a payment's business key, `creem:order:…`) and moves the
/// balance with it, once: `Ok(false)` when an entry with that key exists. A negative `amount`
/// must already fit the balance. Run it inside the caller's transaction.
pub async fn post_once(
    conn: &mut AnyConnection,
    user_id: &UserId,
    kind: Kind,
    amount: i64,
    reason: &str,
    key: &str,
) -> DomainResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO ledger (user_id, kind, amount, reason, created_at, idempotency_key) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(amount)
    .bind(reason)
    .bind(now_ms())
    .bind(key)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    let moved =
        sqlx::query("UPDATE users SET balance = balance + $1 WHERE id = $2 AND balance + $1 >= 0")
            .bind(amount)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
    if moved.rows_affected() != 1 {
        return Err(DomainError::Internal(anyhow::anyhow!("{key} would overdraw {user_id}")));
    }
    Ok(true)
}

/// The balance as the ledger's sum.
pub async fn balance(conn: &mut AnyConnection, user_id: &str) -> DomainResult<i64> {
    let sum: Option<i64> =
        sqlx::query_scalar("SELECT CAST(SUM(amount) AS BIGINT) FROM ledger WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(sum.unwrap_or(0))
}
