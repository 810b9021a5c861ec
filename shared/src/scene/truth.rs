//! Ground truth per frame: positions in pitch metres and panorama pixels, and whether the
//! ball can be seen (inside a camera's view and not hidden behind a person).

use super::{Role, SceneFrame, Team};
use crate::geometry::Calibration;
use nalgebra::Vector3;

/// Radius of a person's body for occlusion, metres.
pub const BODY_RADIUS_M: f64 = 0.25;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BallTruth {
    pub x_m: f64,
    pub y_m: f64,
    pub z_m: f64,
    pub in_play: bool,
    /// Ball centre in panorama pixels.
    pub px: f64,
    pub py: f64,
    /// Diameter in panorama pixels.
    pub diameter_px: f64,
    /// Seen by a camera and not hidden behind a person.
    pub visible: bool,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PersonTruth {
    pub id: u16,
    pub role: Role,
    pub team: Team,
    pub x_m: f64,
    pub y_m: f64,
    /// Foot point and head top in panorama pixels.
    pub foot_px: f64,
    pub foot_py: f64,
    pub head_py: f64,
}

/// Everything known about one frame.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GroundTruth {
    pub pts_ns: u64,
    pub t_s: f64,
    pub ball: BallTruth,
    pub people: Vec<PersonTruth>,
}

fn hidden_behind(cal: &Calibration, frame: &SceneFrame) -> bool {
    let o = Vector3::new(cal.rig.x_m, cal.rig.y_m, cal.rig.height_m);
    let b = Vector3::new(frame.ball.x, frame.ball.y, frame.ball.z);
    let seg = b - o;
    frame.people.iter().any(|p| {
        // Closest approach of the sight line to the person's vertical axis, in the plane.
        let (dx, dy) = (seg.x, seg.y);
        let len2 = dx * dx + dy * dy;
        if len2 < 1e-9 {
            return false;
        }
        let t = (((p.x - o.x) * dx + (p.y - o.y) * dy) / len2).clamp(0.0, 1.0);
        if t > 0.999 {
            return false;
        }
        let (cx, cy) = (o.x + t * dx, o.y + t * dy);
        let d = ((cx - p.x).powi(2) + (cy - p.y).powi(2)).sqrt();
        let z = o.z + t * seg.z;
        // The ball's own radius counts: a ball half behind a leg is hidden for detection.
        d < BODY_RADIUS_M + super::BALL_RADIUS_M * 0.5 && z < p.height_m && z > 0.0
    })
}

impl GroundTruth {
    pub fn of(frame: &SceneFrame, cal: &Calibration, pts_ns: u64) -> GroundTruth {
        let b = &frame.ball;
        let (px, py) = cal.pitch_to_panorama(b.x, b.y, b.z);
        let dist = ((b.x - cal.rig.x_m).powi(2)
            + (b.y - cal.rig.y_m).powi(2)
            + (b.z - cal.rig.height_m).powi(2))
        .sqrt();
        let diameter_px =
            (2.0 * super::BALL_RADIUS_M / dist).atan().to_degrees() / cal.panorama.deg_per_px();
        let seen = (0..2).any(|i| {
            cal.pitch_to_camera(i, b.x, b.y, b.z)
                .is_some_and(|(u, v)| cal.cameras[i].contains(u, v))
        }) && cal.panorama.contains(px, py);
        let visible = seen && !hidden_behind(cal, frame);
        let people = frame
            .people
            .iter()
            .map(|p| {
                let (fx, fy) = cal.pitch_to_panorama(p.x, p.y, 0.0);
                let (_, hy) = cal.pitch_to_panorama(p.x, p.y, p.height_m);
                PersonTruth {
                    id: p.id,
                    role: p.role,
                    team: p.team,
                    x_m: p.x,
                    y_m: p.y,
                    foot_px: fx,
                    foot_py: fy,
                    head_py: hy,
                }
            })
            .collect();
        GroundTruth {
            pts_ns,
            t_s: frame.t_s,
            ball: BallTruth {
                x_m: b.x,
                y_m: b.y,
                z_m: b.z,
                in_play: b.in_play,
                px,
                py,
                diameter_px,
                visible,
            },
            people,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;
    use crate::geometry::PitchSpec;

    #[test]
    fn ball_behind_a_player_is_not_visible() {
        let cal = Calibration::synthetic(1920, 960, 540);
        let script = BallScript::from_segments(vec![Segment {
            start_s: 0.0,
            duration_s: 10.0,
            from: (40.0, 30.0),
            to: (40.0, 30.0),
            kind: SegmentKind::Still,
        }]);
        let sim = SceneSim::new(PitchSpec::default(), BallSource::Script(script), 1);
        let mut f = sim.frame();
        f.people.truncate(1);
        f.people[0].x = 100.0;
        f.people[0].y = 60.0;
        assert!(GroundTruth::of(&f, &cal, 0).ball.visible);
        // Put the person on the sight line, 1 m in front of the ball.
        let (ox, oy) = (cal.rig.x_m, cal.rig.y_m);
        let (dx, dy) = (40.0 - ox, 30.0 - oy);
        let n = (dx * dx + dy * dy).sqrt();
        f.people[0].x = 40.0 - dx / n;
        f.people[0].y = 30.0 - dy / n;
        let t = GroundTruth::of(&f, &cal, 0);
        assert!(!t.ball.visible);
        assert!(t.ball.diameter_px > 1.0 && t.ball.diameter_px < 20.0);
    }
}
