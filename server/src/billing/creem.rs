//! Creem's HTTP API, as Lithos uses it: checkouts, the customer portal, a subscription's
//! cancel, resume and upgrade, and the transactions search reconciliation reads. Every call
//! sends `x-api-key`; an answer that is not 2xx becomes an error carrying Creem's message.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::config::Billing;

#[derive(Debug, thiserror::Error)]
pub enum CreemError {
    #[error("billing is not configured on this server (creem_api_key)")]
    NotConfigured,
    #[error("the payment provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the payment provider refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
}

/// A client for the configured Creem API.
#[derive(Clone, Debug)]
pub struct Creem {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Creem {
    pub fn new(billing: &Billing) -> Result<Self, CreemError> {
        let key = billing.api_key.as_ref().ok_or(CreemError::NotConfigured)?.0.clone();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .map_err(|e| CreemError::Unreachable(e.to_string()))?;
        Ok(Creem { http, base: billing.api_base.trim_end_matches('/').to_owned(), key })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, CreemError> {
        let response = request
            .header("x-api-key", &self.key)
            .send()
            .await
            .map_err(|e| CreemError::Unreachable(e.to_string()))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        // Creem's error body: `{trace_id, status, error, message: [..], timestamp}`.
        let message = match &body["message"] {
            Value::Array(lines) => {
                lines.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; ")
            }
            Value::String(s) => s.clone(),
            _ => body["error"].as_str().unwrap_or("no detail").to_owned(),
        };
        Err(CreemError::Refused { status: status.as_u16(), message })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1{path}", self.base)
    }

    /// `POST /v1/checkouts`: returns Creem's checkout (`id`, `checkout_url`, …).
    pub async fn create_checkout(&self, body: &Value) -> Result<Value, CreemError> {
        self.send(self.http.post(self.url("/checkouts")).json(body)).await
    }

    /// `GET /v1/checkouts?checkout_id=`.
    pub async fn checkout(&self, id: &str) -> Result<Value, CreemError> {
        let url = format!("{}?checkout_id={}", self.url("/checkouts"), urlencode(id));
        self.send(self.http.get(url)).await
    }

    /// `GET /v1/subscriptions?subscription_id=`.
    pub async fn get_subscription(&self, id: &str) -> Result<Value, CreemError> {
        let url = format!("{}?subscription_id={}", self.url("/subscriptions"), urlencode(id));
        self.send(self.http.get(url)).await
    }

    /// `POST /v1/customers/billing`: the customer portal link.
    pub async fn portal(&self, customer_id: &str) -> Result<String, CreemError> {
        let body = json!({ "customer_id": customer_id });
        let answer = self.send(self.http.post(self.url("/customers/billing")).json(&body)).await?;
        answer["customer_portal_link"].as_str().map(str::to_owned).ok_or(CreemError::Refused {
            status: 200,
            message: "no customer_portal_link in the answer".into(),
        })
    }

    /// `POST /v1/subscriptions/{id}/{action}` with `body` (cancel, resume, upgrade).
    pub async fn subscription(
        &self,
        id: &str,
        action: &str,
        body: Option<Value>,
    ) -> Result<Value, CreemError> {
        let request = self.http.post(self.url(&format!("/subscriptions/{id}/{action}")));
        self.send(match body {
            Some(body) => request.json(&body),
            None => request,
        })
        .await
    }

    /// `GET /v1/transactions/search`: one page.
    pub async fn transactions(&self, page: u32) -> Result<Value, CreemError> {
        let url = format!("{}?page_number={page}&page_size=50", self.url("/transactions/search"));
        self.send(self.http.get(url)).await
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The signature of a success redirect's parameters: lowercase hex HMAC-SHA256, keyed with
/// the API key, of the non-empty parameters other than `signature`, sorted by name, joined as
/// `k=v&k=v`.
pub fn redirect_signature(api_key: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<&(String, String)> =
        params.iter().filter(|(k, v)| k != "signature" && !v.is_empty() && v != "null").collect();
    pairs.sort();
    let text = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let mut mac = Hmac::<Sha256>::new_from_slice(api_key.as_bytes()).expect("any key length");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether a success redirect's `signature` is its parameters', in constant time.
pub fn verify_redirect(api_key: &str, params: &[(String, String)]) -> bool {
    let Some((_, given)) = params.iter().find(|(k, _)| k == "signature") else { return false };
    let Ok(given) = hex::decode(given) else { return false };
    let expected = hex::decode(redirect_signature(api_key, params)).expect("hex");
    given.len() == expected.len()
        && given.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_redirect_vector_verifies() {
        let params: Vec<(String, String)> = [
            ("checkout_id", "ch_1"),
            ("order_id", "ord_1"),
            ("customer_id", "cust_1"),
            ("subscription_id", ""),
            ("product_id", "prod_1"),
            ("request_id", "req_1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let expected = "0e6b2feaf797dd9c547045935bc41940060f8999fa96702183e0e37f3071aafc";
        assert_eq!(redirect_signature("creem_test_key", &params), expected);
        let mut signed = params.clone();
        signed.push(("signature".into(), expected.into()));
        assert!(verify_redirect("creem_test_key", &signed));
        signed[0].1 = "ch_2".into();
        assert!(!verify_redirect("creem_test_key", &signed));
    }
}
