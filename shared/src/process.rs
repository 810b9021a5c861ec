//! The common frame of every Touchline process: load and validate the config, set up logging,
//! run an actix System until SIGINT/SIGTERM (or an internal request), then return.

use crate::cli::CommonArgs;
use crate::config::SystemConfig;
use crate::shutdown::Shutdown;
use crate::transport::{Endpoint, HeartbeatSource, Publisher, PublisherOptions};
use anyhow::{Context, Result};
use std::future::Future;
use std::time::Duration;

/// Environment variable through which a supervisor (`launch`) gives its children the
/// endpoint of its heartbeat subscriber.
pub const SUPERVISOR_ENV: &str = "TOUCHLINE_SUPERVISOR";

/// What keeps this process from doing its work, if anything (see [`set_problem`]).
static PROBLEM: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Sets (or clears, with `None`) the problem that every heartbeat of this process carries
/// from now on (`Heartbeat::problem`): the process is alive but cannot do its work, e.g.
/// capture with no working camera. A supervisor restarts a process that stays so for its
/// hung timeout.
pub fn set_problem(problem: Option<String>) {
    *PROBLEM.lock().unwrap_or_else(|p| p.into_inner()) = problem;
}

/// The problem set with [`set_problem`], if any.
pub fn problem() -> Option<String> {
    PROBLEM.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// This process's counters and gauges (see [`set_metrics`]).
static METRICS: std::sync::Mutex<std::collections::BTreeMap<String, f64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

/// Replaces the counters (names ending in `_total`) and gauges every heartbeat of this
/// process carries from now on (`Heartbeat::metrics`); a supervisor shows them (`launch`'s
/// `/metrics`).
pub fn set_metrics<K: Into<String>>(metrics: impl IntoIterator<Item = (K, f64)>) {
    let mut m = METRICS.lock().unwrap_or_else(|p| p.into_inner());
    m.clear();
    m.extend(metrics.into_iter().map(|(k, v)| (k.into(), v)));
}

/// The numeric fields of a counters struct as counters: `<prefix><field>_total`; an array
/// field gives `<field>_<index>_total`, a nested struct `<field>_<inner>_total`.
pub fn counters_of<T: serde::Serialize>(prefix: &str, value: &T) -> Vec<(String, f64)> {
    fn walk(name: String, v: &serde_json::Value, out: &mut Vec<(String, f64)>) {
        match v {
            serde_json::Value::Number(n) => {
                if let Some(x) = n.as_f64() {
                    out.push((format!("{name}_total"), x));
                }
            }
            serde_json::Value::Bool(b) => out.push((name, *b as u8 as f64)),
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(format!("{name}_{i}"), x, out);
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    let n = if name.is_empty() {
                        k.clone()
                    } else {
                        format!("{name}_{k}")
                    };
                    walk(n, x, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(value) {
        walk(String::new(), &v, &mut out);
    }
    out.into_iter()
        .map(|(k, v)| (format!("{prefix}{k}"), v))
        .collect()
}

/// The metrics set with [`set_metrics`].
pub fn metrics() -> std::collections::BTreeMap<String, f64> {
    METRICS.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Connects a heartbeat-only publisher to the supervisor named in [`SUPERVISOR_ENV`], if any.
fn supervisor_heartbeats(process: &str, interval: Duration) -> Option<Publisher> {
    let value = std::env::var(SUPERVISOR_ENV).ok()?;
    match Endpoint::parse(&value) {
        Ok(ep) => Some(Publisher::connect(
            "supervisor-hb",
            &ep,
            PublisherOptions {
                queue_capacity: 4,
                heartbeat: Some(HeartbeatSource {
                    process: process.to_string(),
                    interval,
                }),
            },
        )),
        Err(e) => {
            tracing::warn!(message = "Ignoring a bad supervisor endpoint.", variable = SUPERVISOR_ENV, error = %e);
            None
        }
    }
}

/// Exit code of a process whose configuration cannot work on this machine (a GStreamer
/// element it needs is missing, say): sysexits' `EX_CONFIG`. A supervisor does not restart a
/// process that exits so; restarting cannot help.
pub const CONFIG_EXIT_CODE: u8 = 78;

/// The configuration cannot work on this machine; the message names the key and the fix.
/// [`exit_code`] maps it to [`CONFIG_EXIT_CODE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(pub String);

/// The exit code for an error a process ends with: [`CONFIG_EXIT_CODE`] for [`Unusable`], 1
/// for anything else.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if error.chain().any(|e| e.is::<Unusable>()) {
        CONFIG_EXIT_CODE
    } else {
        1
    }
}

/// The exit of a binary's `main` for its result: success, or the error with its chain on
/// stderr and [`exit_code`] (a configuration that cannot work here exits with
/// [`CONFIG_EXIT_CODE`], which a supervisor does not restart).
pub fn exit_with(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            std::process::ExitCode::from(exit_code(&e))
        }
    }
}

/// Runs `body` inside an actix System. `body` gets the validated config and the shutdown
/// signal, and should return once shutdown was requested (within 2 s of it).
pub fn run_process<F, Fut>(
    process: &str,
    common: &CommonArgs,
    shutdown: Shutdown,
    body: F,
) -> Result<()>
where
    F: FnOnce(SystemConfig, Shutdown) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    run_process_checked(process, common, shutdown, |_| Ok(()), body)
}

/// [`run_process`] with a check of the configuration against this machine before anything
/// starts (before the first heartbeat): a failed `preflight` ends the process with an
/// [`Unusable`] error.
pub fn run_process_checked<P, F, Fut>(
    process: &str,
    common: &CommonArgs,
    shutdown: Shutdown,
    preflight: P,
    body: F,
) -> Result<()>
where
    P: FnOnce(&SystemConfig) -> Result<()>,
    F: FnOnce(SystemConfig, Shutdown) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let config = common.load_config().with_context(|| {
        format!(
            "{process}: configuration {} is not usable",
            common
                .config
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(built-in defaults)".into())
        )
    })?;
    crate::telemetry::init(process, &config.logging, common.log_format);
    if let Err(e) = preflight(&config) {
        let message = format!("{e:#}");
        tracing::error!(message = "Configuration cannot work on this machine.", process, error = %message);
        return Err(Unusable(message).into());
    }
    crate::transport::prepare_runtime_dir(&config.runtime.dir())
        .with_context(|| format!("{process}: preparing the runtime directory"))?;
    tracing::info!(
        message = "Starting.",
        process,
        pid = std::process::id(),
        version = env!("CARGO_PKG_VERSION"),
        config = ?common.config,
    );
    let system = actix::System::new();
    let heartbeat_interval = config.transport.heartbeat_interval();
    let body_shutdown = shutdown.clone();
    let result = system.block_on(async move {
        // Under a supervisor: heartbeats to it on their own socket, so that a process whose
        // event loop is stuck is seen as hung.
        let _supervisor = supervisor_heartbeats(process, heartbeat_interval);
        body(config, body_shutdown).await
    });
    match (&result, shutdown.reason()) {
        (Ok(()), Some(reason)) => {
            tracing::info!(message = "Stopped.", process, reason = ?reason)
        }
        (Ok(()), None) => tracing::info!(message = "Finished.", process),
        (Err(e), _) => tracing::error!(message = "Failed.", process, error = format!("{e:#}")),
    }
    result
}

/// Resident and peak resident memory of this process, bytes (Linux `/proc/self/status`;
/// zeros elsewhere).
pub fn host_memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Waits up to `limit` for `child` to exit, polling every 10 ms; `None` when it is still
/// running then. For bounding a child's stop without an async runtime.
pub fn wait_exit(
    child: &mut std::process::Child,
    limit: Duration,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    let since = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if since.elapsed() >= limit {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod metric_tests {
    #[derive(serde::Serialize)]
    struct C {
        frames: u64,
        per_camera: [u64; 2],
    }

    #[test]
    fn counters_become_named_totals() {
        let m = super::counters_of(
            "engine_",
            &C {
                frames: 3,
                per_camera: [1, 2],
            },
        );
        assert_eq!(
            m,
            vec![
                ("engine_frames_total".to_string(), 3.0),
                ("engine_per_camera_0_total".to_string(), 1.0),
                ("engine_per_camera_1_total".to_string(), 2.0)
            ]
        );
    }
}
