//! `launch status`, `launch restart <process>`, `launch stop`: clients of the control socket
//! of a running `launch run` with the same configuration (same runtime directory).

use crate::control::{self, ClientOptions, ControlCommand, CONTROL_SOCKET};
use crate::status::SystemStatus;
use anyhow::{Context, Result};
use shared::cli::CommonArgs;
use shared::config::SystemConfig;
use shared::transport::Endpoint;
use std::time::{Duration, Instant};

fn setup(common: &CommonArgs) -> Result<(SystemConfig, Endpoint, ClientOptions)> {
    let cfg = common.load_config().context("loading the configuration")?;
    shared::telemetry::init("launch", &cfg.logging, common.log_format);
    let endpoint = Endpoint::ipc_in(&cfg.runtime.dir(), CONTROL_SOCKET);
    let options = cfg.transport.requester_options();
    Ok((cfg, endpoint, options))
}

fn send(endpoint: &Endpoint, command: ControlCommand, options: ClientOptions) -> Result<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(rt.block_on(control::request(endpoint, &command, options))?)
}

/// Prints the status table, or the raw JSON with `json`.
pub fn status(common: &CommonArgs, json: bool) -> Result<()> {
    let (_, endpoint, options) = setup(common)?;
    let body = send(&endpoint, ControlCommand::Status, options)?;
    if json {
        println!("{body}");
    } else {
        let status: SystemStatus =
            serde_json::from_str(&body).context("decoding the status reply of launch")?;
        print!("{}", status.render());
    }
    Ok(())
}

pub fn restart(common: &CommonArgs, process: &str) -> Result<()> {
    let (_, endpoint, options) = setup(common)?;
    send(
        &endpoint,
        ControlCommand::Restart(process.to_string()),
        options,
    )?;
    println!("restarting {process}");
    Ok(())
}

/// Sends an operator command and prints the desk as launch then has it.
pub fn operator(common: &CommonArgs, cmd: crate::desk::OperatorCommand) -> Result<()> {
    let (_, endpoint, options) = setup(common)?;
    let body = send(&endpoint, ControlCommand::Operator(cmd), options)?;
    let desk: crate::desk::DeskView =
        serde_json::from_str(&body).context("decoding launch's reply")?;
    println!(
        "camera {}, recording {}",
        crate::status::camera_text(&desk.camera),
        if desk.record { "on" } else { "off" }
    );
    if desk.matches.is_empty() {
        println!("no match scheduled");
    }
    for m in &desk.matches {
        println!(
            "match {}: records {} to {} ({:.0} min, pre-roll {:.0} min)",
            m.start,
            m.record_from,
            m.record_until,
            m.duration_s / 60.0,
            m.preroll_s / 60.0
        );
    }
    Ok(())
}

/// Asks launch to stop, then waits until it has exited (unless `no_wait`).
pub fn stop(common: &CommonArgs, no_wait: bool) -> Result<()> {
    let (cfg, endpoint, options) = setup(common)?;
    send(&endpoint, ControlCommand::Stop, options)?;
    if no_wait {
        println!("launch is stopping");
        return Ok(());
    }
    // Each process may take its full stop timeout, one after the other.
    let n = cfg.launch.processes.len() as u64;
    let limit = Duration::from_millis(cfg.launch.stop_timeout_ms * n + 5000);
    let deadline = Instant::now() + limit;
    let Endpoint::Ipc(path) = &endpoint else {
        unreachable!("the control socket is always ipc")
    };
    // launch closes its control socket last, once every process is down.
    while std::os::unix::net::UnixStream::connect(path).is_ok() {
        if Instant::now() > deadline {
            anyhow::bail!(
                "launch was asked to stop but is still running after {} s",
                limit.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    println!("launch stopped");
    Ok(())
}
