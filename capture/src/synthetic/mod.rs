//! The synthetic pitch: two camera views of a simulated match, rendered from the rig
//! calibration, with ground truth for every frame. The static background is rendered once;
//! the moving people and ball are drawn per frame, so it runs far faster than real time.

mod objects;
mod paint;
mod render;
mod view;

pub use render::{Exposure, ViewRenderer};
pub use view::{CameraView, PanoramaView, View};

use shared::geometry::Calibration;
use shared::image::Nv12Mut;
use shared::scene::{BallSource, GroundTruth, SceneSim};
use shared::time::FrameRate;

/// Both camera views of the simulated match.
pub struct SyntheticWorld {
    cal: Calibration,
    sim: SceneSim,
    cams: [ViewRenderer; 2],
    exposure: [Exposure; 2],
    rate: FrameRate,
    next: u64,
}

impl SyntheticWorld {
    /// Renders the backgrounds of both cameras (takes a moment at large sizes).
    pub fn new(
        cal: &Calibration,
        ball: BallSource,
        seed: u64,
        rate: FrameRate,
        exposure: [Exposure; 2],
    ) -> SyntheticWorld {
        let cams = [0, 1].map(|i| ViewRenderer::new(cal, Box::new(CameraView::new(cal, i))));
        SyntheticWorld {
            cal: cal.clone(),
            sim: SceneSim::new(cal.pitch.clone(), ball, seed),
            cams,
            exposure,
            rate,
            next: 0,
        }
    }

    pub fn calibration(&self) -> &Calibration {
        &self.cal
    }

    pub fn rate(&self) -> FrameRate {
        self.rate
    }

    /// Index of the next frame.
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// Seconds of scripted ball motion.
    pub fn duration_s(&self) -> f64 {
        self.sim.ball_source().duration()
    }

    /// Renders the next frame of both cameras and returns its ground truth. The pts is the
    /// frame's exact time from the start (`rate.pts_of_frame(index)`).
    pub fn render_next(&mut self, left: &mut Nv12Mut<'_>, right: &mut Nv12Mut<'_>) -> GroundTruth {
        let index = self.next;
        let pts = self.rate.pts_of_frame(index);
        self.sim.advance_to(pts as f64 / 1e9);
        let frame = self.sim.frame();
        self.cams[0].render(&frame, self.exposure[0], index * 2, left);
        self.cams[1].render(&frame, self.exposure[1], index * 2 + 1, right);
        self.next += 1;
        GroundTruth::of(&frame, &self.cal, pts)
    }

    /// Ground truth of the next frame without rendering it (the simulation still advances).
    pub fn skip_next(&mut self) -> GroundTruth {
        let pts = self.rate.pts_of_frame(self.next);
        self.sim.advance_to(pts as f64 / 1e9);
        self.next += 1;
        GroundTruth::of(&self.sim.frame(), &self.cal, pts)
    }

    /// The current scene instant (for reference renders).
    pub fn scene_frame(&self) -> shared::scene::SceneFrame {
        self.sim.frame()
    }

    /// The camera renderers (backgrounds, for tests and clean plates).
    pub fn camera(&self, i: usize) -> &ViewRenderer {
        &self.cams[i]
    }

    pub fn exposure(&self) -> [Exposure; 2] {
        self.exposure
    }
}
