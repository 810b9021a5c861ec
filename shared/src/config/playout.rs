//! `[playout]`: settings of the playout process.

use super::ConfigError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayoutConfig {}

impl PlayoutConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}
