//! The `LITHOS_*` environment variables as a configuration [`Layer`]: one arm per key, each
//! value parsed and named in the error when it does not parse.

use std::collections::BTreeMap;

use super::{Layer, LoginKind, ProviderLayer, Secret};

impl Layer {
    /// The `LITHOS_*` variables of `vars`.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> Result<Self, String> {
        let mut layer = Layer::default();
        for (key, value) in vars {
            let Some(name) = key.strip_prefix("LITHOS_") else { continue };
            let bad = |what: &str| format!("{key}={value:?} is not {what}");
            match name {
                "BIND" => layer.bind = Some(value.parse().map_err(|_| bad("an address"))?),
                "DATA_DIR" => layer.data_dir = Some(value.into()),
                "DATABASE_URL" => layer.database_url = Some(value),
                "SUPPORT_EMAIL" => layer.support_email = Some(value),
                "SMTP_URL" => layer.smtp_url = Some(Secret(value)),
                "MAIL_FROM" => layer.mail_from = Some(value),
                "SOURCE_GRACE_HOURS" => {
                    layer.source_grace_hours = Some(seconds(&value).map_err(|_| bad("hours"))?)
                }
                "PENDING_UPLOAD_HOURS" => {
                    layer.pending_upload_hours = Some(seconds(&value).map_err(|_| bad("hours"))?)
                }
                "CLIENT_INFO_DAYS" => {
                    layer.client_info_days = Some(seconds(&value).map_err(|_| bad("days"))?)
                }
                "RETENTION_INTERVAL_MINUTES" => {
                    layer.retention_interval_minutes =
                        Some(seconds(&value).map_err(|_| bad("minutes"))?)
                }
                "CREEM_API_BASE" => {
                    layer.billing.get_or_insert_with(Default::default).creem_api_base = Some(value)
                }
                "CREEM_API_KEY" => {
                    layer.billing.get_or_insert_with(Default::default).creem_api_key =
                        Some(Secret(value))
                }
                "CREEM_WEBHOOK_SECRET" => {
                    layer.billing.get_or_insert_with(Default::default).creem_webhook_secret =
                        Some(Secret(value))
                }
                "GENERATION_PROVIDER" => {
                    layer.generation.get_or_insert_with(Default::default).provider = Some(
                        serde_json::from_value(serde_json::Value::String(value.clone()))
                            .map_err(|_| bad("meshy or tripo"))?,
                    )
                }
                "GENERATION_API_BASE" => {
                    layer.generation.get_or_insert_with(Default::default).api_base = Some(value)
                }
                "GENERATION_API_KEY" => {
                    layer.generation.get_or_insert_with(Default::default).api_key =
                        Some(Secret(value))
                }
                "GENERATION_CREDITS" => {
                    layer.generation.get_or_insert_with(Default::default).credits =
                        Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "GENERATION_POLL_SECONDS" => {
                    layer.generation.get_or_insert_with(Default::default).poll_seconds =
                        Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "GENERATION_TIMEOUT_SECONDS" => {
                    layer.generation.get_or_insert_with(Default::default).timeout_seconds =
                        Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "WORKERS" => layer.workers = Some(value.parse().map_err(|_| bad("a number"))?),
                "MAX_UPLOAD_MB" => {
                    layer.max_upload_mb = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "FREE_CREDITS" => {
                    layer.free_credits = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "PUBLIC_URL" => layer.public_url = Some(value),
                "BACKEND" => {
                    layer.backend = Some(
                        serde_json::from_value(serde_json::Value::String(value.clone()))
                            .map_err(|_| bad("auto, gpu or cpu"))?,
                    )
                }
                "STORAGE" => layer.storage = Some(value),
                "S3_ENDPOINT" => layer.s3_endpoint = Some(value),
                "S3_REGION" => layer.s3_region = Some(value),
                "S3_PATH_STYLE" => {
                    layer.s3_path_style = Some(value.parse().map_err(|_| bad("true or false"))?)
                }
                "LEASE_SECONDS" => {
                    layer.lease_seconds = Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "HEARTBEAT_SECONDS" => {
                    layer.heartbeat_seconds = Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "MAX_ATTEMPTS" => {
                    layer.max_attempts = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "RETRY_BASE_SECONDS" => {
                    layer.retry_base_seconds = Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "POLL_SECONDS" => {
                    layer.poll_seconds = Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "JOB_RETENTION_HOURS" => {
                    layer.job_retention_hours = Some(seconds(&value).map_err(|_| bad("hours"))?)
                }
                "URL_TTL_SECONDS" => {
                    layer.url_ttl_seconds = Some(value.parse().map_err(|_| bad("seconds"))?)
                }
                "SHUTDOWN_GRACE_SECONDS" => {
                    layer.shutdown_grace_seconds =
                        Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "CDN_BASE_URL" => layer.cdn_base_url = Some(value),
                "CDN_TOKEN_KEY" => layer.cdn_token_key = Some(Secret(value)),
                "CONSOLE_DIR" => layer.console_dir = Some(value.into()),
                "MAX_TASK_OUTPUT_MB" => {
                    layer.max_task_output_mb = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "MAX_TASK_MEMORY_MB" => {
                    layer.max_task_memory_mb = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "TASK_TIME_LIMIT_SECONDS" => {
                    layer.task_time_limit_seconds =
                        Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "PLAN_TIME_LIMIT_SECONDS" => {
                    let mut plans = BTreeMap::new();
                    for pair in value.split(',').filter(|p| !p.trim().is_empty()) {
                        let (plan, limit) =
                            pair.split_once('=').ok_or_else(|| bad("plan=seconds,…"))?;
                        let limit = seconds(limit.trim()).map_err(|_| bad("plan=seconds,…"))?;
                        plans.insert(plan.trim().to_owned(), limit);
                    }
                    layer.plan_time_limit_seconds = Some(plans);
                }
                "DECODE_BUDGET_MB" => {
                    layer.decode_budget_mb = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "DECODE_WAIT_SECONDS" => {
                    layer.decode_wait_seconds = Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "UPLOADS_PER_USER" => {
                    layer.uploads_per_user = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "MAX_CONNECTIONS" => {
                    layer.max_connections = Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "HEADER_READ_TIMEOUT_SECONDS" => {
                    layer.header_read_timeout_seconds =
                        Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "BODY_RATE_WINDOW_SECONDS" => {
                    layer.body_rate_window_seconds =
                        Some(seconds(&value).map_err(|_| bad("seconds"))?)
                }
                "BODY_MIN_BYTES_PER_SECOND" => {
                    layer.body_min_bytes_per_second =
                        Some(value.parse().map_err(|_| bad("a number"))?)
                }
                "GOOGLE_CLIENT_ID"
                | "GOOGLE_CLIENT_SECRET"
                | "GITHUB_CLIENT_ID"
                | "GITHUB_CLIENT_SECRET"
                | "OIDC_ISSUER"
                | "OIDC_CLIENT_ID"
                | "OIDC_CLIENT_SECRET"
                | "OIDC_NAME" => {
                    let (kind, field) = name.split_once('_').expect("matched above");
                    let kind = match kind {
                        "GOOGLE" => LoginKind::Google,
                        "GITHUB" => LoginKind::Github,
                        _ => LoginKind::Oidc,
                    };
                    let providers = layer.login_providers.get_or_insert_with(Vec::new);
                    let provider = match providers.iter_mut().position(|p| p.kind == kind) {
                        Some(i) => &mut providers[i],
                        None => {
                            providers.push(ProviderLayer::new(kind));
                            providers.last_mut().expect("just pushed")
                        }
                    };
                    match field {
                        "CLIENT_ID" => provider.client_id = Some(value),
                        "CLIENT_SECRET" => provider.client_secret = Some(Secret(value)),
                        "ISSUER" => provider.issuer = Some(value),
                        _ => provider.name = Some(value),
                    }
                }
                "METRICS_TOKEN" => layer.metrics_token = Some(Secret(value)),
                "METRICS_BIND" => {
                    layer.metrics_bind = Some(value.parse().map_err(|_| bad("an address"))?)
                }
                _ => {}
            }
        }
        Ok(layer)
    }
}

/// A non-negative, finite number of seconds (or hours).
fn seconds(value: &str) -> Result<f64, ()> {
    match value.parse::<f64>() {
        Ok(v) if (0.0..1e9).contains(&v) => Ok(v),
        _ => Err(()),
    }
}
