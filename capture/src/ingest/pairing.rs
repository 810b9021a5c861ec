//! Pairing the two cameras' frames by timestamp, without ever stalling on a late camera:
//! a frame whose partner has not arrived within its patience (one frame interval for live
//! sources) goes out with the other camera's last frame (counted). An offline run (files read
//! as fast as they decode) waits for the partner as long as that camera has not ended, since
//! two decoders never run in step. In live runs, when neither camera delivers (both down),
//! [`Pairer::fill`] keeps the cadence with pairs of the last frames, so that the broadcast
//! goes on at its frame rate. Live programme times lie on a steady frame grid that follows
//! the cameras' time stamps slowly (see [`Pairer::poll`]), so that jittery arrival stamps,
//! a camera rejoining on a new time line or two cameras half a frame apart never make the
//! programme stutter. Pure logic with time passed in.

use std::collections::VecDeque;

/// The longest gap between pairs that live runs bridge with repeated frames (2 s at 25 fps);
/// a longer jump of the cameras' time line is taken as it is.
pub const MAX_BRIDGE_FRAMES: u64 = 50;

/// With no camera reported down, how long nothing may come before the cadence is kept
/// with repeats anyway (a camera hung without an error).
pub const STALL_FILL_NS: u64 = 2_000_000_000;

/// Live programme times move towards the cameras' by at most this fraction of a frame
/// interval per frame (1 ms at 25 fps).
pub const MAX_SLEW_DIV: u64 = 40;

/// A pair ready to stitch.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair<T> {
    /// Presentation time of the panorama: the earlier of the two frames' (offline), on the
    /// programme's frame grid (live, see [`Pairer::poll`]).
    pub pts_ns: u64,
    /// Frames of the left and right camera; `None` if that camera has never delivered.
    pub frames: [Option<T>; 2],
    /// True for a camera whose frame is a repeat of its last one (partner missing).
    pub repeated: [bool; 2],
}

/// Counters of the pairer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairStats {
    pub pairs: u64,
    /// Pairs made with a repeated frame because the partner was late or missing.
    pub partner_missing: [u64; 2],
    /// Frames dropped because they were older than a pair already made.
    pub late_dropped: [u64; 2],
    /// Pairs made of both cameras' last frames because neither delivered (see
    /// [`Pairer::fill`]).
    pub filled: u64,
    /// Frames that arrived behind the fills' time line and were shown in the next fill
    /// (fresh pictures on the fill cadence), per camera.
    pub refreshed: [u64; 2],
    /// Live pairs that came less than half a frame after the last pair (a burst of queued
    /// frames, a camera faster than the frame rate): their pictures were kept as the
    /// cameras' last frames instead of going out off the cadence.
    pub too_close: u64,
}

struct Pending<T> {
    pts: u64,
    arrival: u64,
    item: T,
}

/// Pairs frames of two cameras.
pub struct Pairer<T: Clone> {
    frame_ns: u64,
    /// How long a frame waits for its partner.
    patience_ns: u64,
    /// Cameras that will deliver nothing more: their partners do not wait.
    ended: [bool; 2],
    queues: [VecDeque<Pending<T>>; 2],
    last: [Option<T>; 2],
    last_pts: Option<u64>,
    /// When the last pair went out (the `now_ns` of that poll or fill).
    last_emit_at: Option<u64>,
    /// The last pair out was a fill: frames behind its time line refresh the next fill
    /// instead of being dropped.
    filling: bool,
    /// Such frames, per camera, for the next fill.
    fresh: [Option<T>; 2],
    stats: PairStats,
}

impl<T: Clone> Pairer<T> {
    /// `frame_ns`: nominal frame interval; frames closer than half of it are partners.
    pub fn new(frame_ns: u64) -> Pairer<T> {
        Pairer {
            frame_ns,
            patience_ns: frame_ns,
            ended: [false, false],
            queues: [VecDeque::new(), VecDeque::new()],
            last: [None, None],
            last_pts: None,
            last_emit_at: None,
            filling: false,
            fresh: [None, None],
            stats: PairStats::default(),
        }
    }

    /// How long a frame waits for its partner (default: one frame interval). `u64::MAX`
    /// for offline runs: wait until the partner arrives or its camera ends.
    pub fn with_patience(mut self, patience_ns: u64) -> Pairer<T> {
        self.patience_ns = patience_ns;
        self
    }

    /// Camera `cam` will deliver no more frames (end of stream or failure): its partner's
    /// frames no longer wait for it.
    pub fn camera_ended(&mut self, cam: usize) {
        self.ended[cam] = true;
    }

    /// Camera `cam` delivers again (a restarted camera).
    pub fn camera_resumed(&mut self, cam: usize) {
        self.ended[cam] = false;
    }

    /// Keeps the cadence while no camera delivers: when both cameras are down (ended) and
    /// no pair has gone out for two frame intervals, or when nothing at all has come for
    /// [`STALL_FILL_NS`] (a camera hung without an error), returns a pair of both cameras'
    /// last frames one frame after the last pair (counted in [`PairStats::filled`]); called
    /// late, it catches up one pair per call. `None` before the first pair, while frames
    /// wait, or when it is not time yet. A camera that is merely slow (a starved machine)
    /// is not filled for: its frames keep their own times, the delay absorbs the wait.
    pub fn fill(&mut self, now_ns: u64) -> Option<Pair<T>> {
        let (last_pts, at) = (self.last_pts?, self.last_emit_at?);
        let silent = now_ns.saturating_sub(at);
        let due = if self.ended == [true, true] || self.filling {
            2 * self.frame_ns
        } else {
            STALL_FILL_NS.max(2 * self.frame_ns)
        };
        if self.queues.iter().any(|q| !q.is_empty()) || silent < due {
            return None;
        }
        self.stats.filled += 1;
        let [a, b] = [self.fresh[0].take(), self.fresh[1].take()];
        let pair = self.emit(last_pts + self.frame_ns, a, b);
        // The next fill is due one frame later, whatever the delay of this one.
        self.last_emit_at = Some(at + self.frame_ns);
        self.filling = true;
        Some(pair)
    }

    /// A frame of camera `cam` (0 left, 1 right) with its pts, arriving at `now_ns`.
    pub fn push(&mut self, cam: usize, pts_ns: u64, now_ns: u64, item: T) {
        if self.last_pts.is_some_and(|l| pts_ns <= l) {
            if self.filling {
                // Fills run ahead of this camera's time line: its picture goes out in the
                // next fill rather than the programme freezing on old pictures.
                self.stats.refreshed[cam] += 1;
                self.fresh[cam] = Some(item);
            } else {
                self.stats.late_dropped[cam] += 1;
            }
            return;
        }
        self.queues[cam].push_back(Pending {
            pts: pts_ns,
            arrival: now_ns,
            item,
        });
    }

    /// Emits a pair into `out`. Live runs keep the programme on a steady frame grid: a pair
    /// goes out one frame interval after the last, its time moved towards the cameras' by
    /// at most [`MAX_SLEW_DIV`]th of an interval per frame, so that the programme's cadence
    /// never jitters with the cameras' time stamps while it still follows them; a pair more
    /// than a frame and a half after the last one (a camera back after an outage, frames
    /// dropped upstream) is preceded by pairs of the last frames on the grid, up to
    /// [`MAX_BRIDGE_FRAMES`] (counted in [`PairStats::filled`]); a pair less than half a
    /// frame after the last one (a burst of queued frames, a camera faster than the frame
    /// rate) does not go out, its pictures wait as the cameras' last frames (counted in
    /// [`PairStats::too_close`]). Offline runs keep the files' time stamps.
    fn emit_into(&mut self, out: &mut Vec<Pair<T>>, pts: u64, a: Option<T>, b: Option<T>) {
        let live = self.patience_ns != u64::MAX;
        let pts = match self.last_pts {
            Some(last) if live && pts <= last + MAX_BRIDGE_FRAMES * self.frame_ns => {
                let half = self.frame_ns / 2;
                if pts + half < last + self.frame_ns {
                    self.stats.too_close += 1;
                    self.keep_last(a, b);
                    return;
                }
                let mut t = last + self.frame_ns;
                while t + half < pts {
                    self.stats.filled += 1;
                    let fill = self.emit(t, None, None);
                    out.push(fill);
                    t += self.frame_ns;
                }
                let slew = (self.frame_ns / MAX_SLEW_DIV) as i64;
                let off = (pts as i64 - t as i64) / 8;
                (t as i64 + off.clamp(-slew, slew)) as u64
            }
            _ => pts,
        };
        let pair = self.emit(pts, a, b);
        out.push(pair);
    }

    fn keep_last(&mut self, a: Option<T>, b: Option<T>) {
        if a.is_some() {
            self.last[0] = a;
        }
        if b.is_some() {
            self.last[1] = b;
        }
    }

    fn emit(&mut self, pts: u64, a: Option<T>, b: Option<T>) -> Pair<T> {
        let repeated = [a.is_none(), b.is_none()];
        if let Some(x) = &a {
            self.last[0] = Some(x.clone());
        }
        if let Some(x) = &b {
            self.last[1] = Some(x.clone());
        }
        for (i, r) in repeated.iter().enumerate() {
            if *r {
                self.stats.partner_missing[i] += 1;
            }
        }
        self.stats.pairs += 1;
        self.last_pts = Some(pts);
        Pair {
            pts_ns: pts,
            frames: [
                a.or_else(|| self.last[0].clone()),
                b.or_else(|| self.last[1].clone()),
            ],
            repeated,
        }
    }

    /// Pairs that are ready at `now_ns` (live: on the programme's frame grid, see the
    /// module's documentation).
    pub fn poll(&mut self, now_ns: u64) -> Vec<Pair<T>> {
        let out = self.pair_ready(now_ns);
        if !out.is_empty() {
            self.last_emit_at = Some(now_ns);
            self.filling = false;
            self.fresh = [None, None];
        }
        out
    }

    fn pair_ready(&mut self, now_ns: u64) -> Vec<Pair<T>> {
        let mut out = Vec::new();
        let tol = self.frame_ns / 2;
        loop {
            let (fa, fb) = (self.queues[0].front(), self.queues[1].front());
            match (fa, fb) {
                (Some(a), Some(b)) => {
                    if a.pts.abs_diff(b.pts) <= tol {
                        let pts = a.pts.min(b.pts);
                        let a = self.queues[0].pop_front().unwrap().item;
                        let b = self.queues[1].pop_front().unwrap().item;
                        self.emit_into(&mut out, pts, Some(a), Some(b));
                    } else if a.pts < b.pts {
                        let a = self.queues[0].pop_front().unwrap();
                        self.emit_into(&mut out, a.pts, Some(a.item), None);
                    } else {
                        let b = self.queues[1].pop_front().unwrap();
                        self.emit_into(&mut out, b.pts, None, Some(b.item));
                    }
                }
                (Some(a), None)
                    if self.ended[1] || now_ns.saturating_sub(a.arrival) >= self.patience_ns =>
                {
                    let a = self.queues[0].pop_front().unwrap();
                    self.emit_into(&mut out, a.pts, Some(a.item), None);
                }
                (None, Some(b))
                    if self.ended[0] || now_ns.saturating_sub(b.arrival) >= self.patience_ns =>
                {
                    let b = self.queues[1].pop_front().unwrap();
                    self.emit_into(&mut out, b.pts, None, Some(b.item));
                }
                _ => break,
            }
        }
        out
    }

    /// Everything still queued, paired as well as possible (end of input).
    pub fn flush(&mut self) -> Vec<Pair<T>> {
        self.ended = [true, true];
        self.poll(u64::MAX)
    }

    pub fn stats(&self) -> PairStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: u64 = 40_000_000;

    #[test]
    fn pairs_by_timestamp() {
        let mut p = Pairer::new(F);
        p.push(0, 0, 0, "a0");
        assert!(p.poll(0).is_empty(), "waits for the partner");
        p.push(1, 1_000_000, 1, "b0");
        let out = p.poll(1);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].frames, [Some("a0"), Some("b0")]);
        assert_eq!(out[0].pts_ns, 0);
    }

    #[test]
    fn late_camera_does_not_stall_more_than_one_frame() {
        let mut p = Pairer::new(F);
        p.push(0, 0, 0, 0);
        p.push(1, 0, 0, 100);
        assert_eq!(p.poll(0).len(), 1);
        // The right camera stops delivering.
        p.push(0, F, F, 1);
        assert!(p.poll(F + F / 2).is_empty());
        let out = p.poll(2 * F);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].frames,
            [Some(1), Some(100)],
            "repeats the right camera's last frame"
        );
        assert_eq!(out[0].repeated, [false, true]);
        assert_eq!(p.stats().partner_missing, [0, 1]);
    }

    #[test]
    fn offline_pairer_waits_for_a_slow_decoder_until_its_camera_ends() {
        let mut p = Pairer::new(F).with_patience(u64::MAX);
        p.push(0, 0, 0, 0);
        p.push(0, F, 0, 1);
        // The right decoder is a second behind: nothing goes out with a repeated frame.
        assert!(p.poll(1_000_000_000).is_empty());
        p.push(1, 0, 1_000_000_000, 100);
        let out = p.poll(1_000_000_000);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].frames, [Some(0), Some(100)]);
        assert!(
            p.poll(u64::MAX - 1).is_empty(),
            "still waiting for right frame 1"
        );
        // The right file ends: the left frame goes out with the right's last frame.
        p.camera_ended(1);
        let out = p.poll(0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].frames, [Some(1), Some(100)]);
        assert_eq!(p.stats().partner_missing, [0, 1]);
    }

    #[test]
    fn unmatched_older_frame_goes_out_alone() {
        let mut p = Pairer::new(F);
        p.push(0, 0, 0, 0);
        p.push(1, 2 * F, 0, 100);
        let out = p.poll(0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].pts_ns, 0);
        assert_eq!(out[0].frames, [Some(0), None]);
    }

    #[test]
    fn with_both_cameras_down_the_cadence_goes_on_with_their_last_frames() {
        let mut p = Pairer::new(F);
        assert!(
            p.fill(10 * F).is_none(),
            "nothing to repeat before a first pair"
        );
        p.push(0, 0, 0, 0);
        p.push(1, 0, 0, 100);
        assert_eq!(p.poll(0).len(), 1);
        p.camera_ended(0);
        p.camera_ended(1);
        assert!(p.fill(F).is_none(), "one frame late is not yet a gap");
        let a = p.fill(2 * F).expect("fill after two frame intervals");
        assert_eq!(a.pts_ns, F);
        assert_eq!(a.frames, [Some(0), Some(100)]);
        assert_eq!(a.repeated, [true, true]);
        // Called late (3.5 frames): the next is due at 3 F, then 4 F: the cadence holds.
        let b = p.fill(3 * F + F / 2).expect("second fill");
        assert_eq!(b.pts_ns, 2 * F);
        assert!(p.fill(3 * F + F / 2).is_none());
        assert_eq!(p.fill(4 * F).map(|x| x.pts_ns), Some(3 * F));
        assert_eq!(p.stats().filled, 3);
        // The left camera comes back: its frame goes out, fills stop.
        p.camera_resumed(0);
        p.push(0, 4 * F, 4 * F, 4);
        assert!(p.fill(4 * F + 1).is_none(), "a frame waits");
        let out = p.poll(5 * F);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].frames, [Some(4), Some(100)]);
        assert!(p.fill(6 * F).is_none());
    }

    #[test]
    fn slow_cameras_that_are_up_keep_their_own_times_until_they_stall() {
        let mut p = Pairer::new(F);
        p.push(0, 0, 0, 0);
        p.push(1, 0, 0, 100);
        assert_eq!(p.poll(0).len(), 1);
        // A starved machine: the next frames come 300 ms late, with their own times.
        assert!(p.fill(300_000_000).is_none(), "not down, not stalled");
        p.push(0, F, 300_000_000, 1);
        p.push(1, F, 300_000_000, 101);
        let out = p.poll(300_000_000);
        assert_eq!(out[0].pts_ns, F);
        // Nothing for the stall limit: the cadence is kept, catching up one pair a call.
        let t = 300_000_000 + STALL_FILL_NS;
        assert_eq!(p.fill(t).map(|x| x.pts_ns), Some(2 * F));
        assert_eq!(p.fill(t).map(|x| x.pts_ns), Some(3 * F));
    }

    #[test]
    fn a_camera_returning_ahead_of_the_fills_is_joined_on_the_frame_grid() {
        let mut p = Pairer::new(F);
        p.push(0, 0, 0, 0);
        p.push(1, 0, 0, 100);
        p.poll(0);
        p.camera_ended(1);
        // The left camera comes back 3.2 frames later: two repeats bridge the gap.
        p.push(0, 3 * F + F / 5, 10 * F, 3);
        let out = p.poll(10 * F);
        let pts: Vec<u64> = out.iter().map(|x| x.pts_ns).collect();
        assert_eq!(
            pts,
            vec![F, 2 * F, 3 * F + F / MAX_SLEW_DIV],
            "on the grid, moving towards the camera's time by at most the slew"
        );
        assert_eq!(out[0].repeated, [true, true]);
        assert_eq!(out[2].frames, [Some(3), Some(100)]);
        assert_eq!(p.stats().filled, 2);
        // A jump beyond the bridge is taken as it is.
        p.push(0, 3 * F + MAX_BRIDGE_FRAMES * F + F, 11 * F, 9);
        assert_eq!(p.poll(11 * F).len(), 1);
        // Offline runs never invent frames.
        let mut off = Pairer::new(F).with_patience(u64::MAX);
        off.push(0, 0, 0, 0);
        off.push(1, 0, 0, 0);
        off.push(0, 5 * F, 0, 1);
        off.push(1, 5 * F, 0, 1);
        assert_eq!(off.poll(0).len(), 2);
    }

    #[test]
    fn frames_behind_the_fills_time_line_refresh_the_fills_instead_of_freezing() {
        let mut p = Pairer::new(F);
        p.push(0, 0, 0, 0);
        p.push(1, 0, 0, 100);
        assert_eq!(p.poll(0).len(), 1);
        p.camera_ended(0);
        p.camera_ended(1);
        // Both down: fills at F, 2F ...
        assert_eq!(p.fill(2 * F).map(|x| x.pts_ns), Some(F));
        assert_eq!(p.fill(3 * F).map(|x| x.pts_ns), Some(2 * F));
        // The cameras deliver again, stamped a little behind the fills' time line.
        p.push(0, 2 * F - 5, 3 * F + 1, 7);
        p.push(1, 2 * F - 3, 3 * F + 2, 107);
        assert!(
            p.poll(3 * F + 2).is_empty(),
            "nothing pairs behind the last pair"
        );
        let f = p.fill(4 * F).expect("the next fill");
        assert_eq!(f.pts_ns, 3 * F);
        assert_eq!(
            f.frames,
            [Some(7), Some(107)],
            "fresh pictures, not the old ones"
        );
        assert_eq!(f.repeated, [false, false]);
        assert_eq!(p.stats().refreshed, [1, 1]);
        assert_eq!(p.stats().late_dropped, [0, 0]);
        // A camera ahead of the fills takes over again.
        p.push(0, 4 * F, 4 * F + 1, 8);
        p.push(1, 4 * F, 4 * F + 2, 108);
        let out = p.poll(4 * F + 2);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].frames, [Some(8), Some(108)]);
    }

    #[test]
    fn live_pairs_keep_a_steady_cadence_that_follows_the_cameras() {
        // A camera 1% fast with a few ms of jitter, the other on time: every step is one
        // interval within the slew, and the programme stays with the cameras' time.
        let mut p = Pairer::new(F);
        let jitter = [0i64, 3, -4, 2, -1, 5, -3];
        let mut pts = Vec::new();
        for i in 0..2000u64 {
            let fast = (i * F * 99 / 100) as i64 + jitter[i as usize % 7] * 1_000_000;
            p.push(0, fast.max(0) as u64 + 1_000_000_000, 0, i);
            p.push(1, i * F * 99 / 100 + 1_000_000_000, 0, i);
            for pair in p.poll(0) {
                pts.push(pair.pts_ns);
            }
        }
        let slew = F / MAX_SLEW_DIV;
        for w in pts.windows(2) {
            assert!(w[1] - w[0] >= F - slew && w[1] - w[0] <= F + slew, "{w:?}");
        }
        let camera_end = 1_999 * F * 99 / 100 + 1_000_000_000;
        assert!(pts.last().unwrap().abs_diff(camera_end) < F / 4);
        assert_eq!(p.stats().too_close, 0, "1% is followed without dropping");
    }

    #[test]
    fn a_burst_of_queued_frames_does_not_go_out_off_the_cadence() {
        let mut p = Pairer::new(F);
        p.push(0, 0, 0, 0);
        p.push(1, 0, 0, 100);
        assert_eq!(p.poll(0).len(), 1);
        // Three frames stamped an eighth of a frame apart (a reconnection's backlog).
        for k in 1..4u64 {
            p.push(0, k * F / 8, 0, k);
            p.push(1, k * F / 8, 0, 100 + k);
        }
        assert!(p.poll(0).is_empty());
        assert_eq!(p.stats().too_close, 3);
        // The next frames go out on the grid; a repeat shows the freshest picture kept.
        p.push(0, F, F, 4);
        let out = p.poll(2 * F);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].pts_ns, F);
        assert_eq!(out[0].frames, [Some(4), Some(103)]);
    }

    #[test]
    fn frames_older_than_the_last_pair_are_dropped() {
        let mut p = Pairer::new(F);
        p.push(0, F, 0, 1);
        p.push(1, F, 0, 1);
        p.poll(0);
        p.push(1, 0, 0, 9);
        assert_eq!(p.stats().late_dropped, [0, 1]);
        assert!(p.flush().is_empty());
    }
}
