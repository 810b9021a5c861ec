//! Tracing setup: env filter, human or JSON lines on stderr (colours only at a terminal), the
//! process name on every line.

use crate::config::{LogFormat, LoggingConfig};
use std::fmt;
use std::io::IsTerminal;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
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
        LogFormat::Human => builder
            .event_format(Tagged {
                process: process.to_string(),
                json: false,
                inner: tracing_subscriber::fmt::format().with_target(false),
            })
            .try_init(),
        LogFormat::Json => builder
            .json()
            .event_format(Tagged {
                process: process.to_string(),
                json: true,
                inner: tracing_subscriber::fmt::format().json().flatten_event(true),
            })
            .try_init(),
    };
    if result.is_ok() {
        tracing::debug!(message = "Logging initialised.", process);
    }
    for notice in &logging.notices {
        tracing::warn!(message = "Configuration file.", notice = %notice);
    }
}

/// An event format that puts the process name on every line: `[name] ` before a human line,
/// a `"process"` key first in a JSON object.
struct Tagged<F> {
    process: String,
    json: bool,
    inner: F,
}

impl<S, N, F> FormatEvent<S, N> for Tagged<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if !self.json {
            write!(writer, "[{}] ", self.process)?;
            return self.inner.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&with_process(&self.process, &line))
    }
}

/// A JSON object line with `"process": name` as its first key (unchanged if it already has
/// one, or is not an object).
pub fn with_process(process: &str, line: &str) -> String {
    match line.strip_prefix('{') {
        Some(rest) if !line.contains("\"process\":") => {
            let name = serde_json::Value::String(process.to_string());
            let sep = if rest.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            format!("{{\"process\":{name}{sep}{rest}")
        }
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::with_process;

    #[test]
    fn the_process_comes_first_in_a_json_line() {
        let l = with_process(
            "capture",
            r#"{"timestamp":"t","level":"INFO","message":"m"}"#,
        );
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["process"], "capture");
        assert_eq!(v["message"], "m");
        assert!(l.starts_with(r#"{"process":"capture","#), "{l}");
        assert_eq!(with_process("a", "{}"), r#"{"process":"a"}"#);
        // Kept as it is: a line that names its process, and anything not an object.
        let named = r#"{"process":"analyzer","message":"m"}"#;
        assert_eq!(with_process("launch", named), named);
        assert_eq!(with_process("x", "plain text"), "plain text");
    }
}
