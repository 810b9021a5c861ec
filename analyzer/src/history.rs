//! The last N seconds of tracks, for snapshot requests (GUIDE section 4: a restarted director
//! asks for them). Bounded by time and by count, whatever the input does.

use shared::messages::{
    encode, EncodeError, Message, SnapshotKind, SnapshotReply, Tracks, MAX_MESSAGE_BYTES,
};
use std::collections::VecDeque;

/// Frames kept at most per second of history (a guard when frames come faster than any
/// analysis rate we expect).
pub const MAX_FRAMES_PER_S: f64 = 100.0;

/// Recent tracks, oldest first.
#[derive(Debug, Clone)]
pub struct History {
    window_ns: u64,
    max_len: usize,
    items: VecDeque<Tracks>,
}

impl History {
    pub fn new(seconds: f64) -> History {
        let seconds = seconds.max(0.0);
        History {
            window_ns: (seconds * 1e9) as u64,
            max_len: ((seconds * MAX_FRAMES_PER_S).ceil() as usize).max(1),
            items: VecDeque::new(),
        }
    }

    /// Appends a frame's tracks; returns how many old entries were evicted.
    pub fn push(&mut self, t: Tracks) -> u64 {
        let newest = t.pts_ns;
        self.items.push_back(t);
        let mut evicted = 0;
        while let Some(front) = self.items.front() {
            let too_old = newest.saturating_sub(front.pts_ns) > self.window_ns;
            if too_old || self.items.len() > self.max_len {
                self.items.pop_front();
                evicted += 1;
            } else {
                break;
            }
        }
        evicted
    }

    pub fn clear(&mut self) {
        self.items.clear();
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Most entries this history can ever hold.
    pub fn capacity_bound(&self) -> usize {
        self.max_len
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tracks> {
        self.items.iter()
    }

    /// The reply to a tracks snapshot request: every entry with `pts_ns >= since`, cut from
    /// the oldest end (and `truncated` set) so that the encoded reply stays under
    /// [`MAX_MESSAGE_BYTES`].
    pub fn snapshot(&self, since_pts_ns: u64) -> Result<SnapshotReply, EncodeError> {
        let selected: Vec<&Tracks> = self
            .items
            .iter()
            .filter(|t| t.pts_ns >= since_pts_ns)
            .collect();
        // Budget from the newest back, with each entry's own encoded size, leaving room for
        // the envelope; then check the real encoding and cut further if needed.
        let budget = MAX_MESSAGE_BYTES - 256;
        let mut used = 0usize;
        let mut start = selected.len();
        while start > 0 {
            let size = rmp_serde::to_vec_named(selected[start - 1])
                .map(|v| v.len())
                .unwrap_or(budget)
                + 1;
            if used + size > budget {
                break;
            }
            used += size;
            start -= 1;
        }
        loop {
            let reply = SnapshotReply {
                kind: SnapshotKind::Tracks,
                tracks: selected[start..].iter().map(|t| (*t).clone()).collect(),
                playout: None,
                truncated: start > 0,
            };
            match encode(&Message::SnapshotReply(reply.clone())) {
                Ok(_) => return Ok(reply),
                Err(EncodeError::TooLarge { .. }) if start < selected.len() => {
                    start += (selected.len() - start).div_ceil(8);
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::messages::{BallState, PlayersSummary, TrackStatus};

    fn tracks(pts_ns: u64) -> Tracks {
        Tracks {
            pts_ns,
            ball: Some(BallState {
                x_m: 1.0,
                y_m: 2.0,
                z_m: 0.11,
                vx_mps: 3.0,
                vy_mps: 4.0,
                vz_mps: 0.0,
                px: 100.0,
                py: 200.0,
                confidence: 0.9,
                status: TrackStatus::Tracked,
            }),
            players: Some(PlayersSummary {
                count: 20,
                cx_m: 50.0,
                cy_m: 30.0,
                spread_x_m: 10.0,
                spread_y_m: 8.0,
            }),
        }
    }

    #[test]
    fn keeps_only_the_window() {
        let mut h = History::new(15.0);
        let mut evicted = 0;
        for k in 0..1000u64 {
            evicted += h.push(tracks(k * 40_000_000));
        }
        assert_eq!(h.len(), 376);
        assert_eq!(evicted, 1000 - 376);
        let first = h.iter().next().unwrap().pts_ns;
        assert_eq!(first, 999 * 40_000_000 - 15_000_000_000);
    }

    #[test]
    fn count_is_bounded_even_when_pts_stands_still() {
        let mut h = History::new(2.0);
        for _ in 0..10_000 {
            h.push(tracks(5));
        }
        assert_eq!(h.len(), h.capacity_bound());
    }

    #[test]
    fn snapshot_is_cut_to_the_message_limit_dropping_the_oldest() {
        let mut h = History::new(60.0);
        for k in 0..1500u64 {
            h.push(tracks(k * 40_000_000));
        }
        let r = h.snapshot(0).unwrap();
        assert!(r.truncated);
        assert_eq!(r.tracks.last().unwrap().pts_ns, 1499 * 40_000_000);
        let bytes = encode(&Message::SnapshotReply(r.clone())).unwrap();
        assert!(bytes.len() <= MAX_MESSAGE_BYTES);
        // Nearly full: not cut much more than needed.
        assert!(bytes.len() > MAX_MESSAGE_BYTES - 1024, "{}", bytes.len());
        let small = h.snapshot(1490 * 40_000_000).unwrap();
        assert!(!small.truncated);
        assert_eq!(small.tracks.len(), 10);
    }
}
