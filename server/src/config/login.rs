//! Login providers: generic OpenID Connect, its Google preset, and GitHub's OAuth 2, each with
//! an id (in its callback URL, `/auth/<id>/callback`) and the name its button shows.

use serde::Deserialize;

use super::Secret;

/// Google's issuer, the preset's default.
pub const GOOGLE_ISSUER: &str = "https://accounts.google.com";
/// GitHub's URLs, the defaults of a `github` provider.
pub const GITHUB_AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
pub const GITHUB_TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
pub const GITHUB_API_URL: &str = "https://api.github.com";

/// A configured login provider.
#[derive(Clone, Debug)]
pub struct LoginProvider {
    /// `[a-z0-9-]+`, unique: `google`, `github`, `corp`.
    pub id: String,
    /// What the sign-in button says: "Continue with {name}".
    pub name: String,
    pub client_id: String,
    pub client_secret: Secret,
    pub protocol: Protocol,
}

#[derive(Clone, Debug)]
pub enum Protocol {
    /// OpenID Connect, discovered from `{issuer}/.well-known/openid-configuration`.
    Oidc { issuer: String },
    /// GitHub's OAuth 2 and user REST API (not OpenID Connect).
    Github { authorize_url: String, token_url: String, api_url: String },
}

/// The kinds a provider's `kind` names.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Oidc,
    Google,
    Github,
}

/// One `[[login_providers]]` table, or the `LITHOS_{GOOGLE,GITHUB,OIDC}_*` variables.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderLayer {
    pub kind: Kind,
    /// Defaults to `google`, `github`, or `oidc`.
    pub id: Option<String>,
    /// Defaults to "Google", "GitHub", or "single sign-on".
    pub name: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<Secret>,
    /// OpenID Connect: the issuer URL (Google: its own).
    pub issuer: Option<String>,
    /// GitHub: where to authorize, exchange codes and read the user (GitHub's own by default).
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub api_url: Option<String>,
}

impl ProviderLayer {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            id: None,
            name: None,
            client_id: None,
            client_secret: None,
            issuer: None,
            authorize_url: None,
            token_url: None,
            api_url: None,
        }
    }

    pub fn id(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            match self.kind {
                Kind::Oidc => "oidc",
                Kind::Google => "google",
                Kind::Github => "github",
            }
            .to_owned()
        })
    }

    /// The provider, or what is missing or malformed.
    pub fn build(self) -> Result<LoginProvider, String> {
        let id = self.id();
        if id.is_empty()
            || id.len() > 40
            || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!("login provider id {id:?} must be 1 to 40 of a-z, 0-9 and -"));
        }
        let missing = |what: &str| format!("login provider {id:?} needs {what}");
        let client_id =
            self.client_id.filter(|v| !v.is_empty()).ok_or_else(|| missing("client_id"))?;
        let client_secret = self
            .client_secret
            .filter(|v| !v.0.is_empty())
            .ok_or_else(|| missing("client_secret"))?;
        let url = |what: &str, value: String| -> Result<String, String> {
            let parsed = url::Url::parse(&value).map_err(|e| {
                format!("login provider {id:?}: {what} {value:?} is not a URL: {e}")
            })?;
            if !matches!(parsed.scheme(), "https" | "http") {
                return Err(format!("login provider {id:?}: {what} must be an http(s) URL"));
            }
            Ok(value.trim_end_matches('/').to_owned())
        };
        let (default_name, protocol) = match self.kind {
            Kind::Oidc => {
                let issuer = self.issuer.ok_or_else(|| missing("issuer"))?;
                ("single sign-on", Protocol::Oidc { issuer: url("issuer", issuer)? })
            }
            Kind::Google => {
                let issuer = self.issuer.unwrap_or_else(|| GOOGLE_ISSUER.to_owned());
                ("Google", Protocol::Oidc { issuer: url("issuer", issuer)? })
            }
            Kind::Github => {
                let or = |v: Option<String>, default: &str| v.unwrap_or_else(|| default.to_owned());
                (
                    "GitHub",
                    Protocol::Github {
                        authorize_url: url(
                            "authorize_url",
                            or(self.authorize_url, GITHUB_AUTHORIZE_URL),
                        )?,
                        token_url: url("token_url", or(self.token_url, GITHUB_TOKEN_URL))?,
                        api_url: url("api_url", or(self.api_url, GITHUB_API_URL))?,
                    },
                )
            }
        };
        let name = self.name.unwrap_or_else(|| default_name.to_owned());
        let name = crate::text::clean("name", &name, 40)
            .map_err(|e| format!("login provider {id:?}: {e}"))?;
        Ok(LoginProvider { id, name, client_id, client_secret, protocol })
    }

    /// Sets `self`'s keys over `base` (the same provider from a lower layer).
    pub fn over(self, base: ProviderLayer) -> ProviderLayer {
        ProviderLayer {
            kind: self.kind,
            id: self.id.or(base.id),
            name: self.name.or(base.name),
            client_id: self.client_id.or(base.client_id),
            client_secret: self.client_secret.or(base.client_secret),
            issuer: self.issuer.or(base.issuer),
            authorize_url: self.authorize_url.or(base.authorize_url),
            token_url: self.token_url.or(base.token_url),
            api_url: self.api_url.or(base.api_url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Layer};

    fn env(pairs: &[(&str, &str)]) -> Result<Vec<LoginProvider>, String> {
        let layer = Layer::from_env(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))?;
        Config::resolve(None, layer, Layer::default()).login_providers()
    }

    #[test]
    fn the_environment_configures_google_github_and_one_generic_provider() {
        let providers = env(&[
            ("LITHOS_GOOGLE_CLIENT_ID", "g-id"),
            ("LITHOS_GOOGLE_CLIENT_SECRET", "g-secret"),
            ("LITHOS_GITHUB_CLIENT_ID", "gh-id"),
            ("LITHOS_GITHUB_CLIENT_SECRET", "gh-secret"),
            ("LITHOS_OIDC_ISSUER", "https://sso.example.com/"),
            ("LITHOS_OIDC_CLIENT_ID", "o-id"),
            ("LITHOS_OIDC_CLIENT_SECRET", "o-secret"),
            ("LITHOS_OIDC_NAME", "Corp SSO"),
        ])
        .unwrap();
        let summary: Vec<_> = providers
            .iter()
            .map(|p| {
                let at = match &p.protocol {
                    Protocol::Oidc { issuer } => issuer.clone(),
                    Protocol::Github { api_url, .. } => api_url.clone(),
                };
                (p.id.as_str(), p.name.as_str(), at)
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("google", "Google", GOOGLE_ISSUER.to_owned()),
                ("github", "GitHub", GITHUB_API_URL.to_owned()),
                ("oidc", "Corp SSO", "https://sso.example.com".to_owned()),
            ]
        );
    }

    #[test]
    fn an_incomplete_or_malformed_provider_is_named() {
        let half = env(&[("LITHOS_GITHUB_CLIENT_ID", "gh-id")]).unwrap_err();
        assert!(half.contains("\"github\" needs client_secret"), "{half}");
        let no_issuer = env(&[("LITHOS_OIDC_CLIENT_ID", "a"), ("LITHOS_OIDC_CLIENT_SECRET", "b")]);
        assert!(no_issuer.unwrap_err().contains("needs issuer"));
        let mut bad = ProviderLayer::new(Kind::Oidc);
        bad.id = Some("Corp SSO".into());
        assert!(bad.build().unwrap_err().contains("a-z, 0-9 and -"));
        let mut ftp = ProviderLayer::new(Kind::Oidc);
        (ftp.client_id, ftp.client_secret) = (Some("a".into()), Some(Secret("b".into())));
        ftp.issuer = Some("ftp://sso.example.com".into());
        assert!(ftp.build().unwrap_err().contains("http(s) URL"));
    }

    #[test]
    fn the_environment_completes_a_provider_of_the_file_by_id() {
        let file: Layer =
            toml::from_str("[[login_providers]]\nkind = \"google\"\nclient_id = \"from-file\"\n")
                .unwrap();
        let env =
            Layer::from_env([("LITHOS_GOOGLE_CLIENT_SECRET".into(), "from-env".into())]).unwrap();
        let providers =
            Config::resolve(Some(file), env, Layer::default()).login_providers().unwrap();
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].client_id, "from-file");
        assert_eq!(providers[0].client_secret.0, "from-env");
    }
}
