//! Configuration: command-line flags over `LITHOS_*` environment variables over an optional
//! TOML file over defaults. Every key is documented in the README.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lithos_engine::{BackendChoice, WorkLimits};
use serde::Deserialize;

use crate::cdn::Cdn;
use crate::connections::ConnectionLimits;
use crate::storage::{MAX_URL_TTL, S3Options};
use crate::tasks::queue::QueueConfig;

mod billing;
mod env;
mod generation;
mod login;

pub use billing::{Billing, BillingLayer, FREE_PLAN, Limits, Pack, Plan};
pub use generation::{Generation, GenerationLayer, ProviderKind};
pub use login::{Kind as LoginKind, LoginProvider, Protocol, ProviderLayer};

/// Everything `lithos serve` needs.
#[derive(Clone, Debug)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; `None` for `lithos.db` in the data directory.
    pub database_url: Option<String>,
    /// Tasks run at once.
    pub workers: usize,
    /// Largest upload accepted, in bytes.
    pub max_upload_bytes: u64,
    /// Credits granted to each new account.
    pub free_credits: i64,
    /// Mark the session cookie Secure (set when the public URL is https).
    pub secure_cookies: bool,
    pub backend: BackendChoice,
    /// `s3://bucket`, or `None` for the `files` directory in the data directory.
    pub storage: Option<String>,
    pub s3: S3Options,
    pub queue: QueueConfig,
    /// How long presigned upload and download URLs live (at most 15 minutes).
    pub url_ttl: Duration,
    /// How long shutdown waits for running tasks before handing them back to the queue.
    pub shutdown_grace: Duration,
    /// A CDN whose origin is the bucket; downloads then redirect to signed links through it.
    pub cdn_base_url: Option<String>,
    /// The CDN's URL token key (bunny.net "Url Token Authentication Key").
    pub cdn_token_key: Option<Secret>,
    /// The web pages: `console/` of the source tree, holding `web/` and `node_modules/`.
    pub console_dir: PathBuf,
    /// Where users reach the service (`https://lithos.example`): cross-site checks compare
    /// the Origin with it. `None`: the address the server is bound to.
    pub public_url: Option<String>,
    /// The most work one task may imply; checked before any credit is taken.
    pub work_limits: WorkLimits,
    /// How long a task may run before the watchdog stops it (and releases its credits).
    pub task_time_limit: Duration,
    /// The same, per plan (`free`, `pro`, …), over `task_time_limit`.
    pub plan_time_limits: BTreeMap<String, Duration>,
    /// Memory all decodes in this process may hold at once.
    pub decode_budget_bytes: u64,
    /// How long an upload waits for the decode budget before it gets 503.
    pub decode_wait: Duration,
    /// Uploads one user may have in progress at once.
    pub uploads_per_user: usize,
    pub connections: ConnectionLimits,
    /// `/metrics` asks for `Authorization: Bearer` with this token.
    pub metrics_token: Option<Secret>,
    /// `/metrics` is served on this address alone, not on `bind`.
    pub metrics_bind: Option<SocketAddr>,
    /// Creem, the catalog, and the plans' limits.
    pub billing: Billing,
    /// Where users reach support; shown on the privacy page.
    pub support_email: Option<String>,
    /// `smtp://host:port`, `smtps://user:pass@host` or `smtp://…?tls=required`: where mail
    /// goes. Without it, mail is written to `outbox/` in the data directory and logged.
    pub smtp_url: Option<Secret>,
    /// The sender of every mail, `Name <address>`.
    pub mail_from: String,
    /// How long sources and abandoned uploads are kept, and how often the sweeper runs
    /// (outputs: each plan's `retention_days`).
    pub retention: crate::retention::Periods,
    /// Login providers, as configured (built, and checked, by [`Config::login_providers`]).
    pub login_providers: Vec<ProviderLayer>,
    /// The AI generation provider prompts go to, as configured (built, and checked, by
    /// [`Config::generation`]).
    pub generation: GenerationLayer,
}

/// A setting that must not appear in logs or `Debug` output.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".parse().expect("a valid address"),
            data_dir: PathBuf::from("lithos-data"),
            database_url: None,
            workers: 2,
            max_upload_bytes: 50 << 20,
            free_credits: 20,
            secure_cookies: false,
            backend: BackendChoice::Auto,
            storage: None,
            s3: S3Options::default(),
            queue: QueueConfig::default(),
            url_ttl: MAX_URL_TTL,
            shutdown_grace: Duration::from_secs(60),
            cdn_base_url: None,
            cdn_token_key: None,
            console_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../console")),
            public_url: None,
            work_limits: WorkLimits::default(),
            task_time_limit: Duration::from_secs(600),
            plan_time_limits: BTreeMap::new(),
            decode_budget_bytes: 1 << 30,
            decode_wait: Duration::from_secs(2),
            uploads_per_user: 2,
            connections: ConnectionLimits::default(),
            metrics_token: None,
            metrics_bind: None,
            billing: Billing::new(50 << 20, WorkLimits::DEFAULT_MAX_GRID_POINTS),
            retention: crate::retention::Periods::default(),
            support_email: None,
            smtp_url: None,
            mail_from: "Lithos <no-reply@localhost>".into(),
            login_providers: Vec::new(),
            generation: GenerationLayer::default(),
        }
    }
}

/// One layer of settings; unset keys fall through to the next layer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub bind: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub workers: Option<usize>,
    pub max_upload_mb: Option<u64>,
    pub free_credits: Option<i64>,
    pub public_url: Option<String>,
    pub backend: Option<BackendChoice>,
    pub storage: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_path_style: Option<bool>,
    pub lease_seconds: Option<f64>,
    pub heartbeat_seconds: Option<f64>,
    pub max_attempts: Option<i64>,
    pub retry_base_seconds: Option<f64>,
    pub poll_seconds: Option<f64>,
    pub job_retention_hours: Option<f64>,
    pub url_ttl_seconds: Option<u64>,
    pub shutdown_grace_seconds: Option<f64>,
    pub cdn_base_url: Option<String>,
    pub cdn_token_key: Option<Secret>,
    pub console_dir: Option<PathBuf>,
    pub max_task_output_mb: Option<u64>,
    pub max_task_memory_mb: Option<u64>,
    pub task_time_limit_seconds: Option<f64>,
    /// `{ free = 300, pro = 3600 }`; in the environment `free=300,pro=3600`.
    pub plan_time_limit_seconds: Option<BTreeMap<String, f64>>,
    pub decode_budget_mb: Option<u64>,
    pub decode_wait_seconds: Option<f64>,
    pub uploads_per_user: Option<usize>,
    pub max_connections: Option<usize>,
    pub header_read_timeout_seconds: Option<f64>,
    pub body_rate_window_seconds: Option<f64>,
    pub body_min_bytes_per_second: Option<u64>,
    pub metrics_token: Option<Secret>,
    pub metrics_bind: Option<SocketAddr>,
    /// Creem and the catalog (`[billing]`, `[[billing.packs]]`, `[[billing.plans]]`).
    pub billing: Option<BillingLayer>,
    pub support_email: Option<String>,
    pub smtp_url: Option<Secret>,
    pub mail_from: Option<String>,
    pub source_grace_hours: Option<f64>,
    pub pending_upload_hours: Option<f64>,
    pub retention_interval_minutes: Option<f64>,
    pub client_info_days: Option<f64>,
    /// `[[login_providers]]`: each merged by id over the same provider of a lower layer.
    pub login_providers: Option<Vec<ProviderLayer>>,
    /// `[generation]`: the AI generation provider for prompts.
    pub generation: Option<GenerationLayer>,
}

impl Layer {
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Applies `self` over `config`.
    fn apply(self, config: &mut Config) {
        if let Some(v) = self.bind {
            config.bind = v;
        }
        if let Some(v) = self.data_dir {
            config.data_dir = v;
        }
        if let Some(v) = self.database_url {
            config.database_url = Some(v);
        }
        if let Some(v) = self.workers {
            config.workers = v;
        }
        if let Some(v) = self.max_upload_mb {
            config.max_upload_bytes = v << 20;
            config.billing.plans[0].limits.max_upload_mb = v;
        }
        if let Some(v) = self.free_credits {
            config.free_credits = v.max(0);
        }
        if let Some(v) = self.public_url {
            config.secure_cookies = v.starts_with("https://");
            config.public_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = self.backend {
            config.backend = v;
        }
        if let Some(v) = self.storage {
            config.storage = Some(v);
        }
        if let Some(v) = self.s3_endpoint {
            config.s3.endpoint = Some(v);
        }
        if let Some(v) = self.s3_region {
            config.s3.region = Some(v);
        }
        if let Some(v) = self.s3_path_style {
            config.s3.path_style = Some(v);
        }
        let q = &mut config.queue;
        if let Some(v) = self.lease_seconds {
            q.lease = secs(v);
        }
        if let Some(v) = self.heartbeat_seconds {
            q.heartbeat = secs(v);
        }
        if let Some(v) = self.max_attempts {
            q.max_attempts = v.max(1);
        }
        if let Some(v) = self.retry_base_seconds {
            q.retry_base = secs(v);
        }
        if let Some(v) = self.poll_seconds {
            q.poll = secs(v);
        }
        if let Some(v) = self.job_retention_hours {
            q.retention = secs(v * 3600.0);
        }
        if let Some(v) = self.url_ttl_seconds {
            config.url_ttl = Duration::from_secs(v.clamp(1, MAX_URL_TTL.as_secs()));
        }
        if let Some(v) = self.shutdown_grace_seconds {
            config.shutdown_grace = secs(v);
        }
        if let Some(v) = self.cdn_base_url {
            config.cdn_base_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = self.cdn_token_key {
            config.cdn_token_key = Some(v);
        }
        if let Some(v) = self.console_dir {
            config.console_dir = v;
        }
        if let Some(v) = self.max_task_output_mb {
            config.work_limits.max_output_bytes = v.saturating_mul(1 << 20);
        }
        if let Some(v) = self.max_task_memory_mb {
            config.work_limits.max_memory_bytes = v.saturating_mul(1 << 20);
        }
        if let Some(v) = self.task_time_limit_seconds {
            config.task_time_limit = secs(v);
        }
        if let Some(plans) = self.plan_time_limit_seconds {
            config.plan_time_limits.extend(plans.into_iter().map(|(plan, v)| (plan, secs(v))));
        }
        if let Some(v) = self.decode_budget_mb {
            config.decode_budget_bytes = v.saturating_mul(1 << 20);
        }
        if let Some(v) = self.decode_wait_seconds {
            config.decode_wait = secs(v);
        }
        if let Some(v) = self.uploads_per_user {
            config.uploads_per_user = v;
        }
        let c = &mut config.connections;
        if let Some(v) = self.max_connections {
            c.max_connections = v;
        }
        if let Some(v) = self.header_read_timeout_seconds {
            c.header_read_timeout = secs(v);
        }
        if let Some(v) = self.body_rate_window_seconds {
            c.body_rate_window = secs(v);
        }
        if let Some(v) = self.body_min_bytes_per_second {
            c.body_min_bytes_per_second = v;
        }
        if let Some(v) = self.metrics_token {
            config.metrics_token = Some(v).filter(|t| !t.0.is_empty());
        }
        if let Some(v) = self.metrics_bind {
            config.metrics_bind = Some(v);
        }
        if let Some(v) = self.billing {
            config.billing.apply(v);
        }
        if let Some(v) = self.support_email {
            config.support_email = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = self.smtp_url {
            config.smtp_url = Some(v).filter(|v| !v.0.is_empty());
        }
        if let Some(v) = self.mail_from {
            config.mail_from = v;
        }
        if let Some(v) = self.source_grace_hours {
            config.retention.source_grace = secs(v * 3600.0);
        }
        if let Some(v) = self.pending_upload_hours {
            config.retention.pending_upload_ttl = secs(v * 3600.0);
        }
        if let Some(v) = self.client_info_days {
            config.retention.client_info = secs(v * 86_400.0);
        }
        if let Some(v) = self.retention_interval_minutes {
            config.retention.interval = secs(v * 60.0);
        }
        if let Some(v) = self.generation {
            config.generation = v.over(std::mem::take(&mut config.generation));
        }
        for provider in self.login_providers.into_iter().flatten() {
            let id = provider.id();
            match config.login_providers.iter().position(|p| p.id() == id) {
                Some(i) => {
                    let base = config.login_providers.remove(i);
                    config.login_providers.insert(i, provider.over(base));
                }
                None => config.login_providers.push(provider),
            }
        }
    }
}

/// Seconds as a duration; a negative or absurd value from a file becomes zero or a century,
/// and [`Config::validate`] then names the problem.
fn secs(v: f64) -> Duration {
    Duration::try_from_secs_f64(v.clamp(0.0, 3.2e9)).unwrap_or_default()
}

impl Config {
    /// Defaults, then the file, then the environment, then the flags.
    pub fn resolve(file: Option<Layer>, env: Layer, flags: Layer) -> Self {
        let mut config = Config::default();
        for layer in file.into_iter().chain([env, flags]) {
            layer.apply(&mut config);
        }
        config
    }

    /// Checks the settings that can contradict each other.
    pub fn validate(&self) -> Result<(), String> {
        let q = &self.queue;
        if q.heartbeat.is_zero() || q.heartbeat >= q.lease {
            return Err(format!(
                "the heartbeat ({:?}) must be shorter than the lease ({:?})",
                q.heartbeat, q.lease
            ));
        }
        if q.poll.is_zero() {
            return Err("the poll interval must be above zero".into());
        }
        self.cdn()?;
        if let Some(url) = &self.public_url {
            let parsed = url::Url::parse(url)
                .map_err(|e| format!("public_url ({url}) is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                return Err(format!("public_url ({url}) must be an http:// or https:// URL"));
            }
        }
        crate::mail::Mailer::check(self)?;
        if self.task_time_limit.is_zero() || self.plan_time_limits.values().any(Duration::is_zero) {
            return Err("task time limits must be above zero".into());
        }
        let c = &self.connections;
        if c.max_connections == 0 || c.header_read_timeout.is_zero() || c.body_rate_window.is_zero()
        {
            return Err("max_connections, header_read_timeout_seconds and \
                        body_rate_window_seconds must be above zero"
                .into());
        }
        self.billing.validate()?;
        self.login_providers()?;
        self.generation()?;
        if self.retention.interval.is_zero() {
            return Err("retention_interval_minutes must be above zero".into());
        }
        if self.uploads_per_user == 0 || self.decode_budget_bytes < 1 << 20 {
            return Err(
                "uploads_per_user must be at least 1 and decode_budget_mb at least 1".into()
            );
        }
        Ok(())
    }

    /// The AI generation provider, complete; `None` when none is configured.
    pub fn generation(&self) -> Result<Option<Generation>, String> {
        self.generation.build()
    }

    /// The login providers, each complete and with a unique id.
    pub fn login_providers(&self) -> Result<Vec<LoginProvider>, String> {
        let mut built: Vec<LoginProvider> = Vec::new();
        for layer in &self.login_providers {
            let provider = layer.clone().build()?;
            if built.iter().any(|p| p.id == provider.id) {
                return Err(format!("two login providers have the id {:?}", provider.id));
            }
            built.push(provider);
        }
        Ok(built)
    }

    /// The origins cookie-authenticated writes may come from: `public_url`'s, or, without
    /// one, the bound address's (and `localhost`'s, when that is loopback).
    pub fn allowed_origins(&self, bound: SocketAddr) -> Vec<String> {
        if let Some(url) = self.public_url.as_deref().and_then(|u| url::Url::parse(u).ok()) {
            return vec![url.origin().ascii_serialization()];
        }
        let mut origins = vec![format!("http://{bound}")];
        if bound.ip().is_loopback() {
            origins.push(format!("http://localhost:{}", bound.port()));
        }
        origins
    }

    /// Whether the service is reached over loopback only (no `public_url`, or a loopback one).
    pub fn is_local(&self) -> bool {
        let Some(url) = self.public_url.as_deref().and_then(|u| url::Url::parse(u).ok()) else {
            return true;
        };
        match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        }
    }

    /// The CDN for downloads, when `cdn_base_url` is set; it needs S3 storage (its origin).
    pub fn cdn(&self) -> Result<Option<Cdn>, String> {
        let Some(base_url) = &self.cdn_base_url else { return Ok(None) };
        if !self.storage.as_deref().is_some_and(|s| s.starts_with("s3://")) {
            return Err(format!(
                "cdn_base_url ({base_url}) needs S3 storage as the CDN's origin; \
                 set storage = \"s3://BUCKET\" or remove cdn_base_url"
            ));
        }
        let key = self.cdn_token_key.as_ref().map_or("", |k| k.0.as_str());
        Cdn::new(base_url, key).map(Some)
    }

    /// The storage spec: `s3://bucket`, or the `files` directory in the data directory.
    pub fn storage_spec(&self) -> String {
        self.storage.clone().unwrap_or_else(|| self.data_dir.join("files").display().to_string())
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", self.data_dir.join("lithos.db").display())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_environment_beat_file() {
        let file: Layer =
            toml::from_str("workers = 3\nfree_credits = 5\nbind = \"0.0.0.0:1\"").unwrap();
        let env = Layer::from_env([
            ("LITHOS_WORKERS".to_owned(), "4".to_owned()),
            ("LITHOS_PUBLIC_URL".to_owned(), "https://lithos.example".to_owned()),
            ("HOME".to_owned(), "/root".to_owned()),
        ])
        .unwrap();
        let flags = Layer { workers: Some(6), ..Layer::default() };
        let config = Config::resolve(Some(file), env, flags);
        assert_eq!(config.workers, 6);
        assert_eq!(config.free_credits, 5);
        assert_eq!(config.bind.port(), 1);
        assert!(config.secure_cookies);
        assert!(Layer::from_env([("LITHOS_WORKERS".into(), "many".into())]).is_err());
        assert!(toml::from_str::<Layer>("wrokers = 2").is_err(), "typos are errors");
    }
}
