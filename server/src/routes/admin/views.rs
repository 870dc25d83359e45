//! What the console's routes answer, one type each, so the document describes every body.
//! A job is the owner's [`TaskView`] with the operator's facts beside it.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::ids::{TaskId, UserId};
use crate::tasks::view::TaskView;

/// A job in the console's list: the task, whose it is, and how many times it was claimed.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobSummary {
    #[serde(flatten)]
    pub task: TaskView,
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub email: String,
    pub attempts: i64,
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobSummary>,
    pub next_cursor: Option<String>,
}

/// The upload a job was made from (an image, a volume, a 3D file or a font).
#[derive(Debug, Serialize, ToSchema)]
pub struct JobUpload {
    pub id: String,
    pub filename: String,
    pub width: i64,
    pub height: i64,
}

/// A job's row in the queue.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct QueueState {
    /// queued, running or done.
    pub state: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub run_after: i64,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub last_error: Option<String>,
}

/// One claim of a job, with the worker that made it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AttemptView {
    pub attempt: i64,
    pub worker_id: String,
    pub hostname: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    /// running, succeeded, failed, retry, released or lost.
    pub outcome: String,
    pub error: Option<String>,
}

/// Everything about one job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobDetail {
    #[serde(flatten)]
    pub task: TaskView,
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub email: String,
    /// None for text set in the bundled font.
    pub upload: Option<JobUpload>,
    /// Seconds per stage, from the result.
    #[schema(value_type = Option<Object>)]
    pub stages: Option<Value>,
    pub queue: Option<QueueState>,
    pub attempts: Vec<AttemptView>,
    /// Where the console downloads the output, once the job succeeded.
    pub output_url: Option<String>,
}

/// What a command did to a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobChanged {
    #[schema(value_type = String)]
    pub id: TaskId,
    /// The job's status after the command; absent after a delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<crate::tasks::TaskStatus>,
    /// True after a delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
}

/// An account in the console's list.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AccountSummary {
    #[schema(value_type = String)]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: String,
    pub plan: String,
    /// The balance.
    pub credits: i64,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountList {
    pub users: Vec<AccountSummary>,
}

/// A ledger entry, with the administrator who wrote it if one did.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AdminLedgerEntry {
    pub id: i64,
    pub kind: String,
    pub amount: i64,
    pub reason: String,
    pub task_id: Option<String>,
    pub admin_id: Option<String>,
    pub created_at: i64,
}

/// A task in an account's detail.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AccountTask {
    pub id: String,
    pub mode: String,
    pub status: String,
    pub cost: i64,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// An API key in an account's detail, revoked ones included.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AccountKey {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// An account with its newest ledger entries, tasks and API keys.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountDetail {
    #[schema(value_type = String)]
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: String,
    pub plan: String,
    pub balance: i64,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub ledger: Vec<AdminLedgerEntry>,
    pub tasks: Vec<AccountTask>,
    pub api_keys: Vec<AccountKey>,
    /// The account's Creem customers, newest first.
    pub creem_customers: Vec<String>,
    /// The latest subscription: id, plan, status and period end.
    pub subscription: Option<AccountSubscription>,
    /// Why the account is on a billing hold, if it is.
    pub billing_hold: Option<String>,
}

/// An account's subscription, as the console shows it.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
pub struct AccountSubscription {
    pub id: String,
    pub plan: String,
    pub status: String,
    pub period_end: Option<i64>,
}

/// An account's balance after an adjustment.
#[derive(Debug, Serialize, ToSchema)]
pub struct Adjusted {
    #[schema(value_type = String)]
    pub id: UserId,
    pub balance: i64,
}

/// Whether an account is now disabled.
#[derive(Debug, Serialize, ToSchema)]
pub struct Disabled {
    #[schema(value_type = String)]
    pub id: UserId,
    pub disabled: bool,
}

/// A usage event: a feature used, and what it cost.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct UsageEvent {
    pub id: i64,
    pub user_id: String,
    pub feature: String,
    pub mode: Option<String>,
    pub credits: i64,
    pub task_id: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageEvents {
    pub events: Vec<UsageEvent>,
}

/// A registered worker and how it is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerView {
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    pub version: String,
    pub backend: String,
    pub adapter: String,
    pub concurrency: i64,
    /// Jobs it holds now.
    pub busy: i64,
    /// `serve` or `worker`.
    pub kind: String,
    pub started_at: i64,
    pub last_seen: i64,
    pub stopped_at: Option<i64>,
    pub jobs_done: i64,
    pub jobs_failed: i64,
    pub live: bool,
    /// live, lost or stopped.
    pub status: String,
    /// Jobs succeeded per minute over the last five minutes.
    pub jobs_per_minute: f64,
}

/// Jobs waiting and running.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueDepth {
    pub queued: i64,
    pub running: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Workers {
    pub workers: Vec<WorkerView>,
    pub queue: QueueDepth,
}

/// Credits spent on one day (UTC), the day as milliseconds since the Unix epoch.
#[derive(Debug, Serialize, ToSchema)]
pub struct DaySpend {
    pub day: i64,
    pub credits: i64,
}

/// Tasks made in one mode.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModeCount {
    pub mode: String,
    pub tasks: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DailyUsage {
    pub days: Vec<DaySpend>,
    pub modes: Vec<ModeCount>,
}

/// An administrator's action.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    /// `null` for an action of the service itself (a retention sweep).
    pub admin_id: Option<String>,
    pub admin_email: Option<String>,
    pub action: String,
    pub target_id: String,
    pub detail: String,
    pub created_at: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLog {
    pub entries: Vec<AuditEntry>,
}

/// Per-bucket series of the overview's window: bucket starts in seconds, then one value per
/// bucket (`null` where a bucket had no jobs).
#[derive(Debug, Serialize, ToSchema)]
pub struct Series {
    pub t: Vec<i64>,
    pub jobs_per_minute: Vec<f64>,
    pub failed_per_minute: Vec<f64>,
    pub megapixels_per_second: Vec<f64>,
    pub triangles_per_second: Vec<f64>,
    pub queue_latency_ms: Vec<Option<i64>>,
    pub p50_ms: Vec<Option<i64>>,
    pub p95_ms: Vec<Option<i64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Counts {
    pub processed: i64,
    pub failed: i64,
    pub running: i64,
    pub queued: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Totals {
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub queue_latency_p50_ms: Option<i64>,
    pub queue_latency_p95_ms: Option<i64>,
}

/// The console's live charts for one window.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    /// 5m, 1h or 24h.
    pub window: String,
    pub bucket_seconds: i64,
    pub now: i64,
    pub counts: Counts,
    pub totals: Totals,
    pub series: Series,
}
