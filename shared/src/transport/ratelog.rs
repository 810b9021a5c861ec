//! Logging that says a thing once per interval, with the count of what it did not say.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Gate for repeated warnings: at most one log line per `interval`.
#[derive(Debug)]
pub struct RateLimitedLog {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl RateLimitedLog {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// Returns `Some(suppressed)` when a line may be logged now (`suppressed` = how many
    /// occurrences were not logged since the last line), `None` when it must stay quiet.
    pub fn check(&self, now: Instant) -> Option<u64> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.0 {
            Some(last) if now.duration_since(last) < self.interval => {
                s.1 += 1;
                None
            }
            _ => {
                let suppressed = s.1;
                *s = (Some(now), 0);
                Some(suppressed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_interval_with_suppressed_count() {
        let log = RateLimitedLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(log.check(t0), Some(0));
        assert_eq!(log.check(t0 + Duration::from_secs(1)), None);
        assert_eq!(log.check(t0 + Duration::from_secs(2)), None);
        assert_eq!(log.check(t0 + Duration::from_secs(11)), Some(2));
    }
}
