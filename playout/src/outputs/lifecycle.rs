//! When an output is up, when it has failed, and when it is due to be built again: plain
//! values with time passed in. [`super::slot::OutputSlot`] is the glue that builds and
//! drops the pipelines.
//!
//! An output fails when its pipeline posts an error, or, in live runs, when it stalls: frames
//! go in but no byte reaches its sink for [`RetrySettings::stall`] (a server that stopped
//! reading without closing the connection). A failed output is built again after a backoff
//! (`initial`, doubled per failure up to `max`, back to `initial` after 30 s of good running),
//! for as long as playout runs: a match outlasts any network blip.

use shared::backoff::Backoff;
use shared::messages::OutputState;
use std::time::{Duration, Instant};

/// An output that ran this long before failing is retried after the initial delay again.
const FORGIVE_AFTER: Duration = Duration::from_secs(30);

/// How failed outputs are retried.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetrySettings {
    /// Delay before the first rebuild, doubled per further failure up to `max`.
    pub initial: Duration,
    pub max: Duration,
    /// A live output that takes frames while no byte reaches its sink for this long has
    /// stalled and is rebuilt. `None`: never (offline runs, where the encoder sets the pace).
    pub stall: Option<Duration>,
}

impl RetrySettings {
    /// From `[playout] output_retry_initial_s`, `output_retry_max_s` and `output_stall_s`;
    /// `realtime`: live runs, where a stalled output is rebuilt.
    pub fn from_config(c: &shared::config::PlayoutConfig, realtime: bool) -> RetrySettings {
        RetrySettings {
            initial: Duration::from_secs_f64(c.output_retry_initial_s),
            max: Duration::from_secs_f64(c.output_retry_max_s),
            stall: realtime.then(|| Duration::from_secs_f64(c.output_stall_s)),
        }
    }
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(4),
            stall: Some(Duration::from_secs(5)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Built at `since`. `delivered`: a byte reached the sink. `waiting_since`: the first
    /// frame queued after the sink's byte count last moved (for the stall rule).
    Up {
        since: Instant,
        delivered: bool,
        sink_bytes: u64,
        waiting_since: Option<Instant>,
    },
    /// Failed; built again at `until`.
    Down { until: Instant },
    /// Failed in a way only a configuration change fixes.
    GaveUp,
    /// Finished at stop.
    Finished,
    /// Switched off on purpose (recording stopped); built again when switched on.
    Off,
}

/// The life of one output.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    settings: RetrySettings,
    backoff: Backoff,
    phase: Phase,
    /// Incarnations built so far.
    built: u32,
    /// Times it was switched on again after being switched off (not failures).
    switched_on: u32,
    last_error: Option<String>,
}

impl Lifecycle {
    /// An output due to be built at `now`.
    pub fn new(settings: RetrySettings, now: Instant) -> Lifecycle {
        Lifecycle {
            settings,
            backoff: Backoff::new(settings.initial, settings.max, FORGIVE_AFTER),
            phase: Phase::Down { until: now },
            built: 0,
            switched_on: 0,
            last_error: None,
        }
    }

    /// An output that starts switched off.
    pub fn off(settings: RetrySettings, now: Instant) -> Lifecycle {
        let mut l = Lifecycle::new(settings, now);
        l.phase = Phase::Off;
        l
    }

    /// Switched off on purpose (its pipeline is finished by the caller).
    pub fn switch_off(&mut self) {
        self.phase = Phase::Off;
    }

    /// Switched on at `now`: built again at once. Returns false if it was not off.
    pub fn switch_on(&mut self, now: Instant) -> bool {
        if self.phase != Phase::Off {
            return false;
        }
        if self.built > 0 {
            self.switched_on += 1;
        }
        self.phase = Phase::Down { until: now };
        true
    }

    /// True while switched off.
    pub fn is_off(&self) -> bool {
        self.phase == Phase::Off
    }

    /// True when a (re)build is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        matches!(self.phase, Phase::Down { until } if now >= until)
    }

    /// A new incarnation was built at `now`.
    pub fn built(&mut self, now: Instant) {
        self.built += 1;
        self.phase = Phase::Up {
            since: now,
            delivered: false,
            sink_bytes: 0,
            waiting_since: None,
        };
    }

    /// Rebuilds after failures (incarnations beyond the first).
    pub fn restarts(&self) -> u32 {
        self.built.saturating_sub(1 + self.switched_on)
    }

    /// The output failed at `now`. `recoverable`: building it again may help. Returns the
    /// delay before the next attempt (`None`: given up).
    pub fn failed(&mut self, now: Instant, error: String, recoverable: bool) -> Option<Duration> {
        self.last_error = Some(error);
        if !recoverable {
            self.phase = Phase::GaveUp;
            return None;
        }
        let uptime = match self.phase {
            Phase::Up { since, .. } => now.saturating_duration_since(since),
            _ => Duration::ZERO,
        };
        let delay = self.backoff.on_failure(uptime);
        self.phase = Phase::Down { until: now + delay };
        Some(delay)
    }

    /// A frame was queued at `now`; `sink_bytes` is what has reached the sink of this
    /// incarnation so far. Returns the stall error when the output has stalled.
    pub fn frame_queued(&mut self, now: Instant, sink_bytes: u64) -> Option<String> {
        let stall = self.settings.stall;
        let Phase::Up {
            delivered,
            sink_bytes: seen,
            waiting_since,
            ..
        } = &mut self.phase
        else {
            return None;
        };
        if sink_bytes > *seen {
            *seen = sink_bytes;
            *delivered = true;
            *waiting_since = None;
            return None;
        }
        let since = *waiting_since.get_or_insert(now);
        let limit = stall?;
        let waited = now.saturating_duration_since(since);
        (waited > limit).then(|| {
            format!(
                "stalled: no data reached its sink for {:.1} s while frames were queued",
                waited.as_secs_f64()
            )
        })
    }

    /// Finished at stop.
    pub fn finished(&mut self) {
        self.phase = Phase::Finished;
    }

    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// For operators.
    pub fn state(&self) -> OutputState {
        match self.phase {
            Phase::Up {
                delivered: false, ..
            } => OutputState::Starting,
            Phase::Up { .. } => OutputState::Running,
            Phase::Down { .. } | Phase::GaveUp => OutputState::Retrying,
            Phase::Finished => OutputState::Finished,
            Phase::Off => OutputState::Off,
        }
    }

    /// True once retrying cannot help.
    pub fn gave_up(&self) -> bool {
        self.phase == Phase::GaveUp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn life(t0: Instant) -> Lifecycle {
        let mut l = Lifecycle::new(RetrySettings::default(), t0);
        assert!(l.due(t0));
        l.built(t0);
        l
    }

    #[test]
    fn a_new_output_is_starting_until_bytes_reach_its_sink() {
        let t0 = Instant::now();
        let mut l = life(t0);
        assert_eq!(l.state(), OutputState::Starting);
        assert_eq!(l.frame_queued(t0 + 40 * MS, 0), None);
        assert_eq!(l.frame_queued(t0 + 80 * MS, 5_000), None);
        assert_eq!(l.state(), OutputState::Running);
        assert_eq!(l.restarts(), 0);
    }

    #[test]
    fn failures_back_off_and_double_up_to_the_bound() {
        let t0 = Instant::now();
        let mut l = life(t0);
        let mut now = t0;
        let mut delays = Vec::new();
        for _ in 0..6 {
            let d = l.failed(now, "connection refused".into(), true).unwrap();
            assert_eq!(l.state(), OutputState::Retrying);
            assert!(!l.due(now + d - MS), "not before its delay");
            now += d;
            assert!(l.due(now));
            l.built(now);
            delays.push(d.as_millis());
        }
        assert_eq!(delays, vec![500, 1000, 2000, 4000, 4000, 4000]);
        assert_eq!(l.restarts(), 6);
        assert_eq!(l.last_error(), Some("connection refused"));
    }

    #[test]
    fn an_output_that_ran_a_while_is_retried_quickly_again() {
        let t0 = Instant::now();
        let mut l = life(t0);
        for _ in 0..4 {
            let d = l.failed(t0, "x".into(), true).unwrap();
            l.built(t0 + d);
        }
        let later = t0 + Duration::from_secs(100);
        assert_eq!(l.failed(later, "x".into(), true), Some(500 * MS));
    }

    #[test]
    fn a_configuration_error_is_not_retried() {
        let t0 = Instant::now();
        let mut l = life(t0);
        assert_eq!(l.failed(t0, "no such container".into(), false), None);
        assert!(l.gave_up());
        assert!(!l.due(t0 + Duration::from_secs(3600)));
    }

    #[test]
    fn frames_going_in_without_bytes_coming_out_is_a_stall() {
        let t0 = Instant::now();
        let mut l = life(t0);
        assert_eq!(l.frame_queued(t0, 100), None);
        // Idle for a minute (nothing to show yet): no stall, no frame was waiting.
        let t1 = t0 + Duration::from_secs(60);
        assert_eq!(l.frame_queued(t1, 100), None, "first frame after the pause");
        assert_eq!(l.frame_queued(t1 + 4_000 * MS, 100), None);
        let err = l.frame_queued(t1 + 5_001 * MS, 100).expect("stalled");
        assert!(err.contains("stalled"), "{err}");
        // Bytes moving again clears it.
        assert_eq!(l.frame_queued(t1 + 5_002 * MS, 200), None);
        assert_eq!(l.frame_queued(t1 + 9_000 * MS, 200), None);
    }

    #[test]
    fn switching_off_and_on_builds_again_at_once_and_is_no_restart() {
        let t0 = Instant::now();
        let mut l = Lifecycle::off(RetrySettings::default(), t0);
        assert_eq!(l.state(), OutputState::Off);
        assert!(!l.due(t0));
        assert!(l.switch_on(t0));
        assert!(l.due(t0));
        l.built(t0);
        l.switch_off();
        assert!(l.is_off());
        assert!(!l.switch_on(t0) || l.due(t0));
        l.built(t0);
        assert_eq!(l.restarts(), 0);
        assert!(
            !l.switch_on(t0),
            "only an output that is off is switched on"
        );
    }

    #[test]
    fn offline_outputs_never_stall() {
        let t0 = Instant::now();
        let mut l = Lifecycle::new(
            RetrySettings {
                stall: None,
                ..RetrySettings::default()
            },
            t0,
        );
        l.built(t0);
        assert_eq!(l.frame_queued(t0, 0), None);
        assert_eq!(l.frame_queued(t0 + Duration::from_secs(600), 0), None);
    }
}
