//! OpenID Connect through the `openidconnect` crate: discovery (cached for an hour, and again
//! at once when an ID token names a key the cached JWKS lacks), the code flow with PKCE and a
//! nonce, the ID token's checks, and userinfo.

use std::time::{Duration, Instant};

use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError,
    ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl,
    Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use super::{Authorization, Callback, LoginError, Verified, https_picture, unreachable, untrusted};
use crate::config::LoginProvider;

/// How long discovered metadata (and the JWKS in it) is used before it is fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);

/// The one discovery field `openidconnect` does not model: whether the provider sends `iss`
/// on its redirects (RFC 9207), in which case a redirect without it is refused.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}
impl AdditionalProviderMetadata for IssParameter {}

type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// A provider's discovered metadata and when it was fetched.
#[derive(Debug, Default)]
pub struct Cache(RwLock<Option<(Instant, Metadata)>>);

impl Cache {
    /// The cached metadata, or freshly discovered when there is none, it is older than
    /// [`METADATA_TTL`], or `refresh` asks for it.
    async fn get(
        &self,
        http: &reqwest::Client,
        provider: &LoginProvider,
        issuer: &str,
        refresh: bool,
    ) -> Result<Metadata, LoginError> {
        if !refresh
            && let Some((at, metadata)) = &*self.0.read().await
            && at.elapsed() < METADATA_TTL
        {
            return Ok(metadata.clone());
        }
        let issuer_url = IssuerUrl::new(issuer.to_owned()).map_err(|e| unreachable(provider, e))?;
        // `discover_async` checks that the document names this issuer, and fetches the JWKS.
        let metadata = Metadata::discover_async(issuer_url, http)
            .await
            .map_err(|e| unreachable(provider, format!("discovery: {e}")))?;
        *self.0.write().await = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }
}

fn client(
    provider: &LoginProvider,
    metadata: Metadata,
    redirect: &str,
) -> Result<
    CoreClient<
        EndpointSet,
        EndpointNotSet,
        EndpointNotSet,
        EndpointNotSet,
        EndpointMaybeSet,
        EndpointMaybeSet,
    >,
    LoginError,
> {
    let redirect =
        RedirectUrl::new(redirect.to_owned()).map_err(|e| LoginError::Internal(e.into()))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(provider.client_id.clone()),
        Some(ClientSecret::new(provider.client_secret.0.clone())),
    )
    .set_redirect_uri(redirect))
}

pub async fn authorize(
    http: &reqwest::Client,
    provider: &LoginProvider,
    issuer: &str,
    cache: &Cache,
    redirect: &str,
) -> Result<Authorization, LoginError> {
    let metadata = cache.get(http, provider, issuer, false).await?;
    let client = client(provider, metadata, redirect)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.into(),
        state: state.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        nonce: nonce.secret().clone(),
    })
}

/// One callback being finished.
pub struct Flow<'a> {
    pub http: &'a reqwest::Client,
    pub config: &'a LoginProvider,
    pub issuer: &'a str,
    pub cache: &'a Cache,
    pub redirect: &'a str,
}

impl Flow<'_> {
    pub async fn finish(
        &self,
        callback: &Callback,
        pkce_verifier: String,
        nonce: String,
    ) -> Result<Verified, LoginError> {
        let provider = self.config;
        let code = callback.code(provider)?;
        let mut metadata = self.cache.get(self.http, provider, self.issuer, false).await?;
        // RFC 9207: the redirect must come from this issuer (a mix-up attack sends another's).
        match &callback.iss {
            Some(iss) if iss != metadata.issuer().as_str() => {
                return Err(untrusted(provider, format!("callback iss {iss:?} is not the issuer")));
            }
            None if metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported =>
            {
                return Err(untrusted(provider, "callback without the iss the provider promises"));
            }
            _ => {}
        }
        let client = client(provider, metadata.clone(), self.redirect)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| unreachable(provider, e))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(answer) => {
                    let said = answer
                        .error_description()
                        .cloned()
                        .unwrap_or_else(|| answer.error().to_string());
                    LoginError::Provider(provider.name.clone(), said.chars().take(200).collect())
                }
                other => unreachable(provider, format!("token endpoint: {other:?}")),
            })?;
        let id_token = token
            .extra_fields()
            .id_token()
            .ok_or_else(|| untrusted(provider, "no ID token in the token response"))?;
        let nonce = Nonce::new(nonce);
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            // A key id the cached JWKS lacks: the provider may have rotated its keys.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                metadata = self.cache.get(self.http, provider, self.issuer, true).await?;
                let client = self::client(provider, metadata.clone(), self.redirect)?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| untrusted(provider, format!("ID token after re-discovery: {e}")))?
                    .clone()
            }
            Err(e) => return Err(untrusted(provider, format!("ID token: {e}"))),
        };
        let mut verified = Verified {
            provider: provider.id.clone(),
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.to_string()),
            picture: claims.picture().and_then(|p| p.get(None)).map(|p| p.to_string()),
        };
        // Userinfo, when offered, for the same subject: providers that keep the ID token lean
        // put the email there.
        if let Ok(request) =
            client.user_info(token.access_token().clone(), Some(claims.subject().clone()))
        {
            let info: openidconnect::core::CoreUserInfoClaims = request
                .request_async(self.http)
                .await
                .map_err(|e| untrusted(provider, format!("userinfo: {e}")))?;
            if let Some(email) = info.email() {
                verified.email = Some(email.to_string());
                verified.email_verified = info.email_verified().unwrap_or(false);
            }
            if let Some(name) = info.name().and_then(|n| n.get(None)) {
                verified.name = Some(name.to_string());
            }
            if let Some(picture) = info.picture().and_then(|p| p.get(None)) {
                verified.picture = Some(picture.to_string());
            }
        }
        verified.picture = https_picture(verified.picture);
        Ok(verified)
    }
}
