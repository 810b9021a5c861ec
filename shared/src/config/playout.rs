//! `[playout]`: the delay, the virtual camera, the fallback, the outputs and the audio.

use super::{check_range, ConfigError};
use serde::{Deserialize, Serialize};

/// How the delay ring holds frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RingModeConfig {
    /// References to pooled frames (the product).
    #[default]
    ZeroCopy,
    /// Deep copy in and out, like the old prototype. For benchmarks only.
    HostCopy,
}

/// Where the audio comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudioSource {
    /// A tone with crowd-like noise and a beep at every sync flash of the synthetic source.
    #[default]
    Synthetic,
    /// A GStreamer description producing raw audio (`audio_pipeline`), e.g. `alsasrc`.
    Live,
    /// No audio track.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlayoutConfig {
    /// Delay between the live panorama and what is shown, seconds.
    pub delay_s: f64,
    pub ring_mode: RingModeConfig,
    /// Extra pool frames beyond the delay (stitching, detector, encoders in flight).
    pub pool_margin: u32,
    /// Virtual camera output size.
    pub output_width: u32,
    pub output_height: u32,
    /// Field of view bounds (degrees) and constant roll.
    pub fov_min_deg: f64,
    pub fov_max_deg: f64,
    pub roll_deg: f64,
    /// The safe wide shot used when no path is known.
    pub wide_yaw_deg: f64,
    pub wide_pitch_deg: f64,
    pub wide_fov_deg: f64,
    /// Hold the last pose this long without a path before easing to the wide shot.
    pub fallback_after_s: f64,
    /// Angular speed limits while easing to the wide shot and blending back, deg/s.
    pub fallback_speed_deg_s: f64,
    pub blend_speed_deg_s: f64,
    /// Largest gap between keyframes still interpolated, seconds.
    pub max_keyframe_gap_s: f64,
    /// Record the programme to this file (.mp4 finalised on stop, or .mkv). Empty: off.
    pub record: String,
    /// RTMP server URL without the stream key, e.g. `rtmp://live.example.com/app`. Empty: off.
    pub rtmp_url: String,
    /// File holding the stream key (read at start; never logged). The environment variable
    /// `TOUCHLINE_RTMP_KEY` is used when this is empty.
    pub rtmp_key_file: String,
    /// SRT listener to stream to (caller mode, H.264/AAC in MPEG-TS), e.g.
    /// `srt://203.0.113.5:9000`; SRT options may follow (`?passphrase=...`, never logged).
    /// Empty: off.
    pub srt_url: String,
    /// Show the programme in a window.
    pub display: bool,
    /// Panorama view with overlays: a file (.mp4/.mkv), `display`, or empty for off.
    pub panorama_view: String,
    /// Width of the panorama view (height follows the panorama's aspect).
    pub panorama_view_width: u32,
    /// Programme time between the operator page's JPEG snapshots of the programme and the
    /// panorama, milliseconds (written into the runtime directory); 0: none.
    pub preview_interval_ms: u64,
    /// Width of those snapshots, pixels.
    pub preview_width: u32,
    /// Video bit rate of the programme, kbit/s.
    pub bitrate_kbps: u32,
    pub audio: AudioSource,
    /// GStreamer description of the live audio source (audio = "live").
    pub audio_pipeline: String,
    /// Period of the synthetic source's sync flash and beep, seconds (0: none).
    pub sync_flash_period_s: f64,
    /// Write the pose of every output frame here (JSON lines), for evaluation. Empty: off.
    pub pose_log: String,
    /// Write playout's final counters here (JSON) when capture stops. Empty: off.
    pub report: String,
    /// An output that fails (a stream whose server went away, a disk that filled) is built
    /// again after this delay, seconds; doubled per further failure up to
    /// `output_retry_max_s`. The recording and the other outputs go on meanwhile.
    pub output_retry_initial_s: f64,
    pub output_retry_max_s: f64,
    /// In real-time runs, an output that takes frames while nothing reaches its file or
    /// server for this long has stalled and is built again, seconds.
    pub output_stall_s: f64,
}

impl Default for PlayoutConfig {
    fn default() -> Self {
        Self {
            delay_s: 7.0,
            ring_mode: RingModeConfig::ZeroCopy,
            pool_margin: 12,
            output_width: 1280,
            output_height: 720,
            fov_min_deg: 12.0,
            fov_max_deg: 90.0,
            roll_deg: 0.0,
            wide_yaw_deg: 0.0,
            wide_pitch_deg: -16.0,
            wide_fov_deg: 80.0,
            fallback_after_s: 2.0,
            fallback_speed_deg_s: 15.0,
            blend_speed_deg_s: 30.0,
            max_keyframe_gap_s: 1.0,
            record: String::new(),
            rtmp_url: String::new(),
            rtmp_key_file: String::new(),
            srt_url: String::new(),
            display: false,
            panorama_view: String::new(),
            panorama_view_width: 1280,
            preview_interval_ms: 1000,
            preview_width: 640,
            bitrate_kbps: 4000,
            audio: AudioSource::Synthetic,
            audio_pipeline: String::new(),
            sync_flash_period_s: 5.0,
            pose_log: String::new(),
            report: String::new(),
            output_retry_initial_s: 0.5,
            output_retry_max_s: 4.0,
            output_stall_s: 5.0,
        }
    }
}

impl PlayoutConfig {
    // Long by design: one check per key of the section, in the order of the struct, each naming its
    // key; split, the keys would be looked for in several places.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("playout.delay_s", self.delay_s, 0.2, 60.0)?;
        check_range("playout.pool_margin", self.pool_margin, 10, 1000)?;
        check_range("playout.output_width", self.output_width, 64, 7680)?;
        check_range("playout.output_height", self.output_height, 36, 4320)?;
        if !self.output_width.is_multiple_of(2) || !self.output_height.is_multiple_of(2) {
            return Err(ConfigError::invalid(
                "playout.output_width",
                "output width and height must be even (NV12)",
            ));
        }
        check_range("playout.fov_min_deg", self.fov_min_deg, 1.0, 170.0)?;
        check_range(
            "playout.fov_max_deg",
            self.fov_max_deg,
            self.fov_min_deg,
            170.0,
        )?;
        check_range("playout.roll_deg", self.roll_deg, -45.0, 45.0)?;
        check_range(
            "playout.wide_fov_deg",
            self.wide_fov_deg,
            self.fov_min_deg,
            self.fov_max_deg,
        )?;
        check_range("playout.wide_yaw_deg", self.wide_yaw_deg, -180.0, 180.0)?;
        check_range("playout.wide_pitch_deg", self.wide_pitch_deg, -89.0, 89.0)?;
        check_range(
            "playout.fallback_after_s",
            self.fallback_after_s,
            0.0,
            600.0,
        )?;
        check_range(
            "playout.fallback_speed_deg_s",
            self.fallback_speed_deg_s,
            0.5,
            360.0,
        )?;
        check_range(
            "playout.blend_speed_deg_s",
            self.blend_speed_deg_s,
            0.5,
            360.0,
        )?;
        check_range(
            "playout.max_keyframe_gap_s",
            self.max_keyframe_gap_s,
            0.01,
            10.0,
        )?;
        if self.preview_interval_ms != 0 {
            check_range(
                "playout.preview_interval_ms",
                self.preview_interval_ms,
                100,
                60_000,
            )?;
        }
        check_range("playout.preview_width", self.preview_width, 64, 3840)?;
        check_range(
            "playout.panorama_view_width",
            self.panorama_view_width,
            96,
            8192,
        )?;
        check_range("playout.bitrate_kbps", self.bitrate_kbps, 100, 100_000)?;
        check_range(
            "playout.sync_flash_period_s",
            self.sync_flash_period_s,
            0.0,
            3600.0,
        )?;
        if !(self.rtmp_url.is_empty()
            || self.rtmp_url.starts_with("rtmp://")
            || self.rtmp_url.starts_with("rtmps://"))
        {
            return Err(ConfigError::invalid(
                "playout.rtmp_url",
                "must start with rtmp:// or rtmps:// (without the stream key)",
            ));
        }
        if !(self.srt_url.is_empty() || self.srt_url.starts_with("srt://")) {
            return Err(ConfigError::invalid(
                "playout.srt_url",
                "must start with srt:// (host and port of an SRT listener)",
            ));
        }
        check_range(
            "playout.output_retry_initial_s",
            self.output_retry_initial_s,
            0.05,
            60.0,
        )?;
        check_range(
            "playout.output_retry_max_s",
            self.output_retry_max_s,
            self.output_retry_initial_s,
            600.0,
        )?;
        check_range("playout.output_stall_s", self.output_stall_s, 0.5, 600.0)?;
        if self.audio == AudioSource::Live && self.audio_pipeline.trim().is_empty() {
            return Err(ConfigError::invalid(
                "playout.audio_pipeline",
                "is needed when playout.audio = \"live\"",
            ));
        }
        Ok(())
    }
}
