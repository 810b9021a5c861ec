//! Where playout and live are now, estimated between capture's once-per-second
//! `PlayoutStatus` messages (pure; local monotonic time passed in).
//!
//! Between statuses both positions advance with local time. Without any status (capture's
//! playout not running, or not heard from yet) live is the newest track and playout is
//! `delay` behind it.

use shared::messages::PlayoutStatus;

/// Statuses older than this are not extrapolated further: playout may have stalled.
const MAX_EXTRAPOLATION_NS: u64 = 3_000_000_000;

#[derive(Debug, Clone, Default)]
pub struct PlayoutClock {
    /// `(live_pts, playout_pts, local time received)` of the newest status.
    last: Option<(u64, u64, u64)>,
    delay_ns: u64,
    /// Statuses whose playout time went backwards by more than a second (capture restarted).
    pub timeline_resets: u64,
}

impl PlayoutClock {
    pub fn new(delay_ns: u64) -> PlayoutClock {
        PlayoutClock {
            last: None,
            delay_ns,
            timeline_resets: 0,
        }
    }

    /// Takes a status received at local time `now_ns`.
    pub fn on_status(&mut self, s: &PlayoutStatus, now_ns: u64) {
        if let Some((_, playout, _)) = self.last {
            if s.playout_pts + 1_000_000_000 < playout {
                self.timeline_resets += 1;
            }
        }
        self.last = Some((s.live_pts, s.playout_pts, now_ns));
    }

    /// True once a status was received.
    pub fn known(&self) -> bool {
        self.last.is_some()
    }

    /// `(playout_pts, live_pts)` at local time `now_ns`; `latest_track` extends live.
    pub fn estimate(&self, now_ns: u64, latest_track: Option<u64>) -> Option<(u64, u64)> {
        match self.last {
            Some((live, playout, at)) => {
                let e = now_ns.saturating_sub(at).min(MAX_EXTRAPOLATION_NS);
                let live = (live + e).max(latest_track.unwrap_or(0));
                Some((playout + e, live))
            }
            None => latest_track.map(|t| (t.saturating_sub(self.delay_ns), t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(live: u64, playout: u64) -> PlayoutStatus {
        PlayoutStatus {
            live_pts: live,
            playout_pts: playout,
            ..Default::default()
        }
    }

    #[test]
    fn extrapolates_between_statuses_and_stops_when_they_stop() {
        let mut c = PlayoutClock::new(7_000_000_000);
        assert_eq!(c.estimate(0, None), None);
        assert_eq!(
            c.estimate(0, Some(10_000_000_000)),
            Some((3_000_000_000, 10_000_000_000))
        );
        c.on_status(&status(17_000_000_000, 10_000_000_000), 1_000);
        assert_eq!(
            c.estimate(500_001_000, None),
            Some((10_500_000_000, 17_500_000_000))
        );
        assert_eq!(c.estimate(60_000_000_000, None).unwrap().0, 13_000_000_000);
        c.on_status(&status(7_000_000_000, 0), 2_000);
        assert_eq!(c.timeline_resets, 1);
    }
}
