//! `[director]`: settings of the director process.

use super::ConfigError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectorConfig {}

impl DirectorConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}
