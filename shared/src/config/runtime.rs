//! `[runtime]`: where ipc sockets and other run-time files live.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Runtime directory (mode 0700). Empty: `$XDG_RUNTIME_DIR/touchline` when that variable
    /// is set, else `/tmp/touchline-<uid>`.
    pub dir: String,
}

impl RuntimeConfig {
    pub fn dir(&self) -> PathBuf {
        if !self.dir.is_empty() {
            return PathBuf::from(&self.dir);
        }
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(x) if !x.is_empty() => PathBuf::from(x).join("touchline"),
            _ => PathBuf::from(format!("/tmp/touchline-{}", nix::unistd::getuid())),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let d = self.dir();
        if !d.is_absolute() {
            return Err(ConfigError::invalid(
                "runtime.dir",
                format!(
                    "must be an absolute path, got {:?}",
                    d.display().to_string()
                ),
            ));
        }
        // ipc paths are limited to 107 bytes; leave room for the socket names.
        if d.as_os_str().len() > 80 {
            return Err(ConfigError::invalid(
                "runtime.dir",
                "must be at most 80 bytes long (unix socket paths are limited to 107)",
            ));
        }
        Ok(())
    }
}
