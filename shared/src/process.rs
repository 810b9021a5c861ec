//! The common frame of every Touchline process: load and validate the config, set up logging,
//! run an actix System until SIGINT/SIGTERM (or an internal request), then return.

use crate::cli::CommonArgs;
use crate::config::SystemConfig;
use crate::shutdown::Shutdown;
use anyhow::{Context, Result};
use std::future::Future;

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
    let result = system.block_on(body(config, shutdown.clone()));
    match (&result, shutdown.reason()) {
        (Ok(()), Some(reason)) => {
            tracing::info!(message = "Stopped.", process, reason = ?reason)
        }
        (Ok(()), None) => tracing::info!(message = "Finished.", process),
        (Err(e), _) => tracing::error!(message = "Failed.", process, error = format!("{e:#}")),
    }
    result
}
