//! `[analyzer]`: settings of the analyzer process.

use super::ConfigError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzerConfig {}

impl AnalyzerConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}
