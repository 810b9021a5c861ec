//! Tracing setup: env filter, human or JSON lines on stderr (colours only at a terminal), the
//! process name on every line.

use crate::config::{LogFormat, LoggingConfig};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` overrides the configured filter. Safe to call
/// more than once (later calls do nothing).
pub fn init(process: &str, logging: &LoggingConfig, format_override: Option<LogFormat>) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(&logging.filter));
    let format = format_override.unwrap_or(logging.format);
    // Colours only for a person at a terminal: a journal, a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if result.is_ok() {
        tracing::debug!(message = "Logging initialised.", process);
    }
}
