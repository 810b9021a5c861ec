//! The camera path planner: pure logic, time passed in.
//!
//! Every replan covers the look-ahead window from the last frame that may no longer change
//! (`playout_pts + commit_guard`) to `live_pts`:
//!
//! 1. framing wishes per frame ([`crate::framing`]): subject, direction of play, zoom need;
//! 2. zoom: the widest need within `zoom_hold_s` before and after each frame, a tube
//!    `[need, need + zoom_tolerance]`, the minimal-motion path through it, smoothed, then
//!    tracked under the zoom bounds;
//! 3. tilt, then pan: a tube around the ball (the dead zone about the target with lead room,
//!    inside the safe zone of the planned zoom, inside the pose limits), the minimal-motion
//!    path through it, smoothed, tracked under the angular bounds;
//! 4. a final clamp to the pose limits (counted; the tracker brakes before them).
//!
//! The tracking of every axis starts from the state (position, velocity, acceleration) of
//! the last frozen frame of the previous plan, so a replan never makes a step, and frozen
//! frames are never changed.

use crate::framing::{frame_targets, FrameTarget, FramingMode};
use crate::operator::{self, OperatorOverride};
use crate::rig::Rig;
use crate::smoother::{anticipate_caps, reachable_in, running_max, taut_string, triangle_smooth};
use crate::tracker::{track, AxisBounds, AxisState, Gains};
use crate::view::Pose;
use crate::window::{TrackWindow, WindowCounters};
use serde::Serialize;
use shared::config::DirectorConfig;
use shared::messages::{CameraPath, Keyframe, Tracks};
use shared::time::{NS_PER_MS, NS_PER_SEC};
use std::collections::VecDeque;

/// Most keyframes in one published path (a 64 KiB message holds about 1400); longer plans
/// are decimated, playout interpolates.
pub const MAX_KEYFRAMES: usize = 1000;
/// Part of the safe zone kept free for the smoothing's corner cutting and tracking lag.
const SAFE_MARGIN: f64 = 0.15;
/// Tube half-width about the wide shot, degrees.
const WIDE_TUBE_DEG: f64 = 0.5;
/// Tubes are kept this far inside the pose limits, degrees, so that tracking overshoot
/// stays inside them.
const TUBE_MARGIN_DEG: f64 = 0.4;
/// The tracker brakes before limits this far inside the real ones, degrees.
const TRACK_MARGIN_DEG: f64 = 0.15;
/// Share of an axis's bounded reach counted on when braking before limits that close in (a
/// widening zoom narrows the pan and tilt ranges); the rest covers the jerk's ramp.
const LIMIT_REACH_SHARE: f64 = 0.5;

/// One planned frame: the state of each axis and what it was framed on.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlanFrame {
    /// Frame index: the frame is at `k * plan_step`.
    pub k: u64,
    pub yaw: AxisState,
    pub pitch: AxisState,
    pub fov: AxisState,
    pub mode: FramingMode,
}

impl PlanFrame {
    pub fn pose(&self) -> Pose {
        Pose {
            yaw: self.yaw.p,
            pitch: self.pitch.p,
            fov: self.fov.p,
        }
    }

    fn at_rest(k: u64, pose: Pose, mode: FramingMode) -> PlanFrame {
        PlanFrame {
            k,
            yaw: AxisState::at(pose.yaw),
            pitch: AxisState::at(pose.pitch),
            fov: AxisState::at(pose.fov),
            mode,
        }
    }
}

/// What the planner did (never reset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PlannerCounters {
    /// Replans that produced a path.
    pub replans: u64,
    /// Replans with nothing to plan (live not ahead of the frozen frames).
    pub idle_replans: u64,
    /// Plans started from the framing target at rest (first plan, restart without history).
    pub cold_starts: u64,
    /// Plans started from the last planned pose at rest after the plan had run out.
    pub resumed_after_gap: u64,
    /// Playout time went backwards (capture restarted): plan and window were reset.
    pub timeline_resets: u64,
    /// Frames whose pose had to be clamped into the pose limits after tracking.
    pub limit_clamps: u64,
    /// Frames where the tracker had to force the speed bound.
    pub bound_forced: u64,
    /// Published paths decimated to stay under the message size limit.
    pub decimated_paths: u64,
    /// Plans taken over from a previous run's checkpoint.
    pub resumed_from_checkpoint: u64,
}

/// The planner of one director run.
#[derive(Debug, Clone)]
pub struct Planner {
    cfg: DirectorConfig,
    rig: Rig,
    step_ns: u64,
    dt: f64,
    window: TrackWindow,
    /// Planned frames, contiguous in `k`, from a little history to the plan's end.
    plan: VecDeque<PlanFrame>,
    path_id: u64,
    counters: PlannerCounters,
    /// The operator's camera mode, from the frame it applies to (none: auto from start).
    operator: Option<OperatorOverride>,
}

impl Planner {
    pub fn new(cfg: &DirectorConfig, rig: Rig) -> Planner {
        let step_ns = cfg.plan_step_ns().max(NS_PER_MS);
        Planner {
            cfg: cfg.clone(),
            rig,
            step_ns,
            dt: step_ns as f64 / NS_PER_SEC as f64,
            window: TrackWindow::default(),
            plan: VecDeque::new(),
            path_id: 0,
            counters: PlannerCounters::default(),
            operator: None,
        }
    }

    /// The operator's camera mode now in force.
    pub fn operator_mode(&self) -> shared::messages::CameraMode {
        self.operator.map(|o| o.mode).unwrap_or_default()
    }

    /// The operator's override in force (mode, first frame, pose).
    pub fn operator(&self) -> Option<&OperatorOverride> {
        self.operator.as_ref()
    }

    /// Takes the operator's camera mode from the first frame that may still change at
    /// `playout_pts` on; the next replan moves the camera there within the bounds. The same
    /// mode again changes nothing (launch repeats its state every second). A manual pose
    /// outside the panorama is refused.
    pub fn set_operator(
        &mut self,
        mode: shared::messages::CameraMode,
        playout_pts: u64,
    ) -> Result<bool, String> {
        if self.operator_mode() == mode {
            return Ok(false);
        }
        if let shared::messages::CameraMode::Manual { yaw, pitch, fov } = mode {
            operator::check_manual(&self.rig, yaw as f64, pitch as f64, fov as f64)?;
        }
        let from_k = self.frozen_frame(playout_pts) + 1;
        // `hold` without a plan yet (a restarted director) holds the first pose it plans
        // from: the frame on screen, once the plan is restored.
        let pose = match self.frame(from_k).or(self.plan.back()) {
            Some(f) => operator::mode_pose(&self.rig, mode, f.pose()),
            None if mode == shared::messages::CameraMode::Hold => None,
            None => operator::mode_pose(&self.rig, mode, self.rig.wide_pose()),
        };
        self.operator = Some(OperatorOverride { mode, from_k, pose });
        Ok(true)
    }

    pub fn config(&self) -> &DirectorConfig {
        &self.cfg
    }

    pub fn rig(&self) -> &Rig {
        &self.rig
    }

    pub fn step_ns(&self) -> u64 {
        self.step_ns
    }

    pub fn counters(&self) -> PlannerCounters {
        self.counters
    }

    pub fn window_counters(&self) -> WindowCounters {
        self.window.counters()
    }

    /// Newest frame time of any track taken.
    pub fn latest_track_pts(&self) -> Option<u64> {
        self.window.latest_pts()
    }

    /// Takes an analyzer message into the look-ahead window.
    pub fn push_tracks(&mut self, t: &Tracks) {
        self.window.push(t, &self.rig, self.cfg.min_confidence);
    }

    /// The planned frames held (a little history, the frozen frame, the unshown rest).
    pub fn frames(&self) -> impl Iterator<Item = &PlanFrame> {
        self.plan.iter()
    }

    /// The planned frame `k`, if held.
    pub fn frame(&self, k: u64) -> Option<&PlanFrame> {
        let first = self.plan.front()?.k;
        self.plan.get(k.checked_sub(first)? as usize)
    }

    /// Index of the last frame a replan at `playout_pts` may not change.
    pub fn frozen_frame(&self, playout_pts: u64) -> u64 {
        (playout_pts + self.cfg.commit_guard_ms * NS_PER_MS) / self.step_ns
    }

    fn frames_of(&self, secs: f64) -> usize {
        (secs.max(0.0) / self.dt).round() as usize
    }

    /// Frames of history the smoothing looks back over.
    fn history_frames(&self) -> usize {
        self.frames_of(self.cfg.smoothing_s) + 2
    }

    /// Rebuilds the path a previous director was following, after a restart: replays the
    /// window's tracks (e.g. an analyzer snapshot) through the planner on the replan grid, as
    /// they were seen live, up to `playout_pts`. The planner is deterministic, so this lands
    /// on (nearly) the path the old run had planned, instead of a cold start.
    pub fn rebuild(&mut self, playout_pts: u64) {
        let Some(oldest) = self.window.oldest_pts() else {
            return;
        };
        let period = (self.cfg.replan_period_ms * NS_PER_MS).max(1);
        let delay = self.cfg.delay_ms * NS_PER_MS;
        let mut t = oldest.div_ceil(period) * period;
        while t + period <= playout_pts {
            self.replan(t, t + delay);
            t += period;
        }
    }

    /// Takes over a plan saved by a previous run ([`crate::checkpoint`]) if it holds the
    /// frame frozen at `playout_pts` (with the same keyframe spacing): the path then goes on
    /// exactly where the old run left it. Returns whether it was taken.
    pub fn resume(&mut self, frames: &[PlanFrame], step_ns: u64, playout_pts: u64) -> bool {
        let k = self.frozen_frame(playout_pts);
        let contiguous = frames.windows(2).all(|w| w[1].k == w[0].k + 1);
        let covers =
            frames.first().is_some_and(|f| f.k <= k) && frames.last().is_some_and(|f| f.k > k);
        if step_ns != self.step_ns || !contiguous || !covers {
            return false;
        }
        self.plan = frames.iter().copied().collect();
        self.counters.resumed_from_checkpoint += 1;
        true
    }

    /// Plans `(playout_pts + guard, live_pts]` and returns the path to publish: the last
    /// frozen keyframe (unchanged, as an anchor) and every later one.
    pub fn replan(&mut self, playout_pts: u64, live_pts: u64) -> Option<CameraPath> {
        let k_c = self.frozen_frame(playout_pts);
        let k_end = live_pts / self.step_ns;
        if let Some(front) = self.plan.front() {
            if k_c < front.k {
                // Playout time went backwards: capture restarted with a new timeline.
                self.counters.timeline_resets += 1;
                self.plan.clear();
                self.window = TrackWindow::default();
            }
        }
        if k_end <= k_c {
            self.counters.idle_replans += 1;
            return None;
        }
        let hold = self.frames_of(self.cfg.zoom_hold_s) as u64;
        let k_first = k_c.saturating_sub(hold);
        let targets = frame_targets(
            &self.window,
            &self.rig,
            &self.cfg,
            k_first,
            k_end,
            self.step_ns,
            live_pts,
        );
        let mut targets = targets;
        self.apply_operator(&mut targets, k_first, k_c);
        let off = (k_c - k_first) as usize; // index of frame k_c in `targets`
        let start = self.start_frame(k_c, &targets[off]);
        let hist = self.frozen_history(k_c);
        let new = self.plan_axes(&start, &hist, &targets[off..]);
        self.splice(k_c, start, new);
        self.prune_tracks(k_first);
        self.counters.replans += 1;
        Some(self.path_from(k_c))
    }

    /// The operator's override from its frame on: a held pose is taken from the plan at
    /// `k_c` the first time.
    fn apply_operator(&mut self, targets: &mut [FrameTarget], k_first: u64, k_c: u64) {
        if let Some(o) = self.operator.as_mut() {
            if o.pose.is_none() && o.mode == shared::messages::CameraMode::Hold {
                let held = self
                    .plan
                    .iter()
                    .rev()
                    .find(|f| f.k <= k_c)
                    .or(self.plan.back());
                o.pose = held.map(|f| f.pose());
            }
        }
        if let Some(OperatorOverride {
            from_k,
            pose: Some(pose),
            ..
        }) = self.operator
        {
            let t = operator::target(pose, self.rig.limits.fov_range().1);
            for (i, slot) in targets.iter_mut().enumerate() {
                if k_first + i as u64 >= from_k {
                    *slot = t;
                }
            }
        }
    }

    /// The first frame to plan from: the plan's frame `k_c`, else the plan's last pose at
    /// rest (after a gap), else the clamped target at rest (a cold start).
    fn start_frame(&mut self, k_c: u64, t: &FrameTarget) -> PlanFrame {
        match self.frame(k_c) {
            Some(f) => *f,
            None => match self.plan.back() {
                Some(last) if last.k < k_c => {
                    self.counters.resumed_after_gap += 1;
                    PlanFrame::at_rest(k_c, last.pose(), last.mode)
                }
                _ => {
                    self.counters.cold_starts += 1;
                    let pose = self.rig.limits.clamp(Pose {
                        yaw: t.lon,
                        pitch: t.lat,
                        fov: t.fov,
                    });
                    PlanFrame::at_rest(k_c, pose, t.mode)
                }
            },
        }
    }

    /// Frozen history before `k_c` (for the smoothing), contiguous and ending at `k_c - 1`;
    /// empty when it is not.
    fn frozen_history(&self, k_c: u64) -> Vec<PlanFrame> {
        let want = self.history_frames() as u64;
        let from = k_c.saturating_sub(want);
        let mut h: Vec<PlanFrame> = self
            .plan
            .iter()
            .filter(|f| f.k >= from && f.k < k_c)
            .copied()
            .collect();
        if h.last().is_some_and(|f| f.k + 1 != k_c) {
            h.clear();
        }
        h
    }

    /// Keeps the frozen frames before `k_c`, replaces the rest with `start` and `new`, and
    /// drops history older than the smoothing needs.
    fn splice(&mut self, k_c: u64, start: PlanFrame, new: Vec<PlanFrame>) {
        while self.plan.back().is_some_and(|f| f.k >= k_c) {
            self.plan.pop_back();
        }
        if self.plan.back().is_some_and(|f| f.k + 1 != k_c) {
            self.plan.clear();
        }
        self.plan.push_back(start);
        self.plan.extend(new);
        let keep_from = k_c.saturating_sub(self.history_frames() as u64 + 2);
        while self.plan.front().is_some_and(|f| f.k < keep_from) {
            self.plan.pop_front();
        }
    }

    /// Forgets tracks no later plan needs: older than the zoom hold before the next frozen
    /// frame, less the gap bridging reach.
    fn prune_tracks(&mut self, k_first: u64) {
        let reach = self
            .cfg
            .gap_fill_s
            .max(self.cfg.ball_hold_s)
            .max(self.cfg.players_hold_s);
        let keep_pts = (k_first * self.step_ns)
            .saturating_sub((reach * NS_PER_SEC as f64) as u64 + NS_PER_SEC);
        self.window.prune_before(keep_pts);
    }

    /// The keyframes from frame `k` to the plan's end, decimated below [`MAX_KEYFRAMES`].
    fn path_from(&mut self, k: u64) -> CameraPath {
        let frames: Vec<&PlanFrame> = self.plan.iter().filter(|f| f.k >= k).collect();
        let stride = frames.len().div_ceil(MAX_KEYFRAMES).max(1);
        if stride > 1 {
            self.counters.decimated_paths += 1;
        }
        let mut keyframes: Vec<Keyframe> = frames
            .iter()
            .step_by(stride)
            .map(|f| self.keyframe(f))
            .collect();
        if let Some(last) = frames.last() {
            if keyframes.last().map(|kf| kf.pts_ns) != Some(last.k * self.step_ns) {
                keyframes.push(self.keyframe(last));
            }
        }
        self.path_id += 1;
        CameraPath {
            path_id: self.path_id,
            keyframes,
        }
    }

    /// The wire form of a planned frame.
    pub fn keyframe(&self, f: &PlanFrame) -> Keyframe {
        Keyframe {
            pts_ns: f.k * self.step_ns,
            yaw: f.yaw.p as f32,
            pitch: f.pitch.p as f32,
            fov: f.fov.p as f32,
        }
    }

    /// Plans frames after `start` for `targets` (`targets[0]` is the frame of `start`): the
    /// zoom first (the pan and tilt limits depend on it), then tilt (the pan limits depend
    /// on it), then pan, each the same way (a band per frame, the taut string through the
    /// bands, a bounded tracker along it); then the frames under the pose limits.
    fn plan_axes(
        &mut self,
        start: &PlanFrame,
        hist: &[PlanFrame],
        targets: &[FrameTarget],
    ) -> Vec<PlanFrame> {
        let n = targets.len();
        let cfg = &self.cfg;
        let limits = &self.rig.limits;
        let (fov, f1) = self.plan_zoom(start, hist, targets);
        let fov_at = |i: usize| state_at(&start.fov, &fov, i);

        // Tilt: the safe zone's half-height about the subject's latitude.
        let raw: Vec<(f64, f64)> = (0..n).map(|i| limits.pitch_range(fov_at(i))).collect();
        let (pitch, f2) = self.plan_angle(
            start.pitch,
            history(hist, start, |f| f.pitch.p),
            &raw,
            targets,
            |i, t| {
                let safe = limits.view().half_tangents(fov_at(i)).1 * cfg.safe_zone_height;
                tube(t, t.lat, t.ahead_lat, safe.atan().to_degrees(), cfg)
            },
        );
        let pitch_at = |i: usize| state_at(&start.pitch, &pitch, i);

        // Pan: the safe zone's half-width about the subject's longitude; a longitude step
        // near latitude `lat` moves the image by about cos(lat) of it.
        let raw: Vec<(f64, f64)> = (0..n)
            .map(|i| limits.yaw_range(pitch_at(i), fov_at(i)))
            .collect();
        let (yaw, f3) = self.plan_angle(
            start.yaw,
            history(hist, start, |f| f.yaw.p),
            &raw,
            targets,
            |i, t| {
                let safe = limits.view().half_tangents(fov_at(i)).0 * cfg.safe_zone_width;
                let s = safe.atan().to_degrees() / t.lat.to_radians().cos().max(0.5);
                tube(t, t.lon, t.ahead_lon, s, cfg)
            },
        );
        self.counters.bound_forced += f1 + f2 + f3;
        self.assemble(start, targets, &yaw, &pitch, &fov)
    }

    /// The zoom's states for the frames after `start`, and how often the tracker was forced
    /// by a bound: widen early and tighten late (the widest need around each frame), never
    /// wider than keeps the ball reachable near the panorama's edges, nor than the moving pan
    /// and tilt can take without the view's edge leaving the panorama.
    fn plan_zoom(
        &self,
        start: &PlanFrame,
        hist: &[PlanFrame],
        targets: &[FrameTarget],
    ) -> (Vec<AxisState>, u64) {
        let n = targets.len();
        let cfg = &self.cfg;
        let limits = &self.rig.limits;
        let (fov_lo, fov_hi) = limits.fov_range();
        let hold = self.frames_of(cfg.zoom_hold_s);
        let (zlo, zhi) = (fov_lo + TUBE_MARGIN_DEG, fov_hi - TUBE_MARGIN_DEG);
        let wants: Vec<f64> = targets.iter().map(|t| t.fov.clamp(zlo, zhi)).collect();
        let need: Vec<f64> = running_max(&wants, hold, hold)
            .iter()
            .zip(targets)
            .map(|(w, t)| w.min(t.fov_cap - TUBE_MARGIN_DEG).max(zlo))
            .collect();
        // Pan and tilt are moving: where they will come to rest at the earliest bounds the
        // zoom for the next frames, so that widening never pushes the view's edge out of
        // the panorama under a camera that cannot stop in time.
        let (cap, cap_frames) = {
            let b = self.position_bounds();
            let stop = |s: &AxisState| {
                let t = b.accel / (2.0 * b.jerk);
                s.p + s.v * t + s.v * s.v.abs() / (2.0 * b.accel) + s.a * t * t
            };
            let f = limits.widest_fov_at(stop(&start.yaw), stop(&start.pitch));
            let secs = cfg.max_speed_deg_s / cfg.max_accel_deg_s2
                + 2.0 * cfg.max_accel_deg_s2 / cfg.max_jerk_deg_s3;
            (f - TUBE_MARGIN_DEG, self.frames_of(secs) + 1)
        };
        let mut lo = history(hist, start, |f| f.fov.p);
        let mut hi = lo.clone();
        for (i, v) in need.iter().enumerate().skip(1) {
            let top = if i <= cap_frames { zhi.min(cap) } else { zhi };
            // An operator's pose is framed as asked, not within the zoom's tolerance.
            let tolerance = match targets[i].mode {
                FramingMode::Operator => WIDE_TUBE_DEG,
                _ => cfg.zoom_tolerance_deg,
            };
            lo.push(v.min(top));
            hi.push((v + tolerance).min(top));
        }
        let fov_ref = smooth_string(&lo, &hi, self.frames_of(cfg.smoothing_s) / 2);
        let fov_lim = shrink(&vec![(fov_lo, fov_hi); n], TRACK_MARGIN_DEG);
        track(
            start.fov,
            &fov_ref[hist.len()..],
            &fov_lim,
            AxisBounds {
                speed: cfg.max_zoom_speed_deg_s,
                accel: cfg.max_zoom_accel_deg_s2,
                jerk: cfg.max_zoom_jerk_deg_s3,
            },
            Gains::default(),
            self.dt,
        )
    }

    /// One angle (pan or tilt) for the frames after `start`, and how often the tracker was
    /// forced by a bound. `forced`: the angle of the history frames and of `start`; `raw`:
    /// the angle's limits per frame; `band(i, target)`: the band frame `i` should be in.
    /// The limits are anticipated (they move, and braking takes time), each band is fitted
    /// inside them, and the tracker follows the smoothed taut string through the bands.
    fn plan_angle(
        &self,
        start: AxisState,
        forced: Vec<f64>,
        raw: &[(f64, f64)],
        targets: &[FrameTarget],
        band: impl Fn(usize, &FrameTarget) -> (f64, f64),
    ) -> (Vec<AxisState>, u64) {
        let cfg = &self.cfg;
        // How far ahead the axis looks at its limits: they move (a wider zoom narrows the
        // pan and tilt ranges), and braking takes about this long.
        let reach =
            |t: f64| LIMIT_REACH_SHARE * reachable_in(t, cfg.max_speed_deg_s, cfg.max_accel_deg_s2);
        let lim = anticipate(raw, self.dt, reach);
        let h = forced.len() - 1;
        let mut lo = forced;
        let mut hi = lo.clone();
        for (i, t) in targets.iter().enumerate().skip(1) {
            let (l, u) = band(i, t);
            let (a, b) = lim[i];
            let (l, u) = fit(l, u, a + TUBE_MARGIN_DEG, b - TUBE_MARGIN_DEG);
            lo.push(l);
            hi.push(u);
        }
        let reference = smooth_string(&lo, &hi, self.frames_of(cfg.smoothing_s) / 2);
        track(
            start,
            &reference[h..],
            &shrink(&lim, TRACK_MARGIN_DEG),
            self.position_bounds(),
            Gains::default(),
            self.dt,
        )
    }

    /// Speed, acceleration and jerk bounds of pan and tilt.
    fn position_bounds(&self) -> AxisBounds {
        AxisBounds {
            speed: self.cfg.max_speed_deg_s,
            accel: self.cfg.max_accel_deg_s2,
            jerk: self.cfg.max_jerk_deg_s3,
        }
    }

    /// The planned frames from the axes' states, each inside the pose limits: the last
    /// resort (the tracker brakes before the limits) clamps the position and restates
    /// velocity and acceleration from it, so that a later replan starting here continues
    /// what is shown.
    fn assemble(
        &mut self,
        start: &PlanFrame,
        targets: &[FrameTarget],
        yaw: &[AxisState],
        pitch: &[AxisState],
        fov: &[AxisState],
    ) -> Vec<PlanFrame> {
        let n = targets.len();
        let dt = self.dt;
        let mut out: Vec<PlanFrame> = Vec::with_capacity(n.saturating_sub(1));
        for i in 1..n {
            let mut f = PlanFrame {
                k: start.k + i as u64,
                yaw: yaw[i - 1],
                pitch: pitch[i - 1],
                fov: fov[i - 1],
                mode: targets[i].mode,
            };
            let pose = f.pose();
            let c = self.rig.limits.clamp(pose);
            if c != pose {
                self.counters.limit_clamps += 1;
                let prev = out.last().copied().unwrap_or(*start);
                let restate = |s: &mut AxisState, p: f64, before: &AxisState| {
                    if s.p != p {
                        s.p = p;
                        s.v = (p - before.p) / dt;
                        s.a = (s.v - before.v) / dt;
                    }
                };
                restate(&mut f.yaw, c.yaw, &prev.yaw);
                restate(&mut f.pitch, c.pitch, &prev.pitch);
                restate(&mut f.fov, c.fov, &prev.fov);
            }
            out.push(f);
        }
        out
    }
}

/// One axis over `[history.., start]`: the frames a replan may not change.
fn history(hist: &[PlanFrame], start: &PlanFrame, get: impl Fn(&PlanFrame) -> f64) -> Vec<f64> {
    hist.iter()
        .map(&get)
        .chain(std::iter::once(get(start)))
        .collect()
}

/// An axis' position at frame `i` of a plan: `start` at 0, then the planned states.
fn state_at(start: &AxisState, states: &[AxisState], i: usize) -> f64 {
    if i == 0 {
        start.p
    } else {
        states[i - 1].p
    }
}

/// The allowed band of one axis for a frame: the dead zone about the target (subject plus
/// lead room towards where play is heading), kept inside the safe zone about the subject.
/// `s` is the safe zone's half-size on this axis, degrees.
fn tube(t: &FrameTarget, subject: f64, ahead: f64, s: f64, cfg: &DirectorConfig) -> (f64, f64) {
    match t.mode {
        FramingMode::Ball => {
            let lead = (ahead - subject).clamp(-cfg.lead * s, cfg.lead * s);
            let target = subject + lead;
            let dz = cfg.dead_zone * s;
            let hard = (1.0 - SAFE_MARGIN) * s;
            let (l, u) = (
                (target - dz).max(subject - hard),
                (target + dz).min(subject + hard),
            );
            if l <= u {
                (l, u)
            } else {
                (subject - hard, subject + hard)
            }
        }
        // The same dead zone about the players' centre, without lead (their centre moves
        // slowly and its direction says little).
        FramingMode::Players => (subject - cfg.dead_zone * s, subject + cfg.dead_zone * s),
        FramingMode::Wide | FramingMode::Operator => {
            (subject - WIDE_TUBE_DEG, subject + WIDE_TUBE_DEG)
        }
    }
}

/// Per-frame limits replaced by the tightest of the frame and the `ahead` frames after it.
fn anticipate(lims: &[(f64, f64)], dt: f64, reach: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let hi: Vec<f64> = lims.iter().map(|l| l.1).collect();
    let neg_lo: Vec<f64> = lims.iter().map(|l| -l.0).collect();
    let hi = anticipate_caps(&hi, dt, &reach);
    let lo = anticipate_caps(&neg_lo, dt, &reach);
    lo.iter().zip(hi).map(|(l, h)| (-l, h)).collect()
}

/// Limits moved `m` inwards (to their midpoint when narrower than `2 m`).
fn shrink(lims: &[(f64, f64)], m: f64) -> Vec<(f64, f64)> {
    lims.iter()
        .map(|&(l, h)| {
            if h - l >= 2.0 * m {
                (l + m, h - m)
            } else {
                let c = 0.5 * (l + h);
                (c, c)
            }
        })
        .collect()
}

/// `[l, u]` moved inside `[lo, hi]` (collapsed onto the nearer end when it cannot fit).
fn fit(l: f64, u: f64, lo: f64, hi: f64) -> (f64, f64) {
    if lo > hi {
        let m = 0.5 * (lo + hi);
        return (m, m);
    }
    let (l2, u2) = (l.max(lo), u.min(hi));
    if l2 <= u2 {
        (l2, u2)
    } else {
        let v = (0.5 * (l + u)).clamp(lo, hi);
        (v, v)
    }
}

/// The taut string through `[lo, hi]` from `lo[0]`, smoothed with a triangle of `2 half`.
fn smooth_string(lo: &[f64], hi: &[f64], half: usize) -> Vec<f64> {
    let s = taut_string(lo, hi, lo[0]);
    triangle_smooth(&s, half)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planner() -> Planner {
        let cfg = DirectorConfig::default();
        Planner::new(&cfg, Rig::from_config(&cfg).unwrap())
    }

    fn target(mode: FramingMode, lon: f64, lat: f64, fov: f64) -> FrameTarget {
        FrameTarget {
            mode,
            lon,
            lat,
            ahead_lon: lon,
            ahead_lat: lat,
            fov,
            fov_cap: fov,
            uncertain: false,
        }
    }

    fn frame(k: u64, yaw: f64, pitch: f64, fov: f64) -> PlanFrame {
        PlanFrame {
            k,
            yaw: AxisState::at(yaw),
            pitch: AxisState::at(pitch),
            fov: AxisState::at(fov),
            mode: FramingMode::Wide,
        }
    }

    #[test]
    fn the_history_of_an_axis_ends_with_the_start_frame() {
        let hist = [frame(1, 1.0, 0.0, 40.0), frame(2, 2.0, 0.0, 40.0)];
        let v = history(&hist, &frame(3, 3.0, 0.0, 40.0), |f| f.yaw.p);
        assert_eq!(v, vec![1.0, 2.0, 3.0]);
        let states = [AxisState::at(5.0), AxisState::at(6.0)];
        assert_eq!(state_at(&AxisState::at(4.0), &states, 0), 4.0);
        assert_eq!(state_at(&AxisState::at(4.0), &states, 2), 6.0);
    }

    #[test]
    fn an_angle_settles_inside_its_band_and_never_leaves_its_limits() {
        let p = planner();
        let n = 300;
        let targets = vec![target(FramingMode::Ball, 0.0, -10.0, 40.0); n];
        let raw = vec![(-30.0, 30.0); n];
        // A band the angle can reach: it ends up inside it, at rest.
        let (s, _) = p.plan_angle(AxisState::at(0.0), vec![0.0], &raw, &targets, |_, _| {
            (10.0, 11.0)
        });
        let last = s.last().unwrap();
        assert!((10.0 - 1e-6..=11.0 + 1e-6).contains(&last.p), "{last:?}");
        assert!(last.v.abs() < 0.05, "{last:?}");
        // A band beyond the limits: the angle stops short of them.
        let (s, _) = p.plan_angle(AxisState::at(0.0), vec![0.0], &raw, &targets, |_, _| {
            (50.0, 51.0)
        });
        assert!(s.iter().all(|a| a.p <= 30.0), "{:?}", s.last());
        assert!(s.last().unwrap().p > 29.0, "{:?}", s.last());
    }

    #[test]
    fn a_pose_beyond_the_limits_is_clamped_and_its_motion_restated() {
        let mut p = planner();
        let start = frame(10, 0.0, -10.0, 40.0);
        let targets = vec![target(FramingMode::Wide, 0.0, -10.0, 40.0); 3];
        let (yaw, pitch, fov) = (
            [AxisState::at(0.5), AxisState::at(400.0)],
            [AxisState::at(-10.0); 2],
            [AxisState::at(40.0); 2],
        );
        let out = p.assemble(&start, &targets, &yaw, &pitch, &fov);
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].k, out[1].k), (11, 12));
        assert_eq!(out[0].yaw.p, 0.5);
        let clamped = out[1].yaw;
        assert!(clamped.p < 400.0 && clamped.p > 0.5, "{clamped:?}");
        assert!(
            (clamped.v - (clamped.p - 0.5) / p.dt).abs() < 1e-9,
            "{clamped:?}"
        );
        assert_eq!(p.counters.limit_clamps, 1);
    }
}
