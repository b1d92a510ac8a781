//! Configuration: defaults, then a TOML file (`--config` or `IDGATE_CONFIG`), then `IDGATE_*`
//! environment variables, each overriding the one before. Any setting can also be read from a
//! file named by `IDGATE_<NAME>_FILE` (for secrets such as a database URL with a password).
//!
//! [`Settings`] is what the layers deserialise into; [`Config`] is the validated result that
//! the rest of the program uses. Nothing reads configuration from a global.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use idgate_store::DatabaseUrl;
use serde::{Deserialize, Serialize};

/// Environment variables and the setting each one sets.
pub const ENV_KEYS: &[(&str, &str)] = &[
    ("LISTEN", "listen"),
    ("BASE_URL", "base_url"),
    ("DATA_DIR", "data_dir"),
    ("DATABASE_URL", "database.url"),
    ("DATABASE_POOL_SIZE", "database.pool_size"),
    ("DATABASE_CONNECT_TIMEOUT", "database.connect_timeout_secs"),
    ("TLS", "tls.enabled"),
    ("TLS_CERT", "tls.cert"),
    ("TLS_KEY", "tls.key"),
    ("LOG_FORMAT", "log.format"),
    ("LOG_LEVEL", "log.level"),
];

/// Variables with the `IDGATE_` prefix that are not settings.
const ENV_NOT_SETTINGS: &[&str] = &["CONFIG"];

/// The settings as layered, before validation. Unknown keys are an error.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub listen: String,
    pub base_url: Option<String>,
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    pub tls: TlsSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    pub url: Option<String>,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSettings {
    pub enabled: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            base_url: None,
            data_dir: PathBuf::from("./idgate-data"),
            database: DatabaseSettings::default(),
            tls: TlsSettings::default(),
            log: LogSettings::default(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: None,
            pool_size: 8,
            connect_timeout_secs: 5,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

/// How the server speaks TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    Off,
    /// Certificate chain and key given by the operator.
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// A self-signed certificate kept in the data directory, generated on first use.
    SelfSigned,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Public base URL without a trailing slash, e.g. `https://sso.acme.example`.
    pub base_url: String,
    /// Whether the base URL was derived from the listen address (and so follows its port).
    pub base_url_is_default: bool,
    pub data_dir: PathBuf,
    pub database_url: DatabaseUrl,
    /// Whether the database URL was left at its default (a SQLite file in the data directory).
    pub database_is_default: bool,
    pub pool_size: u32,
    pub connect_timeout_secs: u64,
    pub tls: Tls,
    pub log: LogSettings,
    /// Things worth telling the operator once logging is up (unknown variables, …).
    pub warnings: Vec<String>,
}

/// A configuration problem, worded for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl Config {
    /// Layers defaults, the optional file and the process environment, then validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// As [`Config::load`], with the environment given (tests use this).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::new(format!(
                    "cannot read config file {}: no such file",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let (figment, warnings) = merge_env(figment, &env)?;
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::new(format!("invalid configuration: {e}")))?;
        let mut config = settings.validate()?;
        config.warnings = warnings;
        Ok(config)
    }
}

/// Adds the `IDGATE_*` variables (and their `_FILE` forms) on top of `figment`.
fn merge_env(
    mut figment: Figment,
    env: &[(String, String)],
) -> Result<(Figment, Vec<String>), ConfigError> {
    let mut warnings = Vec::new();
    for (name, value) in env {
        let Some(suffix) = name.strip_prefix("IDGATE_") else {
            continue;
        };
        let key = suffix.strip_suffix("_FILE").unwrap_or(suffix);
        let known = ENV_KEYS.iter().find(|(var, _)| *var == key);
        let Some((_, path)) = known else {
            if !ENV_NOT_SETTINGS.contains(&suffix) && !suffix.starts_with("TEST_") {
                warnings.push(format!("ignoring unknown environment variable {name}"));
            }
            continue;
        };
        if suffix.len() == key.len() {
            if env.iter().any(|(n, _)| *n == format!("{name}_FILE")) {
                return Err(ConfigError::new(format!(
                    "set {name} or {name}_FILE, not both"
                )));
            }
            // Parsed as figment parses any environment value ("8" is a number, "true" a bool).
            let parsed: figment::value::Value =
                value.parse().unwrap_or_else(|_| value.clone().into());
            figment = figment.merge(Serialized::default(path, parsed));
        } else {
            let content = std::fs::read_to_string(value)
                .map_err(|e| ConfigError::new(format!("cannot read {name} file {value}: {e}")))?;
            let content = content.trim_end_matches(['\n', '\r']).to_owned();
            figment = figment.merge(Serialized::default(path, content));
        }
    }
    Ok((figment, warnings))
}

impl Settings {
    fn validate(self) -> Result<Config, ConfigError> {
        let listen: SocketAddr = self.listen.trim().parse().map_err(|_| {
            ConfigError::new(format!(
                "invalid listen address '{}': expected IP:PORT such as 127.0.0.1:8080",
                self.listen
            ))
        })?;
        let tls = match (self.tls.enabled, self.tls.cert, self.tls.key) {
            (_, Some(cert), Some(key)) => Tls::Files { cert, key },
            (_, Some(_), None) | (_, None, Some(_)) => {
                return Err(ConfigError::new(
                    "tls.cert and tls.key must be given together",
                ));
            }
            (true, None, None) => Tls::SelfSigned,
            (false, None, None) => Tls::Off,
        };
        let base_url_is_default = self.base_url.is_none();
        let base_url = match self.base_url {
            Some(raw) => parse_base_url(&raw)?,
            None => default_base_url(listen, tls != Tls::Off),
        };
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::new("data_dir cannot be empty"));
        }
        let database_is_default = self.database.url.is_none();
        let raw_url = self
            .database
            .url
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("idgate.db").display()));
        let database_url =
            DatabaseUrl::parse(&raw_url).map_err(|e| ConfigError::new(e.to_string()))?;
        if self.database.pool_size == 0 {
            return Err(ConfigError::new("database.pool_size must be at least 1"));
        }
        if self.log.level.trim().is_empty() {
            return Err(ConfigError::new("log.level cannot be empty"));
        }
        Ok(Config {
            listen,
            base_url,
            base_url_is_default,
            data_dir: self.data_dir,
            database_url,
            database_is_default,
            pool_size: self.database.pool_size,
            connect_timeout_secs: self.database.connect_timeout_secs.max(1),
            tls,
            log: self.log,
            warnings: Vec::new(),
        })
    }
}

fn parse_base_url(raw: &str) -> Result<String, ConfigError> {
    let trimmed = raw.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => Ok(trimmed.to_owned()),
        _ => Err(ConfigError::new(format!(
            "invalid base_url '{raw}': expected http(s)://HOST[:PORT][/PATH]"
        ))),
    }
}

pub fn default_base_url(listen: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let host = match listen.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST).to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    format!("{scheme}://{host}:{}", listen.port())
}

impl Config {
    /// Makes sure the data directory exists and can be written to.
    pub fn ensure_data_dir(&self) -> Result<(), ConfigError> {
        let dir = &self.data_dir;
        std::fs::create_dir_all(dir).map_err(|e| {
            ConfigError::new(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let probe = dir.join(".idgate-write-check");
        std::fs::write(&probe, b"").map_err(|e| {
            ConfigError::new(format!(
                "data directory {} is not writable: {e}",
                dir.display()
            ))
        })?;
        let _ = std::fs::remove_file(probe);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
