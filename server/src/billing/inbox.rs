//! The webhook inbox: a delivery's signature is checked before its body is parsed; its event
//! is stored by id and its effects applied in the same transaction that records the outcome.
//! A duplicate changes nothing; an event that needs another first (its customer's link, its
//! payment) waits, and is applied when that arrives; a database failure rolls everything back
//! and answers 5xx, so Creem delivers again.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use sqlx::AnyConnection;

use super::apply::{Applied, apply};
use super::payload::Event;
use crate::config::Billing;
use crate::domain::DomainResult;
use crate::error::{ApiError, ApiResult};
use crate::{AppState, now_ms};

/// The `creem-signature` of `body`: lowercase hex HMAC-SHA256 keyed with the webhook secret.
pub fn signature_of(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` is `body`'s, compared in constant time.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(given) = hex::decode(signature.trim()) else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// What a delivery did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Processed,
    /// Seen before: nothing changed.
    Duplicate,
    /// Kept until what it needs arrives.
    Waiting,
    /// Recorded; nothing to do.
    Ignored,
}

/// Verifies and applies one delivery.
pub async fn receive(
    state: &AppState,
    signature: Option<&str>,
    body: &[u8],
) -> ApiResult<Delivery> {
    let billing = &state.config.billing;
    let Some(secret) = &billing.webhook_secret else {
        // Not a 5xx: nothing failed. Creem retries any non-2xx, so nothing is lost while an
        // operator sets the secret.
        return Err(ApiError::Conflict(
            "billing is not configured on this server (creem_webhook_secret)".into(),
        ));
    };
    if !signature.is_some_and(|s| verify(&secret.0, body, s)) {
        return Err(ApiError::BadSignature);
    }
    let event: Event = match serde_json::from_slice(body) {
        Ok(event) => event,
        Err(e) => return Err(ApiError::BadRequest(format!("the body is not a Creem event: {e}"))),
    };
    let payload = String::from_utf8_lossy(body);
    let delivery =
        record_new(&state.db, billing, &event, &payload).await?.unwrap_or(Delivery::Duplicate);
    metrics::counter!("lithos_billing_events_total", "type" => event.event_type.clone())
        .increment(1);
    Ok(delivery)
}

/// Stores `event` (its `payload` as received) and applies it, in one transaction; `None` when
/// it was seen before (and is not waiting).
pub async fn record_new(
    db: &crate::Db,
    billing: &Billing,
    event: &Event,
    payload: &str,
) -> DomainResult<Option<Delivery>> {
    let mut tx = db.write().await?;
    let inserted = sqlx::query(
        "INSERT INTO billing_events (id, event_type, status, payload, created_at, received_at) \
         VALUES ($1, $2, 'waiting', $3, $4, $5) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(&event.event_type)
    .bind(payload)
    .bind(event.created_ms())
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        let status: String = sqlx::query_scalar("SELECT status FROM billing_events WHERE id = $1")
            .bind(&event.id)
            .fetch_one(&mut *tx)
            .await?;
        if status != "waiting" {
            tx.commit().await?;
            return Ok(None);
        }
    }
    let delivery = settle(&mut tx, billing, event).await?;
    tx.commit().await?;
    Ok(Some(delivery))
}

/// Applies `event` and records its outcome, then applies the waiting events it unblocked.
async fn settle(
    conn: &mut AnyConnection,
    billing: &Billing,
    event: &Event,
) -> DomainResult<Delivery> {
    let mut queue = Vec::new();
    let delivery = record(conn, billing, event, &mut queue).await?;
    // Waiting events this one unblocked, and those they unblock in turn.
    let mut rounds = 0;
    while let Some(key) = queue.pop() {
        rounds += 1;
        if rounds > 1000 {
            break;
        }
        let waiting: Vec<String> = sqlx::query_scalar(
            "SELECT payload FROM billing_events WHERE status = 'waiting' AND waiting_on = $1 \
             ORDER BY created_at, id",
        )
        .bind(&key)
        .fetch_all(&mut *conn)
        .await?;
        for payload in waiting {
            if let Ok(event) = serde_json::from_str::<Event>(&payload) {
                record(conn, billing, &event, &mut queue).await?;
            }
        }
    }
    Ok(delivery)
}

async fn record(
    conn: &mut AnyConnection,
    billing: &Billing,
    event: &Event,
    queue: &mut Vec<String>,
) -> DomainResult<Delivery> {
    let applied = apply(conn, billing, event).await?;
    let (status, waiting_on, error, delivery) = match applied {
        Applied::Done { woke } => {
            queue.extend(woke);
            ("processed", None, None, Delivery::Processed)
        }
        Applied::Waiting(on) => ("waiting", Some(on), None, Delivery::Waiting),
        Applied::Ignored(why) => ("ignored", None, Some(why), Delivery::Ignored),
    };
    sqlx::query(
        "UPDATE billing_events SET status = $1, waiting_on = $2, error = $3, processed_at = $4 \
         WHERE id = $5",
    )
    .bind(status)
    .bind(waiting_on)
    .bind(error)
    .bind((status != "waiting").then(now_ms))
    .bind(&event.id)
    .execute(&mut *conn)
    .await?;
    Ok(delivery)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_signature_vector_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let expected = "c99dcd69e2f455a559a87dcb03ec937afb162c4907f8a198fff25e657028060d";
        assert_eq!(signature_of("test_secret", body), expected);
        assert!(verify("test_secret", body, expected));
        assert!(!verify("test_secret", br#"{"id":"evt_2"}"#, expected));
        assert!(!verify("other_secret", body, expected));
        assert!(!verify("test_secret", body, "not hex"));
    }
}
