//! What an account may do: its plan's limits, checked where work is asked for (uploads and
//! task creation), and the billing hold a dispute it could not cover puts on it.

use sqlx::AnyConnection;

use crate::config::{Billing, FREE_PLAN, Plan};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, DAY_MS, MINUTE_MS, Rule};
use crate::now_ms;

/// An account's billing standing.
#[derive(Clone, Debug)]
pub struct Standing {
    /// The plan in force now: a canceled plan lasts until its paid period ends.
    pub plan: String,
    pub hold: Option<String>,
}

pub async fn standing(conn: &mut AnyConnection, user_id: &str) -> ApiResult<Standing> {
    let (plan, ends, hold_at, hold): (String, Option<i64>, Option<i64>, Option<String>) =
        sqlx::query_as(
            "SELECT plan, plan_ends_at, billing_hold_at, billing_hold_reason FROM users \
             WHERE id = $1",
        )
        .bind(user_id)
        .fetch_one(&mut *conn)
        .await?;
    let plan = if ends.is_some_and(|t| t <= now_ms()) { FREE_PLAN.to_owned() } else { plan };
    Ok(Standing { plan, hold: hold_at.map(|_| hold.unwrap_or_default()) })
}

impl Standing {
    pub fn plan<'a>(&self, billing: &'a Billing) -> &'a Plan {
        billing.plan(&self.plan)
    }

    /// 402 while the account is on hold.
    pub fn check_hold(&self) -> ApiResult<()> {
        match &self.hold {
            Some(reason) => Err(ApiError::BillingHold(format!(
                "the account is on a billing hold ({reason}); new tasks wait until it is \
                 settled: contact support"
            ))),
            None => Ok(()),
        }
    }
}

/// Checks a task's grid (`grid_points`, images only) against the account's plan, and its
/// billing hold (the counted limits are [`admit_task`]'s, at the insert).
pub async fn check_task(
    conn: &mut AnyConnection,
    billing: &Billing,
    user_id: &str,
    grid_points: Option<u64>,
) -> ApiResult<()> {
    let standing = standing(conn, user_id).await?;
    standing.check_hold()?;
    let plan = standing.plan(billing);
    if let Some(points) = grid_points {
        let megapixels = points as f64 / 1e6;
        if megapixels > plan.limits.max_megapixels {
            return Err(ApiError::invalid(
                "params",
                format!(
                    "the output grid is {megapixels:.1} megapixels; the {} plan allows {} per \
                     task (max_megapixels): lower `max_grid`, or change plans",
                    plan.id, plan.limits.max_megapixels
                ),
            ));
        }
    }
    Ok(())
}

/// Admits a task just inserted (with its credits reserved) in `tx`: the plan's tasks a minute
/// and tasks at once. Run in the insert's transaction after the reservation, which locks the
/// account's row, so that replicas admitting tasks of one account take turns and the count
/// is exact; a refusal rolls the task, its credits and its count back.
pub async fn admit_task(tx: &mut AnyConnection, billing: &Billing, user_id: &str) -> ApiResult<()> {
    let plan = standing(tx, user_id).await?.plan(billing);
    if let Some(max) = plan.limits.tasks_per_minute {
        let rule = Rule {
            id: "tasks",
            max: u64::from(max),
            window_ms: MINUTE_MS,
            says: format!("the {} plan allows {max} tasks a minute (tasks_per_minute)", plan.id),
        };
        limits::take(tx, &rule, user_id, 1).await?;
    }
    if let Some(cap) = plan.limits.max_running {
        // Counting the new task too.
        let running: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) - 1 FROM tasks WHERE user_id = $1 AND status IN ('queued', 'running')",
        )
        .bind(user_id)
        .fetch_one(&mut *tx)
        .await?;
        if running >= i64::from(cap) {
            return Err(ApiError::TooManyAtOnce {
                message: format!(
                    "the {} plan runs {cap} task{} at once (max_running) and you have {running} \
                     queued or running; wait for one to finish, or change plans",
                    plan.id,
                    if cap == 1 { "" } else { "s" }
                ),
                retry_after: 5,
            });
        }
    }
    Ok(())
}

/// Admits an upload of `bytes` against the plan's uploads a minute and megabytes a day, both
/// or neither.
pub async fn admit_upload(db: &Db, billing: &Billing, user_id: &str, bytes: u64) -> ApiResult<()> {
    let mut tx = db.write().await?;
    let plan = standing(&mut tx, user_id).await?.plan(billing);
    if let Some(max) = plan.limits.uploads_per_minute {
        let rule = Rule {
            id: "uploads",
            max: u64::from(max),
            window_ms: MINUTE_MS,
            says: format!(
                "the {} plan allows {max} uploads a minute (uploads_per_minute)",
                plan.id
            ),
        };
        limits::take(&mut tx, &rule, user_id, 1).await?;
    }
    if let Some(mb) = plan.limits.upload_mb_per_day {
        let rule = Rule {
            id: "upload-bytes",
            max: mb.saturating_mul(1 << 20),
            window_ms: DAY_MS,
            says: format!(
                "the {} plan allows {mb} MB of uploads a day (upload_mb_per_day)",
                plan.id
            ),
        };
        limits::take(&mut tx, &rule, user_id, bytes).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The largest upload the account's plan allows, in bytes (never above the server's).
pub async fn upload_limit(
    conn: &mut AnyConnection,
    billing: &Billing,
    user_id: &str,
    server_limit: u64,
) -> ApiResult<(u64, String)> {
    let standing = standing(conn, user_id).await?;
    let plan = standing.plan(billing);
    Ok((server_limit.min(plan.limits.max_upload_mb.saturating_mul(1 << 20)), plan.id.clone()))
}
