//! What capture throws away, in the shared vocabulary (`shared::discard`): camera frames the
//! engine was too far behind for or could not use, pairs without a free pool buffer, frames
//! pushed out of a full delay ring, camera keyframes that came after their frame was shown,
//! and the detector's frames superseded by newer ones, detections over the cap, balls the
//! ball verifier turned down and results that came too late. The node adds its sockets' losses.

use shared::artefacts::{DetectorStats, EngineStats};
use shared::discard::{Discards, Reason};
use shared::messages::PlayoutStatus;

/// The discards of the engine, the detector stage (if any) and playout.
pub fn capture_discards(
    engine: &EngineStats,
    detector: Option<&DetectorStats>,
    playout: &PlayoutStatus,
) -> Discards {
    let mut d = Discards::default();
    d.add(
        "ingest",
        Reason::QueueFull,
        engine.ingest_dropped.iter().sum(),
    )
    .add("ingest", Reason::Malformed, engine.bad_frames)
    .add("stitch", Reason::NoBuffer, engine.pool_exhausted)
    .add("ring", Reason::QueueFull, playout.frames_dropped)
    .add("poses", Reason::TooLate, playout.frames_late);
    if let Some(s) = detector {
        d.add("detector", Reason::Superseded, s.skipped_busy)
            .add("detector", Reason::OverCap, s.truncated)
            .add("detector", Reason::OutOfOrder, s.late)
            .add("ball_verifier", Reason::Rejected, s.verifier_rejected)
            .add("motion", Reason::TooLate, s.motion_dropped);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drop_counter_is_a_discard() {
        let engine = EngineStats {
            ingest_dropped: [2, 3],
            bad_frames: 1,
            pool_exhausted: 4,
            ..EngineStats::default()
        };
        let detector = DetectorStats {
            skipped_busy: 6,
            truncated: 7,
            late: 8,
            motion_dropped: 9,
            verifier_rejected: 12,
            ..DetectorStats::default()
        };
        let playout = PlayoutStatus {
            frames_dropped: 10,
            frames_late: 11,
            ..PlayoutStatus::default()
        };
        let d = capture_discards(&engine, Some(&detector), &playout);
        assert_eq!(d.get("ingest", Reason::QueueFull), 5);
        assert_eq!(d.get("ring", Reason::QueueFull), 10);
        assert_eq!(d.get("poses", Reason::TooLate), 11);
        assert_eq!(d.total(), 5 + 1 + 4 + 10 + 11 + 6 + 7 + 8 + 9 + 12);
        assert_eq!(
            d.lost(),
            5 + 1 + 4 + 10 + 11 + 8 + 9,
            "superseded detector frames, capped detections and balls the verifier turned down are rules"
        );
        let without = capture_discards(&engine, None, &playout);
        assert_eq!(without.get("detector", Reason::Superseded), 0);
    }
}
