//! The AI generation provider prompts go to (`[generation]`, `LITHOS_GENERATION_*`). Without
//! a provider and its key, prompt tasks are refused and the web app offers no prompt box.

use std::time::Duration;

use serde::Deserialize;

use super::{Secret, secs};

/// Which provider's API to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// Meshy's text-to-3D API (`POST /openapi/v2/text-to-3d`, preview mode).
    Meshy,
    /// Tripo's task API (`POST /v2/openapi/task`, `text_to_model`).
    Tripo,
}

impl ProviderKind {
    /// The provider's live API.
    pub fn api_base(self) -> &'static str {
        match self {
            ProviderKind::Meshy => "https://api.meshy.ai",
            ProviderKind::Tripo => "https://api.tripo3d.ai",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Meshy => "Meshy",
            ProviderKind::Tripo => "Tripo",
        }
    }

    /// Its home page, where people read its own terms.
    pub fn site(self) -> &'static str {
        match self {
            ProviderKind::Meshy => "https://www.meshy.ai",
            ProviderKind::Tripo => "https://www.tripo3d.ai",
        }
    }
}

/// The `[generation]` table of the file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerationLayer {
    pub provider: Option<ProviderKind>,
    pub api_base: Option<String>,
    pub api_key: Option<Secret>,
    /// Credits a prompt task costs (the provider charges per generation).
    pub credits: Option<i64>,
    pub poll_seconds: Option<f64>,
    pub timeout_seconds: Option<f64>,
}

/// The provider, resolved: present only with a provider and a key.
#[derive(Clone, Debug)]
pub struct Generation {
    pub provider: ProviderKind,
    pub api_base: String,
    pub api_key: Secret,
    pub credits: i64,
    /// How often a running generation is asked for its progress.
    pub poll: Duration,
    /// How long a generation may take before its task fails (and its credits are released).
    pub timeout: Duration,
}

impl Generation {
    pub const DEFAULT_CREDITS: i64 = 10;
    pub const DEFAULT_POLL: Duration = Duration::from_secs(3);
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(900);
}

impl GenerationLayer {
    /// `self` over `base`, key by key.
    pub fn over(self, base: GenerationLayer) -> GenerationLayer {
        GenerationLayer {
            provider: self.provider.or(base.provider),
            api_base: self.api_base.or(base.api_base),
            api_key: self.api_key.or(base.api_key),
            credits: self.credits.or(base.credits),
            poll_seconds: self.poll_seconds.or(base.poll_seconds),
            timeout_seconds: self.timeout_seconds.or(base.timeout_seconds),
        }
    }

    /// The provider these settings describe; `Ok(None)` when none is named.
    pub fn build(&self) -> Result<Option<Generation>, String> {
        let api_key = self.api_key.clone().filter(|k| !k.0.is_empty());
        let Some(provider) = self.provider else {
            return match api_key {
                Some(_) => Err("generation.api_key is set but generation.provider is not (meshy \
                                or tripo)"
                    .into()),
                None => Ok(None),
            };
        };
        let api_key = api_key.ok_or_else(|| {
            format!("generation.provider is {} but generation.api_key is not set", provider.name())
        })?;
        let credits = self.credits.unwrap_or(Generation::DEFAULT_CREDITS);
        if credits < 0 {
            return Err(format!("generation.credits must be 0 or more, got {credits}"));
        }
        let poll = self.poll_seconds.map_or(Generation::DEFAULT_POLL, secs);
        let timeout = self.timeout_seconds.map_or(Generation::DEFAULT_TIMEOUT, secs);
        if poll.is_zero() || timeout.is_zero() {
            return Err(
                "generation.poll_seconds and generation.timeout_seconds must be above zero".into(),
            );
        }
        let api_base = self
            .api_base
            .clone()
            .unwrap_or_else(|| provider.api_base().to_owned())
            .trim_end_matches('/')
            .to_owned();
        url::Url::parse(&api_base)
            .map_err(|e| format!("generation.api_base ({api_base}) is not a URL: {e}"))?;
        Ok(Some(Generation { provider, api_base, api_key, credits, poll, timeout }))
    }
}
