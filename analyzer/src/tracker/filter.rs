//! The ball's Kalman filter: state in pitch metres, measurements in panorama pixels.
//!
//! State `[x, y, z, vx, vy, vz]`. Two motion models:
//! - **ground**: rolling on the grass at a uniform deceleration (friction, [`Noise::roll_decel`])
//!   until it stops, `z` pinned to the ball's radius;
//! - **air**: ballistic (gravity on `z`, constant horizontal velocity); a ball that comes
//!   down to the grass switches to ground.
//!
//! The measurement is the detection's pixel position and apparent diameter `(u, v, d)`,
//! projected through the pitch model (extended Kalman filter with a numerical Jacobian).
//! Measuring in pixels rather than in ground metres is what lets a lofted ball be tracked:
//! its ray does not meet the grass where the ball is (or at all, above the horizon), and the
//! diameter is a range cue.

use crate::gates::{Candidate, BALL_DIAMETER_M};
use crate::geom::PitchModel;
use nalgebra::{Matrix3, SMatrix, Vector3, Vector6};
use shared::scene::BALL_RADIUS_M;

pub type State = Vector6<f64>;
pub type Cov = SMatrix<f64, 6, 6>;
type H = SMatrix<f64, 3, 6>;

/// Gravity, m/s^2.
pub const G: f64 = 9.81;
/// Fastest plausible ball, m/s (a guard against a diverging filter).
const MAX_SPEED: f64 = 45.0;

/// Motion model of a hypothesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MotionModel {
    Ground,
    Air,
}

/// Noise settings of the filter.
#[derive(Debug, Clone, Copy)]
pub struct Noise {
    /// Random acceleration on the ground (dribbles, touches), m/s^2.
    pub ground_accel: f64,
    /// Deceleration of a rolling ball (grass friction), m/s^2: a ball coasting unseen slows
    /// down and stops instead of rolling on for ever.
    pub roll_decel: f64,
    /// Random acceleration in the air (drag, spin), m/s^2.
    pub air_accel: f64,
    /// Detection position noise, pixels.
    pub pixel_sigma: f64,
    /// Whether the apparent diameter is used as a measurement.
    pub size_cue: bool,
}

/// A measurement compared with a filter's prediction.
#[derive(Debug, Clone)]
pub struct Innovation {
    pub nu: Vector3<f64>,
    pub s_inv: Matrix3<f64>,
    /// Squared Mahalanobis distance.
    pub d2: f64,
    /// `ln det(2 pi S)`.
    pub ln_det: f64,
    r: Matrix3<f64>,
}

/// Prediction of the measurement for a filter, shared by every candidate of a frame.
#[derive(Debug, Clone)]
pub struct Predicted {
    z: Vector3<f64>,
    h: H,
    /// `H P H'` (without measurement noise).
    hph: Matrix3<f64>,
}

/// One hypothesis' filter.
#[derive(Debug, Clone, PartialEq)]
pub struct BallFilter {
    pub s: State,
    pub p: Cov,
    pub mode: MotionModel,
}

fn cv_noise(dt: f64, sigma: f64, axes: &[usize], q: &mut Cov) {
    let s2 = sigma * sigma;
    for &a in axes {
        q[(a, a)] += s2 * dt.powi(4) / 4.0;
        q[(a, a + 3)] += s2 * dt.powi(3) / 2.0;
        q[(a + 3, a)] += s2 * dt.powi(3) / 2.0;
        q[(a + 3, a + 3)] += s2 * dt * dt;
    }
}

impl BallFilter {
    /// A ball resting on (or rolling over) the grass at `(x, y)`.
    pub fn on_ground(x: f64, y: f64, pos_sigma: f64, vel_sigma: f64) -> BallFilter {
        let mut p = Cov::zeros();
        p[(0, 0)] = pos_sigma * pos_sigma;
        p[(1, 1)] = pos_sigma * pos_sigma;
        p[(3, 3)] = vel_sigma * vel_sigma;
        p[(4, 4)] = vel_sigma * vel_sigma;
        let mut f = BallFilter {
            s: State::new(x, y, BALL_RADIUS_M, 0.0, 0.0, 0.0),
            p,
            mode: MotionModel::Ground,
        };
        f.pin_ground();
        f
    }

    /// A ball in the air at a point.
    pub fn in_air(x: f64, y: f64, z: f64, pos_sigma: f64, vel_sigma: f64) -> BallFilter {
        let mut p = Cov::zeros();
        for i in 0..3 {
            p[(i, i)] = pos_sigma * pos_sigma;
            p[(i + 3, i + 3)] = vel_sigma * vel_sigma;
        }
        BallFilter {
            s: State::new(x, y, z.max(BALL_RADIUS_M), 0.0, 0.0, 0.0),
            p,
            mode: MotionModel::Air,
        }
    }

    /// Sets the velocity of a ball on the grass, with an uncertainty of `sigma` (m/s) along
    /// each axis and none shared with the position.
    pub fn set_ground_velocity(&mut self, vx: f64, vy: f64, sigma: f64) {
        self.s[3] = vx;
        self.s[4] = vy;
        for a in [3, 4] {
            for j in 0..6 {
                self.p[(a, j)] = 0.0;
                self.p[(j, a)] = 0.0;
            }
            self.p[(a, a)] = sigma * sigma;
        }
    }

    fn pin_ground(&mut self) {
        self.s[2] = BALL_RADIUS_M;
        self.s[5] = 0.0;
        for i in 0..6 {
            for j in [2, 5] {
                self.p[(i, j)] = 0.0;
                self.p[(j, i)] = 0.0;
            }
        }
        self.p[(2, 2)] = 1e-6;
        self.p[(5, 5)] = 1e-6;
    }

    /// Moves the filter `dt` seconds ahead.
    pub fn predict(&mut self, dt: f64, noise: &Noise) {
        let mut f = Cov::identity();
        for a in 0..3 {
            f[(a, a + 3)] = dt;
        }
        self.s = f * self.s;
        let mut q = Cov::zeros();
        match self.mode {
            MotionModel::Ground => {
                self.roll(dt, noise.roll_decel);
                cv_noise(dt, noise.ground_accel, &[0, 1], &mut q)
            }
            MotionModel::Air => {
                self.s[2] -= 0.5 * G * dt * dt;
                self.s[5] -= G * dt;
                cv_noise(dt, noise.air_accel, &[0, 1, 2], &mut q);
            }
        }
        self.p = f * self.p * f.transpose() + q;
        match self.mode {
            MotionModel::Ground => self.pin_ground(),
            MotionModel::Air if self.s[2] <= BALL_RADIUS_M && self.s[5] <= 0.0 => {
                // Landed: it rolls on (bounces are left to the kick branches).
                self.mode = MotionModel::Ground;
                self.pin_ground();
            }
            MotionModel::Air => {}
        }
    }

    /// Friction on a rolling ball over `dt` (called after the constant-velocity step): the
    /// position loses `a dt^2 / 2` along the motion, the speed `a dt`, down to a stop.
    fn roll(&mut self, dt: f64, a: f64) {
        let speed = (self.s[3].powi(2) + self.s[4].powi(2)).sqrt();
        if a <= 0.0 || speed < 1e-9 {
            return;
        }
        let (ux, uy) = (self.s[3] / speed, self.s[4] / speed);
        let t = dt.min(speed / a);
        // Back from the constant-velocity step: travelled `speed t - a t^2 / 2` instead of
        // `speed dt`.
        let lost = speed * dt - (speed * t - 0.5 * a * t * t);
        self.s[0] -= ux * lost;
        self.s[1] -= uy * lost;
        let v = speed - a * t;
        self.s[3] = ux * v;
        self.s[4] = uy * v;
    }

    /// Predicted pixel position.
    pub fn pixel(&self, model: &PitchModel) -> (f64, f64) {
        model.to_pixel(self.s[0], self.s[1], self.s[2])
    }

    fn measure(model: &PitchModel, x: f64, y: f64, z: f64) -> Vector3<f64> {
        let (u, v) = model.to_pixel(x, y, z);
        let d = model.diameter_px(BALL_DIAMETER_M, model.range(x, y, z));
        Vector3::new(u, v, d)
    }

    /// The predicted measurement and its Jacobian (once per filter and frame).
    pub fn predicted(&self, model: &PitchModel) -> Predicted {
        let (x, y, z) = (self.s[0], self.s[1], self.s[2]);
        let z0 = Self::measure(model, x, y, z);
        let mut h = H::zeros();
        const EPS: f64 = 1e-3;
        for a in 0..3 {
            let mut p = [x, y, z];
            let mut m = [x, y, z];
            p[a] += EPS;
            m[a] -= EPS;
            let dp = Self::measure(model, p[0], p[1], p[2]);
            let dm = Self::measure(model, m[0], m[1], m[2]);
            let col = (dp - dm) / (2.0 * EPS);
            for r in 0..3 {
                h[(r, a)] = col[r];
            }
        }
        let hph = h * self.p * h.transpose();
        Predicted { z: z0, h, hph }
    }

    /// Compares a candidate with the prediction.
    pub fn innovation(pred: &Predicted, c: &Candidate, noise: &Noise) -> Option<Innovation> {
        let sd = if noise.size_cue {
            0.5 + 0.25 * c.diameter_px
        } else {
            1e3
        };
        let r = Matrix3::from_diagonal(&Vector3::new(
            noise.pixel_sigma.powi(2),
            noise.pixel_sigma.powi(2),
            sd * sd,
        ));
        let s = pred.hph + r;
        let s_inv = s.try_inverse()?;
        let nu = Vector3::new(c.u, c.v, c.diameter_px) - pred.z;
        let d2 = (nu.transpose() * s_inv * nu)[(0, 0)];
        let det = s.determinant();
        if !d2.is_finite() || det <= 0.0 {
            return None;
        }
        let ln_det = 3.0 * (2.0 * std::f64::consts::PI).ln() + det.ln();
        Some(Innovation {
            nu,
            s_inv,
            d2,
            ln_det,
            r,
        })
    }

    /// Kalman update with an accepted innovation (Joseph form, for numerical safety).
    pub fn update(&mut self, pred: &Predicted, inn: &Innovation) {
        let k = self.p * pred.h.transpose() * inn.s_inv;
        self.s += k * inn.nu;
        let ikh = Cov::identity() - k * pred.h;
        self.p = ikh * self.p * ikh.transpose() + k * inn.r * k.transpose();
        self.p = (self.p + self.p.transpose()) * 0.5;
        let speed = (self.s[3].powi(2) + self.s[4].powi(2) + self.s[5].powi(2)).sqrt();
        if speed > MAX_SPEED {
            for i in 3..6 {
                self.s[i] *= MAX_SPEED / speed;
            }
        }
        match self.mode {
            MotionModel::Ground => self.pin_ground(),
            MotionModel::Air => self.s[2] = self.s[2].max(BALL_RADIUS_M),
        }
    }

    /// A copy whose velocity is much less certain: the ball was just kicked. `take_off`
    /// makes it an air ball rising from where it is.
    pub fn kicked(&self, vel_sigma: f64, take_off: bool) -> BallFilter {
        let mut f = self.clone();
        f.p[(3, 3)] += vel_sigma * vel_sigma;
        f.p[(4, 4)] += vel_sigma * vel_sigma;
        if take_off {
            if f.mode == MotionModel::Ground {
                // A ball kicked up rises: a prior on the vertical speed, loose.
                f.mode = MotionModel::Air;
                f.s[5] = 6.0;
                f.p[(2, 2)] = 0.5 * 0.5;
                f.p[(5, 5)] = 6.0 * 6.0;
            } else {
                f.p[(5, 5)] += vel_sigma * vel_sigma;
            }
        } else if f.mode == MotionModel::Air {
            f.mode = MotionModel::Ground;
            f.pin_ground();
        }
        f
    }

    /// Horizontal position uncertainty (one sigma, metres).
    pub fn pos_sigma(&self) -> f64 {
        (self.p[(0, 0)] + self.p[(1, 1)]).max(0.0).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::geometry::Calibration;

    fn model() -> PitchModel {
        PitchModel::new(Calibration::synthetic(1920, 960, 540))
    }

    fn noise() -> Noise {
        Noise {
            ground_accel: 6.0,
            roll_decel: 1.5,
            air_accel: 1.0,
            pixel_sigma: 1.0,
            size_cue: true,
        }
    }

    fn cand(m: &PitchModel, x: f64, y: f64, z: f64) -> Candidate {
        let (u, v) = m.to_pixel(x, y, z);
        Candidate {
            u,
            v,
            diameter_px: m.diameter_px(BALL_DIAMETER_M, m.range(x, y, z)),
            score: 0.9,
            ground: None,
            suppressed: false,
        }
    }

    #[test]
    fn rolling_ball_velocity_converges() {
        let m = model();
        let n = noise();
        let mut f = BallFilter::on_ground(30.0, 20.0, 1.0, 5.0);
        for k in 1..50 {
            f.predict(0.04, &n);
            let t = k as f64 * 0.04;
            let c = cand(&m, 30.0 + 8.0 * t, 20.0 + 3.0 * t, BALL_RADIUS_M);
            let pred = f.predicted(&m);
            let inn = BallFilter::innovation(&pred, &c, &n).unwrap();
            assert!(inn.d2 < 25.0, "step {k}: d2 {}", inn.d2);
            f.update(&pred, &inn);
        }
        assert!(
            (f.s[3] - 8.0).abs() < 0.5 && (f.s[4] - 3.0).abs() < 0.5,
            "{:?}",
            f.s
        );
    }

    #[test]
    fn unseen_rolling_ball_slows_down_and_stops() {
        let n = noise();
        let mut f = BallFilter::on_ground(30.0, 20.0, 0.3, 1.0);
        f.s[3] = 6.0;
        f.predict(1.0, &n);
        assert!((f.s[0] - (30.0 + 6.0 - 0.75)).abs() < 1e-9, "{:?}", f.s);
        assert!((f.s[3] - 4.5).abs() < 1e-9);
        // 4.5 m/s stops after 3 s and 6.75 m more, then stays.
        for _ in 0..10 {
            f.predict(1.0, &n);
        }
        assert!((f.s[0] - (35.25 + 6.75)).abs() < 1e-6, "{:?}", f.s);
        assert!(f.s[3].abs() < 1e-9 && f.s[1] == 20.0);
    }

    #[test]
    fn ballistic_flight_is_followed_in_three_dimensions() {
        let m = model();
        let n = noise();
        // Kicked from (40, 30) towards +x at 12 m/s, 12 m/s up.
        let at = |t: f64| {
            (
                40.0 + 12.0 * t,
                30.0,
                BALL_RADIUS_M + 12.0 * t - 0.5 * G * t * t,
            )
        };
        let mut f = BallFilter::on_ground(40.0, 30.0, 0.3, 1.0).kicked(12.0, true);
        let mut worst_late = 0.0f64;
        for k in 1..55 {
            let t = k as f64 * 0.04;
            f.predict(0.04, &n);
            let (x, y, z) = at(t);
            let pred = f.predicted(&m);
            let inn = BallFilter::innovation(&pred, &cand(&m, x, y, z), &n).unwrap();
            f.update(&pred, &inn);
            if t > 1.0 {
                let e = ((f.s[0] - x).powi(2) + (f.s[1] - y).powi(2) + (f.s[2] - z).powi(2)).sqrt();
                worst_late = worst_late.max(e);
            }
        }
        assert_eq!(f.mode, MotionModel::Air);
        assert!(
            worst_late < 1.5,
            "3D error after 1 s of flight: {worst_late}"
        );
    }
}
