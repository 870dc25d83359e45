//! Prompts and photos to models through an AI generation provider: the interface the worker
//! drives (create a task, poll it, download its model) and the providers that implement it,
//! Meshy ([`meshy`]) and Tripo ([`tripo`]). A prompt or photo goes to the configured provider
//! and nowhere else; neither is ever logged.

mod meshy;
mod photo;
mod tripo;

use std::time::Duration;

use lithos_engine::JobMode;
use lithos_engine::model::Prompt;

pub use photo::{Photo, PhotoFormat};

use crate::config::{Generation, ProviderKind};

/// What a provider is asked to make a model of.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// Text to 3D.
    Prompt(&'a Prompt),
    /// Image to 3D.
    Photo(&'a Photo),
}

impl Subject<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Subject::Prompt(_) => Kind::Prompt,
            Subject::Photo(_) => Kind::Photo,
        }
    }
}

/// Which of a provider's generations a task is: Meshy keeps text-to-3D and image-to-3D tasks
/// apart, so following one needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Prompt,
    Photo,
}

impl Kind {
    /// The generation a job mode asks for; `None` for modes that read their own input.
    pub fn of(mode: JobMode) -> Option<Kind> {
        match mode {
            JobMode::Prompt => Some(Kind::Prompt),
            JobMode::Sculpt => Some(Kind::Photo),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Prompt => "the prompt",
            Kind::Photo => "the photo",
        }
    }
}

/// Where a provider's task stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Poll {
    /// Queued or generating; `progress` from 0 to 1.
    Running { progress: f64 },
    /// Done: the model, as GLB, is at this (expiring) URL.
    Done { model_url: String },
    /// The provider failed or refused it, saying why.
    Failed { message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum GenerationError {
    /// The provider could not be reached, or is overloaded (5xx, 429): worth another try.
    #[error("{provider} cannot be reached: {message}")]
    Unreachable { provider: &'static str, message: String },
    /// The provider refused the request (4xx): another try would be refused the same.
    #[error("{provider} refused the request ({status}): {message}")]
    Refused { provider: &'static str, status: u16, message: String },
    /// The provider answered with something that is not its documented API.
    #[error("{provider} answered in a form Lithos does not understand: {message}")]
    Malformed { provider: &'static str, message: String },
    /// The model is larger than a 3D-file upload may be.
    #[error("the model {provider} made is over {limit_mb} MB, the largest 3D file Lithos reads")]
    TooLarge { provider: &'static str, limit_mb: u64 },
}

impl GenerationError {
    /// Whether another attempt may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, GenerationError::Unreachable { .. })
    }
}

/// Who follows a generation: told its progress, and asked whether to stop.
pub trait Watcher {
    /// From 0 to 1.
    fn progress(&self, fraction: f64);
    /// `Some` to stop following (the generation goes on at the provider).
    fn stopped(&self) -> Option<Failure>;
}

/// Why following a generation ended without a model.
#[derive(Debug, PartialEq)]
pub enum Failure {
    /// Worth another try later: the provider could not be reached.
    Transient(String),
    /// The provider refused or failed it, or it took too long.
    Failed(String),
    /// The watcher stopped it.
    Canceled,
}

impl From<GenerationError> for Failure {
    fn from(e: GenerationError) -> Self {
        if e.is_transient() {
            Failure::Transient(e.to_string())
        } else {
            Failure::Failed(e.to_string())
        }
    }
}

/// A client for the configured provider.
#[derive(Clone, Debug)]
pub struct Generator {
    http: reqwest::Client,
    pub config: Generation,
}

impl Generator {
    pub fn new(config: Generation) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("a TLS-capable HTTP client");
        Generator { http, config }
    }

    pub fn provider(&self) -> &'static str {
        self.config.provider.name()
    }

    /// Starts generating a model of `subject`; returns the provider's task id.
    pub async fn create(&self, subject: Subject<'_>) -> Result<String, GenerationError> {
        match self.config.provider {
            ProviderKind::Meshy => meshy::create(self, subject).await,
            ProviderKind::Tripo => tripo::create(self, subject).await,
        }
    }

    /// Where the provider's task `id`, a generation of `kind`, stands.
    pub async fn poll(&self, kind: Kind, id: &str) -> Result<Poll, GenerationError> {
        match self.config.provider {
            ProviderKind::Meshy => meshy::poll(self, kind, id).await,
            ProviderKind::Tripo => tripo::poll(self, id).await,
        }
    }

    /// The model at `url`, at most `limit` bytes.
    pub async fn download(&self, url: &str, limit: u64) -> Result<Vec<u8>, GenerationError> {
        let provider = self.provider();
        let unreachable =
            |e: reqwest::Error| GenerationError::Unreachable { provider, message: e.to_string() };
        let mut response = self.http.get(url).send().await.map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            let message = format!("downloading its model answered {status}");
            return Err(if status.is_server_error() {
                GenerationError::Unreachable { provider, message }
            } else {
                GenerationError::Refused { provider, status: status.as_u16(), message }
            });
        }
        let too_large = GenerationError::TooLarge { provider, limit_mb: limit >> 20 };
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(too_large);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if bytes.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_large);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Follows the provider's task `id`, a generation of `kind`, until its model is here (at
    /// most `limit` bytes): polled every `poll`, its progress told to `watcher`, for at most
    /// `timeout`.
    pub async fn follow(
        &self,
        kind: Kind,
        id: &str,
        limit: u64,
        watcher: &(dyn Watcher + Sync),
    ) -> Result<Vec<u8>, Failure> {
        let provider = self.provider();
        let started = std::time::Instant::now();
        loop {
            if let Some(stop) = watcher.stopped() {
                return Err(stop);
            }
            match self.poll(kind, id).await? {
                Poll::Running { progress } => watcher.progress(progress),
                Poll::Done { model_url } => {
                    watcher.progress(1.0);
                    return Ok(self.download(&model_url, limit).await?);
                }
                Poll::Failed { message } => {
                    return Err(Failure::Failed(format!(
                        "{provider} could not make a model of {}: {message}",
                        kind.noun()
                    )));
                }
            }
            if started.elapsed() >= self.config.timeout {
                return Err(Failure::Failed(format!(
                    "{provider} did not finish the model within {} s; try again later",
                    self.config.timeout.as_secs()
                )));
            }
            tokio::time::sleep(self.config.poll).await;
        }
    }

    /// Sends `request` with the key; the JSON body of a 2xx answer, or the error its status
    /// and message make.
    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        message_of: fn(&serde_json::Value) -> Option<String>,
    ) -> Result<serde_json::Value, GenerationError> {
        let provider = self.provider();
        let response = request
            .bearer_auth(&self.config.api_key.0)
            .send()
            .await
            .map_err(|e| GenerationError::Unreachable { provider, message: e.to_string() })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if status.is_success() {
            return Ok(body);
        }
        let message = message_of(&body)
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("no reason given").to_owned());
        Err(if status.is_server_error() || status.as_u16() == 429 {
            GenerationError::Unreachable { provider, message: format!("{status}: {message}") }
        } else {
            GenerationError::Refused { provider, status: status.as_u16(), message }
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.api_base)
    }

    fn malformed(&self, message: impl Into<String>) -> GenerationError {
        GenerationError::Malformed { provider: self.provider(), message: message.into() }
    }
}

/// A percentage from 0 to 100 as a fraction; anything else as 0.
fn fraction(percent: &serde_json::Value) -> f64 {
    percent.as_f64().filter(|p| p.is_finite()).map_or(0.0, |p| (p / 100.0).clamp(0.0, 1.0))
}
