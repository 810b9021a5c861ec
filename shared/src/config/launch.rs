//! `[launch]`: which processes the supervisor starts, in which order, with which arguments.

use super::{check_range, ConfigError};
use serde::{Deserialize, Serialize};

/// One supervised process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Name used in logs and control commands.
    pub name: String,
    /// Program to run: a bare name is looked up next to the `launch` binary first, then on
    /// PATH; a path is used as given.
    pub program: String,
    /// Extra arguments (the `--config` of the system is added by launch).
    #[serde(default)]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LaunchConfig {
    /// Processes in start order; they are stopped in reverse order.
    pub processes: Vec<ProcessSpec>,
    /// Time a process gets to exit after SIGTERM before SIGKILL, milliseconds.
    pub stop_timeout_ms: u64,
}

impl Default for LaunchConfig {
    fn default() -> Self {
        let p = |n: &str| ProcessSpec {
            name: n.into(),
            program: n.into(),
            args: vec![],
        };
        Self {
            processes: vec![p("capture"), p("analyzer"), p("director")],
            stop_timeout_ms: 3000,
        }
    }
}

impl LaunchConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("launch.stop_timeout_ms", self.stop_timeout_ms, 100, 60_000)?;
        if self.processes.is_empty() {
            return Err(ConfigError::invalid(
                "launch.processes",
                "must name at least one process",
            ));
        }
        for (i, p) in self.processes.iter().enumerate() {
            if p.name.is_empty()
                || !p
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(ConfigError::invalid(
                    &format!("launch.processes[{i}].name"),
                    format!("must be letters, digits, '-' or '_', got {:?}", p.name),
                ));
            }
            if p.program.is_empty() {
                return Err(ConfigError::invalid(
                    &format!("launch.processes[{i}].program"),
                    "must not be empty",
                ));
            }
            if self.processes[..i].iter().any(|q| q.name == p.name) {
                return Err(ConfigError::invalid(
                    &format!("launch.processes[{i}].name"),
                    format!("{:?} is used twice", p.name),
                ));
            }
        }
        Ok(())
    }
}
