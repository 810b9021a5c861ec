//! The operator's camera modes as framing targets (pure logic): `wide`, `left`, `right`,
//! `hold` and `manual` replace the framing wish of every frame from the first one that may
//! still change; the planner then moves there within its speed, acceleration and jerk bounds,
//! as it does for play. `auto` hands back to the framing of play the same way.

use crate::framing::{FrameTarget, FramingMode};
use crate::rig::Rig;
use crate::view::Pose;
use shared::messages::CameraMode;

/// Share of a pitch half's angular width added around it by `left` and `right`.
const HALF_MARGIN: f64 = 0.1;

/// The operator's mode as the planner carries it out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OperatorOverride {
    pub mode: CameraMode,
    /// First plan frame it applies to.
    pub from_k: u64,
    /// The fixed pose it frames (none for `auto`).
    pub pose: Option<Pose>,
}

/// Whether a manual pose lies inside the panorama (a view of it fits somewhere); why not.
pub fn check_manual(rig: &Rig, yaw: f64, pitch: f64, fov: f64) -> Result<(), String> {
    let (lo, hi) = rig.limits.fov_range();
    if !(lo..=hi).contains(&fov) {
        return Err(format!(
            "fov {fov:.1} is outside the usable range {lo:.1}..{hi:.1} degrees"
        ));
    }
    let (plo, phi) = rig.limits.pitch_range(fov);
    if !(plo..=phi).contains(&pitch) {
        return Err(format!(
            "pitch {pitch:.1} is outside {plo:.1}..{phi:.1} degrees at fov {fov:.1}"
        ));
    }
    let (ylo, yhi) = rig.limits.yaw_range(pitch, fov);
    if !(ylo..=yhi).contains(&yaw) {
        return Err(format!(
            "yaw {yaw:.1} is outside {ylo:.1}..{yhi:.1} degrees at pitch {pitch:.1}, fov {fov:.1}"
        ));
    }
    Ok(())
}

/// A fixed view of one half of the pitch (`left`: the half seen on the panorama's left).
fn half_view(rig: &Rig, left: bool) -> Pose {
    let p = &rig.cal.pitch;
    let (l, w) = (p.length_m, p.width_m);
    let lon = |x: f64| rig.lonlat(x, w / 2.0, 0.0).0;
    let (lon0, lon_mid, lon1) = (lon(0.0), lon(l / 2.0), lon(l));
    // The panorama's longitude grows to the right: the left half ends at the smaller one.
    let end = if (lon0 < lon1) == left { lon0 } else { lon1 };
    let (a, b) = (end.min(lon_mid), end.max(lon_mid));
    let x = if (lon0 < lon1) == left {
        l / 4.0
    } else {
        3.0 * l / 4.0
    };
    let pitch = rig.lonlat(x, w / 2.0, 0.0).1;
    let yaw = 0.5 * (a + b);
    let (lo, hi) = rig.limits.fov_range();
    let fov = ((b - a) * (1.0 + HALF_MARGIN)).clamp(lo, hi);
    let fov = fov.min(rig.limits.widest_fov_at(yaw, pitch)).max(lo);
    rig.limits.clamp(Pose { yaw, pitch, fov })
}

/// The pose a mode frames; `current` is the pose of the frame it starts at (for `hold`).
pub fn mode_pose(rig: &Rig, mode: CameraMode, current: Pose) -> Option<Pose> {
    let pose = match mode {
        CameraMode::Auto => return None,
        CameraMode::Wide => rig.wide_pose(),
        CameraMode::Left => half_view(rig, true),
        CameraMode::Right => half_view(rig, false),
        CameraMode::Hold => current,
        CameraMode::Manual { yaw, pitch, fov } => Pose {
            yaw: yaw as f64,
            pitch: pitch as f64,
            fov: fov as f64,
        },
    };
    Some(rig.limits.clamp(pose))
}

/// The framing target of a fixed pose.
pub fn target(pose: Pose, fov_hi: f64) -> FrameTarget {
    FrameTarget {
        mode: FramingMode::Operator,
        lon: pose.yaw,
        lat: pose.pitch,
        ahead_lon: pose.yaw,
        ahead_lat: pose.pitch,
        fov: pose.fov,
        fov_cap: fov_hi,
        uncertain: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::config::SystemConfig;

    fn rig() -> Rig {
        Rig::from_system(&SystemConfig::default()).unwrap()
    }

    #[test]
    fn left_and_right_frame_their_half_of_the_pitch() {
        let r = rig();
        let now = r.wide_pose();
        let left = mode_pose(&r, CameraMode::Left, now).unwrap();
        let right = mode_pose(&r, CameraMode::Right, now).unwrap();
        let wide = mode_pose(&r, CameraMode::Wide, now).unwrap();
        assert!(
            left.yaw < wide.yaw && wide.yaw < right.yaw,
            "{left:?} {wide:?} {right:?}"
        );
        assert!(left.fov < wide.fov && right.fov < wide.fov);
        // Each sees the pitch's end of its side.
        let p = &r.cal.pitch;
        let (end_l, _) = r.lonlat(0.0, p.width_m / 2.0, 0.0);
        let (end_r, _) = r.lonlat(p.length_m, p.width_m / 2.0, 0.0);
        let (end_l, end_r) = (end_l.min(end_r), end_l.max(end_r));
        assert!(left.yaw - left.fov / 2.0 <= end_l + 1.0, "{left:?} {end_l}");
        assert!(
            right.yaw + right.fov / 2.0 >= end_r - 1.0,
            "{right:?} {end_r}"
        );
        for p in [left, right, wide] {
            assert!(r.limits.contains(&p, 1e-6));
        }
    }

    #[test]
    fn hold_keeps_the_current_pose_and_auto_frames_nothing() {
        let r = rig();
        let now = r.limits.clamp(Pose {
            yaw: 3.0,
            pitch: -8.0,
            fov: 30.0,
        });
        assert_eq!(mode_pose(&r, CameraMode::Hold, now), Some(now));
        assert_eq!(mode_pose(&r, CameraMode::Auto, now), None);
    }

    #[test]
    fn manual_poses_outside_the_panorama_are_refused_with_the_axis() {
        let r = rig();
        let w = r.wide_pose();
        check_manual(&r, w.yaw, w.pitch, w.fov).unwrap();
        let e = check_manual(&r, 170.0, w.pitch, 30.0).unwrap_err();
        assert!(e.starts_with("yaw"), "{e}");
        let e = check_manual(&r, w.yaw, 80.0, 30.0).unwrap_err();
        assert!(e.starts_with("pitch"), "{e}");
        let e = check_manual(&r, w.yaw, w.pitch, 179.0).unwrap_err();
        assert!(e.starts_with("fov"), "{e}");
    }
}
