//! The server's configuration: an optional YAML file, then environment
//! variables on top (what Kubernetes manifests set), checked once at start.
//!
//! Both layers reject names they do not know. A typo such as
//! `HEARTLAB_SERVER_MAX_BATCH_ROW` would otherwise be ignored in silence and
//! the service would run with a default nobody chose.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The prefix of every environment variable the server reads.
pub const ENV_PREFIX: &str = "HEARTLAB_SERVER_";
/// The variable naming the configuration file (`--config` wins over it).
pub const ENV_CONFIG: &str = "HEARTLAB_SERVER_CONFIG";

/// How log lines are written: JSON for machines (production), pretty for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Every setting, with its default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on; 0.0.0.0 so a container is reachable.
    pub host: String,
    /// Port to listen on; 0 picks a free one (logged at start).
    pub port: u16,
    /// The model artifact; its `.sha256` must sit beside it.
    pub artifact: PathBuf,
    /// Rows one batch request may carry.
    pub max_batch_rows: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    pub log_format: LogFormat,
    /// Worker threads; absent means one per CPU core.
    pub workers: Option<usize>,
    /// After SIGTERM the server reports not-ready but keeps serving this
    /// long, so load balancers stop sending before connections are refused.
    pub drain_seconds: f64,
    /// After draining, how long in-flight requests may take to finish.
    pub shutdown_timeout_seconds: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "0.0.0.0".to_owned(),
            port: 8080,
            artifact: PathBuf::from("lab/out/model/artifact.json"),
            max_batch_rows: 1000,
            // A row is about 250 bytes of JSON: a full batch fits four times over.
            max_body_bytes: 1024 * 1024,
            log_format: LogFormat::Json,
            workers: None,
            drain_seconds: 5.0,
            shutdown_timeout_seconds: 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("failed to read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        source: serde_yaml_ng::Error,
    },
    #[error("{var}={value:?} is not valid: {reason}")]
    Env {
        var: String,
        value: String,
        reason: String,
    },
    #[error("{var} is not a setting this server knows; known: {known}")]
    UnknownEnv { var: String, known: String },
    #[error("{setting} = {value} is not valid: {reason}")]
    Invalid {
        setting: &'static str,
        value: String,
        reason: &'static str,
    },
}

/// The environment variables that override settings, and the setting each sets.
const ENV_SETTINGS: [(&str, &str); 9] = [
    ("HEARTLAB_SERVER_HOST", "host"),
    ("HEARTLAB_SERVER_PORT", "port"),
    ("HEARTLAB_SERVER_ARTIFACT", "artifact"),
    ("HEARTLAB_SERVER_MAX_BATCH_ROWS", "max_batch_rows"),
    ("HEARTLAB_SERVER_MAX_BODY_BYTES", "max_body_bytes"),
    ("HEARTLAB_SERVER_LOG_FORMAT", "log_format"),
    ("HEARTLAB_SERVER_WORKERS", "workers"),
    ("HEARTLAB_SERVER_DRAIN_SECONDS", "drain_seconds"),
    (
        "HEARTLAB_SERVER_SHUTDOWN_TIMEOUT_SECONDS",
        "shutdown_timeout_seconds",
    ),
];

fn parse<T: std::str::FromStr>(var: &str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| ConfigError::Env {
        var: var.to_owned(),
        value: value.to_owned(),
        reason: e.to_string(),
    })
}

impl Config {
    /// Reads the file (if any), applies the `HEARTLAB_SERVER_*` variables from
    /// `env`, and checks the result. `env` is passed in so tests need not
    /// touch the process environment.
    pub fn load<I>(file: Option<&Path>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None => Config::default(),
        };

        for (var, value) in env {
            if !var.starts_with(ENV_PREFIX) || var == ENV_CONFIG {
                continue;
            }
            config.apply_env(&var, &value)?;
        }

        config.check()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        // An empty file is a valid "all defaults", not a parse error.
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_yaml_ng::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    fn apply_env(&mut self, var: &str, value: &str) -> Result<(), ConfigError> {
        let Some((_, setting)) = ENV_SETTINGS.iter().find(|(name, _)| *name == var) else {
            let mut known: Vec<&str> = ENV_SETTINGS.iter().map(|(name, _)| *name).collect();
            known.push(ENV_CONFIG);
            return Err(ConfigError::UnknownEnv {
                var: var.to_owned(),
                known: known.join(", "),
            });
        };
        match *setting {
            "host" => self.host = value.trim().to_owned(),
            "port" => self.port = parse(var, value)?,
            "artifact" => self.artifact = PathBuf::from(value),
            "max_batch_rows" => self.max_batch_rows = parse(var, value)?,
            "max_body_bytes" => self.max_body_bytes = parse(var, value)?,
            "log_format" => {
                self.log_format = match value.trim() {
                    "json" => LogFormat::Json,
                    "pretty" => LogFormat::Pretty,
                    _ => {
                        return Err(ConfigError::Env {
                            var: var.to_owned(),
                            value: value.to_owned(),
                            reason: "expected json or pretty".to_owned(),
                        })
                    }
                }
            }
            "workers" => self.workers = Some(parse(var, value)?),
            "drain_seconds" => self.drain_seconds = parse(var, value)?,
            _ => self.shutdown_timeout_seconds = parse(var, value)?,
        }
        Ok(())
    }

    /// Limits that keep one request from starving the others, and values
    /// that cannot work at all.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |setting, value: &dyn std::fmt::Display, reason| ConfigError::Invalid {
            setting,
            value: value.to_string(),
            reason,
        };
        if self.host.is_empty() {
            return Err(invalid("host", &"\"\"", "must name an address"));
        }
        if self.artifact.as_os_str().is_empty() {
            return Err(invalid("artifact", &"\"\"", "must name the artifact file"));
        }
        if !(1..=100_000).contains(&self.max_batch_rows) {
            return Err(invalid(
                "max_batch_rows",
                &self.max_batch_rows,
                "must be between 1 and 100000",
            ));
        }
        if !(1024..=256 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(invalid(
                "max_body_bytes",
                &self.max_body_bytes,
                "must be between 1 KiB and 256 MiB",
            ));
        }
        if let Some(workers) = self.workers {
            if !(1..=256).contains(&workers) {
                return Err(invalid("workers", &workers, "must be between 1 and 256"));
            }
        }
        if !(self.drain_seconds.is_finite() && (0.0..=600.0).contains(&self.drain_seconds)) {
            return Err(invalid(
                "drain_seconds",
                &self.drain_seconds,
                "must be between 0 and 600",
            ));
        }
        if self.shutdown_timeout_seconds > 600 {
            return Err(invalid(
                "shutdown_timeout_seconds",
                &self.shutdown_timeout_seconds,
                "must be at most 600",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_hold_without_file_or_environment() {
        let config = Config::load(None, env(&[("PATH", "/bin")])).unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.yaml");
        std::fs::write(&path, "port: 9000\nmax_batch_rows: 10\n").unwrap();

        let config = Config::load(Some(&path), env(&[("HEARTLAB_SERVER_PORT", "0")])).unwrap();

        assert_eq!(config.port, 0);
        assert_eq!(config.max_batch_rows, 10);
    }

    #[test]
    fn an_unknown_key_in_the_file_is_rejected_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.yaml");
        std::fs::write(&path, "prot: 9000\n").unwrap();

        let error = Config::load(Some(&path), env(&[])).unwrap_err().to_string();

        assert!(error.contains("prot"), "{error}");
    }

    #[test]
    fn an_unknown_variable_with_the_prefix_is_rejected_by_name() {
        let error = Config::load(None, env(&[("HEARTLAB_SERVER_MAX_BATCH_ROW", "5")]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("HEARTLAB_SERVER_MAX_BATCH_ROW "), "{error}");
    }

    #[test]
    fn bad_values_are_rejected_with_the_variable_and_the_reason() {
        let cases = [
            ("HEARTLAB_SERVER_PORT", "eighty", "HEARTLAB_SERVER_PORT"),
            ("HEARTLAB_SERVER_PORT", "70000", "HEARTLAB_SERVER_PORT"),
            ("HEARTLAB_SERVER_LOG_FORMAT", "xml", "json or pretty"),
            ("HEARTLAB_SERVER_MAX_BATCH_ROWS", "0", "max_batch_rows"),
            ("HEARTLAB_SERVER_WORKERS", "0", "workers"),
            ("HEARTLAB_SERVER_DRAIN_SECONDS", "NaN", "drain_seconds"),
            ("HEARTLAB_SERVER_MAX_BODY_BYTES", "10", "max_body_bytes"),
        ];
        for (var, value, expected) in cases {
            let error = Config::load(None, env(&[(var, value)]))
                .expect_err(var)
                .to_string();
            assert!(error.contains(expected), "{var}={value}: {error}");
        }
    }
}
