//! `[capture]`: settings of the capture process.

use super::ConfigError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {}

impl CaptureConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}
