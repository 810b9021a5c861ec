//! The analyzer as pure logic: one `RawDetections` in, one `Tracks` out (or a counted drop).
//! Time is the frames' `pts_ns`; nothing here reads a clock, sleeps or touches a socket, so
//! the live node, `replay` and the tests run exactly the same code.

use crate::counters::Counters;
use crate::gates::Gates;
use crate::geom::{GeometryError, PitchModel};
use crate::history::History;
use crate::players;
use crate::static_fp::StaticSuppressor;
use crate::tracker::{BallTracker, Looked};
use shared::config::AnalyzerConfig;
use shared::messages::{PlayersSummary, RawDetections, Tracks};

/// Why a frame was not analysed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Same `pts_ns` as the previous frame.
    Duplicate,
    /// `pts_ns` went back a little: late or reordered.
    OutOfOrder,
}

/// Result of offering a frame to the analyzer.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Analysed(Tracks),
    Dropped(Dropped),
}

/// The whole analysis chain.
#[derive(Debug, Clone)]
pub struct Analyzer {
    model: PitchModel,
    gates: Gates,
    suppressor: StaticSuppressor,
    tracker: BallTracker,
    history: History,
    counters: Counters,
    restart_backwards_ns: u64,
    last_pts: Option<u64>,
    /// Players and time of the last frame analysed whole, for frames analysed in part.
    last_players: Option<PlayersSummary>,
    last_whole_pts: Option<u64>,
}

impl Analyzer {
    /// With the calibration the config names (or the built-in synthetic rig).
    pub fn from_config(cfg: &AnalyzerConfig) -> Result<Analyzer, GeometryError> {
        Ok(Analyzer::new(cfg, PitchModel::from_config(cfg)?))
    }

    pub fn new(cfg: &AnalyzerConfig, model: PitchModel) -> Analyzer {
        Analyzer {
            gates: Gates::new(cfg, &model),
            suppressor: StaticSuppressor::new(
                cfg.static_cell_m as f64,
                cfg.static_learn_s as f64,
                cfg.static_forget_s as f64,
            ),
            tracker: BallTracker::new(cfg, &model),
            history: History::new(cfg.history_s as f64),
            counters: Counters::default(),
            restart_backwards_ns: cfg.restart_backwards_ms * 1_000_000,
            last_pts: None,
            last_players: None,
            last_whole_pts: None,
            model,
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn model(&self) -> &PitchModel {
        &self.model
    }

    pub fn tracker(&self) -> &BallTracker {
        &self.tracker
    }

    pub fn suppressor(&self) -> &StaticSuppressor {
        &self.suppressor
    }

    /// Starts over on a new time line (capture restarted).
    fn reset(&mut self) {
        self.tracker.reset();
        self.suppressor.clear();
        self.history.clear();
        self.last_pts = None;
        self.last_players = None;
        self.last_whole_pts = None;
    }

    /// Analyses one frame. Duplicates and frames a little out of order are dropped and
    /// counted; a large step back in `pts_ns` is a capture restart: everything is reset and
    /// the frame is analysed on the new time line.
    pub fn process(&mut self, frame: &RawDetections) -> Outcome {
        self.counters.frames_in += 1;
        let pts = frame.pts_ns;
        let dt_s = match self.time_step(pts) {
            Ok(dt_s) => dt_s,
            Err(d) => return Outcome::Dropped(d),
        };
        self.last_pts = Some(pts);
        let mut cands = self.gates.apply(frame, &self.model, &mut self.counters);
        for c in &mut cands.balls {
            if let Some((x, y)) = c.ground {
                if self.suppressor.is_suppressed(x, y, pts) {
                    c.suppressed = true;
                    self.counters.static_suppressed += 1;
                }
            }
        }
        let looked = match frame.region {
            _ if frame.motion => Looked::Motion,
            Some([x, y, w, h]) => Looked::Region([x as f64, y as f64, w as f64, h as f64]),
            None => Looked::Whole,
        };
        let report = self.tracker.step_frame(
            pts,
            dt_s,
            &cands.balls,
            looked,
            &self.model,
            &mut self.counters,
        );
        let partial = frame.region.is_some() || frame.motion;
        let players = if partial {
            // The detector looked only around the ball, or the motion cue only for a moving
            // ball: no news of the players.
            if frame.motion {
                self.counters.motion_frames += 1;
            } else {
                self.counters.partial_frames += 1;
            }
            self.last_players.clone()
        } else {
            // Learn from what stays put and is not the moving ball (a partial frame would
            // look like everything outside it went away).
            let points: Vec<(f64, f64)> = cands
                .balls
                .iter()
                .zip(&report.exempt)
                .filter(|(_, exempt)| !**exempt)
                .filter_map(|(c, _)| c.ground)
                .collect();
            let whole_dt_s = self
                .last_whole_pts
                .map_or(dt_s, |last| pts.saturating_sub(last) as f64 * 1e-9);
            self.last_whole_pts = Some(pts);
            self.suppressor.observe(&points, whole_dt_s, pts);
            self.last_players = players::summarize(&cands.players);
            self.last_players.clone()
        };
        let tracks = Tracks {
            pts_ns: pts,
            ball: report.ball,
            players,
        };
        self.counters.history_evicted += self.history.push(tracks.clone());
        self.counters.frames_analysed += 1;
        Outcome::Analysed(tracks)
    }

    /// Seconds since the last frame, or why this frame is dropped (a duplicate, a frame a
    /// little out of order); a large step back is a capture restart and resets everything.
    fn time_step(&mut self, pts: u64) -> Result<f64, Dropped> {
        match self.last_pts {
            None => Ok(0.04),
            Some(last) if pts == last => {
                self.counters.duplicate_frames += 1;
                Err(Dropped::Duplicate)
            }
            Some(last) if pts < last => {
                if last - pts > self.restart_backwards_ns {
                    self.counters.capture_restarts += 1;
                    tracing::info!(
                        message = "Capture restarted (pts went back); tracker reset.",
                        last_pts_ns = last,
                        pts_ns = pts
                    );
                    self.reset();
                    Ok(0.04)
                } else {
                    self.counters.out_of_order_frames += 1;
                    Err(Dropped::OutOfOrder)
                }
            }
            Some(last) => Ok((pts - last) as f64 * 1e-9),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{DetectorFaults, StreamSpec, SynthStream};
    use shared::geometry::Calibration;
    use shared::messages::TrackStatus;
    use shared::scene::Scenario;

    fn tracks(a: &mut Analyzer, f: &RawDetections) -> Tracks {
        match a.process(f) {
            Outcome::Analysed(t) => t,
            Outcome::Dropped(d) => panic!("dropped: {d:?}"),
        }
    }

    #[test]
    fn a_frame_analysed_in_part_keeps_the_players_of_the_last_whole_one() {
        let cal = Calibration::synthetic(1920, 960, 540);
        let frames: Vec<RawDetections> = SynthStream::new(
            StreamSpec {
                scenario: Scenario::Passes,
                duration_s: 1.0,
                rate_hz: 25.0,
                seed: 3,
                faults: DetectorFaults::default(),
            },
            &cal,
        )
        .map(|f| f.dets)
        .take(3)
        .collect();
        let mut a = Analyzer::new(&AnalyzerConfig::default(), PitchModel::new(cal));
        let whole = tracks(&mut a, &frames[0]);
        assert!(whole.players.as_ref().is_some_and(|p| p.count > 0));
        // The detector looked at one tile around the ball: no players there.
        let mut part = frames[1].clone();
        part.detections
            .retain(|d| part.classes[d.class_id as usize] == "ball");
        part.region = Some([640, 0, 640, 640]);
        let t = tracks(&mut a, &part);
        assert_eq!(t.players, whole.players);
        assert_eq!(a.counters().partial_frames, 1);
        // The same frame seen whole would have said "nobody".
        let mut b = Analyzer::new(
            &AnalyzerConfig::default(),
            PitchModel::new(Calibration::synthetic(1920, 960, 540)),
        );
        let _ = tracks(&mut b, &frames[0]);
        part.region = None;
        assert_eq!(tracks(&mut b, &part).players, None);
        // A whole frame again brings fresh players.
        let t = tracks(&mut a, &frames[2]);
        assert!(t.players.is_some_and(|p| p.count > 0));
        assert_eq!(a.counters().partial_frames, 1);
    }

    #[test]
    fn the_motion_cues_frames_continue_a_ball_but_neither_lose_nor_start_one() {
        let cal = Calibration::synthetic(1920, 960, 540);
        let frames: Vec<RawDetections> = SynthStream::new(
            StreamSpec {
                scenario: Scenario::Passes,
                duration_s: 2.0,
                rate_hz: 25.0,
                seed: 3,
                faults: DetectorFaults::default(),
            },
            &cal,
        )
        .map(|f| f.dets)
        .collect();
        let mut a = Analyzer::new(&AnalyzerConfig::default(), PitchModel::new(cal));
        let mut last = None;
        for f in &frames[..10] {
            last = Some(tracks(&mut a, f));
        }
        let whole = last.unwrap();
        assert!(whole.ball.is_some() && whole.players.is_some());
        let started = a.counters().tracks_started;
        // The cue sees nothing of the ball for a second, but a white thing at the other end.
        let far_x = if whole.ball.as_ref().unwrap().px < 960.0 {
            1750.0
        } else {
            170.0
        };
        for f in &frames[10..35] {
            let mut m = f.clone();
            let ball = m.classes.iter().position(|c| c == "ball").unwrap() as u16;
            m.detections.retain(|d| d.class_id == ball);
            m.detections.truncate(1);
            for d in &mut m.detections {
                d.cx = far_x;
                d.cy = 300.0;
                d.score = 0.5;
            }
            m.motion = true;
            let t = tracks(&mut a, &m);
            let b = t.ball.expect("the ball is still reported");
            assert_eq!(b.status, TrackStatus::Predicted);
            assert_eq!(t.players, whole.players, "no news of the players");
        }
        assert_eq!(a.counters().motion_frames, 25);
        assert_eq!(
            a.counters().tracks_started,
            started,
            "the cue starts no track"
        );
        // The detector's next frame measures the same ball again.
        let t = tracks(&mut a, &frames[35]);
        assert_eq!(t.ball.map(|b| b.status), Some(TrackStatus::Tracked));
        assert_eq!(a.counters().track_switches, 0);
    }
}
