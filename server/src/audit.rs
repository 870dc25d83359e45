//! The audit log: what administrators did, and what the service did on its own (a retention
//! sweep, `admin_id` NULL). Each entry is written in the transaction of the action it records
//! when there is one; the console reads them (`GET /api/v1/admin/audit`).

use sqlx::AnyConnection;

use crate::error::ApiResult;

/// Records an administrator's action.
pub(crate) async fn by_admin(
    conn: &mut AnyConnection,
    admin_id: &str,
    action: &str,
    target_id: &str,
    detail: &str,
) -> ApiResult<()> {
    record(conn, Some(admin_id), action, target_id, detail).await
}

/// Records an action of the service itself.
pub(crate) async fn by_service(
    conn: &mut AnyConnection,
    action: &str,
    target_id: &str,
    detail: &str,
) -> ApiResult<()> {
    record(conn, None, action, target_id, detail).await
}

async fn record(
    conn: &mut AnyConnection,
    admin_id: Option<&str>,
    action: &str,
    target_id: &str,
    detail: &str,
) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO audit_log (admin_id, action, target_id, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(admin_id)
    .bind(action)
    .bind(target_id)
    .bind(detail)
    .bind(crate::now_ms())
    .execute(conn)
    .await?;
    Ok(())
}
