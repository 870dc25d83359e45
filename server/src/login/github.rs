//! GitHub: OAuth 2 (not OpenID Connect) with PKCE and the scopes `read:user user:email`. The
//! identity is GitHub's numeric user id (a login can be renamed and reused); the email is the
//! primary, verified one from `/user/emails`.

use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::Deserialize;

use super::{Authorization, Callback, LoginError, Verified, https_picture, unreachable, untrusted};
use crate::config::{LoginProvider, Protocol};

struct Urls<'a> {
    authorize: &'a str,
    token: &'a str,
    api: &'a str,
}

fn urls(provider: &LoginProvider) -> Urls<'_> {
    match &provider.protocol {
        Protocol::Github { authorize_url, token_url, api_url } => {
            Urls { authorize: authorize_url, token: token_url, api: api_url }
        }
        Protocol::Oidc { .. } => unreachable!("only GitHub providers come here"),
    }
}

fn client(
    provider: &LoginProvider,
    redirect: &str,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    LoginError,
> {
    let urls = urls(provider);
    let internal = |e: url::ParseError| LoginError::Internal(e.into());
    Ok(BasicClient::new(ClientId::new(provider.client_id.clone()))
        .set_client_secret(ClientSecret::new(provider.client_secret.0.clone()))
        .set_auth_uri(AuthUrl::new(urls.authorize.to_owned()).map_err(internal)?)
        .set_token_uri(TokenUrl::new(urls.token.to_owned()).map_err(internal)?)
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(internal)?)
        // GitHub reads the client's credentials from the form.
        .set_auth_type(AuthType::RequestBody))
}

pub fn authorize(provider: &LoginProvider, redirect: &str) -> Result<Authorization, LoginError> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client(provider, redirect)?
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read:user".into()))
        .add_scope(Scope::new("user:email".into()))
        .set_pkce_challenge(challenge)
        .url();
    Ok(Authorization {
        url: url.into(),
        state: state.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        nonce: String::new(),
    })
}

#[derive(Deserialize)]
struct User {
    id: u64,
    login: String,
    name: Option<String>,
    avatar_url: Option<String>,
}

#[derive(Deserialize)]
struct Email {
    email: String,
    primary: bool,
    verified: bool,
}

/// GitHub answers a bad code with 200 and `{"error", "error_description"}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    error_description: Option<String>,
}

pub async fn finish(
    http: &reqwest::Client,
    provider: &LoginProvider,
    redirect: &str,
    callback: &Callback,
    pkce_verifier: String,
) -> Result<Verified, LoginError> {
    let code = callback.code(provider)?;
    let urls = urls(provider);
    let refused = |error: String, description: Option<String>| {
        let said = description.unwrap_or(error);
        LoginError::Provider(provider.name.clone(), said.chars().take(200).collect())
    };
    let token = client(provider, redirect)?
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
        .request_async(http)
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(answer) => {
                refused(answer.error().to_string(), answer.error_description().cloned())
            }
            RequestTokenError::Parse(_, body) => match serde_json::from_slice::<ErrorBody>(&body) {
                Ok(answer) => refused(answer.error, answer.error_description),
                Err(_) => unreachable(provider, "token endpoint: an answer that is not a token"),
            },
            other => unreachable(provider, format!("token endpoint: {other}")),
        })?;
    let get = |path: &str| {
        http.get(format!("{}{path}", urls.api))
            .bearer_auth(token.access_token().secret())
            .header(reqwest::header::ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
    };
    let user: User = read(provider, get("/user")).await?;
    let emails: Vec<Email> = read(provider, get("/user/emails")).await?;
    let email = emails.into_iter().find(|e| e.primary && e.verified).map(|e| e.email);
    // The identity's issuer: GitHub's web origin (`https://github.com`).
    let issuer = url::Url::parse(urls.authorize)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|e| LoginError::Internal(e.into()))?;
    Ok(Verified {
        provider: provider.id.clone(),
        issuer,
        subject: user.id.to_string(),
        email_verified: email.is_some(),
        email,
        name: user.name.filter(|n| !n.trim().is_empty()).or(Some(user.login)),
        picture: https_picture(user.avatar_url),
    })
}

async fn read<T: serde::de::DeserializeOwned>(
    provider: &LoginProvider,
    request: reqwest::RequestBuilder,
) -> Result<T, LoginError> {
    let response = request.send().await.map_err(|e| unreachable(provider, e))?;
    if !response.status().is_success() {
        return Err(untrusted(provider, format!("user API answered {}", response.status())));
    }
    response.json().await.map_err(|e| unreachable(provider, format!("user API: {e}")))
}
