//! One supervised process as a state machine with time passed in: the glue reports what
//! happened (spawned, heartbeat, exited) and asks [`Watch::poll`] what to do next (spawn,
//! SIGTERM, SIGKILL). No clocks, sockets or signals in here, so every rule is unit-tested
//! without sleeping.

use serde::{Deserialize, Serialize};
use shared::backoff::Backoff;
use std::fmt;
use std::time::{Duration, Instant};

/// Exit code clap (and most command-line tools) use for a usage error.
pub const USAGE_EXIT_CODE: i32 = 2;
/// Exit code of a process whose configuration cannot work on this machine.
pub const CONFIG_EXIT_CODE: i32 = shared::process::CONFIG_EXIT_CODE as i32;

/// Timing rules of one watch (from `[launch]`).
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// Silence of a running process that makes it hung.
    pub hung_timeout: Duration,
    /// Time before the first heartbeat is due.
    pub startup_grace: Duration,
    /// Time between SIGTERM and SIGKILL.
    pub stop_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    pub backoff_reset: Duration,
}

/// How a process ended, from its wait status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Exit::Code(c) => write!(f, "exit code {c}"),
            Exit::Signal(s) => match nix::sys::signal::Signal::try_from(s) {
                Ok(sig) => write!(f, "killed by {sig}"),
                Err(_) => write!(f, "killed by signal {s}"),
            },
        }
    }
}

/// Why a process needed a restart it did not ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// It exited by itself (or was killed by someone else).
    Exited(Exit),
    /// It was alive but sent no heartbeat for `silent`; `never` when it had sent none since
    /// it started.
    Hung { silent: Duration, never: bool },
    /// It sent heartbeats but said it could not work (`Heartbeat::problem`) for `lasting`.
    NotWorking { problem: String, lasting: Duration },
    /// The program could not be started.
    SpawnFailed(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Exited(e) => e.fmt(f),
            Failure::Hung {
                silent,
                never: false,
            } => write!(f, "hung: no heartbeat for {} ms", silent.as_millis()),
            Failure::Hung {
                silent,
                never: true,
            } => write!(
                f,
                "hung: no heartbeat within {} ms of start",
                silent.as_millis()
            ),
            Failure::NotWorking { problem, lasting } => write!(
                f,
                "hung: not working for {} ms ({problem})",
                lasting.as_millis()
            ),
            Failure::SpawnFailed(e) => write!(f, "could not start: {e}"),
        }
    }
}

/// What the glue must do for this process now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Spawn,
    /// SIGTERM (and SIGCONT, so a stopped process can act on it) to its process group.
    Terminate,
    /// SIGKILL to its process group.
    Kill,
}

/// What an exit (or failed spawn) means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It was asked to stop and did; nothing more happens.
    Stopped,
    /// A restart was asked for (`launch restart`); it starts again at once and does not
    /// count towards the restart intensity.
    ManualRestart,
    /// It failed and restarts after `delay`; counts towards the restart intensity.
    Failed { failure: Failure, delay: Duration },
    /// Restarting cannot help (usage error at start-up, program cannot be started at all).
    Fatal(Failure),
}

/// Externally visible state, for `launch status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Started, no heartbeat yet.
    Starting,
    /// Heartbeats arriving.
    Running,
    /// SIGTERM sent, waiting for it to exit.
    Stopping,
    /// Waiting to be (re)started.
    Backoff,
    /// Stopped for good (launch is stopping).
    Stopped,
    /// Given up on (fatal error).
    Failed,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            State::Starting => "starting",
            State::Running => "running",
            State::Stopping => "stopping",
            State::Backoff => "backoff",
            State::Stopped => "stopped",
            State::Failed => "failed",
        };
        f.write_str(s)
    }
}

/// What happens once a process we are stopping has exited.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Then {
    /// Stay down.
    Halt,
    /// Start again at once (asked for).
    ManualRestart,
    /// Restart with backoff; this is why we stopped it.
    Recover(Failure),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Alive, no heartbeat yet.
    Starting,
    /// Alive and heartbeating.
    Running,
    Stopping {
        deadline: Instant,
        killed: bool,
        then: Then,
    },
    Backoff {
        until: Instant,
    },
    Stopped,
    Failed,
}

/// The supervision state of one process.
#[derive(Debug, Clone)]
pub struct Watch {
    name: String,
    config: WatchConfig,
    phase: Phase,
    backoff: Backoff,
    /// Pid of the live process (also while stopping); `None` when none runs.
    pid: Option<u32>,
    /// When the live (or last) process was spawned.
    started: Option<Instant>,
    last_heartbeat: Option<Instant>,
    /// Last heartbeat that reported no problem.
    last_working: Option<Instant>,
    /// The problem of the latest heartbeat, if it reported one.
    problem: Option<String>,
    /// Restarts so far, failures and asked-for ones alike.
    restarts: u32,
    /// How the previous process ended, for status and error messages.
    last_exit: Option<String>,
    /// Set once launch is stopping: exits are final, no restarts, no hung checks.
    holding: bool,
}

impl Watch {
    /// A watch whose process is due to start at `now`.
    pub fn new(name: &str, config: WatchConfig, now: Instant) -> Watch {
        let backoff = Backoff::new(
            config.backoff_initial,
            config.backoff_max,
            config.backoff_reset,
        );
        Watch {
            name: name.to_string(),
            config,
            phase: Phase::Backoff { until: now },
            backoff,
            pid: None,
            started: None,
            last_heartbeat: None,
            last_working: None,
            problem: None,
            restarts: 0,
            last_exit: None,
            holding: false,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    pub fn last_exit(&self) -> Option<&str> {
        self.last_exit.as_deref()
    }

    /// What the live process says keeps it from working, if anything.
    pub fn problem(&self) -> Option<&str> {
        self.pid?;
        self.problem.as_deref()
    }

    pub fn state(&self) -> State {
        match self.phase {
            Phase::Starting => State::Starting,
            Phase::Running => State::Running,
            Phase::Stopping { .. } => State::Stopping,
            Phase::Backoff { .. } => State::Backoff,
            Phase::Stopped => State::Stopped,
            Phase::Failed => State::Failed,
        }
    }

    /// True when no process runs and none will be started.
    pub fn is_down(&self) -> bool {
        matches!(self.phase, Phase::Stopped | Phase::Failed)
    }

    /// Time since the live process started.
    pub fn uptime(&self, now: Instant) -> Option<Duration> {
        self.pid?;
        Some(now.saturating_duration_since(self.started?))
    }

    /// Age of the last heartbeat of the live process.
    pub fn heartbeat_age(&self, now: Instant) -> Option<Duration> {
        self.pid?;
        Some(now.saturating_duration_since(self.last_heartbeat?))
    }

    /// What to do at `now`: start it when its backoff is over, SIGTERM it when hung, SIGKILL
    /// it when it outlived its stop timeout.
    pub fn poll(&mut self, now: Instant) -> Option<Action> {
        match &mut self.phase {
            Phase::Backoff { until } if now >= *until && !self.holding => Some(Action::Spawn),
            Phase::Stopping {
                deadline, killed, ..
            } if !*killed && now >= *deadline => {
                *killed = true;
                Some(Action::Kill)
            }
            Phase::Starting | Phase::Running if !self.holding => {
                let failure = self.hung(now)?;
                self.phase = Phase::Stopping {
                    deadline: now + self.config.stop_timeout,
                    killed: false,
                    then: Then::Recover(failure),
                };
                Some(Action::Terminate)
            }
            _ => None,
        }
    }

    /// The hung failure, if the live process is hung at `now`: silent, or saying that it
    /// cannot work for as long (counted from its last good heartbeat, or from its start
    /// with the start-up grace).
    fn hung(&self, now: Instant) -> Option<Failure> {
        if let (Some(problem), Some(_)) = (&self.problem, self.last_heartbeat) {
            let (since, limit) = match self.last_working {
                Some(t) => (t, self.config.hung_timeout),
                None => (self.started?, self.config.startup_grace),
            };
            let lasting = now.saturating_duration_since(since);
            if lasting > limit {
                return Some(Failure::NotWorking {
                    problem: problem.clone(),
                    lasting,
                });
            }
        }
        match self.last_heartbeat {
            Some(hb) => {
                let silent = now.saturating_duration_since(hb);
                (silent > self.config.hung_timeout).then_some(Failure::Hung {
                    silent,
                    never: false,
                })
            }
            None => {
                let since = now.saturating_duration_since(self.started?);
                (since > self.config.startup_grace).then_some(Failure::Hung {
                    silent: since,
                    never: true,
                })
            }
        }
    }

    /// The glue started the process.
    pub fn spawned(&mut self, pid: u32, now: Instant) {
        self.pid = Some(pid);
        self.started = Some(now);
        self.last_heartbeat = None;
        self.last_working = None;
        self.problem = None;
        self.phase = Phase::Starting;
    }

    /// The glue could not start the process.
    pub fn spawn_failed(&mut self, error: String, now: Instant) -> Outcome {
        let failure = Failure::SpawnFailed(error);
        self.last_exit = Some(failure.to_string());
        if self.started.is_none() {
            // Never ran: the program or its set-up is wrong, retrying will not fix it.
            self.phase = Phase::Failed;
            return Outcome::Fatal(failure);
        }
        self.fail(failure, Duration::ZERO, now)
    }

    /// A heartbeat from the live process arrived, with the problem it reports (if any).
    pub fn heartbeat(&mut self, now: Instant, problem: Option<&str>) {
        if self.pid.is_none() {
            return;
        }
        self.last_heartbeat = Some(now);
        match problem {
            None => {
                self.last_working = Some(now);
                self.problem = None;
            }
            Some(p) => self.problem = Some(p.to_string()),
        }
        if self.phase == Phase::Starting {
            self.phase = Phase::Running;
        }
    }

    /// The live process exited with `exit`.
    pub fn exited(&mut self, exit: Exit, now: Instant) -> Outcome {
        let uptime = self
            .started
            .map(|s| now.saturating_duration_since(s))
            .unwrap_or_default();
        let starting = self.phase == Phase::Starting;
        self.pid = None;
        let phase = std::mem::replace(&mut self.phase, Phase::Stopped);
        match phase {
            Phase::Stopping {
                then: Then::Halt, ..
            } => {
                self.last_exit = Some(exit.to_string());
                Outcome::Stopped
            }
            _ if self.holding => {
                self.last_exit = Some(exit.to_string());
                Outcome::Stopped
            }
            Phase::Stopping {
                then: Then::ManualRestart,
                ..
            } => {
                self.last_exit = Some(format!("{exit} (restart asked for)"));
                self.restarts += 1;
                self.phase = Phase::Backoff { until: now };
                Outcome::ManualRestart
            }
            Phase::Stopping {
                then: Then::Recover(failure),
                ..
            } => {
                self.last_exit = Some(failure.to_string());
                self.fail(failure, uptime, now)
            }
            _ => {
                let failure = Failure::Exited(exit);
                self.last_exit = Some(failure.to_string());
                if starting
                    && exit == Exit::Code(USAGE_EXIT_CODE)
                    && uptime <= self.config.startup_grace
                {
                    // A usage error before the first heartbeat: wrong arguments in the
                    // config; restarting would fail the same way forever.
                    self.phase = Phase::Failed;
                    return Outcome::Fatal(failure);
                }
                if exit == Exit::Code(CONFIG_EXIT_CODE) {
                    // The process found that its configuration cannot work on this
                    // machine (a missing GStreamer element): restarting cannot help.
                    self.phase = Phase::Failed;
                    return Outcome::Fatal(failure);
                }
                self.fail(failure, uptime, now)
            }
        }
    }

    fn fail(&mut self, failure: Failure, uptime: Duration, now: Instant) -> Outcome {
        let delay = self.backoff.on_failure(uptime);
        self.restarts += 1;
        self.phase = Phase::Backoff { until: now + delay };
        Outcome::Failed { failure, delay }
    }

    /// `launch restart`: stop the live process and start it again at once, or cut a
    /// running backoff short.
    pub fn restart(&mut self, now: Instant) -> Result<Option<Action>, String> {
        if self.holding {
            return Err(format!("{:?} is being stopped", self.name));
        }
        match &mut self.phase {
            Phase::Starting | Phase::Running => {
                self.phase = Phase::Stopping {
                    deadline: now + self.config.stop_timeout,
                    killed: false,
                    then: Then::ManualRestart,
                };
                Ok(Some(Action::Terminate))
            }
            Phase::Stopping { then, .. } => {
                if *then == Then::Halt {
                    return Err(format!("{:?} is being stopped", self.name));
                }
                // Already on its way to a restart.
                Ok(None)
            }
            Phase::Backoff { until } => {
                *until = now;
                Ok(None)
            }
            Phase::Stopped | Phase::Failed => Err(format!("{:?} is not running", self.name)),
        }
    }

    /// Launch is stopping: no more restarts; a process waiting for its restart stays down.
    pub fn hold(&mut self) {
        self.holding = true;
        match &mut self.phase {
            Phase::Backoff { .. } => self.phase = Phase::Stopped,
            Phase::Stopping { then, .. } => *then = Then::Halt,
            _ => {}
        }
    }

    /// Stops the process for good: SIGTERM now, SIGKILL after the stop timeout.
    pub fn stop(&mut self, now: Instant) -> Option<Action> {
        self.hold();
        match self.phase {
            Phase::Starting | Phase::Running => {
                self.phase = Phase::Stopping {
                    deadline: now + self.config.stop_timeout,
                    killed: false,
                    then: Then::Halt,
                };
                Some(Action::Terminate)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    impl Watch {
        /// A heartbeat that reports no problem.
        fn heartbeat_ok(&mut self, now: Instant) {
            self.heartbeat(now, None);
        }
    }

    fn config() -> WatchConfig {
        WatchConfig {
            hung_timeout: 1000 * MS,
            startup_grace: 3000 * MS,
            stop_timeout: 500 * MS,
            backoff_initial: 200 * MS,
            backoff_max: 10_000 * MS,
            backoff_reset: 30_000 * MS,
        }
    }

    /// A watch whose process started at `t0` with pid 100.
    fn started(t0: Instant) -> Watch {
        let mut w = Watch::new("analyzer", config(), t0);
        assert_eq!(w.poll(t0), Some(Action::Spawn));
        w.spawned(100, t0);
        w
    }

    #[test]
    fn starts_at_once_then_waits_for_first_heartbeat() {
        let t0 = Instant::now();
        let mut w = started(t0);
        assert_eq!(w.state(), State::Starting);
        assert_eq!(w.poll(t0 + 100 * MS), None);
        w.heartbeat_ok(t0 + 200 * MS);
        assert_eq!(w.state(), State::Running);
        assert_eq!(w.heartbeat_age(t0 + 700 * MS), Some(500 * MS));
    }

    #[test]
    fn silence_beyond_hung_timeout_is_hung() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.heartbeat_ok(t0 + 100 * MS);
        assert_eq!(
            w.poll(t0 + 1100 * MS),
            None,
            "exactly the timeout is not hung"
        );
        assert_eq!(w.poll(t0 + 1101 * MS), Some(Action::Terminate));
        assert_eq!(w.state(), State::Stopping);
        // SIGTERM ignored: SIGKILL after the stop timeout, once.
        assert_eq!(w.poll(t0 + 1500 * MS), None);
        assert_eq!(w.poll(t0 + 1601 * MS), Some(Action::Kill));
        assert_eq!(w.poll(t0 + 1700 * MS), None);
        let out = w.exited(Exit::Signal(9), t0 + 1700 * MS);
        assert_eq!(
            out,
            Outcome::Failed {
                failure: Failure::Hung {
                    silent: 1001 * MS,
                    never: false
                },
                delay: 200 * MS
            }
        );
        assert_eq!(w.last_exit(), Some("hung: no heartbeat for 1001 ms"));
        assert_eq!(w.restarts(), 1);
        assert_eq!(w.poll(t0 + 1800 * MS), None, "in backoff");
        assert_eq!(w.poll(t0 + 1900 * MS), Some(Action::Spawn));
    }

    #[test]
    fn no_first_heartbeat_within_startup_grace_is_hung() {
        let t0 = Instant::now();
        let mut w = started(t0);
        assert_eq!(
            w.poll(t0 + 2000 * MS),
            None,
            "hung timeout does not apply yet"
        );
        assert_eq!(w.poll(t0 + 3001 * MS), Some(Action::Terminate));
        w.exited(Exit::Signal(15), t0 + 3100 * MS);
        assert_eq!(
            w.last_exit(),
            Some("hung: no heartbeat within 3001 ms of start")
        );
    }

    #[test]
    fn heartbeats_keep_it_alive() {
        let t0 = Instant::now();
        let mut w = started(t0);
        for i in 1..20u32 {
            let t = t0 + i * 900 * MS;
            w.heartbeat_ok(t);
            assert_eq!(w.poll(t + 950 * MS), None);
        }
    }

    #[test]
    fn crash_restarts_with_growing_backoff() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.heartbeat_ok(t0);
        let out = w.exited(Exit::Signal(9), t0 + 1000 * MS);
        assert!(matches!(out, Outcome::Failed { delay, .. } if delay == 200 * MS));
        assert_eq!(w.last_exit(), Some("killed by SIGKILL"));
        let t1 = t0 + 1200 * MS;
        assert_eq!(w.poll(t1), Some(Action::Spawn));
        w.spawned(101, t1);
        w.heartbeat_ok(t1);
        let out = w.exited(Exit::Code(1), t1 + 100 * MS);
        assert!(matches!(out, Outcome::Failed { delay, .. } if delay == 400 * MS));
        assert_eq!(w.restarts(), 2);
    }

    #[test]
    fn usage_error_at_start_is_fatal() {
        let t0 = Instant::now();
        let mut w = started(t0);
        let out = w.exited(Exit::Code(2), t0 + 50 * MS);
        assert_eq!(out, Outcome::Fatal(Failure::Exited(Exit::Code(2))));
        assert_eq!(w.state(), State::Failed);
        assert_eq!(w.poll(t0 + 10_000 * MS), None);
    }

    #[test]
    fn exit_code_2_after_heartbeats_is_an_ordinary_failure() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.heartbeat_ok(t0 + 10 * MS);
        let out = w.exited(Exit::Code(2), t0 + 50 * MS);
        assert!(matches!(out, Outcome::Failed { .. }), "{out:?}");
    }

    #[test]
    fn spawn_failure_is_fatal_only_before_the_first_start() {
        let t0 = Instant::now();
        let mut w = Watch::new("x", config(), t0);
        assert!(matches!(
            w.spawn_failed("permission denied".into(), t0),
            Outcome::Fatal(_)
        ));
        let mut w = started(t0);
        w.exited(Exit::Code(1), t0 + 10 * MS);
        let out = w.spawn_failed("permission denied".into(), t0 + 300 * MS);
        assert!(matches!(out, Outcome::Failed { .. }), "{out:?}");
    }

    #[test]
    fn manual_restart_is_immediate_and_counted() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.heartbeat_ok(t0);
        assert_eq!(w.restart(t0 + 10 * MS), Ok(Some(Action::Terminate)));
        assert_eq!(w.restart(t0 + 20 * MS), Ok(None), "already restarting");
        let out = w.exited(Exit::Code(0), t0 + 100 * MS);
        assert_eq!(out, Outcome::ManualRestart);
        assert_eq!(w.restarts(), 1);
        assert_eq!(w.poll(t0 + 100 * MS), Some(Action::Spawn));
    }

    #[test]
    fn manual_restart_cuts_backoff_short() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.exited(Exit::Code(1), t0);
        assert_eq!(w.poll(t0 + 10 * MS), None);
        assert_eq!(w.restart(t0 + 10 * MS), Ok(None));
        assert_eq!(w.poll(t0 + 10 * MS), Some(Action::Spawn));
    }

    #[test]
    fn stop_is_final() {
        let t0 = Instant::now();
        let mut w = started(t0);
        assert_eq!(w.stop(t0), Some(Action::Terminate));
        assert_eq!(w.exited(Exit::Code(0), t0 + 10 * MS), Outcome::Stopped);
        assert!(w.is_down());
        assert_eq!(w.poll(t0 + 60_000 * MS), None);
        assert!(w.restart(t0).is_err());
    }

    #[test]
    fn stop_while_killing_a_hung_process_does_not_restart_it() {
        let t0 = Instant::now();
        let mut w = started(t0);
        assert_eq!(w.poll(t0 + 3001 * MS), Some(Action::Terminate));
        assert_eq!(w.stop(t0 + 3010 * MS), None, "SIGTERM already sent");
        assert_eq!(w.exited(Exit::Code(0), t0 + 3100 * MS), Outcome::Stopped);
    }

    #[test]
    fn held_process_is_not_checked_for_hangs_and_stays_down_on_exit() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.hold();
        assert_eq!(w.poll(t0 + 60_000 * MS), None);
        assert_eq!(w.exited(Exit::Code(1), t0 + 60_000 * MS), Outcome::Stopped);
        assert!(w.is_down());
    }

    #[test]
    fn heartbeats_that_report_a_problem_for_the_hung_timeout_are_hung() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.heartbeat_ok(t0 + 100 * MS);
        for i in 2..=11u32 {
            w.heartbeat(t0 + i * 100 * MS, Some("no working camera"));
        }
        assert_eq!(w.problem(), Some("no working camera"));
        assert_eq!(
            w.poll(t0 + 1100 * MS),
            None,
            "exactly the timeout is not hung"
        );
        w.heartbeat(t0 + 1150 * MS, Some("no working camera"));
        assert_eq!(w.poll(t0 + 1101 * MS + 100 * MS), Some(Action::Terminate));
        w.exited(Exit::Signal(15), t0 + 1300 * MS);
        assert_eq!(
            w.last_exit(),
            Some("hung: not working for 1101 ms (no working camera)")
        );
    }

    #[test]
    fn a_problem_that_clears_in_time_is_forgotten() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.heartbeat_ok(t0);
        w.heartbeat(t0 + 500 * MS, Some("no working camera"));
        w.heartbeat_ok(t0 + 900 * MS);
        assert_eq!(w.problem(), None);
        w.heartbeat_ok(t0 + 1800 * MS);
        assert_eq!(w.poll(t0 + 1900 * MS), None);
    }

    #[test]
    fn a_process_that_never_worked_gets_the_startup_grace() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.heartbeat(t0 + 100 * MS, Some("no working camera"));
        w.heartbeat(t0 + 2900 * MS, Some("no working camera"));
        assert_eq!(w.poll(t0 + 2900 * MS), None, "within the start-up grace");
        w.heartbeat(t0 + 3050 * MS, Some("no working camera"));
        assert_eq!(w.poll(t0 + 3050 * MS), Some(Action::Terminate));
    }

    #[test]
    fn a_configuration_that_cannot_work_is_fatal() {
        let t0 = Instant::now();
        let mut w = started(t0);
        let out = w.exited(Exit::Code(CONFIG_EXIT_CODE), t0 + 50 * MS);
        assert_eq!(
            out,
            Outcome::Fatal(Failure::Exited(Exit::Code(CONFIG_EXIT_CODE)))
        );
        assert_eq!(w.state(), State::Failed);
    }

    #[test]
    fn stale_heartbeat_after_exit_is_ignored() {
        let t0 = Instant::now();
        let mut w = started(t0);
        w.exited(Exit::Code(1), t0);
        w.heartbeat_ok(t0 + 10 * MS);
        assert_eq!(w.state(), State::Backoff);
    }
}
