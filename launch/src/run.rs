//! `launch run`: the glue around [`Supervisor`]. It spawns and signals the children, takes
//! their heartbeats from a bound SUB socket, answers the control socket and follows capture's
//! playout status; every decision is the supervisor's.
//!
//! Everything runs on the main thread (a current-thread runtime): the children's
//! parent-death signal fires when the thread that spawned them exits, and the main thread
//! lives exactly as long as launch.

use crate::children::{self, ChildProcess};
use crate::control::{ControlCommand, ControlRequest, ControlServer, CONTROL_SOCKET};
use crate::desk::{Desk, OperatorCommand};
use crate::observe::Observed;
use crate::status::{PlayoutView, ProcessStatus, SystemStatus, STATUS_VERSION};
use crate::supervisor::{Command, GiveUp, Supervisor};
use crate::watch::{Action, Exit, WatchConfig};
use anyhow::{anyhow, bail, Context, Result};
use nix::sys::signal::Signal;
use serde::Serialize;
use shared::cli::CommonArgs;
use shared::config::SystemConfig;
use shared::messages::{Message, PlayoutStatus};
use shared::shutdown::Shutdown;
use shared::transport::{
    Endpoint, Publisher, PublisherOptions, Socket, Sockets, Subscriber, SubscriberOptions,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// File name of the heartbeat socket in the runtime directory.
pub const HEARTBEAT_SOCKET: &str = "launch-hb.sock";
/// How often exits are collected and timers checked.
const TICK: Duration = Duration::from_millis(50);
/// How long to wait for a dead child's last stderr lines.
const STDERR_WAIT: Duration = Duration::from_millis(500);

pub fn run(common: &CommonArgs, shutdown: Shutdown) -> Result<()> {
    let cfg = common.load_config().context("loading the configuration")?;
    shared::telemetry::init("launch", &cfg.logging, common.log_format);
    check_heartbeat_timing(&cfg)?;
    crate::unit::check_stop_timeout(&cfg)?;
    // Every program is found before anything starts: a missing one starts nothing.
    children::resolve_all(&cfg.launch.processes)?;
    let rt_dir = cfg.runtime.dir();
    shared::transport::prepare_runtime_dir(&rt_dir)?;
    let config_path = child_config_path(common, &cfg, &rt_dir)?;
    // The control plane runs in an actix System (a tokio current-thread runtime), like every
    // other Touchline process.
    let supervised =
        actix::System::new().block_on(supervise(&cfg, &config_path, &rt_dir, shutdown, None));
    supervised.result
}

/// Heartbeats come every `transport.heartbeat_interval_ms`; a hung timeout shorter than two
/// of them would call healthy processes hung.
pub(crate) fn check_heartbeat_timing(cfg: &SystemConfig) -> Result<()> {
    let hb = cfg.transport.heartbeat_interval_ms;
    let hung = cfg.launch.hung_timeout_ms;
    if hung < 2 * hb {
        bail!("config key `launch.hung_timeout_ms` must be at least twice `transport.heartbeat_interval_ms` ({hb}), got {hung}");
    }
    if cfg.launch.startup_grace_ms < 2 * hb {
        bail!(
            "config key `launch.startup_grace_ms` must be at least twice `transport.heartbeat_interval_ms` ({hb}), got {}",
            cfg.launch.startup_grace_ms
        );
    }
    Ok(())
}

/// The config file the children get: the one launch was given (absolute, as children may
/// resolve it from elsewhere), or the built-in defaults written to the runtime directory.
fn child_config_path(common: &CommonArgs, cfg: &SystemConfig, rt_dir: &Path) -> Result<PathBuf> {
    match &common.config {
        Some(p) => p
            .canonicalize()
            .with_context(|| format!("resolving {}", p.display())),
        None => {
            let p = rt_dir.join("launch-defaults.toml");
            std::fs::write(&p, cfg.to_toml_string())
                .with_context(|| format!("writing {}", p.display()))?;
            Ok(p)
        }
    }
}

pub(crate) fn watch_config(cfg: &SystemConfig) -> WatchConfig {
    let l = &cfg.launch;
    WatchConfig {
        hung_timeout: Duration::from_millis(l.hung_timeout_ms),
        startup_grace: Duration::from_millis(l.startup_grace_ms),
        stop_timeout: Duration::from_millis(l.stop_timeout_ms),
        backoff_initial: Duration::from_millis(l.backoff_initial_ms),
        backoff_max: Duration::from_millis(l.backoff_max_ms),
        backoff_reset: Duration::from_millis(l.backoff_reset_ms),
    }
}

/// The live and the last dead child of each process, by index.
struct Children<'a> {
    cfg: &'a SystemConfig,
    config_path: &'a Path,
    /// Given to every child in `TOUCHLINE_SUPERVISOR`.
    heartbeat_endpoint: String,
    live: Vec<Option<ChildProcess>>,
    /// Kept for the stderr lines of a give-up message.
    dead: Vec<Option<ChildProcess>>,
    /// How each process last ended, and whether that was while stopping.
    last_end: Vec<Option<(Exit, bool)>>,
    /// Processes that needed SIGKILL while stopping.
    killed_at_stop: Vec<bool>,
    /// Every exit or kill the supervisor did not ask for, in order.
    incidents: Vec<Incident>,
    started: Instant,
}

/// An exit or a hung kill that the supervisor answered with a restart (or a give-up).
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    pub process: String,
    /// Seconds since supervision started.
    pub at_s: f64,
    pub what: String,
}

/// How each supervised process fared, for reports.
#[derive(Debug, Clone, Serialize)]
pub struct ProcessOutcome {
    pub name: String,
    /// Pid of the last incarnation (0: it never started).
    pub pid: u32,
    /// Restarts the supervisor made (exits, hung kills and `launch restart`).
    pub restarts: u32,
    /// How the last incarnation ended: "terminated" (after SIGTERM), "killed" (needed
    /// SIGKILL at stop), "exited early" (ended before stopping began) or "never started".
    pub ended: String,
    pub exit_code: Option<i32>,
    pub last_exit: Option<String>,
}

/// What supervision ended with.
pub struct Supervised {
    pub result: Result<()>,
    pub processes: Vec<ProcessOutcome>,
    pub incidents: Vec<Incident>,
}

/// What `launch demo` adds to supervision: a run time, after which every process is stopped,
/// and a recorder that gets every message the processes publish.
pub(crate) struct DemoSide<'a> {
    pub deadline: tokio::time::Instant,
    pub recorder: &'a mut crate::demo::Recorder,
}

impl<'a> Children<'a> {
    /// No process started yet.
    fn new(
        cfg: &'a SystemConfig,
        config_path: &'a Path,
        heartbeat_endpoint: &Endpoint,
        n: usize,
        started: Instant,
    ) -> Children<'a> {
        Children {
            cfg,
            config_path,
            heartbeat_endpoint: heartbeat_endpoint.to_string(),
            live: (0..n).map(|_| None).collect(),
            dead: (0..n).map(|_| None).collect(),
            last_end: vec![None; n],
            killed_at_stop: vec![false; n],
            incidents: Vec::new(),
            started,
        }
    }
}

impl Children<'_> {
    /// Carries out one supervisor command.
    fn execute(&mut self, sup: &mut Supervisor, cmd: Command) {
        let i = cmd.index;
        match cmd.action {
            Action::Spawn => {
                let spec = &self.cfg.launch.processes[i];
                match children::spawn(spec, self.config_path, Some(&self.heartbeat_endpoint)) {
                    Ok(child) => {
                        sup.spawned(i, child.pid(), Instant::now());
                        self.live[i] = Some(child);
                    }
                    Err(e) => sup.spawn_failed(i, format!("{e:#}"), Instant::now()),
                }
            }
            Action::Terminate => {
                if let Some(c) = &self.live[i] {
                    tracing::info!(message = "Stopping process.", process = %c.name, pid = c.pid());
                    children::terminate(c.pid());
                }
            }
            Action::Kill => {
                if let Some(c) = &self.live[i] {
                    if sup.is_stopping() {
                        self.killed_at_stop[i] = true;
                    } else {
                        self.incidents.push(Incident {
                            process: c.name.clone(),
                            at_s: self.started.elapsed().as_secs_f64(),
                            what: "hung: killed with SIGKILL".into(),
                        });
                    }
                    tracing::warn!(message = "Process did not stop in time; killing it.", process = %c.name, pid = c.pid(), timeout_ms = self.cfg.launch.stop_timeout_ms);
                    children::signal_group(c.pid(), Signal::SIGKILL);
                }
            }
        }
    }

    /// Collects exited children and tells the supervisor.
    fn reap(&mut self, sup: &mut Supervisor) {
        for i in 0..self.live.len() {
            let Some(c) = &mut self.live[i] else { continue };
            let status = match c.child.try_wait() {
                Ok(Some(s)) => s,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(message = "Cannot wait for process.", process = %c.name, error = %e);
                    continue;
                }
            };
            // Whatever the leader left behind in its group goes with it: no orphans.
            children::signal_group(c.pid(), Signal::SIGKILL);
            let exit = children::exit_of(status);
            let name = c.name.clone();
            if self.input_done(i, exit) && !sup.is_stopping() {
                // An offline capture ends with its input: the run is over, not failed.
                tracing::info!(message = "Capture's input ended (capture.realtime = false); stopping every process in reverse order.");
                sup.stop(Instant::now());
            }
            let stopping = sup.is_stopping();
            if !stopping && !self.restarting(sup, i) {
                self.incidents.push(Incident {
                    process: name,
                    at_s: self.started.elapsed().as_secs_f64(),
                    what: exit.to_string(),
                });
            }
            self.last_end[i] = Some((exit, stopping));
            sup.exited(i, exit, Instant::now());
            self.dead[i] = self.live[i].take();
        }
    }

    /// Whether process `i` is capture ending cleanly at the end of an offline input.
    fn input_done(&self, i: usize, exit: Exit) -> bool {
        let spec = &self.cfg.launch.processes[i];
        let is_capture = spec.name == "capture" || Path::new(&spec.program).ends_with("capture");
        is_capture && exit == Exit::Code(0) && !self.cfg.capture.realtime
    }

    /// Whether process `i` is being stopped on purpose (a hung kill or `launch restart`), so
    /// that its exit is not a new incident.
    fn restarting(&self, sup: &Supervisor, i: usize) -> bool {
        matches!(sup.state(i), crate::watch::State::Stopping)
    }

    /// How each process fared.
    fn outcomes(&self, sup: &Supervisor) -> Vec<ProcessOutcome> {
        sup.watches()
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let pid = self.live[i]
                    .as_ref()
                    .or(self.dead[i].as_ref())
                    .map(|c| c.pid())
                    .unwrap_or(0);
                let (ended, exit_code) = match self.last_end[i] {
                    None if pid == 0 => ("never started", None),
                    None => ("still running", None),
                    Some(_) if self.killed_at_stop[i] => ("killed", None),
                    Some((Exit::Code(c), true)) => ("terminated", Some(c)),
                    Some((Exit::Signal(_), true)) => ("terminated", None),
                    Some((Exit::Code(c), false)) => ("exited early", Some(c)),
                    Some((Exit::Signal(_), false)) => ("exited early", None),
                };
                ProcessOutcome {
                    name: w.name().to_string(),
                    pid,
                    restarts: w.restarts(),
                    ended: ended.into(),
                    exit_code,
                    last_exit: w.last_exit().map(str::to_string),
                }
            })
            .collect()
    }

    /// Index of the process a heartbeat's pid belongs to: the child itself, or a member of
    /// its process group (a wrapper script that did not `exec`).
    fn index_of(&self, sup: &Supervisor, pid: u32) -> Option<usize> {
        sup.index_of_pid(pid).or_else(|| {
            let pgid = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid as i32))).ok()?;
            sup.index_of_pid(pgid.as_raw() as u32)
        })
    }

    /// The give-up message with the process's last stderr lines.
    fn give_up_error(&self, sup: &Supervisor, g: &GiveUp) -> anyhow::Error {
        let index = sup.watches().iter().position(|w| w.name() == g.process());
        // None when it never started (the program could not be executed).
        let Some(child) = index.and_then(|i| self.dead[i].as_ref()) else {
            return anyhow!("{g}");
        };
        let tail = child.stderr_tail(STDERR_WAIT);
        if tail.is_empty() {
            anyhow!("{g}; it wrote nothing to stderr")
        } else {
            anyhow!("{g}; its last stderr lines:\n    {}", tail.join("\n    "))
        }
    }
}

/// launch's control socket and heartbeat subscriber, bound before any child starts: a second
/// launch on this runtime directory fails here, and the children's heartbeat publishers find
/// their peer at once.
async fn bind_launch_sockets(
    control_ep: &Endpoint,
    hb_ep: &Endpoint,
) -> Result<(ControlServer, Subscriber)> {
    let control = ControlServer::bind(control_ep)
        .await
        .context("another `launch run` may be using this runtime directory")?;
    let heartbeats = Subscriber::bind(
        "launch-hb",
        hb_ep,
        SubscriberOptions {
            topics: vec!["hb".into()],
            ..SubscriberOptions::default()
        },
    )
    .await
    .context("binding the heartbeat socket")?;
    Ok((control, heartbeats))
}

/// Subscribers to capture's status and detections and to the analyzer's tracks, for the
/// status and the operator page.
fn observers(cfg: &SystemConfig) -> (Option<Subscriber>, Option<Subscriber>) {
    let sockets = Sockets::new("launch", cfg);
    let eps = sockets.endpoints();
    let playout = sockets.connect_subscriber(
        "launch-playout",
        std::slice::from_ref(&eps.capture_pub),
        &["status", "dets"],
    );
    let tracks = sockets.connect_subscriber(
        "launch-tracks",
        std::slice::from_ref(&eps.analyzer_pub),
        &["tracks"],
    );
    (Some(playout), Some(tracks))
}

/// systemd's notify protocol (Type=notify): ready at start, the watchdog pinged from the
/// supervision loop (so that a launch whose loop hangs is restarted), stopping once. Nothing
/// happens without systemd.
struct Systemd {
    watchdog: Option<Duration>,
    last_ping: Instant,
    told_stopping: bool,
}

impl Systemd {
    fn ready() -> Systemd {
        let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Ready]);
        let mut usec = 0;
        let watchdog =
            sd_notify::watchdog_enabled(false, &mut usec).then(|| Duration::from_micros(usec) / 3);
        Systemd {
            watchdog,
            last_ping: Instant::now(),
            told_stopping: false,
        }
    }

    fn ping(&mut self) {
        if self
            .watchdog
            .is_some_and(|every| self.last_ping.elapsed() >= every)
        {
            self.last_ping = Instant::now();
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Watchdog]);
        }
    }

    fn stopping(&mut self) {
        if !self.told_stopping {
            self.told_stopping = true;
            let _ = sd_notify::notify(false, &[sd_notify::NotifyState::Stopping]);
        }
    }
}

/// After the last process stopped: lets a `launch stop` reply leave the control socket,
/// stops the operator's desk, removes the socket files left behind (a socket closing later
/// finds its file gone) and records the processes' last messages still in flight.
async fn wind_down(
    control: ControlServer,
    heartbeats: Subscriber,
    mut ops: Operator,
    endpoints: [&Endpoint; 2],
    demo: &mut Option<DemoSide<'_>>,
) {
    // A peer that vanished mid-request is not waited for long.
    if !control.replies_sent(Duration::from_secs(1)).await {
        tracing::warn!(message = "A control reply was still unsent when launch stopped.");
    }
    ops.stop();
    drop(control);
    drop(heartbeats);
    for ep in endpoints {
        if let Endpoint::Ipc(p) = ep {
            if p.exists() {
                let _ = std::fs::remove_file(p);
            }
        }
    }
    // Capture's final status may still be on its way.
    if let Some(d) = demo.as_mut() {
        let drain_until = tokio::time::Instant::now() + Duration::from_millis(300);
        while let Ok(Some(r)) = tokio::time::timeout_at(drain_until, d.recorder.recv()).await {
            d.recorder.record(r);
        }
    }
}

/// The supervisor of the configured processes (their watches, the restart budget).
fn supervisor_for(cfg: &SystemConfig, names: &[String], started: Instant) -> Supervisor {
    Supervisor::new(
        names,
        watch_config(cfg),
        cfg.launch.max_restarts,
        Duration::from_secs(cfg.launch.restart_window_s),
        started,
    )
}

/// A child's heartbeat: the supervisor's watch is fed, its metrics kept for the status.
fn on_heartbeat(m: Message, kids: &Children, sup: &mut Supervisor, observed: &mut Observed) {
    if let Message::Heartbeat(hb) = m {
        if let Some(i) = kids.index_of(sup, hb.pid) {
            sup.heartbeat(i, Instant::now(), hb.problem.as_deref());
            observed.metrics(sup.watches()[i].name(), hb.metrics);
        }
    }
}

/// How supervision ended: every process stopped, or why it gave up; each process's outcome.
fn outcome(result: Result<(), GiveUp>, kids: &Children, sup: &Supervisor) -> Supervised {
    let result = match result {
        Ok(()) => {
            tracing::info!(message = "Every process stopped.");
            Ok(())
        }
        Err(g) => Err(kids.give_up_error(sup, &g)),
    };
    Supervised {
        result,
        processes: kids.outcomes(sup),
        incidents: kids.incidents.clone(),
    }
}

// Long by design: the supervision loop, one select arm per input launch listens to, and the
// state those arms share; the set-up before it and the wind-down after it are functions.
pub(crate) async fn supervise(
    cfg: &SystemConfig,
    config_path: &Path,
    rt_dir: &Path,
    mut shutdown: Shutdown,
    mut demo: Option<DemoSide<'_>>,
) -> Supervised {
    let failed = |e: anyhow::Error| Supervised {
        result: Err(e),
        processes: Vec::new(),
        incidents: Vec::new(),
    };
    let control_ep = Endpoint::ipc_in(rt_dir, CONTROL_SOCKET);
    let hb_ep = Endpoint::ipc_in(rt_dir, HEARTBEAT_SOCKET);
    let (mut control, mut heartbeats) = match bind_launch_sockets(&control_ep, &hb_ep).await {
        Ok(x) => x,
        Err(e) => return failed(e),
    };
    // Dropped once stopping starts, so that capture going away is not logged as an error.
    let (mut playout, mut tracks) = observers(cfg);
    // The operator's desk: published to capture and the director on every change and once
    // a second, and kept in the runtime directory for processes that (re)start.
    let mut ops = match Operator::start(cfg, rt_dir, control.sender()).await {
        Ok(o) => o,
        Err(e) => return failed(e),
    };

    let names: Vec<String> = cfg
        .launch
        .processes
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let started = Instant::now();
    let mut sup = supervisor_for(cfg, &names, started);
    let mut kids = Children::new(cfg, config_path, &hb_ep, names.len(), started);
    let deadline = demo.as_ref().map(|d| d.deadline);
    let mut latest_playout: Option<(PlayoutStatus, Instant)> = None;
    let mut observed = Observed::default();
    let mut op_tick = tokio::time::interval(Duration::from_secs(1));
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut signalled = false;
    tracing::info!(message = "Supervising.", processes = %names.join(","), config = %config_path.display(), runtime_dir = %rt_dir.display());
    let mut systemd = Systemd::ready();

    let result = loop {
        kids.reap(&mut sup);
        for cmd in sup.poll(Instant::now()) {
            kids.execute(&mut sup, cmd);
        }
        if let Some(result) = sup.finished() {
            break result;
        }
        if sup.is_stopping() {
            playout = None;
            tracks = None;
            systemd.stopping();
        }
        systemd.ping();
        tokio::select! {
            reason = shutdown.wait(), if !signalled => {
                signalled = true;
                tracing::info!(message = "Stopping every process in reverse order.", reason = ?reason);
                sup.stop(Instant::now());
            }
            _ = sleep_until_opt(deadline), if !sup.is_stopping() => {
                tracing::info!(message = "Run time is over; stopping every process in reverse order.");
                sup.stop(Instant::now());
            }
            Some(r) = next_recorded(&mut demo) => {
                if let Some(d) = demo.as_mut() {
                    d.recorder.record(r);
                }
            }
            Some(r) = heartbeats.recv() => on_heartbeat(r.message, &kids, &mut sup, &mut observed),
            Some(r) = next_playout(&mut playout) => match r.message {
                Message::PlayoutStatus(p) => latest_playout = Some((p, Instant::now())),
                Message::RawDetections(d) => observed.detections(&d, Instant::now()),
                _ => {}
            },
            Some(r) = next_playout(&mut tracks) => {
                if let Message::Tracks(t) = r.message {
                    observed.tracks(t, Instant::now());
                }
            }
            _ = ops.edge() => ops.at_edge(),
            _ = op_tick.tick() => ops.publish(),
            Some(req) = control.recv() => {
                let mut view = View {
                    started,
                    playout: latest_playout.as_ref(),
                    observed: &mut observed,
                    ops: &mut ops,
                };
                answer(req, &mut sup, &mut kids, &mut view);
            }
            _ = tick.tick() => {}
        }
    };

    wind_down(control, heartbeats, ops, [&control_ep, &hb_ep], &mut demo).await;
    outcome(result, &kids, &sup)
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// The next message for the demo's recorder, or never without one.
async fn next_recorded(demo: &mut Option<DemoSide<'_>>) -> Option<shared::transport::Received> {
    match demo {
        Some(d) => d.recorder.recv().await,
        None => std::future::pending().await,
    }
}

/// The next message of the playout subscriber, or never once it is gone.
async fn next_playout(sub: &mut Option<Subscriber>) -> Option<shared::transport::Received> {
    match sub {
        Some(s) => s.recv().await,
        None => std::future::pending().await,
    }
}

/// What a status answer is made of besides the supervisor.
struct View<'a> {
    started: Instant,
    playout: Option<&'a (PlayoutStatus, Instant)>,
    observed: &'a mut Observed,
    ops: &'a mut Operator,
}

/// Answers one control request.
fn answer(req: ControlRequest, sup: &mut Supervisor, kids: &mut Children<'_>, v: &mut View<'_>) {
    let now = Instant::now();
    let answer = match &req.command {
        ControlCommand::Status => {
            let processes = sup
                .watches()
                .iter()
                .map(|w| {
                    let mut p = ProcessStatus::of(w, now);
                    if let Some(pid) = p.pid {
                        (p.cpu_percent, p.rss_bytes) = v.observed.resources(pid, now);
                    }
                    p.metrics = v.observed.metrics_of(&p.name);
                    p
                })
                .collect();
            let status = SystemStatus {
                v: STATUS_VERSION,
                launch_pid: std::process::id(),
                uptime_ms: now.duration_since(v.started).as_millis() as u64,
                stopping: sup.is_stopping(),
                processes,
                playout: v.playout.map(|(s, at)| PlayoutView {
                    age_ms: now.duration_since(*at).as_millis() as u64,
                    status: s.clone(),
                }),
                operator: Some(v.ops.view()),
                detector: v.observed.detector(now),
                ball: v.observed.ball(now),
            };
            serde_json::to_string(&status).map_err(|e| e.to_string())
        }
        ControlCommand::Operator(cmd) => v.ops.command(cmd),
        ControlCommand::Restart(name) => {
            tracing::info!(message = "Restart asked for.", process = %name);
            sup.restart(name, now).map(|cmd| {
                if let Some(cmd) = cmd {
                    kids.execute(sup, cmd);
                }
                serde_json::json!({ "message": format!("restarting {name}") }).to_string()
            })
        }
        ControlCommand::Stop => {
            tracing::info!(message = "Stop asked for; stopping every process in reverse order.");
            sup.stop(now);
            Ok(serde_json::json!({ "message": "stopping" }).to_string())
        }
    };
    req.reply(answer);
}

/// The operator's desk in a running launch: the desk itself, its publisher, the page.
struct Operator {
    desk: Desk,
    publisher: Publisher,
    rt_dir: PathBuf,
    /// The rig, to refuse manual poses outside the panorama (none: not checked here; the
    /// director refuses them).
    rig: Option<touchline_director::rig::Rig>,
    page: Option<tokio::task::JoinHandle<()>>,
    /// The schedule's next edge not yet carried out (Unix ns): kept, so that an edge passed
    /// while the loop was busy is still carried out, late, rather than skipped.
    next_edge: Option<i64>,
}

fn unix_now() -> i64 {
    shared::time::unix_now_ns() as i64
}

impl Operator {
    async fn start(
        cfg: &SystemConfig,
        rt_dir: &Path,
        requests: tokio::sync::mpsc::Sender<ControlRequest>,
    ) -> Result<Operator> {
        let now = unix_now();
        let desk = Desk::new(cfg.operator.schedule(now), now);
        // Operator commands are few; launch's heartbeats go to no one.
        let publisher = Sockets::new("launch", cfg)
            .bind_publisher_with(
                Socket::new("launch-op", "launch_op"),
                &cfg.endpoints().launch_op,
                PublisherOptions {
                    queue_capacity: 16,
                    heartbeat: None,
                },
            )
            .await?;
        let rig = match touchline_director::rig::Rig::from_system(cfg) {
            Ok(r) => Some(r),
            Err(error) => {
                tracing::warn!(message = "Cannot load the rig; manual camera poses are checked by the director only.", %error);
                None
            }
        };
        let token = cfg.operator.token()?;
        let page = match cfg.operator.http_addr() {
            None => None,
            Some(addr) => {
                match crate::http::serve(addr, token, requests, rt_dir.to_path_buf()).await {
                    Ok((local, task)) => {
                        tracing::info!(message = "Operator page served.", url = %format!("http://{local}/"));
                        let _ = std::fs::write(
                            rt_dir.join(crate::http::ADDRESS_FILE),
                            local.to_string(),
                        );
                        Some(task)
                    }
                    Err(error) => {
                        // The broadcast does not depend on the page.
                        tracing::error!(message = "No operator page; the system runs without it.", error = %format!("{error:#}"));
                        None
                    }
                }
            }
        };
        let o = Operator {
            next_edge: desk.next_edge(now),
            desk,
            publisher,
            rt_dir: rt_dir.to_path_buf(),
            rig,
            page,
        };
        let state = o.desk.state();
        tracing::info!(
            message = "Operator desk.",
            camera = state.camera.name(),
            recording = state.record,
            matches = o.desk.view(now).matches.len()
        );
        o.save();
        Ok(o)
    }

    fn save(&self) {
        if let Err(error) = shared::operator::save(&self.rt_dir, &self.desk.state()) {
            tracing::warn!(message = "Cannot save the operator state; a restarted process waits for launch's next message instead.", path = %shared::operator::path_in(&self.rt_dir).display(), %error);
        }
    }

    fn publish(&self) {
        let _ = self
            .publisher
            .publish(&Message::Operator(self.desk.state()));
    }

    fn changed(&self) {
        self.save();
        self.publish();
        let s = self.desk.state();
        tracing::info!(message = "Operator state changed.", camera = %crate::status::camera_text(&s.camera), recording = s.record, seq = s.seq);
    }

    /// Sleeps until the schedule's next edge (never without one).
    async fn edge(&self) {
        match self.next_edge {
            Some(edge) => {
                let wait = edge.saturating_sub(unix_now()).max(0) as u64;
                tokio::time::sleep(Duration::from_nanos(wait)).await
            }
            None => std::future::pending().await,
        }
    }

    /// Carries out the edge [`edge`](Self::edge) waited for.
    fn at_edge(&mut self) {
        let now = unix_now();
        let Some(edge) = self.next_edge else { return };
        if now < edge {
            return;
        }
        if self.desk.at_edge(edge, now) {
            tracing::info!(message = "Schedule: recording switched.", recording = self.desk.state().record, edge = %shared::schedule::format_time(edge), late_ms = (now - edge) / 1_000_000);
            self.changed();
        }
        self.next_edge = self.desk.next_edge(edge);
    }

    fn view(&self) -> crate::desk::DeskView {
        self.desk.view(unix_now())
    }

    fn command(&mut self, cmd: &OperatorCommand) -> Result<String, String> {
        let now = unix_now();
        let rig = self.rig.as_ref();
        let check = |c: &shared::messages::CameraMode| match (c, rig) {
            (shared::messages::CameraMode::Manual { yaw, pitch, fov }, Some(rig)) => {
                touchline_director::operator::check_manual(
                    rig,
                    *yaw as f64,
                    *pitch as f64,
                    *fov as f64,
                )
                .map_err(|e| format!("manual pose refused: {e}"))
            }
            _ => Ok(()),
        };
        match self.desk.apply(cmd, now, check) {
            Ok(changed) => {
                self.next_edge = self.desk.next_edge(now);
                if changed {
                    self.changed();
                }
                serde_json::to_string(&self.desk.view(now)).map_err(|e| e.to_string())
            }
            Err(e) => {
                tracing::warn!(message = "Operator command refused; nothing changed.", command = ?cmd, reason = %e);
                Err(e.to_string())
            }
        }
    }

    fn stop(&mut self) {
        if let Some(p) = self.page.take() {
            p.abort();
        }
        let _ = std::fs::remove_file(self.rt_dir.join(crate::http::ADDRESS_FILE));
    }
}
