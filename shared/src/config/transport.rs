//! `[transport]`: endpoints, heartbeats, queue sizes and request timeouts.

use super::{check_range, ConfigError};
use crate::transport::Endpoint;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TransportConfig {
    /// Capture's PUB (frame ticks, raw detections, playout status). Empty: ipc in the runtime
    /// directory. Capture binds it; analyzer and director connect.
    pub capture_pub: String,
    /// Capture's SUB for camera paths. Capture binds it; the director's PUB connects.
    pub capture_paths: String,
    /// Capture's REP (current playout status on request).
    pub capture_rep: String,
    /// Analyzer's PUB (tracks). The analyzer binds it; the director connects.
    pub analyzer_pub: String,
    /// Analyzer's REP (snapshot of recent tracks).
    pub analyzer_rep: String,
    /// Launch's PUB of the operator's wishes (camera mode, recording). Launch binds it;
    /// capture and the director connect.
    pub launch_op: String,
    /// Allow tcp endpoints that are not on 127.0.0.1/localhost.
    pub allow_non_loopback: bool,
    /// Heartbeat period on every publisher, milliseconds.
    pub heartbeat_interval_ms: u64,
    /// Our bounded queue in front of each PUB (messages; oldest dropped beyond it).
    pub publisher_queue: usize,
    /// Messages buffered between a SUB socket and its consumer (newest dropped beyond it).
    pub subscriber_queue: usize,
    /// Time limit of each step of a request, milliseconds.
    pub request_timeout_ms: u64,
    /// Retries of a request after the first attempt.
    pub request_retries: u32,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            capture_pub: String::new(),
            capture_paths: String::new(),
            capture_rep: String::new(),
            analyzer_pub: String::new(),
            analyzer_rep: String::new(),
            launch_op: String::new(),
            allow_non_loopback: false,
            heartbeat_interval_ms: 1000,
            publisher_queue: 256,
            subscriber_queue: 1024,
            request_timeout_ms: 1000,
            request_retries: 2,
        }
    }
}

/// Resolved endpoints of the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub capture_pub: Endpoint,
    pub capture_paths: Endpoint,
    pub capture_rep: Endpoint,
    pub analyzer_pub: Endpoint,
    pub analyzer_rep: Endpoint,
    pub launch_op: Endpoint,
}

impl TransportConfig {
    fn entries(&self) -> [(&'static str, &str, &'static str); 6] {
        [
            (
                "transport.capture_pub",
                &self.capture_pub,
                "capture-pub.sock",
            ),
            (
                "transport.capture_paths",
                &self.capture_paths,
                "capture-paths.sock",
            ),
            (
                "transport.capture_rep",
                &self.capture_rep,
                "capture-rep.sock",
            ),
            (
                "transport.analyzer_pub",
                &self.analyzer_pub,
                "analyzer-pub.sock",
            ),
            (
                "transport.analyzer_rep",
                &self.analyzer_rep,
                "analyzer-rep.sock",
            ),
            ("transport.launch_op", &self.launch_op, "launch-op.sock"),
        ]
    }

    fn endpoint(value: &str, default_name: &str, dir: &Path) -> Result<Endpoint, String> {
        if value.is_empty() {
            Ok(Endpoint::ipc_in(dir, default_name))
        } else {
            Endpoint::parse(value).map_err(|e| e.to_string())
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "transport.heartbeat_interval_ms",
            self.heartbeat_interval_ms,
            100,
            10_000,
        )?;
        check_range(
            "transport.publisher_queue",
            self.publisher_queue,
            1,
            100_000,
        )?;
        check_range(
            "transport.subscriber_queue",
            self.subscriber_queue,
            1,
            100_000,
        )?;
        check_range(
            "transport.request_timeout_ms",
            self.request_timeout_ms,
            10,
            60_000,
        )?;
        check_range("transport.request_retries", self.request_retries, 0, 100)?;
        let dir = Path::new("/run/touchline");
        let mut seen: Vec<Endpoint> = Vec::new();
        for (key, value, name) in self.entries() {
            let ep = Self::endpoint(value, name, dir).map_err(|e| ConfigError::invalid(key, e))?;
            if !self.allow_non_loopback && !ep.is_loopback() {
                return Err(ConfigError::invalid(
                    key,
                    format!("{ep} is not on the loopback interface; set transport.allow_non_loopback = true to allow it"),
                ));
            }
            if seen.contains(&ep) {
                return Err(ConfigError::invalid(key, format!("{ep} is used twice")));
            }
            seen.push(ep);
        }
        Ok(())
    }

    /// Resolves every endpoint (call after [`validate`](Self::validate)).
    pub fn resolve(&self, runtime_dir: &Path) -> Endpoints {
        let e = |value: &str, name: &str| {
            Self::endpoint(value, name, runtime_dir)
                .unwrap_or_else(|_| Endpoint::ipc_in(runtime_dir, name))
        };
        Endpoints {
            capture_pub: e(&self.capture_pub, "capture-pub.sock"),
            capture_paths: e(&self.capture_paths, "capture-paths.sock"),
            capture_rep: e(&self.capture_rep, "capture-rep.sock"),
            analyzer_pub: e(&self.analyzer_pub, "analyzer-pub.sock"),
            analyzer_rep: e(&self.analyzer_rep, "analyzer-rep.sock"),
            launch_op: e(&self.launch_op, "launch-op.sock"),
        }
    }

    pub fn heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.heartbeat_interval_ms)
    }

    pub fn requester_options(&self) -> crate::transport::RequesterOptions {
        crate::transport::RequesterOptions {
            timeout: Duration::from_millis(self.request_timeout_ms),
            retries: self.request_retries,
        }
    }
}
