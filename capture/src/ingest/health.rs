//! How a camera fares, as plain values with time passed in: frames, failures, restarts with
//! backoff, and whether capture as a whole still has a working camera.

use shared::backoff::Backoff;
use shared::messages::{CameraHealth, CameraState};
use std::time::{Duration, Instant};

/// A camera that ran this long before failing is restarted after the initial delay again.
const FORGIVE_AFTER: Duration = Duration::from_secs(30);

/// A running camera silent this long no longer counts as working (a few frame intervals of
/// network jitter are normal).
pub const SILENT_LIMIT: Duration = Duration::from_secs(2);

/// Restart delays of a failed camera: doubled per failure from `initial` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraRetry {
    pub initial: Duration,
    pub max: Duration,
}

impl Default for CameraRetry {
    fn default() -> Self {
        CameraRetry {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(5),
        }
    }
}

/// The record of one camera.
#[derive(Debug, Clone)]
pub struct CameraWatch {
    name: String,
    backoff: Backoff,
    state: CameraState,
    /// When the current pipeline was built.
    built_at: Instant,
    last_frame: Option<Instant>,
    frames: u64,
    restarts: u32,
    last_error: Option<String>,
}

impl CameraWatch {
    /// A camera whose first pipeline was built at `now`.
    pub fn new(name: &str, retry: CameraRetry, now: Instant) -> CameraWatch {
        CameraWatch {
            name: name.to_string(),
            backoff: Backoff::new(retry.initial, retry.max, FORGIVE_AFTER),
            state: CameraState::Starting,
            built_at: now,
            last_frame: None,
            frames: 0,
            restarts: 0,
            last_error: None,
        }
    }

    pub fn frame(&mut self, now: Instant) {
        self.frames += 1;
        self.last_frame = Some(now);
        if self.state == CameraState::Starting {
            self.state = CameraState::Running;
        }
    }

    /// The camera failed or its stream ended at `now`; returns the delay before its
    /// restart.
    pub fn failed(&mut self, now: Instant, error: String) -> Duration {
        let uptime = now.saturating_duration_since(self.built_at);
        self.state = CameraState::Down;
        self.last_error = Some(error);
        self.backoff.on_failure(uptime)
    }

    /// A new pipeline was built at `now` (a restart).
    pub fn rebuilt(&mut self, now: Instant) {
        self.restarts += 1;
        self.built_at = now;
        self.state = CameraState::Starting;
    }

    /// A rebuild failed at `now` (the camera is still down); returns the next delay.
    pub fn rebuild_failed(&mut self, now: Instant, error: String) -> Duration {
        self.last_error = Some(error);
        self.backoff
            .on_failure(now.saturating_duration_since(self.built_at))
    }

    /// Ended for good (offline input finished, or capture stopping).
    pub fn ended(&mut self, error: Option<String>) {
        self.state = CameraState::Ended;
        if error.is_some() {
            self.last_error = error;
        }
    }

    /// Frames arrive: running, and its last frame is recent.
    pub fn working(&self, now: Instant) -> bool {
        self.state == CameraState::Running
            && self
                .last_frame
                .is_some_and(|t| now.saturating_duration_since(t) <= SILENT_LIMIT)
    }

    pub fn state(&self) -> CameraState {
        self.state
    }

    /// For operators.
    pub fn health(&self, now: Instant) -> CameraHealth {
        // Since its last frame, or since its pipeline was built if that came later (a
        // restarted camera gets its own time to deliver).
        let since = self
            .last_frame
            .map_or(self.built_at, |t| t.max(self.built_at));
        CameraHealth {
            name: self.name.clone(),
            state: self.state,
            restarts: self.restarts,
            frames: self.frames,
            silent_ms: now.saturating_duration_since(since).as_millis() as u64,
            last_error: self.last_error.clone(),
        }
    }
}

/// The problem capture reports in its heartbeats when no camera works (see
/// `Heartbeat::problem`); `None` while at least one does, or while cameras have ended for
/// good (the input is over).
pub fn no_working_camera(cameras: &[CameraWatch], now: Instant) -> Option<String> {
    if cameras.iter().any(|c| c.working(now))
        || cameras.iter().all(|c| c.state == CameraState::Ended)
    {
        return None;
    }
    let each: Vec<String> = cameras
        .iter()
        .map(|c| {
            let h = c.health(now);
            format!(
                "{} {} for {:.1} s{}",
                h.name,
                format!("{:?}", h.state).to_lowercase(),
                h.silent_ms as f64 / 1000.0,
                h.last_error.map(|e| format!(" ({e})")).unwrap_or_default()
            )
        })
        .collect();
    Some(format!("no working camera: {}", each.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_camera_runs_once_frames_arrive_and_stops_working_when_silent() {
        let t0 = Instant::now();
        let mut c = CameraWatch::new("left", CameraRetry::default(), t0);
        assert_eq!(c.state(), CameraState::Starting);
        assert!(!c.working(t0));
        c.frame(t0 + 40 * MS);
        assert!(c.working(t0 + 40 * MS));
        assert!(c.working(t0 + 2_040 * MS));
        assert!(!c.working(t0 + 2_041 * MS), "silent beyond the limit");
        assert_eq!(c.health(t0 + 1_040 * MS).silent_ms, 1000);
    }

    #[test]
    fn restarts_back_off_and_are_counted() {
        let t0 = Instant::now();
        let mut c = CameraWatch::new("right", CameraRetry::default(), t0);
        c.frame(t0);
        assert_eq!(c.failed(t0 + MS, "end of stream".into()), 500 * MS);
        assert_eq!(c.state(), CameraState::Down);
        assert_eq!(c.rebuild_failed(t0 + 600 * MS, "refused".into()), 1000 * MS);
        c.rebuilt(t0 + 1_700 * MS);
        assert_eq!(c.state(), CameraState::Starting);
        let h = c.health(t0 + 1_800 * MS);
        assert_eq!(h.restarts, 1);
        assert_eq!(h.silent_ms, 100, "counted from the restart");
        assert_eq!(h.last_error.as_deref(), Some("refused"));
        // Ran for a minute: forgiven.
        c.frame(t0 + 2_000 * MS);
        assert_eq!(c.failed(t0 + 62_000 * MS, "x".into()), 500 * MS);
    }

    #[test]
    fn capture_has_a_problem_only_when_no_camera_works() {
        let t0 = Instant::now();
        let mut l = CameraWatch::new("left", CameraRetry::default(), t0);
        let mut r = CameraWatch::new("right", CameraRetry::default(), t0);
        l.frame(t0);
        r.frame(t0);
        r.failed(t0 + 100 * MS, "connection refused".into());
        assert_eq!(
            no_working_camera(&[l.clone(), r.clone()], t0 + 100 * MS),
            None
        );
        l.failed(t0 + 200 * MS, "end of stream".into());
        let p = no_working_camera(&[l.clone(), r.clone()], t0 + 1_200 * MS).unwrap();
        assert!(
            p.starts_with("no working camera: left down for 1.2 s (end of stream)"),
            "{p}"
        );
        assert!(p.contains("right down"), "{p}");
        l.ended(None);
        r.ended(None);
        assert_eq!(no_working_camera(&[l, r], t0), None, "input over");
    }
}
