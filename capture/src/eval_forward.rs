//! `capture dataset` and `capture detector-eval` moved to the `touchline-eval` binary (the
//! offline tooling is no part of the live process). The old commands still work: they warn
//! and hand the whole command line over to `touchline-eval`, which takes the same arguments.

use anyhow::{bail, Result};
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

/// Where `touchline-eval` is: next to this binary (a build or an install), else on `PATH`.
fn eval_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("touchline-eval")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("touchline-eval"))
}

/// Replaces this process with `touchline-eval` and this command line (`subcommand` keeps its
/// name); returns only if that cannot start.
pub fn forward(subcommand: &str) -> Result<()> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let program = eval_binary();
    eprintln!(
        "`capture {subcommand}` moved to `touchline-eval {subcommand}` (same arguments); running {}.",
        program.display()
    );
    let error = std::process::Command::new(&program).args(&args).exec();
    bail!(
        "cannot run {} for `capture {subcommand}`: {error} (build it with `cargo build -p touchline-eval`, or install it next to capture)",
        program.display()
    )
}
