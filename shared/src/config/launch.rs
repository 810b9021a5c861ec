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
    /// A running process whose supervisor heartbeat has been silent this long is hung: it is
    /// killed and restarted, milliseconds. Must exceed `transport.heartbeat_interval_ms`
    /// comfortably (launch checks at least twice).
    pub hung_timeout_ms: u64,
    /// Time a freshly started process gets to send its first heartbeat before it counts as
    /// hung, milliseconds. A process that exits with a usage error (code 2) before its first
    /// heartbeat within this time stops launch instead of being restarted.
    pub startup_grace_ms: u64,
    /// Delay before the first restart of a failed process, milliseconds; doubled after each
    /// further failure up to `backoff_max_ms`.
    pub backoff_initial_ms: u64,
    /// Upper bound of the restart delay, milliseconds.
    pub backoff_max_ms: u64,
    /// A process that ran this long before failing is restarted after `backoff_initial_ms`
    /// again (its earlier failures are forgiven), milliseconds.
    pub backoff_reset_ms: u64,
    /// More than this many failure restarts (all processes together) within
    /// `restart_window_s` makes launch stop everything and exit non-zero. Restarts asked for
    /// with `launch restart` do not count.
    pub max_restarts: u32,
    /// The sliding window of `max_restarts`, seconds.
    pub restart_window_s: u64,
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
            stop_timeout_ms: 15000,
            hung_timeout_ms: 5000,
            startup_grace_ms: 10_000,
            backoff_initial_ms: 200,
            backoff_max_ms: 10_000,
            backoff_reset_ms: 30_000,
            max_restarts: 5,
            restart_window_s: 60,
        }
    }
}

impl LaunchConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("launch.stop_timeout_ms", self.stop_timeout_ms, 100, 60_000)?;
        check_range("launch.hung_timeout_ms", self.hung_timeout_ms, 200, 600_000)?;
        check_range(
            "launch.startup_grace_ms",
            self.startup_grace_ms,
            100,
            600_000,
        )?;
        check_range(
            "launch.backoff_initial_ms",
            self.backoff_initial_ms,
            10,
            60_000,
        )?;
        check_range(
            "launch.backoff_max_ms",
            self.backoff_max_ms,
            self.backoff_initial_ms,
            600_000,
        )?;
        check_range(
            "launch.backoff_reset_ms",
            self.backoff_reset_ms,
            100,
            3_600_000,
        )?;
        check_range("launch.max_restarts", self.max_restarts, 0, 1000)?;
        check_range("launch.restart_window_s", self.restart_window_s, 1, 3600)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        LaunchConfig::default().validate().unwrap();
    }

    #[test]
    fn backoff_max_below_initial_names_the_key() {
        let c = LaunchConfig {
            backoff_initial_ms: 500,
            backoff_max_ms: 100,
            ..LaunchConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("launch.backoff_max_ms"), "{e}");
        assert!(e.contains("between 500 and 600000"), "{e}");
    }

    #[test]
    fn zero_hung_timeout_names_the_key() {
        let c = LaunchConfig {
            hung_timeout_ms: 0,
            ..LaunchConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("launch.hung_timeout_ms"), "{e}");
    }
}
