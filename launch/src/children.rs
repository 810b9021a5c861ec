//! Child processes: each in its own process group, killed with the parent (parent-death
//! signal), output tagged line by line, stopped with SIGTERM then SIGKILL.

use anyhow::{bail, Context, Result};
use nix::sys::signal::{killpg, SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;
use shared::config::ProcessSpec;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A running child process.
pub struct ChildProcess {
    pub name: String,
    pub child: Child,
    pub started: Instant,
}

/// Finds the program of a spec: a path as given, a bare name next to our own executable,
/// then on PATH.
pub fn resolve_program(program: &str) -> Result<PathBuf> {
    let p = Path::new(program);
    if p.components().count() > 1 {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        bail!("program {program:?} does not exist");
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let candidate = dir.join(program);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(program);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!("program {program:?} was not found next to launch or on PATH; build it (cargo build --release) or give its path in launch.processes")
}

/// Copies a child's output to our stderr, one tagged line at a time.
fn forward_output(name: String, stream: impl Read + Send + 'static) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            match line {
                Ok(l) => eprintln!("[{name}] {l}"),
                Err(_) => break,
            }
        }
    });
}

/// Starts one process with `--config <config>` added.
pub fn spawn(spec: &ProcessSpec, config: &Path) -> Result<ChildProcess> {
    let program =
        resolve_program(&spec.program).with_context(|| format!("process {:?}", spec.name))?;
    let mut cmd = Command::new(&program);
    cmd.args(&spec.args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            // Die with launch, even when launch is killed with SIGKILL.
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)?;
            // launch blocks SIGINT/SIGTERM for its signal thread; children start unblocked.
            let mut set = SigSet::empty();
            set.add(Signal::SIGINT);
            set.add(Signal::SIGTERM);
            nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&set), None)
                .map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {:?} ({})", spec.name, program.display()))?;
    if let Some(out) = child.stdout.take() {
        forward_output(spec.name.clone(), out);
    }
    if let Some(err) = child.stderr.take() {
        forward_output(spec.name.clone(), err);
    }
    tracing::info!(message = "Started process.", process = %spec.name, pid = child.id(), program = %program.display());
    Ok(ChildProcess {
        name: spec.name.clone(),
        child,
        started: Instant::now(),
    })
}

/// How a process ended when asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Exited by itself after SIGTERM, with this status.
    Terminated(Option<i32>),
    /// Needed SIGKILL after the timeout.
    Killed,
    /// Had already exited before we asked.
    AlreadyExited(Option<i32>),
}

fn code(status: ExitStatus) -> Option<i32> {
    status.code()
}

/// SIGTERM to the process group, then SIGKILL after `timeout`.
pub fn stop(p: &mut ChildProcess, timeout: Duration) -> Stopped {
    if let Ok(Some(status)) = p.child.try_wait() {
        return Stopped::AlreadyExited(code(status));
    }
    let pgid = Pid::from_raw(p.child.id() as i32);
    let _ = killpg(pgid, Signal::SIGTERM);
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = p.child.try_wait() {
            return Stopped::Terminated(code(status));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    tracing::warn!(message = "Process did not stop in time; killing it.", process = %p.name, timeout_ms = timeout.as_millis() as u64);
    let _ = killpg(pgid, Signal::SIGKILL);
    let _ = p.child.wait();
    Stopped::Killed
}
