//! Configuration: command-line flags over `LITHOS_*` environment variables over an optional
//! TOML file over defaults. Every key is documented in the README.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use lithos_engine::BackendChoice;
use serde::Deserialize;

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
}

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
                _ => {}
            }
        }
        Ok(layer)
    }

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
            config.workers = v.max(1);
        }
        if let Some(v) = self.max_upload_mb {
            config.max_upload_bytes = v << 20;
        }
        if let Some(v) = self.free_credits {
            config.free_credits = v.max(0);
        }
        if let Some(v) = self.public_url {
            config.secure_cookies = v.starts_with("https://");
        }
        if let Some(v) = self.backend {
            config.backend = v;
        }
    }
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
