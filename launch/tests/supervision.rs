//! `launch run` with real processes: restarts after a crash or a hang, the restart limit,
//! stop in reverse order, no orphans after `kill -9` of launch, start-up errors that start
//! nothing or stop everything, and the control commands.
//!
//! Small shell scripts stand in for processes where a test needs a behaviour the real
//! binaries do not have (never heartbeat, crash at once, log their SIGTERM). The real
//! `capture`, `analyzer` and `director` are siblings of `launch` in the target folder.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

fn bin(name: &str) -> PathBuf {
    let launch = PathBuf::from(env!("CARGO_BIN_EXE_launch"));
    let p = launch.parent().unwrap().join(name);
    assert!(
        p.is_file(),
        "{} is missing: build the workspace first (cargo build --workspace)",
        p.display()
    );
    p
}

/// Waits until `f` returns `Some`, polling; panics naming `what` after `timeout`.
fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// True while `pid` is a live process (a zombie counts as gone: it runs nothing).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            // Field 3, after the command name in parentheses.
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// Writes an executable shell script.
fn script(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.display().to_string()
}

/// A process that never heartbeats and never exits by itself.
const SLEEPER: &str = "exec sleep 1000";

/// A `launch run` in a temporary directory, stopped (and killed if need be) on drop.
struct System {
    /// Keeps the temporary directory (config, scripts, runtime dir) until the end.
    _dir: tempfile::TempDir,
    config: PathBuf,
    launch: Child,
    log: PathBuf,
}

impl System {
    /// Writes a config with `processes` (name, program, args) and `extra` TOML, and starts
    /// `launch run` with it.
    fn start(processes: &[(&str, &str, &[&str])], extra: &str) -> System {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, processes, extra)
    }

    fn start_in(
        dir: tempfile::TempDir,
        processes: &[(&str, &str, &[&str])],
        extra: &str,
    ) -> System {
        Self::start_with_env(dir, processes, extra, &[])
    }

    /// [`System::start_in`] with environment variables for launch and its children.
    fn start_with_env(
        dir: tempfile::TempDir,
        processes: &[(&str, &str, &[&str])],
        extra: &str,
        env: &[(&str, String)],
    ) -> System {
        let config = write_config(dir.path(), processes, extra);
        let log = dir.path().join("launch.log");
        let launch = Command::new(bin("launch"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("RUST_BACKTRACE", "0")
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        System {
            _dir: dir,
            config,
            launch,
            log,
        }
    }

    /// Runs `launch <args>` against this system.
    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(bin("launch"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap()
    }

    /// `launch status --json`, once it answers.
    fn status(&self) -> Option<Value> {
        let out = self.ctl(&["status", "--json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).unwrap())
    }

    /// The status of process `name`, once launch answers.
    fn process(&self, name: &str) -> Option<Value> {
        let s = self.status()?;
        s["processes"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
    }

    /// Pid of process `name` once it runs and heartbeats (or only runs, without `heartbeat`).
    fn pid_of(&self, name: &str, heartbeat: bool) -> u32 {
        wait_for(&format!("{name} to run"), Duration::from_secs(10), || {
            let p = self.process(name)?;
            let ok = !heartbeat || p["state"] == "running";
            ok.then(|| p["pid"].as_u64()).flatten().map(|p| p as u32)
        })
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        wait_for("launch to exit", timeout, || {
            self.launch.try_wait().unwrap()
        })
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for System {
    fn drop(&mut self) {
        if self.launch.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.launch.id() as i32), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.launch.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.launch.kill();
            let _ = self.launch.wait();
        }
    }
}

fn write_config(dir: &Path, processes: &[(&str, &str, &[&str])], extra: &str) -> PathBuf {
    let list: Vec<String> = processes
        .iter()
        .map(|(name, program, args)| {
            let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
            format!(
                "{{ name = {name:?}, program = {program:?}, args = [{}] }}",
                args.join(", ")
            )
        })
        .collect();
    let config = dir.join("t.toml");
    let rt = dir.join("rt");
    assert!(rt.as_os_str().len() <= 80, "runtime dir too long: {rt:?}");
    std::fs::write(
        &config,
        format!(
            "[runtime]\ndir = {:?}\n\n[launch]\nprocesses = [{}]\n{extra}",
            rt.display().to_string(),
            list.join(", ")
        ),
    )
    .unwrap();
    config
}

/// No heartbeat checks in the time of a test, quick restarts.
const PATIENT: &str = "startup_grace_ms = 600000\nbackoff_initial_ms = 50\n";

#[test]
fn killed_process_is_restarted_with_a_new_pid_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let a = script(dir.path(), "a.sh", SLEEPER);
    let b = script(dir.path(), "b.sh", SLEEPER);
    let sys = System::start_in(dir, &[("a", &a, &[]), ("b", &b, &[])], PATIENT);
    let old = sys.pid_of("b", false);
    kill(Pid::from_raw(old as i32), Signal::SIGKILL).unwrap();
    let p = wait_for("b to be restarted", Duration::from_secs(10), || {
        let p = sys.process("b")?;
        let pid = p["pid"].as_u64()? as u32;
        (pid != old).then_some(p)
    });
    assert_eq!(p["restarts"], 1, "{p}");
    assert!(p["last_exit"].as_str().unwrap().contains("SIGKILL"), "{p}");
    assert_eq!(sys.process("a").unwrap()["restarts"], 0);
}

#[test]
fn a_second_launch_on_the_same_runtime_directory_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = script(dir.path(), "a.sh", SLEEPER);
    let sys = System::start_in(dir, &[("a", &a, &[])], PATIENT);
    sys.pid_of("a", false);
    let out = sys.ctl(&["run"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("launch-control.sock"), "{err}");
    assert!(!err.contains("Started process"), "{err}");
}

#[test]
fn silent_process_is_killed_as_hung_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let a = script(dir.path(), "a.sh", SLEEPER);
    let sys = System::start_in(
        dir,
        &[("quiet", &a, &[])],
        "startup_grace_ms = 500\nhung_timeout_ms = 800\nbackoff_initial_ms = 50\n\
         stop_timeout_ms = 500\n[transport]\nheartbeat_interval_ms = 200\n",
    );
    let old = sys.pid_of("quiet", false);
    let p = wait_for(
        "the hung process to restart",
        Duration::from_secs(10),
        || {
            let p = sys.process("quiet")?;
            (p["pid"].as_u64()? as u32 != old).then_some(p)
        },
    );
    let last = p["last_exit"].as_str().unwrap();
    assert!(last.starts_with("hung: no heartbeat within"), "{p}");
    assert!(p["restarts"].as_u64().unwrap() >= 1, "{p}");
    wait_for(
        "the hung process to be gone",
        Duration::from_secs(5),
        || (!alive(old)).then_some(()),
    );
}

#[test]
fn stopped_real_process_is_detected_as_hung_and_restarted() {
    let sys = System::start(
        &[("director", "director", &[])],
        "hung_timeout_ms = 1000\nstartup_grace_ms = 5000\nbackoff_initial_ms = 50\n\
         [transport]\nheartbeat_interval_ms = 200\n",
    );
    let old = sys.pid_of("director", true);
    // Alive but frozen: only its missing heartbeats tell.
    kill(Pid::from_raw(old as i32), Signal::SIGSTOP).unwrap();
    let p = wait_for(
        "the frozen director to restart",
        Duration::from_secs(10),
        || {
            let p = sys.process("director")?;
            let restarted = p["pid"].as_u64()? as u32 != old && p["state"] == "running";
            restarted.then_some(p)
        },
    );
    let last = p["last_exit"].as_str().unwrap();
    assert!(last.starts_with("hung: no heartbeat for"), "{p}");
    assert!(!alive(old));
}

#[test]
fn processes_stop_in_reverse_order_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let order = dir.path().join("order");
    let names = ["first", "second", "third"];
    let scripts: Vec<String> = names
        .iter()
        .map(|n| {
            let body = format!(
                "trap 'echo {n} >> {o}; exit 0' TERM\ntouch {d}/{n}.ready\nwhile :; do sleep 1; done",
                o = order.display(),
                d = dir.path().display()
            );
            script(dir.path(), &format!("{n}.sh"), &body)
        })
        .collect();
    let ready: Vec<PathBuf> = names
        .iter()
        .map(|n| dir.path().join(format!("{n}.ready")))
        .collect();
    let processes: Vec<(&str, &str, &[&str])> = names
        .iter()
        .zip(&scripts)
        .map(|(n, s)| (*n, s.as_str(), &[][..]))
        .collect();
    let mut sys = System::start_in(dir, &processes, PATIENT);
    wait_for(
        "every script to set its trap",
        Duration::from_secs(10),
        || ready.iter().all(|r| r.exists()).then_some(()),
    );
    kill(Pid::from_raw(sys.launch.id() as i32), Signal::SIGTERM).unwrap();
    let status = sys.wait_exit(Duration::from_secs(10));
    assert!(
        status.success(),
        "launch exited with {status}:\n{}",
        sys.log()
    );
    let got = std::fs::read_to_string(&order).unwrap();
    assert_eq!(got, "third\nsecond\nfirst\n");
}

#[test]
fn too_many_restarts_stop_everything_and_name_the_process() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("steady.pid");
    let steady = script(
        dir.path(),
        "steady.sh",
        &format!("echo $$ > {}\nexec sleep 1000", pidfile.display()),
    );
    let flaky = script(
        dir.path(),
        "flaky.sh",
        "echo 'boom: disk on fire' >&2\nexit 1",
    );
    let mut sys = System::start_in(
        dir,
        &[("steady", &steady, &[]), ("flaky", &flaky, &[])],
        "startup_grace_ms = 600000\nbackoff_initial_ms = 20\nmax_restarts = 2\nrestart_window_s = 60\n",
    );
    let status = sys.wait_exit(Duration::from_secs(10));
    assert!(!status.success());
    let log = sys.log();
    assert!(log.contains("process \"flaky\" failed"), "{log}");
    assert!(log.contains("launch.max_restarts = 2"), "{log}");
    assert!(log.contains("exit code 1"), "{log}");
    assert!(log.contains("boom: disk on fire"), "{log}");
    let steady_pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(!alive(steady_pid), "steady was left running");
}

#[test]
fn usage_error_at_start_stops_launch_instead_of_restarting() {
    let mut sys = System::start(
        &[("capture", "capture", &["--no-such-flag"])],
        "backoff_initial_ms = 20\n",
    );
    let status = sys.wait_exit(Duration::from_secs(10));
    assert!(!status.success());
    let log = sys.log();
    assert!(log.contains("process \"capture\""), "{log}");
    assert!(log.contains("usage error"), "{log}");
    assert!(log.contains("--no-such-flag"), "{log}");
    assert_eq!(log.matches("Started process.").count(), 1, "{log}");
}

/// GStreamer plugins of this machine without `without` (a plugin file name): a folder of
/// links to the others, for `GST_PLUGIN_SYSTEM_PATH_1_0`.
fn plugins_without(dir: &Path, without: &str) -> PathBuf {
    let system = [
        "/usr/lib/x86_64-linux-gnu/gstreamer-1.0",
        "/usr/lib/aarch64-linux-gnu/gstreamer-1.0",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.join("libgstcoreelements.so").exists())
    .expect("GStreamer's plugin folder");
    let out = dir.join("plugins");
    std::fs::create_dir_all(&out).unwrap();
    for e in std::fs::read_dir(&system).unwrap().flatten() {
        if e.file_name() != without {
            std::os::unix::fs::symlink(e.path(), out.join(e.file_name())).unwrap();
        }
    }
    out
}

#[test]
fn a_missing_gstreamer_element_stops_launch_naming_the_element_package_and_key() {
    let dir = tempfile::tempdir().unwrap();
    // textoverlay (the panorama view's status line) lives in libgstpango.so.
    let plugins = plugins_without(dir.path(), "libgstpango.so");
    let registry = dir.path().join("registry.bin");
    let view = dir.path().join("panorama.mp4");
    let mut sys = System::start_with_env(
        dir,
        &[("capture", "capture", &[])],
        &format!(
            "backoff_initial_ms = 20\n[playout]\npanorama_view = \"{}\"\n",
            view.display()
        ),
        &[
            ("GST_PLUGIN_SYSTEM_PATH_1_0", plugins.display().to_string()),
            ("GST_REGISTRY_1_0", registry.display().to_string()),
        ],
    );
    let status = sys.wait_exit(Duration::from_secs(20));
    assert!(!status.success());
    let log = sys.log();
    for needle in [
        "textoverlay",
        "gstreamer1.0-x",
        "playout.panorama_view",
        "cannot work on this machine",
    ] {
        assert!(log.contains(needle), "{needle:?} missing from:\n{log}");
    }
    // Not restarted: restarting cannot bring a plugin.
    assert_eq!(log.matches("Started process.").count(), 1, "{log}");
}

#[test]
fn a_capture_with_no_working_camera_is_restarted_as_hung() {
    let dir = tempfile::tempdir().unwrap();
    let cal = dir.path().join("rig.toml");
    std::fs::write(
        &cal,
        shared::geometry::Calibration::synthetic(960, 480, 270).to_toml_string(),
    )
    .unwrap();
    // Cameras at a port nobody listens on: capture runs, keeps retrying them, and says in
    // its heartbeats that no camera works.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sys = System::start_in(
        dir,
        &[("capture", "capture", &[])],
        &format!(
            "hung_timeout_ms = 2000\nstartup_grace_ms = 3000\nbackoff_initial_ms = 50\nmax_restarts = 100\n\
             [capture]\nsource = \"rtsp\"\nrtsp = [\"rtsp://127.0.0.1:{port}/left\", \"rtsp://127.0.0.1:{port}/right\"]\n\
             calibration = \"{}\"\ntable_cache = \"{}\"\n[playout]\naudio = \"none\"\n",
            cal.display(),
            cal.with_file_name("cache").display()
        ),
    );
    let first = sys.pid_of("capture", true);
    let problem = wait_for(
        "capture to report its problem",
        Duration::from_secs(10),
        || {
            sys.process("capture")?["problem"]
                .as_str()
                .map(str::to_string)
        },
    );
    assert!(problem.starts_with("no working camera"), "{problem}");
    let p = wait_for(
        "capture to be restarted as hung",
        Duration::from_secs(20),
        || {
            let p = sys.process("capture")?;
            (p["restarts"].as_u64()? >= 1).then_some(p)
        },
    );
    let last = p["last_exit"].as_str().unwrap();
    assert!(
        last.starts_with("hung: not working for") && last.contains("no working camera"),
        "{p}"
    );
    assert_ne!(sys.pid_of("capture", true), first);
}

#[test]
fn launch_tells_systemd_it_is_ready_and_pings_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let sleeper = script(dir.path(), "sleeper.sh", SLEEPER);
    let config = write_config(dir.path(), &[("sleeper", &sleeper, &[])], PATIENT);
    // As systemd starts it: the watchdog's pid is launch's own (the shell execs it).
    let mut launch = Command::new("/bin/sh")
        .arg("-c")
        .arg("WATCHDOG_PID=$$ exec \"$0\" --config \"$1\" run")
        .arg(bin("launch"))
        .arg(&config)
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "300000")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while got
        .iter()
        .filter(|m: &&String| m.contains("WATCHDOG=1"))
        .count()
        < 3
    {
        let n = sock.recv(&mut buf).expect("a notification from launch");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(got[0].contains("READY=1"), "{got:?}");
    kill(Pid::from_raw(launch.id() as i32), Signal::SIGTERM).unwrap();
    let mut tail = Vec::new();
    while let Ok(n) = sock.recv(&mut buf) {
        tail.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        if tail.last().unwrap().contains("STOPPING=1") {
            break;
        }
    }
    assert!(tail.iter().any(|m| m.contains("STOPPING=1")), "{tail:?}");
    wait_for("launch to exit", Duration::from_secs(10), || {
        launch.try_wait().unwrap()
    });
}

#[test]
fn missing_program_starts_nothing() {
    let mut sys = System::start(
        &[
            ("capture", "capture", &[]),
            ("ghost", "no-such-program", &[]),
        ],
        "",
    );
    let status = sys.wait_exit(Duration::from_secs(10));
    assert!(!status.success());
    let log = sys.log();
    assert!(
        log.contains("ghost") && log.contains("no-such-program"),
        "{log}"
    );
    assert!(!log.contains("Started process"), "{log}");
}

#[test]
fn no_orphans_when_launch_is_killed() {
    let sys = System::start(
        &[
            ("capture", "capture", &[]),
            ("analyzer", "analyzer", &[]),
            ("director", "director", &[]),
        ],
        "",
    );
    let pids: Vec<u32> = ["capture", "analyzer", "director"]
        .iter()
        .map(|n| sys.pid_of(n, true))
        .collect();
    kill(Pid::from_raw(sys.launch.id() as i32), Signal::SIGKILL).unwrap();
    wait_for(
        "every child to die with launch",
        Duration::from_secs(5),
        || pids.iter().all(|p| !alive(*p)).then_some(()),
    );
}

#[test]
fn status_restart_and_stop_through_the_control_socket() {
    let mut sys = System::start(
        &[
            ("capture", "capture", &[]),
            ("analyzer", "analyzer", &[]),
            ("director", "director", &[]),
        ],
        "",
    );
    let pids: Vec<u32> = ["capture", "analyzer", "director"]
        .iter()
        .map(|n| sys.pid_of(n, true))
        .collect();

    let out = sys.ctl(&["status"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for name in ["capture", "analyzer", "director", "running"] {
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains("no playout status yet"), "{text}");

    let out = sys.ctl(&["restart", "analyzer"]);
    assert!(out.status.success(), "{out:?}");
    let p = wait_for("analyzer to come back", Duration::from_secs(10), || {
        let p = sys.process("analyzer")?;
        let back = p["pid"].as_u64()? as u32 != pids[1] && p["state"] == "running";
        back.then_some(p)
    });
    assert_eq!(p["restarts"], 1, "{p}");

    let out = sys.ctl(&["restart", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("\"nope\""), "{err}");

    let new_analyzer = p["pid"].as_u64().unwrap() as u32;
    let out = sys.ctl(&["stop"]);
    assert!(out.status.success(), "{out:?}");
    let status = sys.wait_exit(Duration::from_secs(10));
    assert!(
        status.success(),
        "launch exited with {status}:\n{}",
        sys.log()
    );
    for pid in [pids[0], new_analyzer, pids[2]] {
        assert!(!alive(pid), "pid {pid} outlived launch stop");
    }
    let out = sys.ctl(&["status"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not running"), "{err}");
}
