//! `[logging]`: how processes log.

use super::ConfigError;
use serde::{Deserialize, Serialize};

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line (for log collectors).
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    pub format: LogFormat,
    /// `tracing` env-filter directives (overridden by the `RUST_LOG` variable when set).
    pub filter: String,
    /// Warnings about the file itself (deprecated keys), logged once logging starts; not a
    /// key of the file.
    #[serde(skip)]
    pub notices: Vec<String>,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Human,
            filter: "info,zeromq=warn".into(),
            notices: Vec::new(),
        }
    }
}

impl LoggingConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        tracing_subscriber::EnvFilter::try_new(&self.filter).map_err(|e| {
            ConfigError::invalid("logging.filter", format!("is not a valid filter: {e}"))
        })?;
        Ok(())
    }
}
