//! Baselines the planner is compared with, on the same tracks and frames:
//!
//! - [`old_prototype`]: the previous prototype's rules. Yaw/pitch linear in the ball's
//!   panorama x/y (for an equirectangular panorama that is its longitude/latitude), FOV
//!   55-68 degrees from ball size and speed, a per-frame lerp of 0.15 towards the target
//!   with dead zones, +-8 degree pushes near the panorama's side edges, the widest shot
//!   towards the players' centre when the ball is lost; future detections only to fill gaps
//!   (up to 1 s).
//! - [`naive_follower`]: centres the latest ball position at a fixed field of view.
//!
//! Both keep the view inside the panorama with the same [`crate::limits::PoseLimits`].

use crate::rig::Rig;
use crate::view::Pose;
use shared::messages::{TrackStatus, Tracks};
use shared::time::NS_PER_SEC;

/// Field of view of the naive follower, degrees.
pub const NAIVE_FOV_DEG: f64 = 50.0;

/// Usable ball of a track: direction, speed (m/s) and distance (m).
fn ball_of(t: &Tracks, rig: &Rig) -> Option<(f64, f64, f64, f64)> {
    let b = t.ball.as_ref()?;
    if b.status == TrackStatus::Lost || b.confidence < 0.2 {
        return None;
    }
    let (x, y, z) = (b.x_m as f64, b.y_m as f64, (b.z_m as f64).max(0.0));
    if !(x.is_finite() && y.is_finite() && z.is_finite()) {
        return None;
    }
    let (lon, lat) = rig.lonlat(x, y, z);
    let speed = (b.vx_mps as f64).hypot(b.vy_mps as f64);
    Some((lon, lat, speed, rig.distance(x, y, z)))
}

/// Index of the last track with `pts <= t` in `tracks` (sorted by pts).
fn last_at(tracks: &[Tracks], t: u64) -> Option<usize> {
    tracks.partition_point(|x| x.pts_ns <= t).checked_sub(1)
}

/// The naive follower: each frame centres the newest ball position at or before it
/// (holding the last pose while there is none).
pub fn naive_follower(tracks: &[Tracks], rig: &Rig, frames: &[u64]) -> Vec<Pose> {
    let mut pose = rig.wide_pose();
    pose.fov = NAIVE_FOV_DEG;
    let mut last_ball: Option<(f64, f64)> = None;
    let mut i = 0usize;
    frames
        .iter()
        .map(|&t| {
            while i < tracks.len() && tracks[i].pts_ns <= t {
                if let Some((lon, lat, _, _)) = ball_of(&tracks[i], rig) {
                    last_ball = Some((lon, lat));
                }
                i += 1;
            }
            if let Some((lon, lat)) = last_ball {
                pose = Pose {
                    yaw: lon,
                    pitch: lat,
                    fov: NAIVE_FOV_DEG,
                };
            }
            rig.limits.clamp(pose)
        })
        .collect()
}

/// The old prototype's rules, per frame.
// Long by design: the old prototype's per-frame rules as it had them, so the baseline stays
// comparable with it.
pub fn old_prototype(tracks: &[Tracks], rig: &Rig, frames: &[u64]) -> Vec<Pose> {
    const LERP: f64 = 0.15;
    const FOV_MIN: f64 = 55.0;
    const FOV_MAX: f64 = 68.0;
    const DEAD_YAW: f64 = 3.0;
    const DEAD_PITCH: f64 = 2.0;
    const DEAD_FOV: f64 = 2.0;
    const EDGE_PUSH: f64 = 8.0;
    /// Part of the panorama width at each side where the edge push applies.
    const EDGE_BAND: f64 = 0.2;
    const GAP_FILL_NS: u64 = NS_PER_SEC;
    let pano = &rig.cal.panorama;
    let span = pano.lon_max_deg - pano.lon_min_deg;
    let mut pose = rig.wide_pose();
    pose.fov = FOV_MAX;
    frames
        .iter()
        .map(|&t| {
            let here = last_at(tracks, t)
                .filter(|&i| tracks[i].pts_ns + NS_PER_SEC / 10 > t)
                .and_then(|i| ball_of(&tracks[i], rig));
            // Gap filling: the last ball within 1 s before and the next within 1 s after.
            let ball = here.or_else(|| {
                let prev = (0..=last_at(tracks, t)?)
                    .rev()
                    .take_while(|&i| tracks[i].pts_ns + GAP_FILL_NS >= t)
                    .find_map(|i| ball_of(&tracks[i], rig).map(|b| (tracks[i].pts_ns, b)))?;
                let start = tracks.partition_point(|x| x.pts_ns <= t);
                let next = (start..tracks.len())
                    .take_while(|&i| tracks[i].pts_ns <= t + GAP_FILL_NS)
                    .find_map(|i| ball_of(&tracks[i], rig).map(|b| (tracks[i].pts_ns, b)))?;
                let f = (t - prev.0) as f64 / (next.0 - prev.0).max(1) as f64;
                let l = |a: f64, b: f64| a + (b - a) * f;
                Some((
                    l(prev.1 .0, next.1 .0),
                    l(prev.1 .1, next.1 .1),
                    l(prev.1 .2, next.1 .2),
                    l(prev.1 .3, next.1 .3),
                ))
            });
            let target = match ball {
                Some((lon, lat, speed, dist)) => {
                    let mut yaw = lon;
                    if lon > pano.lon_max_deg - EDGE_BAND * span {
                        yaw += EDGE_PUSH;
                    } else if lon < pano.lon_min_deg + EDGE_BAND * span {
                        yaw -= EDGE_PUSH;
                    }
                    // Big (near) or fast ball: wider.
                    let near = ((30.0 - dist) / 20.0).clamp(0.0, 1.0);
                    let fast = (speed / 20.0).clamp(0.0, 1.0);
                    let fov = FOV_MIN + (FOV_MAX - FOV_MIN) * (0.5 * near + 0.5 * fast);
                    Pose {
                        yaw,
                        pitch: lat,
                        fov,
                    }
                }
                None => {
                    let players = last_at(tracks, t).and_then(|i| tracks[i].players.as_ref());
                    match players {
                        Some(p) => {
                            let (lon, lat) = rig.lonlat(p.cx_m as f64, p.cy_m as f64, 0.0);
                            Pose {
                                yaw: lon,
                                pitch: lat,
                                fov: FOV_MAX,
                            }
                        }
                        None => Pose {
                            fov: FOV_MAX,
                            ..pose
                        },
                    }
                }
            };
            let step = |cur: f64, tgt: f64, dead: f64| {
                if (tgt - cur).abs() < dead {
                    cur
                } else {
                    cur + LERP * (tgt - cur)
                }
            };
            pose = rig.limits.clamp(Pose {
                yaw: step(pose.yaw, target.yaw, DEAD_YAW),
                pitch: step(pose.pitch, target.pitch, DEAD_PITCH),
                fov: step(pose.fov, target.fov, DEAD_FOV),
            });
            pose
        })
        .collect()
}
