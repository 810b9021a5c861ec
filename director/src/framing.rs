//! What each planned frame should show: the subject (ball, else players' centre, else the
//! wide shot), where play is heading, and the field of view it needs.
//!
//! Because playout runs `delay` behind live, every planned frame has observations on both
//! sides: gaps in the ball track are bridged by interpolation, short isolated glitches are
//! removed by a median over neighbouring observations, the direction of play is the mean of
//! the coming positions, and the zoom widens for fast play that has not happened yet.

use crate::rig::Rig;
use crate::window::{BallObs, TrackWindow};
use shared::config::DirectorConfig;
use shared::stats::median;
use shared::time::NS_PER_SEC;

/// What a frame is framed on.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum FramingMode {
    Ball,
    Players,
    Wide,
    /// A fixed pose the operator asked for ([`crate::operator`]).
    Operator,
}

impl FramingMode {
    pub fn name(self) -> &'static str {
        match self {
            FramingMode::Ball => "ball",
            FramingMode::Players => "players",
            FramingMode::Wide => "wide",
            FramingMode::Operator => "operator",
        }
    }
}

/// The framing wish of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameTarget {
    pub mode: FramingMode,
    /// Direction of the subject, degrees.
    pub lon: f64,
    pub lat: f64,
    /// Mean direction of the subject over the coming `lead_time_s` (ball mode), else the
    /// subject itself.
    pub ahead_lon: f64,
    pub ahead_lat: f64,
    /// Field of view wanted for this frame alone, degrees, inside the usable range.
    pub fov: f64,
    /// Widest field of view at which the subject can be inside the safe zone at all (it is
    /// narrower than the usable range only near the panorama's edges), degrees.
    pub fov_cap: f64,
    /// Position bridged over a gap, held, predicted by the analyzer, or a fallback.
    pub uncertain: bool,
}

/// Observations within this time of each other take part in one median, seconds.
const MEDIAN_SPAN_S: f64 = 0.4;
/// Neighbours on each side in the glitch-removing median.
const MEDIAN_HALF: usize = 3;
/// Share of the safe zone aimed for where the panorama's edges limit the pose.
const EDGE_SAFE_SHARE: f64 = 0.85;
/// Half-span over which the ball's angular speed is measured, seconds.
const SPEED_HALF_S: f64 = 0.25;

#[derive(Clone, Copy)]
struct Obs {
    t: f64,
    lon: f64,
    lat: f64,
    dist: f64,
    predicted: bool,
}

/// Ball observations around `[t0, t1]` (seconds), glitches removed by a short median.
fn ball_observations(window: &TrackWindow, from: u64, to: u64) -> Vec<Obs> {
    let raw: Vec<Obs> = window
        .balls(from, to)
        .map(|(pts, b): (u64, &BallObs)| Obs {
            t: pts as f64 / NS_PER_SEC as f64,
            lon: b.lon,
            lat: b.lat,
            dist: b.dist_m,
            predicted: b.predicted,
        })
        .collect();
    let mut out = raw.clone();
    let mut lons = Vec::with_capacity(2 * MEDIAN_HALF + 1);
    let mut lats = Vec::with_capacity(2 * MEDIAN_HALF + 1);
    for (i, o) in out.iter_mut().enumerate() {
        lons.clear();
        lats.clear();
        let lo = i.saturating_sub(MEDIAN_HALF);
        let hi = (i + MEDIAN_HALF).min(raw.len() - 1);
        for r in &raw[lo..=hi] {
            if (r.t - raw[i].t).abs() <= MEDIAN_SPAN_S {
                lons.push(r.lon);
                lats.push(r.lat);
            }
        }
        if lons.len() >= 5 {
            o.lon = median(&mut lons);
            o.lat = median(&mut lats);
        }
    }
    out
}

/// Framing wishes for the frames `k_first..=k_last` (frame `k` is at `k * step_ns`), using
/// observations up to `data_until` only (what was live at the time of the plan).
pub fn frame_targets(
    window: &TrackWindow,
    rig: &Rig,
    cfg: &DirectorConfig,
    k_first: u64,
    k_last: u64,
    step_ns: u64,
    data_until: u64,
) -> Vec<FrameTarget> {
    let ns = |s: f64| (s.max(0.0) * NS_PER_SEC as f64) as u64;
    let step_s = step_ns as f64 / NS_PER_SEC as f64;
    let t_first = k_first * step_ns;
    let t_last = k_last * step_ns;
    let reach = ns(cfg.gap_fill_s.max(cfg.ball_hold_s)) + step_ns;
    let obs = ball_observations(
        window,
        t_first.saturating_sub(reach),
        (t_last + reach).min(data_until),
    );
    let players: Vec<(f64, crate::window::PlayersObs)> = window
        .players(
            t_first.saturating_sub(ns(cfg.players_hold_s)),
            (t_last + ns(cfg.players_hold_s)).min(data_until),
        )
        .map(|(p, o)| (p as f64 / NS_PER_SEC as f64, *o))
        .collect();
    let n = (k_last - k_first + 1) as usize;
    let mut out = Vec::with_capacity(n);
    let mut oi = 0usize; // first observation with t >= frame time
    let mut pi = 0usize;
    for idx in 0..n {
        let t = (k_first + idx as u64) as f64 * step_s;
        while oi < obs.len() && obs[oi].t < t - 1e-9 {
            oi += 1;
        }
        let target = match ball_at(&obs, oi, t, step_s, cfg) {
            Some((b, uncertain)) => ball_target(b, uncertain, rig, cfg),
            None => {
                // Players' summary nearest in time.
                while pi < players.len() && players[pi].0 < t - 1e-9 {
                    pi += 1;
                }
                people_target(&players, pi, t, rig, cfg)
            }
        };
        out.push(target);
    }
    let speeds = ball_speeds(&out, step_s);
    widen_and_lead(&mut out, &speeds, step_s, rig, cfg);
    out
}

/// Horizontal field of view that shows `width_m` at `dist` metres.
fn fov_for(width_m: f64, dist: f64) -> f64 {
    2.0 * (width_m / 2.0 / dist.max(1.0)).atan().to_degrees()
}

/// The ball at time `t` from the observations around it (`obs[oi]` is the first at or after
/// `t`): seen then, interpolated across a gap of at most `gap_fill_s`, or held up to
/// `ball_hold_s` from the nearest; with whether it is uncertain.
fn ball_at(
    obs: &[Obs],
    oi: usize,
    t: f64,
    step_s: f64,
    cfg: &DirectorConfig,
) -> Option<(Obs, bool)> {
    let prev = oi.checked_sub(1).map(|i| obs[i]);
    let next = obs.get(oi).copied();
    match (prev, next) {
        (_, Some(nx)) if (nx.t - t).abs() < 1e-6 => Some((nx, nx.predicted)),
        (Some(p), Some(nx)) if nx.t - p.t <= cfg.gap_fill_s => {
            let f = (t - p.t) / (nx.t - p.t);
            let lerp = |a: f64, b: f64| a + (b - a) * f;
            Some((
                Obs {
                    t,
                    lon: lerp(p.lon, nx.lon),
                    lat: lerp(p.lat, nx.lat),
                    dist: lerp(p.dist, nx.dist),
                    predicted: p.predicted || nx.predicted,
                },
                // Sparse analysis (every other frame) is not a gap.
                nx.t - p.t > 3.0 * step_s || p.predicted || nx.predicted,
            ))
        }
        (Some(p), _) if t - p.t <= cfg.ball_hold_s => Some((p, true)),
        (_, Some(nx)) if nx.t - t <= cfg.ball_hold_s => Some((nx, true)),
        _ => None,
    }
}

/// Framing the ball: `framing_width_m` across at its distance, wider when uncertain.
fn ball_target(b: Obs, uncertain: bool, rig: &Rig, cfg: &DirectorConfig) -> FrameTarget {
    let mut fov = fov_for(cfg.framing_width_m, b.dist);
    if uncertain {
        fov *= 1.0 + cfg.zoom_uncertainty_gain;
    }
    FrameTarget {
        mode: FramingMode::Ball,
        lon: b.lon,
        lat: b.lat,
        ahead_lon: b.lon,
        ahead_lat: b.lat,
        fov,
        fov_cap: rig.limits.fov_range().1,
        uncertain,
    }
}

/// Without a ball: the players' summary nearest in time (`players[pi]` is the first at or
/// after `t`) within `players_hold_s`, else the wide shot.
fn people_target(
    players: &[(f64, crate::window::PlayersObs)],
    pi: usize,
    t: f64,
    rig: &Rig,
    cfg: &DirectorConfig,
) -> FrameTarget {
    let fov_hi = rig.limits.fov_range().1;
    let cands = [pi.checked_sub(1), Some(pi)];
    let best = cands
        .iter()
        .flatten()
        .filter_map(|&i| players.get(i))
        .filter(|(pt, _)| (pt - t).abs() <= cfg.players_hold_s)
        .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()));
    match best {
        Some((_, p)) => {
            let width = cfg.framing_width_m.max(3.0 * p.spread_x_m);
            FrameTarget {
                mode: FramingMode::Players,
                lon: p.lon,
                lat: p.lat,
                ahead_lon: p.lon,
                ahead_lat: p.lat,
                fov: fov_for(width, p.dist_m) * (1.0 + cfg.zoom_uncertainty_gain),
                fov_cap: fov_hi,
                uncertain: true,
            }
        }
        None => {
            let wide = rig.wide_pose();
            FrameTarget {
                mode: FramingMode::Wide,
                lon: wide.yaw,
                lat: wide.pitch,
                ahead_lon: wide.yaw,
                ahead_lat: wide.pitch,
                fov: fov_hi,
                fov_cap: fov_hi,
                uncertain: true,
            }
        }
    }
}

/// The ball's angular speed (deg/s) at each frame over +-`SPEED_HALF_S`; 0 where either end
/// is not the ball.
fn ball_speeds(out: &[FrameTarget], step_s: f64) -> Vec<f64> {
    let n = out.len();
    let hs = ((SPEED_HALF_S / step_s).round() as usize).max(1);
    (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(hs), (i + hs).min(n - 1));
            let (pa, pb) = (&out[a], &out[b]);
            if b <= a || pa.mode != FramingMode::Ball || pb.mode != FramingMode::Ball {
                return 0.0;
            }
            let c = (0.5 * (pa.lat + pb.lat)).to_radians().cos();
            let d = ((pb.lon - pa.lon) * c).hypot(pb.lat - pa.lat);
            d / ((b - a) as f64 * step_s)
        })
        .collect()
}

/// Widens ball frames for fast play, caps the zoom where the pose limits keep the ball out of
/// the safe zone, and points each ball frame's `ahead` at the mean of the coming ball
/// positions (`lead_time_s`).
fn widen_and_lead(
    out: &mut [FrameTarget],
    speeds: &[f64],
    step_s: f64,
    rig: &Rig,
    cfg: &DirectorConfig,
) {
    let n = out.len();
    let (fov_lo, fov_hi) = rig.limits.fov_range();
    // Direction of play: mean of the coming ball positions (prefix sums over ball frames).
    let ahead = ((cfg.lead_time_s / step_s).round() as usize).max(1);
    let mut sum = vec![(0.0f64, 0.0f64, 0usize); n + 1];
    for i in 0..n {
        let (sl, sa, c) = sum[i];
        sum[i + 1] = if out[i].mode == FramingMode::Ball {
            (sl + out[i].lon, sa + out[i].lat, c + 1)
        } else {
            (sl, sa, c)
        };
    }
    for i in 0..n {
        let t = &mut out[i];
        if t.mode != FramingMode::Ball {
            t.fov = t.fov.clamp(fov_lo, fov_hi);
            continue;
        }
        t.fov *= 1.0 + cfg.zoom_speed_gain * (speeds[i] / cfg.zoom_speed_ref_deg_s).min(1.0);
        t.fov = t.fov.clamp(fov_lo, fov_hi);
        // Near the panorama's edges the pose limits may keep the ball out of the safe zone
        // at this zoom: find the widest zoom that can still show it there (the cheap clamp
        // test first; the search only runs where the limits bite).
        let centred = crate::view::Pose {
            yaw: t.lon,
            pitch: t.lat,
            fov: t.fov,
        };
        if rig.limits.clamp(centred) != centred {
            t.fov_cap = rig.limits.widest_fov_showing(
                t.lon,
                t.lat,
                cfg.safe_zone_width * EDGE_SAFE_SHARE,
                cfg.safe_zone_height * EDGE_SAFE_SHARE,
            );
        }
        let j = (i + ahead).min(n - 1);
        let (l1, a1, c1) = sum[j + 1];
        let (l0, a0, c0) = sum[i];
        if c1 > c0 {
            let c = (c1 - c0) as f64;
            t.ahead_lon = (l1 - l0) / c;
            t.ahead_lat = (a1 - a0) / c;
        }
    }
}
