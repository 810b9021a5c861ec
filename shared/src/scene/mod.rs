//! The synthetic match: ball and people moving on the pitch, with ground truth. Pure logic
//! (no pixels): capture renders it, the analyzer and the director use it to make test
//! streams with known truth.
//!
//! Ball motion comes from a scripted [`Scenario`] or a trajectory file (`t_s,x_m,y_m,z_m`);
//! players move plausibly towards the ball (formation shifted with the ball, the nearest
//! players chase it, referees follow the play). Everything is deterministic for a seed.

mod ball;
mod people;
mod trajectory;
mod truth;

pub use ball::{BallScript, Scenario, Segment, SegmentKind};
pub use people::{Person, Role, Team};
pub use trajectory::{Trajectory, TrajectoryError};
pub use truth::{BallTruth, GroundTruth, PersonTruth};

use crate::geometry::PitchSpec;

/// Ball position and whether it is in play.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BallPos {
    pub x: f64,
    pub y: f64,
    /// Height of the ball's centre above the grass, metres.
    pub z: f64,
    pub in_play: bool,
}

/// Where the ball comes from.
#[derive(Debug, Clone)]
pub enum BallSource {
    Script(BallScript),
    File(Trajectory),
}

impl BallSource {
    pub fn at(&self, t: f64) -> BallPos {
        match self {
            BallSource::Script(s) => s.at(t),
            BallSource::File(f) => f.at(t),
        }
    }

    pub fn duration(&self) -> f64 {
        match self {
            BallSource::Script(s) => s.duration(),
            BallSource::File(f) => f.duration(),
        }
    }
}

/// One instant of the match.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneFrame {
    pub t_s: f64,
    pub ball: BallPos,
    pub people: Vec<Person>,
}

/// The match simulation, stepped one frame at a time.
#[derive(Debug, Clone)]
pub struct SceneSim {
    pitch: PitchSpec,
    ball: BallSource,
    people: Vec<Person>,
    t: f64,
}

/// Radius of the ball, metres.
pub const BALL_RADIUS_M: f64 = 0.11;

impl SceneSim {
    pub fn new(pitch: PitchSpec, ball: BallSource, seed: u64) -> SceneSim {
        let b = ball.at(0.0);
        let people = people::kick_off(&pitch, b.x, b.y, seed);
        SceneSim {
            pitch,
            ball,
            people,
            t: 0.0,
        }
    }

    /// The current instant.
    pub fn frame(&self) -> SceneFrame {
        SceneFrame {
            t_s: self.t,
            ball: self.ball.at(self.t),
            people: self.people.clone(),
        }
    }

    /// Advances the simulation to time `t` (seconds, not before the current time).
    pub fn advance_to(&mut self, t: f64) {
        // Fixed sub-steps keep the people's motion independent of the frame rate.
        const DT: f64 = 0.02;
        while self.t + 1e-9 < t {
            let dt = DT.min(t - self.t);
            let ball = self.ball.at(self.t);
            people::step(&mut self.people, &self.pitch, &ball, dt);
            self.t += dt;
        }
    }

    pub fn time(&self) -> f64 {
        self.t
    }

    pub fn ball_source(&self) -> &BallSource {
        &self.ball
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        let mk = || {
            let script = BallScript::generate(Scenario::Mixed, 60.0, 3, &PitchSpec::default());
            let mut s = SceneSim::new(PitchSpec::default(), BallSource::Script(script), 3);
            s.advance_to(30.0);
            s.frame()
        };
        assert_eq!(mk(), mk());
    }

    #[test]
    fn twenty_two_players_and_three_referees() {
        let script = BallScript::generate(Scenario::Passes, 10.0, 1, &PitchSpec::default());
        let s = SceneSim::new(PitchSpec::default(), BallSource::Script(script), 1);
        let f = s.frame();
        let players = f.people.iter().filter(|p| p.role == Role::Player).count();
        let refs = f.people.iter().filter(|p| p.role != Role::Player).count();
        assert_eq!((players, refs), (22, 3));
    }

    #[test]
    fn people_stay_plausible_over_a_long_match() {
        let pitch = PitchSpec::default();
        let script = BallScript::generate(Scenario::Mixed, 600.0, 9, &pitch);
        let mut s = SceneSim::new(pitch.clone(), BallSource::Script(script), 9);
        let mut prev = s.frame();
        for k in 1..=600 * 5 {
            s.advance_to(k as f64 * 0.2);
            let f = s.frame();
            for (a, b) in prev.people.iter().zip(&f.people) {
                let d = ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt();
                assert!(d <= people::MAX_SPEED_MPS * 0.2 + 1e-6, "teleport {d}");
                assert!(pitch.contains(b.x, b.y, 5.0), "{b:?} left the pitch");
            }
            prev = f;
        }
    }
}
