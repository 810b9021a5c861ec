//! `[capture]`: camera sources, the rig calibration, stitching.

use super::{check_range, ConfigError};
use serde::{Deserialize, Serialize};

/// Where the two camera feeds come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The built-in synthetic pitch (default; needs no camera).
    #[default]
    Synthetic,
    /// Two video files (`files`).
    Files,
    /// Two RTSP URLs (`rtsp`).
    Rtsp,
    /// Two V4L2 devices (`devices`).
    V4l2,
    /// Two GStreamer source descriptions (`pipelines`), e.g. `nvarguscamerasrc sensor-id=0`.
    Custom,
}

impl SourceKind {
    /// Cameras that run on their own clock (RTSP, V4L2, custom sources): their frames
    /// cannot be waited for, only taken or dropped. Synthetic frames and files can wait.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            SourceKind::Rtsp | SourceKind::V4l2 | SourceKind::Custom
        )
    }
}

/// Where the panorama's pixels live and which processor works on them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// System memory and the CPU (any machine).
    #[default]
    Cpu,
    /// GPU memory and CUDA kernels (a PC with an NVIDIA GPU and its driver): stitch, delay
    /// ring, tile preparation and virtual camera on the GPU; only the output frame leaves it.
    Cuda,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureConfig {
    pub source: SourceKind,
    /// `cpu` or `cuda`. Asking for `cuda` where no NVIDIA driver or GPU is found stops capture
    /// at start with an error saying so.
    pub backend: Backend,
    /// The GPU to use with the `cuda` backend (CUDA device index).
    pub gpu_device: u32,
    /// With the `cuda` backend, decode `files` and `rtsp` cameras into GPU memory (NVDEC
    /// through GStreamer's `nvh264dec`/`nvh265dec`, sharing capture's CUDA context): no camera
    /// byte crosses PCIe. The decoded frames must be NV12 at the calibrated camera size (no
    /// scaling on that path). Off, or where GStreamer has no NVDEC decoder, frames are
    /// decoded into system memory and uploaded once each. Ignored by the `cpu` backend and by
    /// `synthetic`, `v4l2` and `custom` sources.
    pub gpu_decode: bool,
    /// Rig calibration file (TOML). Empty: the built-in synthetic rig.
    pub calibration: String,
    /// Panorama width of the built-in rig (height is a third of it).
    pub panorama_width: u32,
    /// Camera image size of the synthetic source (and of the built-in rig).
    pub camera_width: u32,
    pub camera_height: u32,
    /// Frame rate of the synthetic source, frames per second.
    pub fps: u32,
    /// Synthetic ball motion: passes, lofted, shot, out_of_play, hidden, still, mixed.
    pub scenario: String,
    /// Ball trajectory CSV (`t_s,x_m,y_m,z_m`) for the synthetic source; overrides `scenario`.
    pub trajectory: String,
    /// Seed of the synthetic match.
    pub seed: u64,
    /// Exposure of the left and right synthetic cameras (gain on luma), to exercise gain
    /// matching.
    pub exposure: [f32; 2],
    /// Luma noise amplitude of the synthetic cameras (code values).
    pub noise: f32,
    /// Pace the synthetic source to real time. Off (synthetic and files sources only): as
    /// fast as the pipeline takes frames, nothing dropped, a camera frame waits for its
    /// partner until that camera ends. Live cameras always run in real time.
    pub realtime: bool,
    /// Two video files (source = "files").
    pub files: Vec<String>,
    /// Two RTSP URLs (source = "rtsp").
    pub rtsp: Vec<String>,
    /// Two V4L2 devices (source = "v4l2").
    pub devices: Vec<String>,
    /// Two GStreamer source descriptions (source = "custom").
    pub pipelines: Vec<String>,
    /// Folder for cached stitch tables. Empty: `$XDG_CACHE_HOME/touchline` or
    /// `~/.cache/touchline`.
    pub table_cache: String,
    /// Folder with the old prototype's maps (`lut_left_x.bin`, ...) to use instead of computing
    /// the tables from the calibration.
    pub legacy_tables: String,
    /// Gain matching: fraction of the way to the measured gain per frame, and the bound.
    pub gain_smoothing: f32,
    pub max_gain: f32,
    /// Where to write the synthetic source's ground truth (JSON lines), for evaluation.
    /// Empty: not written. Never given to the detector.
    pub truth_log: String,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            source: SourceKind::Synthetic,
            backend: Backend::Cpu,
            gpu_device: 0,
            gpu_decode: true,
            calibration: String::new(),
            panorama_width: 1920,
            camera_width: 960,
            camera_height: 540,
            fps: 25,
            scenario: "mixed".into(),
            trajectory: String::new(),
            seed: 1,
            exposure: [1.06, 0.94],
            noise: 2.0,
            realtime: true,
            files: Vec::new(),
            rtsp: Vec::new(),
            devices: Vec::new(),
            pipelines: Vec::new(),
            table_cache: String::new(),
            legacy_tables: String::new(),
            gain_smoothing: 0.1,
            max_gain: 1.5,
            truth_log: String::new(),
        }
    }
}

const SCENARIOS: [&str; 7] = [
    "passes",
    "lofted",
    "shot",
    "out_of_play",
    "hidden",
    "still",
    "mixed",
];

impl CaptureConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("capture.panorama_width", self.panorama_width, 96, 16384)?;
        if !self.panorama_width.is_multiple_of(6) {
            return Err(ConfigError::invalid(
                "capture.panorama_width",
                format!(
                    "must be a multiple of 6 (even width and even height = width / 3), got {}",
                    self.panorama_width
                ),
            ));
        }
        check_range("capture.camera_width", self.camera_width, 64, 8192)?;
        check_range("capture.camera_height", self.camera_height, 36, 8192)?;
        if !self.camera_width.is_multiple_of(2) || !self.camera_height.is_multiple_of(2) {
            return Err(ConfigError::invalid(
                "capture.camera_width",
                "camera width and height must be even (NV12)",
            ));
        }
        check_range("capture.fps", self.fps, 1, 120)?;
        check_range("capture.gpu_device", self.gpu_device, 0, 63)?;
        if !SCENARIOS.contains(&self.scenario.as_str()) {
            return Err(ConfigError::invalid(
                "capture.scenario",
                format!(
                    "must be one of {}, got {:?}",
                    SCENARIOS.join(", "),
                    self.scenario
                ),
            ));
        }
        for (i, e) in self.exposure.iter().enumerate() {
            check_range(&format!("capture.exposure[{i}]"), *e, 0.25, 4.0)?;
        }
        check_range("capture.noise", self.noise, 0.0, 32.0)?;
        check_range("capture.gain_smoothing", self.gain_smoothing, 0.001, 1.0)?;
        check_range("capture.max_gain", self.max_gain, 1.0, 4.0)?;
        if !self.realtime && self.source.is_live() {
            return Err(ConfigError::invalid(
                "capture.realtime",
                format!(
                    "must be true for source = {:?}: live cameras run on their own clock, and an offline run would wait for a stalled camera (freezing the panorama); use false only with the synthetic or files source",
                    self.source
                ),
            ));
        }
        let (key, list) = match self.source {
            SourceKind::Synthetic => return Ok(()),
            SourceKind::Files => ("capture.files", &self.files),
            SourceKind::Rtsp => ("capture.rtsp", &self.rtsp),
            SourceKind::V4l2 => ("capture.devices", &self.devices),
            SourceKind::Custom => ("capture.pipelines", &self.pipelines),
        };
        if list.len() != 2 || list.iter().any(|s| s.trim().is_empty()) {
            return Err(ConfigError::invalid(
                key,
                format!("must list exactly two non-empty entries (left, right) for source = {:?}, got {}", self.source, list.len()),
            ));
        }
        if self.calibration.is_empty() {
            return Err(ConfigError::invalid(
                "capture.calibration",
                "a calibration file is needed for real cameras (the built-in rig only fits the synthetic source)",
            ));
        }
        Ok(())
    }
}
