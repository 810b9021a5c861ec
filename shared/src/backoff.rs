//! Restart pacing, as plain values with time passed in: the exponential
//! [`Backoff`] and the supervisor-wide [`RestartIntensity`] limit (OTP's MaxR within MaxT).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Delay before restarting something that failed (a process, an output, a camera):
/// `initial`, doubled after each further failure, capped at `max`; back to `initial` once it
/// had stayed up for `reset_after` (what ran for a while and then failed is not punished for
/// old failures).
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    reset_after: Duration,
    /// The delay the next failure gets (before the reset rule is applied).
    next: Duration,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration, reset_after: Duration) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            reset_after,
            next: initial,
        }
    }

    /// The delay before restarting what failed after running for `uptime`.
    pub fn on_failure(&mut self, uptime: Duration) -> Duration {
        if uptime >= self.reset_after {
            self.next = self.initial;
        }
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        delay
    }
}

/// Counts failure restarts in a sliding window; more than `max_restarts` within `window`
/// means restarting does not help and the supervisor should give up.
#[derive(Debug, Clone)]
pub struct RestartIntensity {
    max_restarts: u32,
    window: Duration,
    /// Times of the restarts still inside the window, oldest first.
    recent: VecDeque<Instant>,
}

impl RestartIntensity {
    pub fn new(max_restarts: u32, window: Duration) -> RestartIntensity {
        RestartIntensity {
            max_restarts,
            window,
            recent: VecDeque::new(),
        }
    }

    /// Notes a failure restart at `now`; true when this one exceeds the limit.
    pub fn record(&mut self, now: Instant) -> bool {
        while let Some(&t) = self.recent.front() {
            if now.saturating_duration_since(t) >= self.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        self.recent.push_back(now);
        self.recent.len() > self.max_restarts as usize
    }

    /// Restarts currently inside the window.
    #[cfg(test)]
    pub fn recent(&self) -> usize {
        self.recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn backoff() -> Backoff {
        Backoff::new(200 * MS, 10_000 * MS, 30_000 * MS)
    }

    #[test]
    fn backoff_doubles_from_initial() {
        let mut b = backoff();
        let delays: Vec<_> = (0..4).map(|_| b.on_failure(10 * MS)).collect();
        assert_eq!(delays, vec![200 * MS, 400 * MS, 800 * MS, 1600 * MS]);
    }

    #[test]
    fn backoff_is_capped_at_max() {
        let mut b = backoff();
        let last = (0..20).map(|_| b.on_failure(MS)).last().unwrap();
        assert_eq!(last, 10_000 * MS);
        assert_eq!(b.on_failure(MS), 10_000 * MS);
    }

    #[test]
    fn backoff_resets_after_a_long_enough_run() {
        let mut b = backoff();
        for _ in 0..5 {
            b.on_failure(MS);
        }
        assert_eq!(b.on_failure(30_000 * MS), 200 * MS);
        assert_eq!(b.on_failure(MS), 400 * MS);
    }

    #[test]
    fn backoff_max_below_initial_is_initial() {
        let mut b = Backoff::new(500 * MS, 100 * MS, 30_000 * MS);
        assert_eq!(b.on_failure(MS), 500 * MS);
        assert_eq!(b.on_failure(MS), 500 * MS);
    }

    #[test]
    fn intensity_allows_max_restarts_within_the_window() {
        let t0 = Instant::now();
        let mut i = RestartIntensity::new(3, Duration::from_secs(60));
        assert!(!i.record(t0));
        assert!(!i.record(t0 + Duration::from_secs(1)));
        assert!(!i.record(t0 + Duration::from_secs(2)));
        assert!(i.record(t0 + Duration::from_secs(3)), "the 4th in 60 s");
    }

    #[test]
    fn intensity_forgets_restarts_older_than_the_window() {
        let t0 = Instant::now();
        let mut i = RestartIntensity::new(2, Duration::from_secs(10));
        assert!(!i.record(t0));
        assert!(!i.record(t0 + Duration::from_secs(5)));
        // The first is 10 s old now and out of the window.
        assert!(!i.record(t0 + Duration::from_secs(10)));
        assert_eq!(i.recent(), 2);
        assert!(i.record(t0 + Duration::from_secs(11)));
    }

    #[test]
    fn intensity_zero_gives_up_on_the_first_failure() {
        let mut i = RestartIntensity::new(0, Duration::from_secs(60));
        assert!(i.record(Instant::now()));
    }
}
