//! The analyzer as pure logic: one `RawDetections` in, one `Tracks` out (or a counted drop).
//! Time is the frames' `pts_ns`; nothing here reads a clock, sleeps or touches a socket, so
//! the live node, `replay` and the tests run exactly the same code.

use crate::counters::Counters;
use crate::gates::Gates;
use crate::geom::{GeometryError, PitchModel};
use crate::history::History;
use crate::players;
use crate::static_fp::StaticSuppressor;
use crate::tracker::BallTracker;
use shared::config::AnalyzerConfig;
use shared::messages::{RawDetections, Tracks};

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
    }

    /// Analyses one frame. Duplicates and frames a little out of order are dropped and
    /// counted; a large step back in `pts_ns` is a capture restart: everything is reset and
    /// the frame is analysed on the new time line.
    pub fn process(&mut self, frame: &RawDetections) -> Outcome {
        self.counters.frames_in += 1;
        let pts = frame.pts_ns;
        let dt_s = match self.last_pts {
            None => 0.04,
            Some(last) if pts == last => {
                self.counters.duplicate_frames += 1;
                return Outcome::Dropped(Dropped::Duplicate);
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
                    0.04
                } else {
                    self.counters.out_of_order_frames += 1;
                    return Outcome::Dropped(Dropped::OutOfOrder);
                }
            }
            Some(last) => (pts - last) as f64 * 1e-9,
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
        let report = self
            .tracker
            .step(pts, dt_s, &cands.balls, &self.model, &mut self.counters);
        // Learn from what stays put and is not the moving ball.
        let points: Vec<(f64, f64)> = cands
            .balls
            .iter()
            .zip(&report.exempt)
            .filter(|(_, exempt)| !**exempt)
            .filter_map(|(c, _)| c.ground)
            .collect();
        self.suppressor.observe(&points, dt_s, pts);
        let tracks = Tracks {
            pts_ns: pts,
            ball: report.ball,
            players: players::summarize(&cands.players),
        };
        self.counters.history_evicted += self.history.push(tracks.clone());
        self.counters.frames_analysed += 1;
        Outcome::Analysed(tracks)
    }
}
