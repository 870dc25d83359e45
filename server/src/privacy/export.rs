//! A user's data, exported: a ZIP of machine-readable JSON (profile, sign-in identities,
//! sessions and API keys without secrets, tasks, uploads, the ledger, payments, usage,
//! support requests) and the stored source and output files still within retention, with a
//! short README. The ZIP is streamed into storage as it is written, never held in memory; its
//! link lasts [`TTL`], after which the retention sweeper deletes it. Exports cost nothing and
//! are limited to [`PER_DAY`] a day, one at a time.

use std::io::Write;
use std::time::Duration;

use serde_json::{Map, Value, json};
use sqlx::{Column, Row};
use zip::CompressionMethod;
use zip::write::SimpleFileOptions;

use crate::error::{ApiError, ApiResult};
use crate::ids::UserId;
use crate::{AppState, Db, now_ms};

/// How long a finished export can be downloaded.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// Exports a user may start in 24 hours (failed ones do not count).
pub const PER_DAY: i64 = 3;
/// A running export whose heartbeat is older than this was interrupted (its server stopped).
const STALE_MS: i64 = 2 * 60 * 1000;
const DAY_MS: i64 = 86_400_000;

/// An export, as `GET /api/v1/me/exports/{id}` shows it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ExportView {
    pub id: String,
    /// `running`, `ready`, `failed` or `expired`.
    pub status: String,
    pub bytes: Option<i64>,
    pub error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// When the download link stops working and the file is deleted.
    pub expires_at: Option<i64>,
    /// Where a ready export is downloaded (signed-in, expiring with the export).
    pub download_url: Option<String>,
}

/// Starts an export of `user`'s data; it is made in the background.
pub async fn start(state: &AppState, user: &UserId) -> ApiResult<ExportView> {
    let now = now_ms();
    let recent: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT status, created_at, heartbeat_at FROM exports WHERE user_id = $1 \
         AND created_at > $2 AND status <> 'failed' ORDER BY created_at",
    )
    .bind(user)
    .bind(now - DAY_MS)
    .fetch_all(&state.db.pool)
    .await?;
    if recent.iter().any(|(status, _, beat)| status == "running" && now - beat < STALE_MS) {
        return Err(ApiError::Conflict(
            "an export is being made; download it when it is ready, then start another".into(),
        ));
    }
    if recent.len() as i64 >= PER_DAY {
        let retry_after = ((recent[0].1 + DAY_MS - now) / 1000).max(1) as u64;
        return Err(ApiError::RateLimited {
            limit: format!("at most {PER_DAY} data exports a day"),
            retry_after,
        });
    }
    let id = crate::new_id();
    let key = format!("users/{user}/exports/{id}.zip");
    {
        let _gate = state.db.write_gate().await;
        sqlx::query(
            "INSERT INTO exports (id, user_id, status, storage_key, heartbeat_at, created_at) \
             VALUES ($1, $2, 'running', $3, $4, $4)",
        )
        .bind(&id)
        .bind(user)
        .bind(&key)
        .bind(now)
        .execute(&state.db.pool)
        .await?;
    }
    let (task_state, task_user, task_id) = (state.clone(), user.clone(), id.clone());
    tokio::spawn(async move {
        let outcome = build(&task_state, &task_user, &task_id, &key).await;
        match finish(&task_state.db, &task_id, outcome).await {
            Ok(true) => {}
            // The account was deleted meanwhile: so is what the export wrote.
            Ok(false) => {
                let _ = task_state.storage.delete(&key).await;
            }
            Err(e) => {
                tracing::warn!(export = %task_id, error = ?e, "recording an export's outcome failed");
            }
        }
    });
    view(state, user, &id).await
}

/// Records how export `id` ended; false when its row is gone (the account was deleted).
async fn finish(db: &Db, id: &str, outcome: anyhow::Result<u64>) -> anyhow::Result<bool> {
    let now = now_ms();
    let _gate = db.write_gate().await;
    match outcome {
        Ok(bytes) => {
            metrics::counter!("lithos_exports_total", "outcome" => "ready").increment(1);
            let moved = sqlx::query(
                "UPDATE exports SET status = 'ready', bytes = $1, finished_at = $2, \
                 expires_at = $3 WHERE id = $4 AND status = 'running'",
            )
            .bind(bytes as i64)
            .bind(now)
            .bind(now + TTL.as_millis() as i64)
            .bind(id)
            .execute(&db.pool)
            .await?;
            Ok(moved.rows_affected() == 1)
        }
        Err(e) => {
            metrics::counter!("lithos_exports_total", "outcome" => "failed").increment(1);
            tracing::warn!(export = %id, error = ?e, "an export failed");
            sqlx::query(
                "UPDATE exports SET status = 'failed', error = $1, finished_at = $2 \
                 WHERE id = $3 AND status = 'running'",
            )
            .bind("the export could not be made; start a new one, and contact support if it fails again")
            .bind(now)
            .bind(id)
            .execute(&db.pool)
            .await?;
            Ok(true)
        }
    }
}

#[derive(sqlx::FromRow)]
struct ExportRow {
    id: String,
    status: String,
    bytes: Option<i64>,
    error: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
    expires_at: Option<i64>,
    heartbeat_at: i64,
}

/// The export `id` of `user`: 404 for anyone else's.
pub async fn view(state: &AppState, user: &UserId, id: &str) -> ApiResult<ExportView> {
    let row: Option<ExportRow> = sqlx::query_as(
        "SELECT id, status, bytes, error, created_at, finished_at, expires_at, heartbeat_at \
         FROM exports WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(&state.db.pool)
    .await?;
    let ExportRow {
        id,
        mut status,
        bytes,
        mut error,
        created_at,
        finished_at,
        expires_at,
        heartbeat_at: beat,
    } = row.ok_or(ApiError::NotFound)?;
    if status == "running" && now_ms() - beat > STALE_MS {
        status = "failed".into();
        error = Some("the export was interrupted (the server restarted); start a new one".into());
    }
    if status == "ready" && expires_at.is_some_and(|at| at <= now_ms()) {
        status = "expired".into();
    }
    let download_url = (status == "ready").then(|| format!("/api/v1/me/exports/{id}/download"));
    Ok(ExportView { id, status, bytes, error, created_at, finished_at, expires_at, download_url })
}

/// The stored ZIP of a ready export: its key, or 410 once it has expired.
pub async fn ready_key(state: &AppState, user: &UserId, id: &str) -> ApiResult<String> {
    let export = view(state, user, id).await?;
    match export.status.as_str() {
        "ready" => Ok(format!("users/{user}/exports/{id}.zip")),
        "expired" => Err(ApiError::Gone(format!(
            "this export expired at {} and was deleted; start a new one",
            crate::routes::download::rfc3339(export.expires_at.unwrap_or_default())
        ))),
        status => Err(ApiError::Conflict(format!("the export is {status}, not ready"))),
    }
}

/// Marks export `id` expired (retention deleted its file first).
pub async fn mark_expired(db: &Db, id: &str) -> sqlx::Result<()> {
    let _gate = db.write_gate().await;
    sqlx::query("UPDATE exports SET status = 'expired' WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// One stored file to copy into the ZIP.
struct File {
    key: String,
    name: String,
}

/// Writes the ZIP to `key`; returns its size.
async fn build(state: &AppState, user: &UserId, id: &str, key: &str) -> anyhow::Result<u64> {
    let pool = &state.db.pool;
    let one = |sql: &'static str| rows(pool, sql, user);
    let mut documents: Vec<(&str, Value)> = Vec::new();
    let profile =
        one("SELECT id, email, name, avatar_url, role, plan, plan_ends_at, balance AS credits, \
         created_at, age_confirmed_at, disabled_at, billing_hold_at, billing_hold_reason \
         FROM users WHERE id = $1")
        .await?;
    let email = profile.first().and_then(|p| p["email"].as_str()).unwrap_or_default().to_owned();
    documents.push(("profile.json", profile.into_iter().next().unwrap_or_default()));
    let mut identities =
        one("SELECT provider, email, created_at, last_used_at FROM identities WHERE user_id = $1 \
         ORDER BY created_at")
        .await?;
    let password: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(pool)
        .await?;
    if !password.is_empty() {
        identities.insert(0, json!({ "provider": "password", "email": email }));
    }
    documents.push(("identities.json", Value::Array(identities)));
    documents.push((
        "sessions.json",
        Value::Array(one("SELECT created_at, last_seen_at, expires_at, ip, user_agent FROM sessions WHERE user_id = $1 ORDER BY created_at").await?),
    ));
    documents.push((
        "api_keys.json",
        Value::Array(one("SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_keys WHERE user_id = $1 ORDER BY created_at").await?),
    ));
    let mut tasks = one(
        "SELECT id, upload_id, mode, params, format, status, cost, error, result, created_at, \
         started_at, finished_at, expired_at, deleted_at FROM tasks WHERE user_id = $1 \
         ORDER BY created_at, id",
    )
    .await?;
    for task in &mut tasks {
        for field in ["params", "result"] {
            if let Some(parsed) = task[field].as_str().and_then(|t| serde_json::from_str(t).ok()) {
                task[field] = parsed;
            }
        }
    }
    documents.push(("tasks.json", Value::Array(tasks)));
    documents.push((
        "uploads.json",
        Value::Array(one("SELECT id, filename, content_type, bytes, width, height, state, created_at, deleted_at FROM uploads WHERE user_id = $1 ORDER BY created_at, id").await?),
    ));
    documents.push((
        "ledger.json",
        Value::Array(one("SELECT id, kind, amount, reason, task_id, created_at FROM ledger WHERE user_id = $1 ORDER BY id").await?),
    ));
    documents.push(("payments.json", json!({
        "payments": one("SELECT transaction_id, kind, product, order_id, subscription_id, amount_paid, currency, credits, clawed_back, created_at FROM payments WHERE user_id = $1 ORDER BY created_at").await?,
        "refunds_and_disputes": one("SELECT id, kind, transaction_id, amount, currency, credits, shortfall, created_at FROM payment_reversals WHERE user_id = $1 ORDER BY created_at").await?,
        "subscriptions": one("SELECT id, plan, status, period_start, period_end, updated_at FROM subscriptions WHERE user_id = $1 ORDER BY updated_at").await?,
        "checkouts": one("SELECT id, product, units, status, created_at, completed_at FROM checkouts WHERE user_id = $1 ORDER BY created_at").await?,
    })));
    documents.push((
        "usage_events.json",
        Value::Array(one("SELECT feature, mode, credits, task_id, created_at FROM usage_events WHERE user_id = $1 ORDER BY id").await?),
    ));
    let mut requests = one("SELECT id, category, subject, task_id, state, created_at, updated_at \
         FROM support_requests WHERE user_id = $1 ORDER BY created_at")
    .await?;
    let messages = one(
        "SELECT m.request_id, CASE WHEN m.admin_id IS NULL THEN 'you' ELSE 'support' END AS author, \
         m.body, m.created_at FROM support_messages m JOIN support_requests r ON r.id = m.request_id \
         WHERE r.user_id = $1 ORDER BY m.created_at",
    )
    .await?;
    for request in &mut requests {
        let thread: Vec<Value> =
            messages.iter().filter(|m| m["request_id"] == request["id"]).cloned().collect();
        request["messages"] = Value::Array(thread);
    }
    documents.push(("support_requests.json", Value::Array(requests)));

    let uploads: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT id, storage_key, filename FROM uploads WHERE user_id = $1 \
         AND state = 'ready' AND deleted_at IS NULL ORDER BY created_at, id",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    let outputs: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, output_key FROM tasks WHERE user_id = $1 AND output_key IS NOT NULL \
         AND expired_at IS NULL AND deleted_at IS NULL ORDER BY created_at, id",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    let avatar: Option<String> = sqlx::query_scalar("SELECT avatar_key FROM users WHERE id = $1")
        .bind(user)
        .fetch_one(pool)
        .await?;
    let mut files: Vec<File> = uploads
        .into_iter()
        .map(|(id, key, filename)| File {
            key,
            name: format!("files/uploads/{id}/{}", safe_name(&filename)),
        })
        .collect();
    files.extend(avatar.map(|key| File { key, name: "files/avatar.png".into() }));
    files.extend(outputs.into_iter().map(|(id, key)| {
        let extension = key.rsplit_once('.').map_or("bin", |(_, e)| e).to_owned();
        File { key, name: format!("files/outputs/{id}.{extension}") }
    }));

    let storage = state.storage.clone();
    let db = state.db.clone();
    let (key, id) = (key.to_owned(), id.to_owned());
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        // Small parts: an export is long, and its memory should stay far below an output's.
        let sink = match storage.sink(&key, "application/zip")? {
            crate::storage::Sink::S3(s3) => {
                crate::storage::Sink::S3(s3.with_sizes(8 << 20, 8 << 20))
            }
            local => local,
        };
        let mut zip = zip::ZipWriter::new_stream(sink);
        let text = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        // Meshes and images are stored as they are: deflating gigabytes would cost minutes.
        let stored = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(true);
        zip.start_file("README.txt", text)?;
        zip.write_all(README.as_bytes())?;
        for (name, document) in &documents {
            zip.start_file(*name, text)?;
            serde_json::to_writer_pretty(&mut zip, document)?;
        }
        let mut beat = now_ms();
        for file in &files {
            zip.start_file(file.name.as_str(), stored)?;
            match storage.copy_to(&file.key, &mut zip) {
                Ok(_) => {}
                // Deleted by retention while the export ran: it is no longer kept.
                Err(crate::storage::StorageError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
            if now_ms() - beat > 10_000 {
                beat = now_ms();
                runtime.block_on(heartbeat(&db, &id))?;
            }
        }
        let sink = zip.finish()?.into_inner();
        Ok(sink.finish()?)
    })
    .await?
}

async fn heartbeat(db: &Db, id: &str) -> sqlx::Result<()> {
    let _gate = db.write_gate().await;
    sqlx::query("UPDATE exports SET heartbeat_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(())
}

/// The rows of `sql` (one `$1`, the user) as JSON objects, by column name.
async fn rows(pool: &sqlx::AnyPool, sql: &str, user: &UserId) -> sqlx::Result<Vec<Value>> {
    let rows = sqlx::query(sql).bind(user).fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|row| {
            let mut object = Map::new();
            for (i, column) in row.columns().iter().enumerate() {
                let value = if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
                    json!(v)
                } else if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                    json!(v)
                } else if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                    json!(v)
                } else {
                    json!(row.try_get::<Option<bool>, _>(i).ok().flatten())
                };
                object.insert(column.name().to_owned(), value);
            }
            Value::Object(object)
        })
        .collect())
}

/// A file name safe inside a ZIP: no directories, nothing but plain characters.
fn safe_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    match clean.trim_start_matches('.') {
        "" => "file".into(),
        name => name.to_owned(),
    }
}

const README: &str = "\
Your data from Lithos
=====================

This archive holds everything Lithos keeps about your account, as of when it was made.

  profile.json           your account: email, name, plan, credit balance, dates
  identities.json        how you sign in
  sessions.json          your signed-in sessions (when made, last seen, from which
                         address and browser, when they end)
  api_keys.json          your API keys: names, prefixes and dates (never the keys)
  tasks.json             every task with its parameters and outcome
  uploads.json           every file you uploaded, including those since deleted
  ledger.json            every change to your credit balance
  payments.json          payments, refunds and disputes, subscriptions and checkouts
  usage_events.json      what you used, when
  support_requests.json  your support requests and their replies
  files/uploads/         your uploaded files still kept (see the retention periods)
  files/outputs/         your generated meshes still kept
  files/avatar.png       your avatar, when you uploaded one

Times are Unix milliseconds (UTC). Secrets (passwords, session tokens, API keys) are never
stored in a form that could be exported. The privacy page (/privacy) says how long each
kind of data is kept.
";

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn file_names_cannot_leave_their_folder() {
        assert_eq!(safe_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_name("C:\\x\\photo 1.png"), "photo_1.png");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name("horse.png"), "horse.png");
    }
}
