//! The whole supervision policy with time passed in: one [`Watch`] per process in start
//! order, the restart intensity limit shared by all of them (as in an OTP supervisor), and
//! the stop in reverse order, one process at a time. The glue in `run.rs` feeds events in and
//! carries out the [`Command`]s that [`Supervisor::poll`] returns.

use crate::watch::{Action, Exit, Failure, Outcome, Watch, WatchConfig};
use shared::backoff::RestartIntensity;
use std::fmt;
use std::time::{Duration, Instant};

/// Something the glue must do to process `index` (position in `[launch].processes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub index: usize,
    pub action: Action,
}

/// Why the supervisor stopped everything on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUp {
    /// More than `max_restarts` failure restarts within `window`; `process` failed last.
    TooManyRestarts {
        process: String,
        failure: Failure,
        max_restarts: u32,
        window: Duration,
    },
    /// A failure restarting cannot fix.
    Fatal { process: String, failure: Failure },
}

impl GiveUp {
    pub fn process(&self) -> &str {
        match self {
            GiveUp::TooManyRestarts { process, .. } | GiveUp::Fatal { process, .. } => process,
        }
    }
}

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GiveUp::TooManyRestarts {
                process,
                failure,
                max_restarts,
                window,
            } => write!(
                f,
                "process {process:?} failed and would be restart number {} within {} s \
                 (launch.max_restarts = {max_restarts}, launch.restart_window_s = {}); \
                 its last error: {failure}",
                max_restarts + 1,
                window.as_secs(),
                window.as_secs()
            ),
            GiveUp::Fatal {
                process,
                failure: failure @ Failure::Exited(Exit::Code(crate::watch::USAGE_EXIT_CODE)),
            } => write!(
                f,
                "process {process:?} exited at start-up with a usage error ({failure}): \
                 check its program and args in launch.processes"
            ),
            GiveUp::Fatal {
                process,
                failure: failure @ Failure::Exited(Exit::Code(crate::watch::CONFIG_EXIT_CODE)),
            } => write!(
                f,
                "process {process:?} found that the configuration cannot work on this machine \
                 ({failure}); its message below names what is missing and the key that needs it"
            ),
            GiveUp::Fatal { process, failure } => {
                write!(f, "process {process:?} cannot run: {failure}")
            }
        }
    }
}

/// Where the supervisor as a whole stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SupervisionMode {
    Supervising,
    /// Stopping in reverse order; `next` is the index being stopped now.
    Stopping {
        next: usize,
    },
}

/// Supervision of every process.
#[derive(Debug)]
pub struct Supervisor {
    watches: Vec<Watch>,
    intensity: RestartIntensity,
    max_restarts: u32,
    window: Duration,
    mode: SupervisionMode,
    /// Set when the supervisor decided to stop everything because of a failure.
    give_up: Option<GiveUp>,
}

impl Supervisor {
    /// Every process is due to start at `now`, in the order of `names`.
    pub fn new(
        names: &[String],
        config: WatchConfig,
        max_restarts: u32,
        window: Duration,
        now: Instant,
    ) -> Supervisor {
        Supervisor {
            watches: names
                .iter()
                .map(|n| Watch::new(n, config.clone(), now))
                .collect(),
            intensity: RestartIntensity::new(max_restarts, window),
            max_restarts,
            window,
            mode: SupervisionMode::Supervising,
            give_up: None,
        }
    }

    pub fn watches(&self) -> &[Watch] {
        &self.watches
    }

    pub fn is_stopping(&self) -> bool {
        matches!(self.mode, SupervisionMode::Stopping { .. })
    }

    /// Index of the process with this pid.
    pub fn index_of_pid(&self, pid: u32) -> Option<usize> {
        self.watches.iter().position(|w| w.pid() == Some(pid))
    }

    pub fn spawned(&mut self, index: usize, pid: u32, now: Instant) {
        self.watches[index].spawned(pid, now);
    }

    pub fn spawn_failed(&mut self, index: usize, error: String, now: Instant) {
        let outcome = self.watches[index].spawn_failed(error, now);
        self.handle(index, outcome, now);
    }

    /// A heartbeat of process `index`, with the problem it reports (if any).
    pub fn heartbeat(&mut self, index: usize, now: Instant, problem: Option<&str>) {
        self.watches[index].heartbeat(now, problem);
    }

    pub fn exited(&mut self, index: usize, exit: Exit, now: Instant) {
        let outcome = self.watches[index].exited(exit, now);
        self.handle(index, outcome, now);
    }

    fn handle(&mut self, index: usize, outcome: Outcome, now: Instant) {
        let name = self.watches[index].name().to_string();
        match outcome {
            Outcome::Stopped => {
                tracing::info!(message = "Process stopped.", process = %name, exit = self.watches[index].last_exit().unwrap_or(""));
            }
            Outcome::ManualRestart => {
                tracing::info!(message = "Restarting process as asked.", process = %name);
            }
            Outcome::Failed { failure, delay } => {
                if self.intensity.record(now) {
                    tracing::error!(message = "Too many restarts; stopping everything.", process = %name, reason = %failure, max_restarts = self.max_restarts, window_s = self.window.as_secs());
                    self.give_up(
                        GiveUp::TooManyRestarts {
                            process: name,
                            failure,
                            max_restarts: self.max_restarts,
                            window: self.window,
                        },
                        now,
                    );
                } else {
                    tracing::warn!(message = "Process failed; restarting it.", process = %name, reason = %failure, delay_ms = delay.as_millis() as u64, restarts = self.watches[index].restarts());
                }
            }
            Outcome::Fatal(failure) => {
                tracing::error!(message = "Process cannot run; stopping everything.", process = %name, reason = %failure);
                self.give_up(
                    GiveUp::Fatal {
                        process: name,
                        failure,
                    },
                    now,
                );
            }
        }
    }

    fn give_up(&mut self, why: GiveUp, now: Instant) {
        if self.give_up.is_none() {
            self.give_up = Some(why);
        }
        self.stop(now);
    }

    /// `launch restart <name>`.
    pub fn restart(&mut self, name: &str, now: Instant) -> Result<Option<Command>, String> {
        if self.is_stopping() {
            return Err("launch is stopping".into());
        }
        let index = self
            .watches
            .iter()
            .position(|w| w.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = self.watches.iter().map(Watch::name).collect();
                format!("no process named {name:?}; known: {}", names.join(", "))
            })?;
        Ok(self.watches[index]
            .restart(now)?
            .map(|action| Command { index, action }))
    }

    /// Begins stopping everything in reverse start order. No process restarts from now on.
    pub fn stop(&mut self, _now: Instant) {
        if self.is_stopping() {
            return;
        }
        for w in &mut self.watches {
            w.hold();
        }
        self.mode = SupervisionMode::Stopping {
            next: self.watches.len(),
        };
    }

    /// What to do at `now`.
    pub fn poll(&mut self, now: Instant) -> Vec<Command> {
        let mut commands: Vec<Command> = Vec::new();
        for (index, w) in self.watches.iter_mut().enumerate() {
            if let Some(action) = w.poll(now) {
                commands.push(Command { index, action });
            }
        }
        if let SupervisionMode::Stopping { next } = &mut self.mode {
            // One process at a time, from the last: the next one gets SIGTERM only once the
            // one after it in start order is down.
            while *next > 0 && self.watches[*next - 1].is_down() {
                *next -= 1;
            }
            if *next > 0 {
                let index = *next - 1;
                if let Some(action) = self.watches[index].stop(now) {
                    commands.push(Command { index, action });
                }
            }
        }
        commands
    }

    /// `Some` once every process is down after a stop: `Ok` for a stop that was asked for,
    /// `Err` when the supervisor gave up.
    pub fn finished(&self) -> Option<Result<(), GiveUp>> {
        match &self.mode {
            SupervisionMode::Stopping { next: 0 } => Some(match &self.give_up {
                Some(g) => Err(g.clone()),
                None => Ok(()),
            }),
            _ => None,
        }
    }

    /// State of the process at `index`.
    pub fn state(&self, index: usize) -> crate::watch::State {
        self.watches[index].state()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::State;

    const MS: Duration = Duration::from_millis(1);

    fn config() -> WatchConfig {
        WatchConfig {
            hung_timeout: 1000 * MS,
            startup_grace: 3000 * MS,
            stop_timeout: 500 * MS,
            backoff_initial: 100 * MS,
            backoff_max: 1000 * MS,
            backoff_reset: 30_000 * MS,
        }
    }

    fn names() -> Vec<String> {
        ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
    }

    /// A supervisor whose three processes started at `t0` with pids 1, 2, 3.
    fn running(t0: Instant, max_restarts: u32) -> Supervisor {
        let mut s = Supervisor::new(
            &names(),
            config(),
            max_restarts,
            Duration::from_secs(60),
            t0,
        );
        let cmds = s.poll(t0);
        assert_eq!(
            cmds,
            (0..3)
                .map(|index| Command {
                    index,
                    action: Action::Spawn
                })
                .collect::<Vec<_>>(),
            "all start at once, in order"
        );
        for i in 0..3 {
            s.spawned(i, i as u32 + 1, t0);
            s.heartbeat(i, t0, None);
        }
        s
    }

    fn terminate(index: usize) -> Command {
        Command {
            index,
            action: Action::Terminate,
        }
    }

    #[test]
    fn stop_goes_in_reverse_order_one_at_a_time() {
        let t0 = Instant::now();
        let mut s = running(t0, 5);
        s.stop(t0);
        assert_eq!(s.poll(t0), vec![terminate(2)]);
        assert_eq!(s.poll(t0 + 10 * MS), vec![], "b waits until c is down");
        s.exited(2, Exit::Code(0), t0 + 20 * MS);
        assert_eq!(s.poll(t0 + 20 * MS), vec![terminate(1)]);
        s.exited(1, Exit::Code(0), t0 + 30 * MS);
        assert_eq!(s.poll(t0 + 30 * MS), vec![terminate(0)]);
        assert_eq!(s.finished(), None);
        s.exited(0, Exit::Code(0), t0 + 40 * MS);
        assert_eq!(s.poll(t0 + 40 * MS), vec![]);
        assert_eq!(s.finished(), Some(Ok(())));
    }

    #[test]
    fn stop_kills_a_process_that_ignores_sigterm() {
        let t0 = Instant::now();
        let mut s = running(t0, 5);
        s.stop(t0);
        assert_eq!(s.poll(t0), vec![terminate(2)]);
        assert_eq!(
            s.poll(t0 + 600 * MS),
            vec![Command {
                index: 2,
                action: Action::Kill
            }]
        );
    }

    #[test]
    fn crash_during_stop_is_not_restarted() {
        let t0 = Instant::now();
        let mut s = running(t0, 5);
        s.stop(t0);
        s.poll(t0);
        s.exited(0, Exit::Signal(11), t0 + 10 * MS);
        assert_eq!(s.state(0), State::Stopped);
        assert!(s.poll(t0 + 1000 * MS).iter().all(|c| c.index != 0));
    }

    #[test]
    fn too_many_restarts_gives_up_naming_the_process() {
        let t0 = Instant::now();
        let mut s = running(t0, 2);
        let mut t = t0;
        for pid in 10..12 {
            t += 10 * MS;
            s.exited(1, Exit::Code(1), t);
            t += 1000 * MS;
            for i in [0, 2] {
                s.heartbeat(i, t, None);
            }
            let cmds = s.poll(t);
            assert!(cmds.contains(&Command {
                index: 1,
                action: Action::Spawn
            }));
            s.spawned(1, pid, t);
        }
        assert!(!s.is_stopping());
        s.exited(1, Exit::Code(1), t + 10 * MS);
        assert!(s.is_stopping());
        let e = s.finished();
        assert_eq!(e, None, "still stopping the others");
        assert_eq!(s.poll(t + 20 * MS), vec![terminate(2)]);
        s.exited(2, Exit::Code(0), t + 30 * MS);
        assert_eq!(s.poll(t + 30 * MS), vec![terminate(0)], "b is down already");
        s.exited(0, Exit::Code(0), t + 40 * MS);
        s.poll(t + 40 * MS);
        let Some(Err(g)) = s.finished() else {
            panic!("expected a give-up")
        };
        assert_eq!(g.process(), "b");
        let text = g.to_string();
        assert!(
            text.contains("\"b\"") && text.contains("exit code 1"),
            "{text}"
        );
        assert!(text.contains("launch.max_restarts = 2"), "{text}");
    }

    #[test]
    fn manual_restarts_do_not_count_towards_the_limit() {
        let t0 = Instant::now();
        let mut s = running(t0, 0);
        for k in 0..3u32 {
            let t = t0 + k * 100 * MS;
            assert_eq!(s.restart("b", t), Ok(Some(terminate(1))));
            s.exited(1, Exit::Code(0), t);
            assert!(s.poll(t).contains(&Command {
                index: 1,
                action: Action::Spawn
            }));
            s.spawned(1, 20 + k, t);
            s.heartbeat(1, t, None);
            for i in [0, 2] {
                s.heartbeat(i, t, None);
            }
        }
        assert!(!s.is_stopping());
        assert_eq!(s.watches()[1].restarts(), 3);
    }

    #[test]
    fn restart_of_unknown_process_names_the_known_ones() {
        let t0 = Instant::now();
        let mut s = running(t0, 5);
        let e = s.restart("zz", t0).unwrap_err();
        assert!(e.contains("\"zz\"") && e.contains("a, b, c"), "{e}");
    }

    #[test]
    fn usage_error_at_start_gives_up_at_once() {
        let t0 = Instant::now();
        let mut s = Supervisor::new(&names(), config(), 5, Duration::from_secs(60), t0);
        s.poll(t0);
        for i in 0..3 {
            s.spawned(i, i as u32 + 1, t0);
        }
        s.exited(1, Exit::Code(2), t0 + 30 * MS);
        assert!(s.is_stopping());
        assert_eq!(s.poll(t0 + 30 * MS), vec![terminate(2)]);
        s.exited(2, Exit::Code(0), t0 + 40 * MS);
        assert_eq!(s.poll(t0 + 40 * MS), vec![terminate(0)]);
        s.exited(0, Exit::Code(0), t0 + 50 * MS);
        s.poll(t0 + 50 * MS);
        let Some(Err(g)) = s.finished() else {
            panic!("expected a give-up")
        };
        assert!(g.to_string().contains("usage error"), "{g}");
    }

    #[test]
    fn pid_lookup_follows_restarts() {
        let t0 = Instant::now();
        let mut s = running(t0, 5);
        assert_eq!(s.index_of_pid(2), Some(1));
        s.exited(1, Exit::Signal(9), t0);
        assert_eq!(s.index_of_pid(2), None);
    }
}
