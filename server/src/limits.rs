//! Abuse limits that every replica enforces together: counters in the database
//! (`rate_limits`), one per rule, subject and fixed window, each taken by a single atomic
//! upsert that refuses to pass the limit. Three API replicas on one PostgreSQL therefore admit
//! the limit once, not three times; on the embedded SQLite the write gate orders them.
//!
//! Subjects (addresses, email addresses, account ids) are stored as SHA-256 digests, so the
//! counters keep no address in the clear; the sweeper deletes windows two days after they end.
//!
//! The per-address rules of the public forms are constants here; the per-plan ones
//! (`uploads_per_minute`, `tasks_per_minute`, `upload_mb_per_day`) come from each plan's
//! [`Limits`](crate::config::Limits), and `max_running` is checked with the task's insert.

use std::net::IpAddr;

use sqlx::AnyConnection;

use crate::auth::sha256;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::now_ms;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Free previews an account may ask for a minute: one a second, which a person dragging a
/// slider does not reach (the web app asks at most every 300 ms while typing).
pub const PREVIEWS_PER_MINUTE: u64 = 60;

/// At most `max` (of a unit: attempts, or bytes) per `window_ms`, per subject.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Keeps the rules' counters apart: `sign-in-ip`, `tasks`, ….
    pub id: &'static str,
    pub max: u64,
    pub window_ms: i64,
    /// The limit in words, for the 429: "at most 20 sign-in attempts a minute from one
    /// address".
    pub says: String,
}

impl Rule {
    fn fixed(id: &'static str, max: u64, window_ms: i64, says: &str) -> Self {
        Self { id, max, window_ms, says: says.to_owned() }
    }

    /// Sign-in attempts (passwords, login providers, and guesses at tokens and passwords of
    /// a signed-in account) from one address.
    pub fn sign_in_per_ip() -> Self {
        Self::fixed(
            "sign-in-ip",
            20,
            MINUTE_MS,
            "at most 20 sign-in attempts a minute from one address",
        )
    }

    /// New accounts from one address (with a password or through a provider).
    pub fn sign_up_per_ip() -> Self {
        Self::fixed("sign-up-ip", 20, HOUR_MS, "at most 20 sign-ups an hour from one address")
    }

    /// Password-reset mails asked from one address.
    pub fn reset_per_ip() -> Self {
        Self::fixed("reset-ip", 10, HOUR_MS, "at most 10 password resets an hour from one address")
    }

    /// Attempts on one account (by its email or id), from anywhere.
    pub fn per_account() -> Self {
        Self::fixed("account", 10, MINUTE_MS, "at most 10 attempts a minute on one account")
    }

    /// Free previews of one account ([`crate::previews`]).
    pub fn previews() -> Self {
        Self::fixed("previews", PREVIEWS_PER_MINUTE, MINUTE_MS, "at most 60 previews a minute")
    }

    /// Visitors' support requests from one address.
    pub fn contact_per_ip() -> Self {
        Self::fixed("contact-ip", 3, HOUR_MS, "at most 3 support requests an hour from one address")
    }

    /// How much of this window is left, in whole seconds (at least 1).
    fn retry_after(&self, window_start: i64, now: i64) -> u64 {
        let left = window_start + self.window_ms - now;
        (left.max(0) as u64).div_ceil(1000).max(1)
    }
}

/// Takes `amount` of `rule` for `subject` on `conn` (a write transaction's, so that a refusal
/// or failure later in it gives the amount back), or answers 429 naming the limit.
pub async fn take(
    conn: &mut AnyConnection,
    rule: &Rule,
    subject: &str,
    amount: u64,
) -> ApiResult<()> {
    let now = now_ms();
    let window = now - now.rem_euclid(rule.window_ms);
    let refused = || ApiError::RateLimited {
        limit: rule.says.clone(),
        retry_after: rule.retry_after(window, now),
    };
    if amount > rule.max {
        return Err(refused());
    }
    let key = sha256(&format!("{}:{subject}", rule.id));
    // One statement: a first take inserts, a later one adds only while it stays within the
    // limit; no row back means refused. Concurrent takes of one key queue on its row.
    let taken: Option<i64> = sqlx::query_scalar(
        "INSERT INTO rate_limits (key, window_start, used) VALUES ($1, $2, $3) \
         ON CONFLICT (key, window_start) DO UPDATE SET used = rate_limits.used + excluded.used \
         WHERE rate_limits.used + excluded.used <= $4 RETURNING used",
    )
    .bind(&key)
    .bind(window)
    .bind(amount as i64)
    .bind(rule.max as i64)
    .fetch_optional(&mut *conn)
    .await?;
    match taken {
        Some(_) => Ok(()),
        None => {
            metrics::counter!("lithos_rate_limited_total", "rule" => rule.id).increment(1);
            Err(refused())
        }
    }
}

/// [`take`] as a statement of its own.
pub async fn take_now(db: &Db, rule: &Rule, subject: &str, amount: u64) -> ApiResult<()> {
    let _gate = db.write_gate().await;
    let mut conn = db.pool.acquire().await?;
    take(&mut conn, rule, subject, amount).await
}

/// A sign-in attempt from `ip` on the account keyed `account`: both budgets.
pub async fn sign_in(db: &Db, ip: IpAddr, account: &str) -> ApiResult<()> {
    take_now(db, &Rule::sign_in_per_ip(), &ip.to_string(), 1).await?;
    take_now(db, &Rule::per_account(), account, 1).await
}

/// Deletes the counters of windows that ended more than a day ago.
pub async fn sweep(db: &Db, as_of: i64) -> sqlx::Result<u64> {
    let _gate = db.write_gate().await;
    Ok(sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
        .bind(as_of - 2 * DAY_MS)
        .execute(&db.pool)
        .await?
        .rows_affected())
}
