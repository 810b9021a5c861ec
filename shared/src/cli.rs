//! Command-line arguments shared by every binary.

use crate::config::{ConfigError, LogFormat, SystemConfig};
use clap::Args;
use std::path::PathBuf;

/// Options every Touchline process takes.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// System configuration file (TOML). Without it the built-in defaults are used.
    #[arg(long, short = 'c', env = "TOUCHLINE_CONFIG", global = true)]
    pub config: Option<PathBuf>,

    /// Log format (overrides `logging.format`).
    #[arg(long, value_enum, global = true)]
    pub log_format: Option<LogFormat>,
}

impl CommonArgs {
    /// Loads and validates the configuration.
    pub fn load_config(&self) -> Result<SystemConfig, ConfigError> {
        SystemConfig::load_or_default(self.config.as_deref())
    }
}
