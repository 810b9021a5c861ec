//! Offline replay: the live planner code run over recorded or synthetic tracks, as fast as
//! the machine allows, with the same replan cadence and look-ahead as live.
//!
//! Inputs: a recording (`Tracks` records; other topics are counted and ignored), a
//! trajectory CSV (`t_s,x_m,y_m,z_m`, the ground truth, turned into tracks with optional
//! detector faults) or a scripted scenario. Damaged inputs give a clear error (nothing
//! usable) or a counted skip (a bad record or row, a truncated tail).

use crate::baselines;
use crate::framing::FramingMode;
use crate::metrics::{self, EvalFrame, MetricsOptions, PathMetrics};
use crate::planner::{PlanFrame, Planner, PlannerCounters};
use crate::rig::Rig;
use crate::synth::{synthesize, BallTruth, TrackFaults};
use crate::view::Pose;
use crate::window::WindowCounters;
use serde::Serialize;
use shared::config::DirectorConfig;
use shared::messages::{Message, Tracks};
use shared::recording::{RecordingError, RecordingReader, MAGIC};
use shared::scene::{BallScript, BallSource, Scenario, Trajectory, TrajectoryError};
use shared::time::{NS_PER_MS, NS_PER_SEC};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a replay input cannot be used.
#[derive(Debug, Error)]
pub enum ReplayError {
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error(transparent)]
    Trajectory(#[from] TrajectoryError),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no usable tracks ({records} records: {decode_errors} did not decode, {other} of other kinds{tail}); record the analyzer's `tracks` topic")]
    NoTracks {
        path: PathBuf,
        records: u64,
        decode_errors: u64,
        other: u64,
        tail: String,
    },
    #[error("the frame rate must be between 1 and 240, got {0}")]
    BadFrameRate(f64),
}

/// What was read, skipped and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InputStats {
    /// `recording`, `trajectory` or `scenario`.
    pub kind: String,
    pub source: String,
    pub records: u64,
    pub tracks: u64,
    /// Records of other topics (status, ticks, ...), ignored.
    pub other_records: u64,
    /// Records whose payload did not decode, skipped.
    pub decode_errors: u64,
    /// Tracks with a frame time already seen or earlier than the previous one, dropped.
    pub out_of_order: u64,
    /// Trajectory rows skipped as unusable (with `--skip-bad-rows`).
    pub skipped_rows: u64,
    /// A truncated or corrupt tail: everything before it was used.
    pub damaged_tail: Option<String>,
    pub duration_s: f64,
}

/// Tracks to replay, with the truth behind them when known.
#[derive(Debug, Clone, Default)]
pub struct ReplayInput {
    /// Sorted by frame time, no duplicates.
    pub tracks: Vec<Tracks>,
    /// Ground truth per frame (trajectory and scenario inputs), sorted by frame time.
    pub truth: Option<Vec<BallTruth>>,
    pub stats: InputStats,
}

/// How tracks are made from known ball motion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthOptions {
    pub fps: f64,
    pub faults: TrackFaults,
    /// Seed of the players' motion.
    pub scene_seed: u64,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            fps: 25.0,
            faults: TrackFaults::default(),
            scene_seed: 1,
        }
    }
}

/// Sorts by frame time and drops repeated frame times, counting them.
fn sorted_unique(mut tracks: Vec<Tracks>) -> (Vec<Tracks>, u64) {
    let in_order = tracks.windows(2).all(|w| w[0].pts_ns < w[1].pts_ns);
    let n = tracks.len();
    if !in_order {
        tracks.sort_by_key(|t| t.pts_ns);
        tracks.dedup_by_key(|t| t.pts_ns);
    }
    let dropped = (n - tracks.len()) as u64;
    (tracks, dropped)
}

/// True when the file starts with the recording magic.
fn is_recording(path: &Path) -> Result<bool, ReplayError> {
    let mut f = std::fs::File::open(path).map_err(|source| ReplayError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut head = [0u8; 5];
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(ReplayError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
    Ok(got == head.len() && head[..] == MAGIC[..5])
}

/// Reads a recording or a trajectory CSV (told apart by the recording's magic bytes).
pub fn load_input(
    path: &Path,
    rig: &Rig,
    synth: &SynthOptions,
    skip_bad_rows: bool,
) -> Result<ReplayInput, ReplayError> {
    if is_recording(path)? {
        load_recording(path)
    } else {
        load_trajectory(path, rig, synth, skip_bad_rows)
    }
}

/// Reads the `Tracks` of a recording. A damaged tail ends the input (counted).
pub fn load_recording(path: &Path) -> Result<ReplayInput, ReplayError> {
    let reader = RecordingReader::open(path)?;
    let mut stats = InputStats {
        kind: "recording".into(),
        source: path.display().to_string(),
        ..Default::default()
    };
    let mut tracks = Vec::new();
    for item in reader {
        match item {
            Ok(rec) => {
                stats.records += 1;
                if rec.topic != "tracks" {
                    stats.other_records += 1;
                    continue;
                }
                match rec.message() {
                    Ok(Message::Tracks(t)) => tracks.push(t),
                    Ok(_) => stats.other_records += 1,
                    Err(error) => {
                        stats.decode_errors += 1;
                        if stats.decode_errors <= 3 {
                            tracing::warn!(message = "Skipped a record that did not decode.", path = %path.display(), %error);
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(message = "Recording ends in a damaged record; using everything before it.", %error);
                stats.damaged_tail = Some(error.to_string());
            }
        }
    }
    if tracks.is_empty() {
        return Err(ReplayError::NoTracks {
            path: path.to_path_buf(),
            records: stats.records,
            decode_errors: stats.decode_errors,
            other: stats.other_records,
            tail: stats
                .damaged_tail
                .as_ref()
                .map(|e| format!("; {e}"))
                .unwrap_or_default(),
        });
    }
    let (tracks, dropped) = sorted_unique(tracks);
    stats.out_of_order = dropped;
    stats.tracks = tracks.len() as u64;
    stats.duration_s = span_s(&tracks);
    Ok(ReplayInput {
        tracks,
        truth: None,
        stats,
    })
}

fn span_s(tracks: &[Tracks]) -> f64 {
    match (tracks.first(), tracks.last()) {
        (Some(a), Some(b)) => (b.pts_ns - a.pts_ns) as f64 / NS_PER_SEC as f64,
        _ => 0.0,
    }
}

/// Tracks made from a trajectory CSV (the ground truth) with simulated faults.
pub fn load_trajectory(
    path: &Path,
    rig: &Rig,
    synth: &SynthOptions,
    skip_bad_rows: bool,
) -> Result<ReplayInput, ReplayError> {
    let traj = Trajectory::load(path, &rig.cal.pitch, skip_bad_rows)?;
    let (start, end) = (traj.start(), traj.duration());
    let skipped = traj.skipped_rows as u64;
    let mut input = from_source(BallSource::File(traj), start, end, rig, synth)?;
    input.stats.kind = "trajectory".into();
    input.stats.source = path.display().to_string();
    input.stats.skipped_rows = skipped;
    Ok(input)
}

/// Tracks of a scripted scenario.
pub fn scenario_input(
    scenario: Scenario,
    duration_s: f64,
    seed: u64,
    rig: &Rig,
    synth: &SynthOptions,
) -> Result<ReplayInput, ReplayError> {
    let script = BallScript::generate(scenario, duration_s, seed, &rig.cal.pitch);
    let mut input = from_source(BallSource::Script(script), 0.0, duration_s, rig, synth)?;
    input.stats.kind = "scenario".into();
    input.stats.source = format!("{} ({duration_s} s, seed {seed})", scenario.name());
    Ok(input)
}

fn from_source(
    source: BallSource,
    start: f64,
    end: f64,
    rig: &Rig,
    synth: &SynthOptions,
) -> Result<ReplayInput, ReplayError> {
    if !(1.0..=240.0).contains(&synth.fps) {
        return Err(ReplayError::BadFrameRate(synth.fps));
    }
    let s = synthesize(
        source,
        &rig.cal,
        synth.fps,
        start,
        end,
        &synth.faults,
        synth.scene_seed,
    );
    let stats = InputStats {
        tracks: s.tracks.len() as u64,
        duration_s: span_s(&s.tracks),
        ..Default::default()
    };
    Ok(ReplayInput {
        tracks: s.tracks,
        truth: Some(s.truth),
        stats,
    })
}

/// The path shown, frame by frame, and what the planner counted.
#[derive(Debug, Clone)]
pub struct ReplayRun {
    pub frames: Vec<PlanFrame>,
    pub step_ns: u64,
    pub counters: PlannerCounters,
    pub window: WindowCounters,
}

impl ReplayRun {
    pub fn frame_pts(&self) -> Vec<u64> {
        self.frames.iter().map(|f| f.k * self.step_ns).collect()
    }

    pub fn poses(&self) -> Vec<Pose> {
        self.frames.iter().map(|f| f.pose()).collect()
    }
}

/// Runs the planner over the input as live would: every `replan_period` of playout time,
/// live is `delay` ahead (capped at the last track), tracks up to live are known, and the
/// frames up to the commit guard are frozen and recorded as shown. `progress(done, total)`
/// is called now and then with frame times.
pub fn run_planner(
    input: &ReplayInput,
    cfg: &DirectorConfig,
    rig: &Rig,
    mut progress: impl FnMut(u64, u64),
) -> ReplayRun {
    let mut planner = Planner::new(cfg, rig.clone());
    let step = planner.step_ns();
    let mut frames: Vec<PlanFrame> = Vec::new();
    let (Some(first), Some(last)) = (input.tracks.first(), input.tracks.last()) else {
        return ReplayRun {
            frames,
            step_ns: step,
            counters: planner.counters(),
            window: planner.window_counters(),
        };
    };
    let (first, last) = (first.pts_ns, last.pts_ns);
    let period = (cfg.replan_period_ms * NS_PER_MS).max(1);
    let delay = cfg.delay_ms * NS_PER_MS;
    let mut next_track = 0usize;
    let mut t = first.div_ceil(period) * period;
    let mut recorded: Option<u64> = None;
    let total = last - first;
    let mut calls = 0u64;
    loop {
        let live = (t + delay).min(last);
        while next_track < input.tracks.len() && input.tracks[next_track].pts_ns <= live {
            planner.push_tracks(&input.tracks[next_track]);
            next_track += 1;
        }
        planner.replan(t, live);
        let frozen = planner.frozen_frame(t);
        let done = frozen * step >= last;
        for f in planner.frames() {
            let new = recorded.is_none_or(|r| f.k > r);
            if new && (f.k <= frozen || done) {
                frames.push(*f);
                recorded = Some(f.k);
            }
        }
        calls += 1;
        if calls.is_multiple_of(64) {
            progress(t.saturating_sub(first).min(total), total);
        }
        if done {
            break;
        }
        t += period;
    }
    progress(total, total);
    ReplayRun {
        frames,
        step_ns: step,
        counters: planner.counters(),
        window: planner.window_counters(),
    }
}

/// Ball direction and in-play flag per frame: from the truth where known, else from the
/// tracks (measured ball only; in play while on the pitch).
pub fn ball_reference(
    input: &ReplayInput,
    rig: &Rig,
    frames: &[u64],
) -> Vec<Option<(f64, f64, bool)>> {
    let tol = 20 * NS_PER_MS;
    frames
        .iter()
        .map(|&t| match &input.truth {
            Some(truth) => {
                let i = truth.partition_point(|x| x.pts_ns + tol < t);
                let f = truth.get(i).filter(|f| f.pts_ns <= t + tol)?;
                let (lon, lat) = rig.lonlat(f.x_m, f.y_m, f.z_m);
                Some((lon, lat, f.in_play))
            }
            None => {
                let i = input.tracks.partition_point(|x| x.pts_ns + tol < t);
                let tr = input.tracks.get(i).filter(|x| x.pts_ns <= t + tol)?;
                let b = tr.ball.as_ref()?;
                if b.status != shared::messages::TrackStatus::Tracked {
                    return None;
                }
                let (x, y, z) = (b.x_m as f64, b.y_m as f64, (b.z_m as f64).max(0.0));
                if !(x.is_finite() && y.is_finite() && z.is_finite()) {
                    return None;
                }
                let (lon, lat) = rig.lonlat(x, y, z);
                Some((lon, lat, rig.cal.pitch.contains(x, y, 0.5)))
            }
        })
        .collect()
}

/// Metrics options from the config.
pub fn metrics_options(cfg: &DirectorConfig, view: crate::view::ViewModel) -> MetricsOptions {
    MetricsOptions {
        safe_w: cfg.safe_zone_width,
        safe_h: cfg.safe_zone_height,
        hunting_speed_deg_s: cfg.hunting_speed_deg_s,
        zoom_change_deg_s: cfg.zoom_change_deg_s,
        max_lag_s: 2.0,
        view,
    }
}

/// Metrics of poses on `frames` against the input's ball.
pub fn evaluate(
    input: &ReplayInput,
    rig: &Rig,
    cfg: &DirectorConfig,
    frames: &[u64],
    poses: &[Pose],
) -> PathMetrics {
    let reference = ball_reference(input, rig, frames);
    let eval: Vec<EvalFrame> = frames
        .iter()
        .zip(poses)
        .zip(&reference)
        .map(|((&t, pose), r)| EvalFrame {
            t_s: t as f64 / NS_PER_SEC as f64,
            pose: *pose,
            ball: r.map(|(lon, lat, _)| (lon, lat)),
            in_play: r.is_some_and(|(_, _, p)| p),
            safe_reachable: r.is_none_or(|(lon, lat, _)| {
                rig.limits
                    .can_show(lon, lat, cfg.safe_zone_width, cfg.safe_zone_height)
            }),
        })
        .collect();
    let dt = cfg.plan_step_ns() as f64 / NS_PER_SEC as f64;
    metrics::compute(
        &eval,
        dt,
        &rig.cal.panorama,
        &metrics_options(cfg, rig.view),
    )
}

/// The planner and both baselines on one input, metrics side by side.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub run: ReplayRun,
    pub ours: PathMetrics,
    pub old_rules: PathMetrics,
    pub naive: PathMetrics,
    pub old_poses: Vec<Pose>,
    pub naive_poses: Vec<Pose>,
}

/// Replays the input with the planner and evaluates it and both baselines on the same frames.
pub fn compare(input: &ReplayInput, cfg: &DirectorConfig, rig: &Rig) -> Comparison {
    let run = run_planner(input, cfg, rig, |_, _| {});
    let frames = run.frame_pts();
    let ours = evaluate(input, rig, cfg, &frames, &run.poses());
    let old_poses = baselines::old_prototype(&input.tracks, rig, &frames);
    let naive_poses = baselines::naive_follower(&input.tracks, rig, &frames);
    let old_rules = evaluate(input, rig, cfg, &frames, &old_poses);
    let naive = evaluate(input, rig, cfg, &frames, &naive_poses);
    Comparison {
        run,
        ours,
        old_rules,
        naive,
        old_poses,
        naive_poses,
    }
}

/// Share of frames per framing mode (ball, players, wide).
pub fn mode_shares(frames: &[PlanFrame]) -> [(FramingMode, f64); 3] {
    let n = frames.len().max(1) as f64;
    let c = |m: FramingMode| frames.iter().filter(|f| f.mode == m).count() as f64 / n;
    [
        (FramingMode::Ball, c(FramingMode::Ball)),
        (FramingMode::Players, c(FramingMode::Players)),
        (FramingMode::Wide, c(FramingMode::Wide)),
    ]
}
