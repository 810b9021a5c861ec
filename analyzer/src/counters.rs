//! Counters of everything the analyzer receives, drops or decides: exposed by the pipeline,
//! logged once per interval by the node and printed by `replay`.

use serde::{Deserialize, Serialize};
use shared::discard::{Discards, Reason};

/// Running totals since the analyzer started (or since a replay began).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// `RawDetections` messages handed to the pipeline.
    pub frames_in: u64,
    /// Frames analysed (a `Tracks` was produced).
    pub frames_analysed: u64,
    /// Of which the detector looked at part of the panorama only (`RawDetections.region`):
    /// their players are the last full sweep's, and the static false-positive memory does not
    /// learn from them.
    pub partial_frames: u64,
    /// Frames of the motion cue (`RawDetections.motion`): only a moving ball was looked for.
    /// Like partial frames they keep the last players and teach the static memory nothing,
    /// and a frame without a ball costs a track nothing.
    pub motion_frames: u64,
    /// Frames dropped because their `pts_ns` equalled the previous one.
    pub duplicate_frames: u64,
    /// Frames dropped because their `pts_ns` went back a little (out of order).
    pub out_of_order_frames: u64,
    /// Times `pts_ns` went back by more than `restart_backwards_ms`: a capture restart;
    /// the tracker was reset.
    pub capture_restarts: u64,
    /// Detections with non-finite or impossible values (NaN, negative size, score outside
    /// [0, 1]) or a class index outside the class list.
    pub malformed_detections: u64,
    /// Detections of classes the analyzer does not use (e.g. referees).
    pub other_class_detections: u64,
    /// Detections beyond `max_candidates` per class and frame (lowest scores dropped).
    pub candidates_capped: u64,
    /// Detections removed by cross-tile non-maximum suppression.
    pub nms_suppressed: u64,
    /// Ball candidates below `ball_min_score`; players below `player_min_score`.
    pub below_score: u64,
    /// Candidates whose box shape is not a ball's (aspect ratio).
    pub aspect_rejected: u64,
    /// Candidates whose size in metres fits no position along their viewing ray.
    pub size_rejected: u64,
    /// Candidates outside the field mask.
    pub outside_field: u64,
    /// Ball candidates in a cell learnt as a static false positive.
    pub static_suppressed: u64,
    /// Ball candidates accepted by the gates.
    pub ball_candidates: u64,
    /// Frames whose ball status was tracked / predicted / lost.
    pub ball_tracked: u64,
    pub ball_predicted: u64,
    pub ball_lost: u64,
    /// Times the reported ball track changed to another track.
    pub track_switches: u64,
    /// New tracks started from unexplained candidates.
    pub tracks_started: u64,
    /// Of those, started in the motion cue's frames by a ball seen moving fast on a line
    /// (three sightings: `tracker::moving_seed`).
    pub tracks_started_moving: u64,
    /// Tracks dropped (lost too long, never confirmed, or pruned for room).
    pub tracks_ended: u64,
    /// Tracks dropped from the snapshot history because they were too old.
    pub history_evicted: u64,
}

impl Counters {
    /// What the pipeline threw away, in the shared vocabulary (`shared::discard`): frames
    /// repeated or out of order, malformed detections, candidates over the cap or
    /// suppressed as overlapping, and candidates refused by each gate.
    pub fn discards(&self) -> Discards {
        let mut d = Discards::default();
        d.add("frames", Reason::Duplicate, self.duplicate_frames)
            .add("frames", Reason::OutOfOrder, self.out_of_order_frames)
            .add("detections", Reason::Malformed, self.malformed_detections)
            .add("candidates", Reason::OverCap, self.candidates_capped)
            .add("nms", Reason::Duplicate, self.nms_suppressed)
            .add("gate_score", Reason::Rejected, self.below_score)
            .add("gate_aspect", Reason::Rejected, self.aspect_rejected)
            .add("gate_size", Reason::Rejected, self.size_rejected)
            .add("gate_field", Reason::Rejected, self.outside_field)
            .add("gate_static", Reason::Rejected, self.static_suppressed);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drop_counter_is_a_discard() {
        let c = Counters {
            duplicate_frames: 1,
            out_of_order_frames: 2,
            malformed_detections: 3,
            candidates_capped: 4,
            nms_suppressed: 5,
            below_score: 6,
            aspect_rejected: 7,
            size_rejected: 8,
            outside_field: 9,
            static_suppressed: 10,
            ..Counters::default()
        };
        let d = c.discards();
        assert_eq!(d.total(), 55);
        assert_eq!(d.get("frames", Reason::OutOfOrder), 2);
        assert_eq!(d.get("gate_static", Reason::Rejected), 10);
        assert_eq!(
            d.lost(),
            2 + 3,
            "out of order and malformed are losses; repeats, caps and gates are rules"
        );
    }
}
