//! Support requests: a signed-in user's (about their account, optionally a task) or a
//! visitor's (with an email address to answer). Each is a thread of messages; replies come
//! from administrators in the console's inbox. Requests go with the account when it is
//! deleted, and into its data export. Replies are shown in the app and mailed to the
//! requester.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::{Db, now_ms};

/// The longest subject and message.
pub const SUBJECT_CHARS: usize = 200;
pub const MESSAGE_CHARS: usize = 10_000;

/// What a support request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SupportCategory)]
pub enum Category {
    General,
    Billing,
    /// A request for a copy of one's data.
    DataAccess,
    /// A request to correct one's data.
    DataCorrection,
    /// A request to delete one's data.
    DataDeletion,
    /// A report of abuse (of the service, or of a person).
    Abuse,
}

impl Category {
    pub const ALL: [Category; 6] = [
        Category::General,
        Category::Billing,
        Category::DataAccess,
        Category::DataCorrection,
        Category::DataDeletion,
        Category::Abuse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::General => "general",
            Category::Billing => "billing",
            Category::DataAccess => "data_access",
            Category::DataCorrection => "data_correction",
            Category::DataDeletion => "data_deletion",
            Category::Abuse => "abuse",
        }
    }
}

/// Where a request stands: `open` (waiting for support), `answered` (waiting for the
/// requester), `closed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SupportState)]
pub enum State {
    Open,
    Answered,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Open => "open",
            State::Answered => "answered",
            State::Closed => "closed",
        }
    }
}

/// One message of a support request's thread.
#[derive(Clone, Debug, Serialize, ToSchema, sqlx::FromRow)]
#[schema(as = SupportMessage)]
pub struct Message {
    /// `requester` or `support`.
    pub author: String,
    pub body: String,
    pub created_at: i64,
}

/// A support request and its thread.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = SupportRequest)]
pub struct Request {
    pub id: String,
    /// `general`, `billing`, `data_access`, `data_correction`, `data_deletion` or `abuse`.
    pub category: String,
    pub subject: String,
    pub task_id: Option<String>,
    /// `open`, `answered` or `closed`.
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// The requester: an account's id, or a visitor's email address.
    pub user_id: Option<String>,
    pub email: Option<String>,
    pub messages: Vec<Message>,
}

/// Who a new request is from.
#[derive(Clone, Copy, Debug)]
pub enum From<'a> {
    User(&'a str),
    Visitor { email: &'a str },
}

/// A new request's fields, checked.
#[derive(Clone, Debug)]
pub struct New {
    pub category: Category,
    pub subject: String,
    pub message: String,
    pub task_id: Option<String>,
}

impl New {
    pub fn check(category: Category, subject: &str, message: &str) -> ApiResult<New> {
        Ok(New {
            category,
            subject: crate::text::clean("subject", subject, SUBJECT_CHARS)?,
            message: crate::text::clean_message("message", message, MESSAGE_CHARS)?,
            task_id: None,
        })
    }
}

/// Files a request; returns its id.
pub async fn create(db: &Db, from: From<'_>, new: New) -> ApiResult<String> {
    let (user, email) = match from {
        From::User(id) => (Some(id), None),
        From::Visitor { email } => (None, Some(email)),
    };
    if let (Some(task), Some(user)) = (&new.task_id, user) {
        let owned: Option<String> =
            sqlx::query_scalar("SELECT id FROM tasks WHERE id = $1 AND user_id = $2")
                .bind(task)
                .bind(user)
                .fetch_optional(&db.pool)
                .await?;
        if owned.is_none() {
            return Err(ApiError::invalid("task_id", "is not one of your tasks"));
        }
    }
    let id = crate::new_id();
    let now = now_ms();
    let mut tx = db.write().await?;
    sqlx::query(
        "INSERT INTO support_requests (id, user_id, email, category, subject, task_id, state, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7)",
    )
    .bind(&id)
    .bind(user)
    .bind(email)
    .bind(new.category.as_str())
    .bind(&new.subject)
    .bind(&new.task_id)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    add_message(&mut tx, &id, None, &new.message, now).await?;
    tx.commit().await?;
    metrics::counter!("lithos_support_requests_total", "category" => new.category.as_str())
        .increment(1);
    Ok(id)
}

async fn add_message(
    conn: &mut sqlx::AnyConnection,
    request: &str,
    admin: Option<&str>,
    body: &str,
    at: i64,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO support_messages (id, request_id, admin_id, body, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(crate::new_id())
    .bind(request)
    .bind(admin)
    .bind(body)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds a message to request `id`: the requester's own (`admin` None; the request reopens)
/// or an administrator's reply (the request becomes `state`, `answered` by default).
pub async fn reply(
    db: &Db,
    id: &str,
    admin: Option<&str>,
    body: &str,
    state: Option<State>,
) -> ApiResult<()> {
    let body = crate::text::clean_message("message", body, MESSAGE_CHARS)?;
    let state = match admin {
        None => State::Open,
        Some(_) => state.unwrap_or(State::Answered),
    };
    let now = now_ms();
    let mut tx = db.write().await?;
    let moved =
        sqlx::query("UPDATE support_requests SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    if moved.rows_affected() != 1 {
        return Err(ApiError::NotFound);
    }
    add_message(&mut tx, id, admin, &body, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Sets request `id`'s state.
pub async fn set_state(db: &Db, id: &str, state: State) -> ApiResult<()> {
    let _gate = db.write_gate().await;
    let moved =
        sqlx::query("UPDATE support_requests SET state = $1, updated_at = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(now_ms())
            .bind(id)
            .execute(&db.pool)
            .await?;
    if moved.rows_affected() != 1 {
        return Err(ApiError::NotFound);
    }
    Ok(())
}

type Row =
    (String, String, String, Option<String>, String, i64, i64, Option<String>, Option<String>);
const COLUMNS: &str =
    "id, category, subject, task_id, state, created_at, updated_at, user_id, email";

fn request(row: Row, messages: Vec<Message>) -> Request {
    let (id, category, subject, task_id, state, created_at, updated_at, user_id, email) = row;
    Request {
        id,
        category,
        subject,
        task_id,
        state,
        created_at,
        updated_at,
        user_id,
        email,
        messages,
    }
}

/// Request `id` with its thread; only `owner`'s when one is given (404 for anyone else's).
pub async fn get(db: &Db, id: &str, owner: Option<&str>) -> ApiResult<Request> {
    let sql = format!(
        "SELECT {COLUMNS} FROM support_requests WHERE id = $1 AND ($2 = '' OR user_id = $2)"
    );
    let row: Option<Row> =
        sqlx::query_as(&sql).bind(id).bind(owner.unwrap_or("")).fetch_optional(&db.pool).await?;
    let row = row.ok_or(ApiError::NotFound)?;
    let messages: Vec<Message> = sqlx::query_as(
        "SELECT CASE WHEN admin_id IS NULL THEN 'requester' ELSE 'support' END AS author, body, \
         created_at FROM support_messages WHERE request_id = $1 ORDER BY created_at, id",
    )
    .bind(id)
    .fetch_all(&db.pool)
    .await?;
    Ok(request(row, messages))
}

/// Requests, newest activity first, without their threads: `owner`'s, or (for the console)
/// everyone's in `state` and `category` when given.
pub async fn list(
    db: &Db,
    owner: Option<&str>,
    state: Option<State>,
    category: Option<Category>,
) -> ApiResult<Vec<Request>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM support_requests WHERE ($1 = '' OR user_id = $1) \
         AND ($2 = '' OR state = $2) AND ($3 = '' OR category = $3) \
         ORDER BY updated_at DESC, id LIMIT 200"
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .bind(owner.unwrap_or(""))
        .bind(state.map_or("", State::as_str))
        .bind(category.map_or("", Category::as_str))
        .fetch_all(&db.pool)
        .await?;
    Ok(rows.into_iter().map(|row| request(row, Vec::new())).collect())
}
