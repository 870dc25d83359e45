//! Sign-in through login providers: OpenID Connect (generic, and Google as a preset of it) and
//! GitHub's OAuth 2. This module speaks to the providers; [`accounts`] decides what a verified
//! identity means for Lithos' accounts (sign-in, automatic linking, sign-up, refusal), and
//! `routes::login` is the HTTP surface.
//!
//! Every flow is the authorization code flow with PKCE (S256) and a `state` that is stored
//! hashed, bound to the browser by a cookie, and used once. OpenID Connect adds a `nonce`, the
//! ID token's signature checked against the provider's JWKS, its `iss`, `aud` and `exp`, and
//! the `iss` parameter of the callback (RFC 9207).

pub mod accounts;
mod github;
mod oidc;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{LoginProvider, Protocol};

/// How long a sign-in may take at the provider before its callback is refused.
pub const REQUEST_TTL_MS: i64 = 10 * 60 * 1000;
/// How long a new identity may wait for its birth date.
pub const SIGNUP_TTL_MS: i64 = 15 * 60 * 1000;
/// The cookie binding a sign-in's `state` to the browser that started it.
pub const STATE_COOKIE: &str = "lithos_login";

/// The configured providers, with each OpenID provider's discovered metadata cached.
#[derive(Debug)]
pub struct Providers {
    by_id: BTreeMap<String, Provider>,
    /// Never follows redirects (the providers' answers are read as they are, against SSRF).
    http: reqwest::Client,
}

#[derive(Debug)]
struct Provider {
    config: LoginProvider,
    metadata: oidc::Cache,
}

/// A sign-in about to be sent to the provider: where to send the browser, and what to keep
/// (hashed or server-side) until the callback.
#[derive(Debug)]
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub pkce_verifier: String,
    /// Empty for GitHub, which has no ID token.
    pub nonce: String,
}

/// Who the provider says signed in, after every check.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The configured provider's id.
    pub provider: String,
    /// The issuer (OpenID Connect), or the origin of GitHub's authorize URL.
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// Whether the provider vouches for `email`.
    pub email_verified: bool,
    pub name: Option<String>,
    /// A picture URL (https only).
    pub picture: Option<String>,
}

/// Why a sign-in through a provider failed, in words for the person.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("there is no login provider {0:?}")]
    UnknownProvider(String),
    #[error(
        "this sign-in link is not valid any more (it was used, it expired, or it was started \
         in another browser); start again"
    )]
    BadState,
    #[error("{0} refused the sign-in: {1}")]
    Provider(String, String),
    #[error("{0} could not be reached or gave an answer Lithos cannot trust; try again later")]
    Unreachable(String),
    #[error("{0}'s answer failed its security checks, so it was not used; start again")]
    Untrusted(String),
    #[error("{0} did not share a verified email address, which Lithos needs for your account")]
    NoEmail(String),
    #[error(
        "an account with this email already exists; sign in with your password, then link \
         {0} from your account page"
    )]
    LinkFromSettings(String),
    #[error("this {0} account is already linked to another Lithos account")]
    TakenIdentity(String),
    #[error("this account is disabled; contact support to have it enabled")]
    Disabled,
    #[error("the service failed; try again later")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for LoginError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl Providers {
    pub fn new(providers: Vec<LoginProvider>) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(15))
            .user_agent(concat!("Lithos/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let by_id = providers
            .into_iter()
            .map(|config| {
                (config.id.clone(), Provider { config, metadata: oidc::Cache::default() })
            })
            .collect();
        Ok(Self { by_id, http })
    }

    /// `(id, name)` of each provider, by id.
    pub fn list(&self) -> Vec<(&str, &str)> {
        self.by_id.values().map(|p| (p.config.id.as_str(), p.config.name.as_str())).collect()
    }

    /// The display name of provider `id` (the id itself when it is no longer configured).
    pub fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.by_id.get(id).map_or(id, |p| p.config.name.as_str())
    }

    fn get(&self, id: &str) -> Result<&Provider, LoginError> {
        self.by_id.get(id).ok_or_else(|| LoginError::UnknownProvider(id.to_owned()))
    }

    /// Where to send the browser to sign in with provider `id`, coming back to `redirect`.
    pub async fn authorize(&self, id: &str, redirect: &str) -> Result<Authorization, LoginError> {
        let provider = self.get(id)?;
        match &provider.config.protocol {
            Protocol::Oidc { issuer } => {
                oidc::authorize(&self.http, &provider.config, issuer, &provider.metadata, redirect)
                    .await
            }
            Protocol::Github { .. } => github::authorize(&provider.config, redirect),
        }
    }

    /// Exchanges the callback's `code` and checks everything the provider says.
    pub async fn finish(
        &self,
        id: &str,
        redirect: &str,
        callback: &Callback,
        pkce_verifier: String,
        nonce: String,
    ) -> Result<Verified, LoginError> {
        let provider = self.get(id)?;
        match &provider.config.protocol {
            Protocol::Oidc { issuer } => {
                let flow = oidc::Flow {
                    http: &self.http,
                    config: &provider.config,
                    issuer,
                    cache: &provider.metadata,
                    redirect,
                };
                flow.finish(callback, pkce_verifier, nonce).await
            }
            Protocol::Github { .. } => {
                github::finish(&self.http, &provider.config, redirect, callback, pkce_verifier)
                    .await
            }
        }
    }
}

/// The query of a provider's redirect back to Lithos.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// RFC 9207: the issuer that sent the browser back.
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

impl Callback {
    /// The code, or the provider's error in words.
    fn code(&self, provider: &LoginProvider) -> Result<String, LoginError> {
        if let Some(error) = &self.error {
            let said = self.error_description.as_deref().unwrap_or(error);
            let said: String = said.chars().filter(|c| !c.is_control()).take(200).collect();
            return Err(LoginError::Provider(provider.name.clone(), said));
        }
        self.code.clone().filter(|c| !c.is_empty()).ok_or(LoginError::BadState)
    }
}

/// `picture` when it is an https URL of sensible length (it is shown, never fetched).
fn https_picture(picture: Option<String>) -> Option<String> {
    picture.filter(|p| p.len() <= 2000 && p.starts_with("https://") && url::Url::parse(p).is_ok())
}

/// Logs why a provider's answer was not used (the person sees only [`LoginError`]'s words).
fn untrusted(provider: &LoginProvider, why: impl std::fmt::Display) -> LoginError {
    tracing::warn!(provider = %provider.id, "sign-in refused: {why}");
    LoginError::Untrusted(provider.name.clone())
}

fn unreachable(provider: &LoginProvider, why: impl std::fmt::Display) -> LoginError {
    tracing::warn!(provider = %provider.id, "login provider failed: {why}");
    LoginError::Unreachable(provider.name.clone())
}
