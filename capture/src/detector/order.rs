//! Publishing in frame order: the motion cue has every frame's sightings at once, the
//! detector its frame's detections seconds later, and the analyzer takes frames in `pts`
//! order only. [`InOrder`] holds the cue's frames from the first frame the detector is still
//! on, and lets them go when the detector's result is published in its place (or the frame
//! was skipped). The detector's result is never given up (without the cue it would be
//! published just as late): a cue frame held longer than the limit is dropped instead, and
//! counted. Pure logic: no clock, no socket.

use shared::messages::RawDetections;
use std::collections::VecDeque;

/// What [`InOrder`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OrderCounts {
    /// Cue frames dropped because the detector's frame before them took longer than the
    /// limit.
    pub dropped: u64,
    /// Detector results older than what was already published (not published).
    pub late: u64,
}

#[derive(Debug)]
struct Slot {
    pts_ns: u64,
    cue: Option<RawDetections>,
    /// The detector has the frame (in its mailbox or working on it).
    awaiting: bool,
    detected: Option<RawDetections>,
}

/// Frames in `pts` order from the cue and the detector.
#[derive(Debug)]
pub struct InOrder {
    held: VecDeque<Slot>,
    max_hold_ns: u64,
    last_sent: Option<u64>,
    pub counts: OrderCounts,
}

impl InOrder {
    /// Holds frames for at most `max_hold_ns` of stream time behind one the detector is on.
    pub fn new(max_hold_ns: u64) -> InOrder {
        InOrder {
            held: VecDeque::new(),
            max_hold_ns,
            last_sent: None,
            counts: OrderCounts::default(),
        }
    }

    /// A new frame: the cue's sightings (if the cue looked at it) and whether the detector
    /// was handed it. Returns what can be published now, in order.
    pub fn frame(
        &mut self,
        pts_ns: u64,
        cue: Option<RawDetections>,
        to_detector: bool,
    ) -> Vec<RawDetections> {
        if cue.is_some() || to_detector {
            self.held.push_back(Slot {
                pts_ns,
                cue,
                awaiting: to_detector,
                detected: None,
            });
        }
        self.release()
    }

    /// The detector will not publish the frame at `pts_ns` (a newer one replaced it in the
    /// mailbox, or it failed): its cue sightings, if any, stand for it.
    pub fn skipped(&mut self, pts_ns: u64) -> Vec<RawDetections> {
        if let Some(s) = self.held.iter_mut().find(|s| s.pts_ns == pts_ns) {
            s.awaiting = false;
        }
        self.release()
    }

    /// The detector's result for its frame: published in the frame's place (the cue's
    /// sightings of that frame are superseded), unless the frame was given up.
    pub fn detected(&mut self, d: RawDetections) -> Vec<RawDetections> {
        let pts = d.pts_ns;
        match self.held.iter_mut().find(|s| s.pts_ns == pts) {
            Some(s) => {
                s.awaiting = false;
                s.detected = Some(d);
                self.release()
            }
            None if self.last_sent.is_some_and(|l| l >= pts) => {
                self.counts.late += 1;
                self.release()
            }
            None => {
                // A frame never announced (tests, or a caller without a cue): in order.
                self.last_sent = Some(pts);
                let mut out = vec![d];
                out.extend(self.release());
                out
            }
        }
    }

    /// Frames held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Everything still held, in order (end of stream).
    pub fn flush(&mut self) -> Vec<RawDetections> {
        for s in &mut self.held {
            s.awaiting = false;
        }
        self.release()
    }

    fn release(&mut self) -> Vec<RawDetections> {
        let mut out = Vec::new();
        while self.held.front().is_some_and(|s| !s.awaiting) {
            let Some(s) = self.held.pop_front() else {
                break;
            };
            let Some(msg) = s.detected.or(s.cue) else {
                continue;
            };
            if self.last_sent.is_some_and(|l| l >= msg.pts_ns) {
                continue;
            }
            self.last_sent = Some(msg.pts_ns);
            out.push(msg);
        }
        // Behind a frame the detector is still on: cue frames older than the limit go.
        let newest = self.held.back().map_or(0, |s| s.pts_ns);
        let limit = self.max_hold_ns;
        let mut dropped = 0;
        self.held.retain(|s| {
            let keep =
                s.awaiting || s.detected.is_some() || newest.saturating_sub(s.pts_ns) <= limit;
            dropped += u64::from(!keep && s.cue.is_some());
            keep
        });
        self.counts.dropped += dropped;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn msg(pts_ms: u64, motion: bool) -> RawDetections {
        RawDetections {
            pts_ns: pts_ms * MS,
            seq: pts_ms / 40,
            classes: vec!["ball".into()],
            detections: vec![],
            inference_us: 0,
            region: None,
            motion,
        }
    }

    fn sent(v: &[RawDetections]) -> Vec<(u64, bool)> {
        v.iter().map(|m| (m.pts_ns / MS, m.motion)).collect()
    }

    #[test]
    fn cue_frames_wait_for_the_detectors_frame_and_follow_it() {
        let mut o = InOrder::new(4000 * MS);
        assert_eq!(sent(&o.frame(0, Some(msg(0, true)), false)), [(0, true)]);
        // The detector takes frame 40; 80 and 120 are held behind it.
        assert!(o.frame(40 * MS, Some(msg(40, true)), true).is_empty());
        assert!(o.frame(80 * MS, Some(msg(80, true)), false).is_empty());
        assert!(o.frame(120 * MS, Some(msg(120, true)), false).is_empty());
        assert_eq!(o.held(), 3);
        // Its result goes in frame 40's place, superseding the cue's.
        let out = o.detected(msg(40, false));
        assert_eq!(sent(&out), [(40, false), (80, true), (120, true)]);
        assert_eq!(o.held(), 0);
        assert_eq!(o.counts, OrderCounts::default());
    }

    #[test]
    fn a_frame_the_detector_skips_lets_the_cue_stand_for_it() {
        let mut o = InOrder::new(4000 * MS);
        assert!(o.frame(40 * MS, Some(msg(40, true)), true).is_empty());
        assert!(o.frame(80 * MS, Some(msg(80, true)), true).is_empty());
        // 40 replaced by 80 in the mailbox: the cue's 40 goes, 80 still waits.
        assert_eq!(sent(&o.skipped(40 * MS)), [(40, true)]);
        assert_eq!(sent(&o.detected(msg(80, false))), [(80, false)]);
    }

    #[test]
    fn without_the_cue_detections_go_out_as_they_come() {
        let mut o = InOrder::new(4000 * MS);
        assert!(o.frame(40 * MS, None, true).is_empty());
        assert_eq!(sent(&o.detected(msg(40, false))), [(40, false)]);
        // A frame never handed over to the detector and no cue: nothing is held.
        assert!(o.frame(80 * MS, None, false).is_empty());
        assert_eq!(o.held(), 0);
        // A skipped frame without cue sightings publishes nothing.
        assert!(o.frame(120 * MS, None, true).is_empty());
        assert!(o.skipped(120 * MS).is_empty());
        assert_eq!(sent(&o.detected(msg(160, false))), [(160, false)]);
        // A slow detector drops nothing when there is no cue.
        let mut o = InOrder::new(100 * MS);
        for t in (0..2000).step_by(40) {
            assert!(o.frame(t * MS, None, true).is_empty());
            if t > 0 {
                assert!(o.skipped((t - 40) * MS).is_empty());
            }
        }
        assert_eq!(o.held(), 1);
        assert_eq!(sent(&o.detected(msg(1960, false))), [(1960, false)]);
        assert_eq!(o.counts, OrderCounts::default());
    }

    #[test]
    fn a_detector_slower_than_the_limit_costs_cue_frames_never_its_result() {
        let mut o = InOrder::new(1000 * MS);
        assert!(o.frame(0, Some(msg(0, true)), true).is_empty());
        for t in (40..=2000).step_by(40) {
            assert!(o.frame(t * MS, Some(msg(t, true)), false).is_empty());
        }
        // Only the last second of cue frames is kept behind the detector's frame.
        assert_eq!(o.held(), 1 + 26);
        assert_eq!(o.counts.dropped, 24);
        let out = o.detected(msg(0, false));
        assert_eq!(sent(&out[..2]), [(0, false), (1000, true)]);
        assert_eq!(out.len(), 27);
        assert_eq!(o.counts.late, 0);
    }

    #[test]
    fn the_end_of_the_stream_flushes_what_is_held() {
        let mut o = InOrder::new(4000 * MS);
        assert!(o.frame(40 * MS, Some(msg(40, true)), true).is_empty());
        assert!(o.frame(80 * MS, Some(msg(80, true)), false).is_empty());
        assert_eq!(sent(&o.flush()), [(40, true), (80, true)]);
    }
}
