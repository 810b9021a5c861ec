//! Child processes: each in its own process group, killed with the parent (parent-death
//! signal), output tagged line by line, stopped with SIGTERM then SIGKILL.
//!
//! The parent-death signal fires when the *thread* that spawned the child exits, so spawn
//! only from a thread that lives as long as launch (the main thread).

use anyhow::{bail, Context, Result};
use nix::sys::signal::{killpg, SigSet, SigmaskHow, Signal};
use nix::unistd::Pid;
use shared::config::ProcessSpec;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::watch::Exit;

/// Stderr lines kept per process for error messages.
const STDERR_TAIL_LINES: usize = 8;

/// The last lines a child wrote to stderr.
type StderrTail = Arc<Mutex<VecDeque<String>>>;

/// A running child process.
pub struct ChildProcess {
    pub name: String,
    pub child: Child,
    /// Last stderr lines (escape sequences removed), filled by the forwarding thread.
    stderr_tail: StderrTail,
    /// The stderr forwarding thread; finished once the child and its group closed stderr.
    stderr_thread: Option<JoinHandle<()>>,
}

impl ChildProcess {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last stderr lines, waiting up to `wait` for the forwarding thread to read
    /// everything (an exited child's last lines may still be in the pipe).
    pub fn stderr_tail(&self, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        if let Some(t) = &self.stderr_thread {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().cloned().collect()
    }
}

/// Resolves the program of every spec before anything starts, so that a config naming a
/// missing program starts nothing. The error names every process whose program is missing.
pub fn resolve_all(specs: &[ProcessSpec]) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (i, p) in specs.iter().enumerate() {
        match resolve_program(&p.program) {
            Ok(path) => found.push(path),
            Err(e) => missing.push(format!(
                "process {:?} (launch.processes[{i}]): {e:#}",
                p.name
            )),
        }
    }
    if !missing.is_empty() {
        bail!("nothing was started: {}", missing.join("; "));
    }
    Ok(found)
}

/// Finds the program of a spec: a path as given, a bare name next to our own executable,
/// then on PATH.
pub fn resolve_program(program: &str) -> Result<PathBuf> {
    let p = Path::new(program);
    if p.components().count() > 1 {
        if !p.is_file() {
            bail!("program {program:?} does not exist");
        }
        if !is_executable(p) {
            bail!("program {program:?} is not executable (chmod +x, or check the path)");
        }
        return Ok(p.to_path_buf());
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let candidate = dir.join(program);
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(program);
            if is_executable(&candidate) {
                return Ok(candidate);
            }
        }
    }
    bail!("program {program:?} was not found next to launch or on PATH; build it (cargo build --release) or give its path in launch.processes")
}

/// A regular file with an execute bit (as a shell's PATH search requires).
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Copies a child's output to our stderr, one tagged line at a time, keeping the last lines
/// in `tail` when given.
fn forward_output(
    name: String,
    stream: impl Read + Send + 'static,
    tail: Option<StderrTail>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        // Lossy: a child writing invalid UTF-8 must not end the forwarding.
        let mut reader = BufReader::new(stream);
        let mut buf = Vec::new();
        // A Rust backtrace after an error says little to an operator; the tail keeps the
        // error and its causes instead.
        let mut in_backtrace = false;
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.trim_end_matches(['\n', '\r']);
            eprintln!("{}", tag_line(&name, line));
            let Some(tail) = &tail else { continue };
            let clean = strip_ansi(line);
            in_backtrace |= clean.trim() == "Stack backtrace:";
            if in_backtrace || clean.trim().is_empty() {
                continue;
            }
            let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
            if t.len() == STDERR_TAIL_LINES {
                t.pop_front();
            }
            t.push_back(clean);
        }
    })
}

/// A child's output line as launch writes it: a JSON log line stays one JSON object (with
/// `"process"` added where it lacks one), a line already tagged `[name]` stays as it is, and
/// anything else (a library writing to stderr, a panic) gets the `[name] ` prefix.
fn tag_line(name: &str, line: &str) -> String {
    if line.starts_with('{') && line.ends_with('}') {
        return shared::telemetry::with_process(name, line);
    }
    let tag = format!("[{name}] ");
    if strip_ansi(line).starts_with(&tag) {
        line.to_string()
    } else {
        format!("{tag}{line}")
    }
}

/// Removes terminal escape sequences (coloured log output) from a line.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // CSI: parameters, then one final byte in '@'..='~'.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Starts one process with `--config <config>` added. With `supervisor`, the child gets
/// that heartbeat endpoint in [`shared::process::SUPERVISOR_ENV`].
pub fn spawn(spec: &ProcessSpec, config: &Path, supervisor: Option<&str>) -> Result<ChildProcess> {
    let program =
        resolve_program(&spec.program).with_context(|| format!("process {:?}", spec.name))?;
    let mut cmd = Command::new(&program);
    match supervisor {
        Some(ep) => cmd.env(shared::process::SUPERVISOR_ENV, ep),
        None => cmd.env_remove(shared::process::SUPERVISOR_ENV),
    };
    cmd.args(&spec.args)
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let launch_pid = nix::unistd::getpid();
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Die with launch, even when launch is killed with SIGKILL.
            nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(std::io::Error::from)?;
            // launch may have died between fork and the line above: then no signal comes.
            if nix::unistd::getppid() != launch_pid {
                return Err(std::io::Error::other(
                    "launch exited while starting this process",
                ));
            }
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
        forward_output(spec.name.clone(), out, None);
    }
    let stderr_tail = StderrTail::default();
    let stderr_thread = child
        .stderr
        .take()
        .map(|err| forward_output(spec.name.clone(), err, Some(stderr_tail.clone())));
    tracing::info!(message = "Started process.", process = %spec.name, pid = child.id(), program = %program.display());
    Ok(ChildProcess {
        name: spec.name.clone(),
        child,
        stderr_tail,
        stderr_thread,
    })
}

/// How a wait status ended, for the supervisor.
pub fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(c), _) => Exit::Code(c),
        (None, Some(s)) => Exit::Signal(s),
        // Neither is only possible for stopped/continued states, which try_wait never
        // reports; treat it as a failure.
        (None, None) => Exit::Code(-1),
    }
}

/// Sends `signal` to the process group of `pid` (every child leads its own group), ignoring
/// a group that is already gone.
pub fn signal_group(pid: u32, signal: Signal) {
    let _ = killpg(Pid::from_raw(pid as i32), signal);
}

/// SIGTERM to the group, then SIGCONT so that a stopped (SIGSTOP) process can act on it.
pub fn terminate(pid: u32) {
    signal_group(pid, Signal::SIGTERM);
    signal_group(pid, Signal::SIGCONT);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_removed_from_stderr_lines() {
        let coloured = "\u{1b}[2m2026-01-01\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m Failed.";
        assert_eq!(strip_ansi(coloured), "2026-01-01 ERROR Failed.");
        assert_eq!(strip_ansi("plain"), "plain");
    }

    #[test]
    fn child_lines_keep_json_and_get_one_process_tag() {
        let json = r#"{"process":"capture","level":"INFO","message":"m"}"#;
        assert_eq!(tag_line("capture", json), json);
        let bare = r#"{"level":"WARN","message":"m"}"#;
        let v: serde_json::Value = serde_json::from_str(&tag_line("director", bare)).unwrap();
        assert_eq!(v["process"], "director");
        assert_eq!(
            tag_line("analyzer", "[analyzer] 2026 INFO Ready."),
            "[analyzer] 2026 INFO Ready."
        );
        assert_eq!(
            tag_line("capture", "thread 'main' panicked"),
            "[capture] thread 'main' panicked"
        );
    }

    #[test]
    fn missing_programs_are_all_named_and_nothing_resolves() {
        let spec = |name: &str, program: &str| ProcessSpec {
            name: name.into(),
            program: program.into(),
            args: vec![],
        };
        let e = resolve_all(&[
            spec("a", "/bin/sh"),
            spec("ghost", "no-such-program-x"),
            spec("spook", "/nonexistent/prog"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("\"ghost\"") && e.contains("no-such-program-x"),
            "{e}"
        );
        assert!(e.contains("launch.processes[2]"), "{e}");
    }

    #[test]
    fn a_file_without_execute_bit_is_refused_before_start() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("prog");
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        let e = resolve_program(p.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not executable"), "{e}");
    }
}
