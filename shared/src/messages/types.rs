//! The payload structs of every message kind. Field names are the wire names (MessagePack maps
//! with named fields), so other languages decode them by name. Angles are degrees, positions on
//! the pitch are metres (origin at a corner, x along the touchline), positions in the panorama
//! are pixels.

use serde::{Deserialize, Serialize};

/// One stitched panorama frame exists (published by capture for every frame).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameTick {
    /// Presentation time of the panorama frame (capture's running time), the join key.
    pub pts_ns: u64,
    /// Frame sequence number since capture started.
    pub seq: u64,
    /// Panorama size in pixels.
    pub width: u32,
    pub height: u32,
}

/// One detection in panorama pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Box centre and size in panorama pixels.
    pub cx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
    /// Class index into the detector's configured class list.
    pub class_id: u16,
    /// Class score in [0, 1].
    pub score: f32,
    /// Index of the tile the detection came from (the tiling's tile count for a focused
    /// frame's square, `detector.focus_tile_size`).
    pub tile: u16,
}

/// All detections of one analysed frame (sent also when there are none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawDetections {
    pub pts_ns: u64,
    pub seq: u64,
    /// Class names, indexed by `Detection::class_id`.
    pub classes: Vec<String>,
    pub detections: Vec<Detection>,
    /// Time the detector spent on this frame, microseconds.
    pub inference_us: u32,
    /// `None`: the whole panorama was analysed. Otherwise only this part of it,
    /// `[x, y, w, h]` in panorama pixels (the detector looked where it expected the ball):
    /// nothing found outside it says nothing about what is there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<[u32; 4]>,
    /// `true`: the motion cue, not the detector, looked at this frame. It finds only a ball
    /// that moves against the fixed background, and no players: a frame without a ball says
    /// nothing about a ball lying still or hidden. Absent from the message when `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub motion: bool,
}

/// Tracking status of the ball.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrackStatus {
    /// Measured in this frame.
    Tracked,
    /// Not measured; position predicted by the motion model.
    Predicted,
    /// No usable estimate.
    Lost,
}

/// Ball state estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BallState {
    /// Position on the pitch in metres; `z_m` is height above the ground.
    pub x_m: f32,
    pub y_m: f32,
    pub z_m: f32,
    /// Velocity in metres per second.
    pub vx_mps: f32,
    pub vy_mps: f32,
    pub vz_mps: f32,
    /// The same position in panorama pixels.
    pub px: f32,
    pub py: f32,
    /// Confidence in [0, 1].
    pub confidence: f32,
    pub status: TrackStatus,
}

/// Summary of the players seen in a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayersSummary {
    pub count: u16,
    /// Robust centre of mass on the pitch (metres).
    pub cx_m: f32,
    pub cy_m: f32,
    /// Robust spread (metres) along x and y.
    pub spread_x_m: f32,
    pub spread_y_m: f32,
}

/// Analyzer output for one analysed frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tracks {
    pub pts_ns: u64,
    pub ball: Option<BallState>,
    pub players: Option<PlayersSummary>,
}

/// One pose of the virtual camera at a frame time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Keyframe {
    pub pts_ns: u64,
    /// Pan, degrees (panorama longitude of the view centre).
    pub yaw: f32,
    /// Tilt, degrees (panorama latitude of the view centre, positive up).
    pub pitch: f32,
    /// Horizontal field of view, degrees.
    pub fov: f32,
}

/// A planned camera path. Replaces every not-yet-shown keyframe from its first pts on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraPath {
    /// Increasing number per director run, for logs and replacement diagnostics.
    pub path_id: u64,
    pub keyframes: Vec<Keyframe>,
}

/// Capture's playout figures, published once per second.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlayoutStatus {
    /// Newest stitched frame.
    pub live_pts: u64,
    /// Frame being shown.
    pub playout_pts: u64,
    /// Frames held in the delay ring, and its capacity.
    pub ring_depth: u32,
    pub ring_capacity: u32,
    /// True while playout has no path for the frames it shows.
    pub fallback_active: bool,
    pub frames_in: u64,
    pub frames_out: u64,
    /// Frames the delay ring overflowed (dropped unshown).
    pub frames_dropped: u64,
    /// Camera-path keyframes that arrived after their frame had been shown (a path that came
    /// later than the delay allows; those keyframes are dropped).
    pub frames_late: u64,
    /// The pose shown at `playout_pts` (absent in older senders), so that a restarted
    /// director can start from what is on screen.
    #[serde(default)]
    pub pose: Option<Keyframe>,
    /// Id of the camera path playout follows (0: none yet).
    #[serde(default)]
    pub path_id: u64,
    /// Every programme output (recording, stream, window, panorama view) and how it fares
    /// (absent in older senders).
    #[serde(default)]
    pub outputs: Vec<OutputHealth>,
    /// Both cameras and how they fare (absent in older senders).
    #[serde(default)]
    pub cameras: Vec<CameraHealth>,
    /// Whether the recording and stream outputs run, and since when (absent in older
    /// senders).
    #[serde(default)]
    pub recording: RecordingStatus,
}

/// Whether recording (and streaming) is on, as playout carries it out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordingStatus {
    /// True while the recording and stream outputs run.
    pub on: bool,
    /// Unix time (ns) capture received the latest switch, and the live frame it applies
    /// from (the programme switches when that frame is shown, one delay later). 0: the state
    /// capture started with.
    pub switched_unix_ns: u64,
    pub switched_live_pts: u64,
    /// Programme frame at which the latest switch was carried out (0: not yet).
    pub applied_pts: u64,
}

/// What the programme camera does, as an operator asked for it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum CameraMode {
    /// The director follows play.
    #[default]
    Auto,
    /// The whole pitch (the director's wide shot).
    Wide,
    /// A fixed view of the left half of the panorama.
    Left,
    /// A fixed view of the right half of the panorama.
    Right,
    /// Stay where the camera is.
    Hold,
    /// A fixed pose: pan and tilt of the view centre and horizontal field of view, degrees.
    Manual { yaw: f32, pitch: f32, fov: f32 },
}

impl CameraMode {
    pub fn name(&self) -> &'static str {
        match self {
            CameraMode::Auto => "auto",
            CameraMode::Wide => "wide",
            CameraMode::Left => "left",
            CameraMode::Right => "right",
            CameraMode::Hold => "hold",
            CameraMode::Manual { .. } => "manual",
        }
    }
}

/// The operator's wishes, published by launch whenever they change and once a second (a
/// restarted process has them again within a second; it also reads launch's
/// `operator.json` in the runtime directory at start).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct OperatorState {
    /// Counts changes within one launch run.
    pub seq: u64,
    pub camera: CameraMode,
    /// Whether the recording and stream outputs should run.
    pub record: bool,
    /// Unix time (ns) of the latest change.
    pub changed_unix_ns: u64,
}

/// Where an output stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputState {
    /// Switched off on purpose: recording and streaming are stopped (by the operator or
    /// outside the scheduled matches). Nothing is lost or counted dropped while off.
    Off,
    /// Built, nothing delivered yet (a stream connecting).
    Starting,
    /// Delivering: bytes reach its sink.
    Running,
    /// Failed; rebuilt after a backoff (the other outputs go on).
    Retrying,
    /// Finished at stop.
    Finished,
}

/// One output of playout, for operators. Never carries a stream key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputHealth {
    /// The output as configured (file path, stream URL without its key, `display`).
    pub name: String,
    pub state: OutputState,
    /// Times it was rebuilt after a failure.
    pub restarts: u32,
    /// Frames handed to it, and bytes that reached its sink (all incarnations).
    pub frames: u64,
    pub bytes: u64,
    /// Frames it did not get: while it was down, or because it was behind (live runs).
    pub dropped: u64,
    /// The file written now (file outputs; a rebuilt output continues in a new file).
    pub file: Option<String>,
    /// Its most recent error.
    pub last_error: Option<String>,
}

/// Where a camera stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraState {
    /// Built, no frame yet.
    Starting,
    /// Frames arriving.
    Running,
    /// Failed or ended; restarted after a backoff (the broadcast goes on without it).
    Down,
    /// Ended for good (offline input finished, or capture is stopping).
    Ended,
}

/// One camera, for operators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraHealth {
    /// The camera's name in the calibration (`left`, `right`).
    pub name: String,
    pub state: CameraState,
    /// Times its pipeline was rebuilt after a failure or an end of stream.
    pub restarts: u32,
    /// Frames it delivered (all incarnations).
    pub frames: u64,
    /// Milliseconds since its last frame, or since its last restart if that came later.
    pub silent_ms: u64,
    pub last_error: Option<String>,
}

/// Liveness signal, sent once per second on every publisher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// Process name (`capture`, `analyzer`, `director`, ...).
    pub process: String,
    pub pid: u32,
    /// Heartbeat counter since the process started.
    pub seq: u64,
    pub uptime_ms: u64,
    /// Set while the process runs but cannot do its work (capture: no working camera); a
    /// supervisor treats a process that stays so for its hung timeout as hung. Absent in
    /// older senders.
    #[serde(default)]
    pub problem: Option<String>,
    /// The process's counters (names ending in `_total`) and gauges, for monitoring (absent
    /// in older senders).
    #[serde(default)]
    pub metrics: std::collections::BTreeMap<String, f64>,
}

/// What a snapshot request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotKind {
    /// The analyzer's recent tracks.
    Tracks,
    /// Capture's current playout status.
    Playout,
}

/// Request for recent state (restart recovery, GUIDE section 4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRequest {
    pub kind: SnapshotKind,
    /// Only tracks with `pts_ns >= since_pts_ns`.
    pub since_pts_ns: u64,
}

/// Reply to a [`SnapshotRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotReply {
    pub kind: SnapshotKind,
    pub tracks: Vec<Tracks>,
    pub playout: Option<PlayoutStatus>,
    /// True when the reply was cut to stay under the message size limit (oldest dropped).
    pub truncated: bool,
}
