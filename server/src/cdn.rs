//! Signed, expiring download links through a CDN in front of the object store.
//!
//! The scheme is bunny.net's URL token authentication with HMAC-SHA256: the token is
//! `HS256-` followed by the unpadded base64url HMAC-SHA256, keyed by the pull zone's token
//! key, of the URL path and the expiry (Unix seconds). The link is
//! `{base}{path}?token={token}&expires={expires}`, and the edge refuses it with 403 once the
//! expiry has passed or if either part was altered. Other CDNs that sign `path + expires` with
//! HMAC-SHA256 (a Cloudflare or Fastly edge rule) check the same link.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A CDN pull zone whose origin is the bucket: object `k` is at `{base_url}/{k}`.
#[derive(Clone)]
pub struct Cdn {
    /// `https://host[/prefix]`, without a trailing slash.
    base_url: String,
    /// Where the path part of `base_url` starts (the signed path includes the prefix).
    path_start: usize,
    token_key: String,
}

impl fmt::Debug for Cdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cdn").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

impl Cdn {
    /// A CDN at `base_url` (`http://` or `https://`) signing with `token_key`.
    pub fn new(base_url: &str, token_key: &str) -> Result<Self, String> {
        let base_url = base_url.trim_end_matches('/');
        let rest = base_url
            .strip_prefix("https://")
            .or_else(|| base_url.strip_prefix("http://"))
            .ok_or_else(|| format!("cdn_base_url {base_url:?} must start with https://"))?;
        if rest.is_empty() || rest.contains(['?', '#']) || rest.starts_with('/') {
            return Err(format!(
                "cdn_base_url {base_url:?} must be a host with an optional path prefix"
            ));
        }
        if token_key.trim().is_empty() {
            return Err("cdn_base_url is set, so cdn_token_key must be too".into());
        }
        let path_start = base_url.len() - rest.len() + rest.find('/').unwrap_or(rest.len());
        Ok(Self { base_url: base_url.to_owned(), path_start, token_key: token_key.to_owned() })
    }

    /// A link to object `key` that the edge accepts until `ttl` from now.
    pub fn signed_url(&self, key: &str, ttl: Duration) -> String {
        let expires = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + ttl;
        self.signed_url_until(key, expires.as_secs())
    }

    /// A link to object `key` that the edge accepts until Unix second `expires`.
    pub fn signed_url_until(&self, key: &str, expires: u64) -> String {
        let url = format!("{}/{}", self.base_url, encode_key(key));
        let token = sign(&self.token_key, &url[self.path_start..], expires);
        format!("{url}?token={token}&expires={expires}")
    }
}

/// `HS256-` and the unpadded base64url HMAC-SHA256 of `path` then `expires`.
pub fn sign(token_key: &str, path: &str, expires: u64) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token_key.as_bytes()).expect("HMAC takes any key length");
    mac.update(path.as_bytes());
    mac.update(expires.to_string().as_bytes());
    format!("HS256-{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

/// Percent-encodes each segment of an object key (server-made keys need none, but a key is
/// never trusted to be URL-safe).
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The "plain" vector that bunny.net publishes with its signing libraries
    /// (BunnyCDN.TokenAuthentication, `e2e/vectors.json`).
    #[test]
    fn matches_the_published_vector() {
        let cdn = Cdn::new("https://token-tester.b-cdn.net", "SecurityKey").unwrap();
        assert_eq!(
            cdn.signed_url_until("300kb.jpg", 1598024587),
            "https://token-tester.b-cdn.net/300kb.jpg\
             ?token=HS256-o10JRWlsAItyAsdKS6jJKjabHN4FrFsplDHPV1idcX4&expires=1598024587"
        );
    }

    #[test]
    fn the_path_prefix_is_signed_and_odd_keys_are_encoded() {
        let cdn = Cdn::new("https://cdn.example/files/", "k").unwrap();
        let url = cdn.signed_url_until("users/a b/x.stl", 10);
        let expected = sign("k", "/files/users/a%20b/x.stl", 10);
        assert_eq!(
            url,
            format!("https://cdn.example/files/users/a%20b/x.stl?token={expected}&expires=10")
        );
        assert_ne!(sign("k", "/files/users/a%20b/x.stl", 11), expected, "the expiry is signed");
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(Cdn::new("ftp://cdn.example", "k").unwrap_err().contains("https://"));
        assert!(Cdn::new("https://", "k").is_err());
        assert!(Cdn::new("https://cdn.example?x=1", "k").is_err());
        assert!(Cdn::new("https://cdn.example", " ").unwrap_err().contains("cdn_token_key"));
    }
}
