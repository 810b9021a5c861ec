//! Camera poses: the store of keyframes fed by camera paths, and the follower that turns it
//! into one pose per output frame, with the fallback (hold, then ease to a wide shot at a
//! bounded angular speed) and a blend back into returning paths, never a jump.

use shared::messages::{CameraPath, Keyframe};
use std::collections::BTreeMap;

/// A virtual camera pose (pan, tilt, horizontal field of view): the shared one.
pub use shared::geometry::view::Pose;

/// Keyframes by pts.
#[derive(Debug, Default)]
pub struct PoseStore {
    keys: BTreeMap<u64, Pose>,
    /// Largest gap between keyframes still interpolated across (a longer gap is "no path").
    max_gap_ns: u64,
    /// Paths received and keyframes dropped because their frames were already shown.
    pub paths: u64,
    pub late_keyframes: u64,
}

impl PoseStore {
    pub fn new(max_gap_ns: u64) -> PoseStore {
        PoseStore {
            keys: BTreeMap::new(),
            max_gap_ns,
            paths: 0,
            late_keyframes: 0,
        }
    }

    /// Applies a path: from its first pts on, it replaces every keyframe not yet shown
    /// (`shown_pts` is the newest frame already rendered).
    pub fn apply(&mut self, path: &CameraPath, shown_pts: Option<u64>) {
        self.paths += 1;
        let mut ks: Vec<&Keyframe> = path
            .keyframes
            .iter()
            .filter(|k| k.yaw.is_finite() && k.pitch.is_finite() && k.fov.is_finite())
            .collect();
        ks.sort_by_key(|k| k.pts_ns);
        let Some(first) = ks.first().map(|k| k.pts_ns) else {
            return;
        };
        let floor = shown_pts.map(|s| s + 1).unwrap_or(0);
        let from = first.max(floor);
        self.keys.retain(|&p, _| p < from);
        for k in ks {
            if k.pts_ns < floor {
                self.late_keyframes += 1;
                continue;
            }
            self.keys.insert(k.pts_ns, Pose::from_keyframe(k));
        }
    }

    /// Forgets keyframes before `pts` except the last one (still needed to interpolate).
    pub fn prune_before(&mut self, pts: u64) {
        let keep_from = self.keys.range(..=pts).next_back().map(|(&p, _)| p);
        if let Some(k) = keep_from {
            self.keys.retain(|&p, _| p >= k);
        }
    }

    /// The path's pose at `pts`, if the path covers it.
    pub fn pose_at(&self, pts: u64) -> Option<Pose> {
        let before = self.keys.range(..=pts).next_back();
        let after = self.keys.range(pts..).next();
        match (before, after) {
            (Some((&p0, a)), Some((&p1, b))) => {
                if p0 == p1 {
                    Some(*a)
                } else if p1 - p0 <= self.max_gap_ns {
                    Some(Pose::lerp(a, b, (pts - p0) as f64 / (p1 - p0) as f64))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Behaviour when the path is missing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FallbackSettings {
    /// Hold the last pose this long before easing to the wide shot, ns.
    pub hold_ns: u64,
    /// The safe wide shot.
    pub wide: Pose,
    /// Angular speed limit while easing to the wide shot, degrees per second.
    pub fallback_speed_deg_s: f64,
    /// Angular speed limit while blending back into a path, degrees per second.
    pub blend_speed_deg_s: f64,
}

/// What the follower is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowState {
    Following,
    Blending,
    Holding,
    Fallback,
}

/// Produces one pose per output frame.
#[derive(Debug)]
pub struct PoseFollower {
    settings: FallbackSettings,
    last: Pose,
    last_pts: Option<u64>,
    state: FollowState,
    /// pts of the last frame a path covered.
    path_seen_pts: Option<u64>,
    /// While blending: output = path pose + this offset, which shrinks to zero at a bounded
    /// speed (so a moving path is joined in finite time, without a jump).
    blend_offset: Pose,
}

fn approach(from: f64, to: f64, max_step: f64) -> f64 {
    let d = to - from;
    // Ease in the last degrees, never faster than the bound.
    let step = (d * 0.25).clamp(-max_step, max_step);
    if d.abs() <= 0.02 {
        to
    } else if step.abs() < 0.02 {
        from + 0.02_f64.copysign(d).clamp(-d.abs(), d.abs())
    } else {
        from + step
    }
}

impl PoseFollower {
    pub fn new(settings: FallbackSettings) -> PoseFollower {
        PoseFollower {
            last: settings.wide,
            settings,
            last_pts: None,
            state: FollowState::Fallback,
            path_seen_pts: None,
            blend_offset: Pose {
                yaw: 0.0,
                pitch: 0.0,
                fov: 0.0,
            },
        }
    }

    pub fn state(&self) -> FollowState {
        self.state
    }

    /// True while no path drives the camera.
    pub fn fallback_active(&self) -> bool {
        matches!(self.state, FollowState::Holding | FollowState::Fallback)
    }

    /// The pose for the frame at `pts` given the path's pose there (if any).
    pub fn next(&mut self, pts: u64, path: Option<Pose>) -> Pose {
        let dt = self.last_pts.map(|l| pts.saturating_sub(l)).unwrap_or(0) as f64 / 1e9;
        self.last_pts = Some(pts);
        let out = match path {
            Some(p) => {
                self.path_seen_pts = Some(pts);
                if self.state == FollowState::Following || self.last.max_delta(&p) <= 0.02 {
                    self.state = FollowState::Following;
                    p
                } else {
                    if self.state != FollowState::Blending {
                        self.state = FollowState::Blending;
                        self.blend_offset = Pose {
                            yaw: self.last.yaw - p.yaw,
                            pitch: self.last.pitch - p.pitch,
                            fov: self.last.fov - p.fov,
                        };
                    }
                    let m = self.settings.blend_speed_deg_s * dt;
                    let o = &mut self.blend_offset;
                    o.yaw = approach(o.yaw, 0.0, m);
                    o.pitch = approach(o.pitch, 0.0, m);
                    o.fov = approach(o.fov, 0.0, m);
                    if o.yaw == 0.0 && o.pitch == 0.0 && o.fov == 0.0 {
                        self.state = FollowState::Following;
                    }
                    Pose {
                        yaw: p.yaw + o.yaw,
                        pitch: p.pitch + o.pitch,
                        fov: p.fov + o.fov,
                    }
                }
            }
            None => {
                let since = self.path_seen_pts.map(|s| pts.saturating_sub(s));
                if since.is_some_and(|s| s < self.settings.hold_ns) {
                    self.state = FollowState::Holding;
                    self.last
                } else {
                    self.state = FollowState::Fallback;
                    let m = self.settings.fallback_speed_deg_s * dt;
                    let w = self.settings.wide;
                    Pose {
                        yaw: approach(self.last.yaw, w.yaw, m),
                        pitch: approach(self.last.pitch, w.pitch, m),
                        fov: approach(self.last.fov, w.fov, m),
                    }
                }
            }
        };
        self.last = out;
        out
    }

    pub fn last(&self) -> Pose {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: u64 = 40_000_000;

    fn kf(pts: u64, yaw: f32) -> Keyframe {
        Keyframe {
            pts_ns: pts,
            yaw,
            pitch: -10.0,
            fov: 40.0,
        }
    }

    fn path(id: u64, keys: Vec<Keyframe>) -> CameraPath {
        CameraPath {
            path_id: id,
            keyframes: keys,
        }
    }

    fn settings() -> FallbackSettings {
        FallbackSettings {
            hold_ns: 1_000_000_000,
            wide: Pose {
                yaw: 0.0,
                pitch: -15.0,
                fov: 90.0,
            },
            fallback_speed_deg_s: 20.0,
            blend_speed_deg_s: 40.0,
        }
    }

    #[test]
    fn blending_joins_a_moving_path_in_finite_time() {
        let st = settings();
        let mut f = PoseFollower::new(st);
        let mut prev = f.last();
        for i in 0..400u64 {
            let p = Pose {
                yaw: -20.0 + 0.2 * i as f64,
                pitch: -10.0,
                fov: 40.0,
            };
            let o = f.next(i * F, Some(p));
            let bound = st.blend_speed_deg_s * F as f64 / 1e9 + 0.2 + 1e-9;
            assert!(o.max_delta(&prev) <= bound, "step {}", o.max_delta(&prev));
            prev = o;
        }
        assert_eq!(f.state(), FollowState::Following);
    }

    #[test]
    fn interpolates_between_keyframes() {
        let mut s = PoseStore::new(2_000_000_000);
        s.apply(&path(1, vec![kf(0, 0.0), kf(4 * F, 8.0)]), None);
        assert_eq!(s.pose_at(F).unwrap().yaw, 2.0);
        assert_eq!(s.pose_at(4 * F).unwrap().yaw, 8.0);
        assert!(s.pose_at(5 * F).is_none());
    }

    #[test]
    fn newer_path_replaces_unshown_keyframes_from_its_first_pts() {
        let mut s = PoseStore::new(2_000_000_000);
        s.apply(&path(1, (0..10).map(|i| kf(i * F, 1.0)).collect()), None);
        // Frames up to 3F were shown; the new path starts at 2F: 2F and 3F are kept.
        s.apply(
            &path(2, (2..12).map(|i| kf(i * F, 5.0)).collect()),
            Some(3 * F),
        );
        assert_eq!(s.pose_at(3 * F).unwrap().yaw, 1.0);
        assert_eq!(s.pose_at(4 * F).unwrap().yaw, 5.0);
        assert_eq!(s.pose_at(11 * F).unwrap().yaw, 5.0);
        assert_eq!(s.late_keyframes, 2);
        s.prune_before(5 * F);
        assert!(s.pose_at(5 * F).is_some());
        assert!(s.pose_at(4 * F).is_none());
    }

    #[test]
    fn gaps_longer_than_the_limit_are_not_covered() {
        let mut s = PoseStore::new(F * 5);
        s.apply(&path(1, vec![kf(0, 0.0), kf(20 * F, 8.0)]), None);
        assert!(s.pose_at(10 * F).is_none());
    }

    #[test]
    fn fallback_holds_then_eases_with_bounded_speed_and_blends_back_without_a_jump() {
        let st = settings();
        let mut f = PoseFollower::new(st);
        let p = Pose {
            yaw: 30.0,
            pitch: -5.0,
            fov: 30.0,
        };
        let mut prev = f.next(0, Some(p));
        // Starting from the wide shot, the first path is blended into.
        let mut pts = 0;
        let max_blend = st.blend_speed_deg_s * F as f64 / 1e9 + 1e-9;
        let max_fallback = st.fallback_speed_deg_s * F as f64 / 1e9 + 1e-9;
        for _ in 0..200 {
            pts += F;
            let o = f.next(pts, Some(p));
            assert!(
                o.max_delta(&prev) <= max_blend,
                "blend step {}",
                o.max_delta(&prev)
            );
            prev = o;
        }
        assert_eq!(f.state(), FollowState::Following);
        assert_eq!(prev, p);
        // The path stops: hold for 1 s, then ease to the wide shot.
        for i in 0..400 {
            pts += F;
            let o = f.next(pts, None);
            if i < 24 {
                assert_eq!(o, p, "holds the last pose");
                assert_eq!(f.state(), FollowState::Holding);
            }
            assert!(
                o.max_delta(&prev) <= max_fallback,
                "fallback step {}",
                o.max_delta(&prev)
            );
            prev = o;
        }
        assert!(f.fallback_active());
        assert_eq!(prev, st.wide);
        // The path returns somewhere else: blend, no jump.
        let q = Pose {
            yaw: -20.0,
            pitch: -8.0,
            fov: 35.0,
        };
        let o = f.next(pts + F, Some(q));
        assert!(o.max_delta(&prev) <= max_blend);
        assert_eq!(f.state(), FollowState::Blending);
    }
}
