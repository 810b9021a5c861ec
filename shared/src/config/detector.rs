//! `[detector]`: the ball and player detector inside capture: which engine and model, the
//! classes and their gates, how the panorama is cut into tiles, and how often it is analysed.

use super::{check_range, ConfigError};
use serde::{Deserialize, Serialize};

/// Engines that can run the model.
pub const DETECTOR_ENGINES: [&str; 3] = ["tract", "cuda", "ort"];

/// Units of `mask_polygon`.
pub const MASK_UNITS: [&str; 2] = ["m", "px"];

/// ONNX Runtime execution providers `ort_providers` may list.
pub const ORT_PROVIDERS: [&str; 3] = ["tensorrt", "cuda", "cpu"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectorConfig {
    /// Run the detector (off by default, so that capture alone needs no model and no CPU
    /// for it; `launch demo` and a broadcast configuration turn it on). Off: no
    /// `RawDetections` are published.
    pub enabled: bool,
    /// `tract` (pure Rust on the CPU, always built), `cuda` (tract's CUDA runtime on an NVIDIA
    /// GPU, always built, loads the driver and CUDA libraries at start-up; with
    /// `capture.backend = "cuda"` the tiles never leave the GPU) or `ort` (ONNX Runtime, needs
    /// the `ort` cargo feature and the runtime's shared library).
    pub engine: String,
    /// ONNX model (Ultralytics YOLO export layout). Empty: the shipped model. A relative path
    /// is looked up in the current directory, then next to the executable and in the source
    /// tree's `models/` (see docs/detector.md).
    pub model: String,
    /// Model input side in pixels when the model leaves it dynamic (ignored otherwise).
    pub input_size: u32,
    /// Class names in the model's output order.
    pub classes: Vec<String>,
    /// Minimum score per class (one value: the same for every class).
    pub thresholds: Vec<f32>,
    /// Box size limits per class, panorama pixels, on the longer side (one value: every
    /// class).
    pub min_size_px: Vec<f32>,
    pub max_size_px: Vec<f32>,
    /// IoU above which a weaker box of the same class in the same tile is dropped.
    pub nms_iou: f32,
    /// Tile seams: a person's box that reaches a tile's inner edge (cut there) and lies at
    /// least this much (intersection over the cut box) inside a box that another tile found
    /// is merged into that box, which takes the cut box's class when the cut box scored
    /// higher (counted as `seam_merged`). 0: off. Balls are left to the analyzer.
    pub seam_merge: f32,
    /// Most detections published per frame (the highest scores are kept; the rest counted).
    pub max_detections: u32,
    /// Side of a square tile in panorama pixels (scaled to the model input).
    pub tile_size: u32,
    /// Least overlap of neighbouring tiles, panorama pixels (at least the largest object
    /// that must be seen whole).
    pub tile_overlap: u32,
    /// Field mask polygon: empty means the pitch outline grown by `mask_margin_m`.
    pub mask_polygon: Vec<[f64; 2]>,
    /// Units of `mask_polygon`: `m` (pitch metres) or `px` (panorama pixels).
    pub mask_units: String,
    /// Margin around the pitch outline (or a polygon in metres), metres.
    pub mask_margin_m: f64,
    /// Height above the pitch that the mask reaches (balls in flight, heads), metres.
    pub mask_height_m: f64,
    /// Most analysed frames per second; frames in between are skipped (and counted).
    pub max_rate_hz: f32,
    /// Looking where the ball is (CPU engines): at most every this many analysed frames one
    /// is a full sweep of every tile; the others analyse only the tile(s) around where the
    /// last ball detections put the ball, which is several times cheaper. A frame after a
    /// miss is a full sweep, or with `focus_on_cue` a look at the motion cue's sighting. 1
    /// analyses every tile of every frame.
    pub focus_full_every: u32,
    /// With no ball of its own to follow, a focused frame looks around the motion cue's
    /// newest sighting (within 0.4 s), between full sweeps; a look there that finds nothing
    /// drops the sighting. Needs `motion_cue` and `focus_full_every` > 1. Off by default:
    /// measured on the demo, it loses the ball less often but does not keep it in frame more
    /// (bench/README.md, "Looking where the motion cue sees the ball").
    pub focus_on_cue: bool,
    /// Side of the square a focused frame looks at around the predicted ball, panorama
    /// pixels, magnified to the model input (0: the grid's tiles), which needs a model
    /// trained at that magnification, or at panorama scale (`focus_magnify = false`; see
    /// docs/detector.md).
    pub focus_tile_size: u32,
    /// How the focus square (`focus_tile_size`) reaches the model. True: magnified to the
    /// model input (the cost of a grid tile). False: at panorama scale, through the same
    /// network resized to the square's side (docs/detector.md, "Looking where the ball
    /// is"): a 160 px square costs a sixteenth of a 640 px tile, so the ball can be looked at
    /// in most frames. Resizing needs a TinyDet export (the shipped models) and a side that is
    /// a multiple of 16; the square runs in tract on the CPU whatever `engine` is.
    pub focus_magnify: bool,
    /// A focused look that misses the ball looks again around its prediction up to this many
    /// times in a row (a ball hidden by a player for a moment, or too faint in one frame)
    /// before a full sweep. 0: the frame after a miss is a full sweep.
    pub focus_misses: u32,
    /// Ball threshold inside the focus square at panorama scale (`focus_magnify = false`),
    /// where the ball is expected and a square of 160 px holds few false balls (0: the
    /// ball's entry of `thresholds`).
    pub focus_ball_threshold: f32,
    /// The motion cue (CPU frames): every panorama is also looked at for a ball that moves
    /// against the fixed background, which is cheap (about half a millisecond at 1920x640),
    /// and its sightings are published between the detector's frames, marked as such. Off:
    /// only the detector's frames are published. Frames on the GPU never have it.
    pub motion_cue: bool,
    /// Ball verifier: a small ONNX model that looks again at each ball the detector proposes
    /// (a crop around it) and turns down the ones it does not believe (counted as
    /// `verifier_rejected`). Empty: off. Trained on real frames for real pitches
    /// (`models/touchline-ball-verifier.onnx`, models/README.md); it runs on the CPU (tiles
    /// on the GPU: the few rows around each ball come down).
    pub ball_verifier: String,
    /// Least verifier probability for a ball to be kept.
    pub ball_verifier_threshold: f32,
    /// Threads for inference and tile preparation.
    pub threads: u32,
    /// Niceness of the detector's threads (Linux, 0-19): above 0 the stitcher, playout and
    /// encoders get the CPU first and the detector takes what is left.
    pub nice: i32,
    /// ONNX Runtime shared library (`libonnxruntime.so`). Empty: `ORT_DYLIB_PATH`.
    pub ort_library: String,
    /// ONNX Runtime execution providers in order of preference (those the installed runtime
    /// lacks are skipped with a warning; the CPU is always the last resort).
    pub ort_providers: Vec<String>,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            engine: "tract".into(),
            model: String::new(),
            input_size: 640,
            classes: vec!["ball".into(), "player".into(), "referee".into()],
            thresholds: vec![0.7, 0.4, 0.4],
            min_size_px: vec![1.0, 4.0, 4.0],
            max_size_px: vec![80.0, 600.0, 600.0],
            nms_iou: 0.5,
            seam_merge: 0.5,
            max_detections: 300,
            tile_size: 640,
            tile_overlap: 96,
            mask_polygon: Vec::new(),
            mask_units: "m".into(),
            mask_margin_m: 3.0,
            mask_height_m: 3.0,
            max_rate_hz: 5.0,
            focus_full_every: 4,
            focus_on_cue: false,
            focus_tile_size: 0,
            focus_magnify: true,
            focus_misses: 0,
            focus_ball_threshold: 0.0,
            motion_cue: true,
            ball_verifier: String::new(),
            ball_verifier_threshold: 0.9,
            threads: 2,
            nice: 19,
            ort_library: String::new(),
            ort_providers: vec!["cuda".into(), "cpu".into()],
        }
    }
}

impl DetectorConfig {
    // Long by design: one check per key of the section, in the order of the struct, each naming its
    // key; split, the keys would be looked for in several places.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !DETECTOR_ENGINES.contains(&self.engine.as_str()) {
            return Err(ConfigError::invalid(
                "detector.engine",
                format!(
                    "must be one of {}, got {:?}",
                    DETECTOR_ENGINES.join(", "),
                    self.engine
                ),
            ));
        }
        check_range("detector.input_size", self.input_size, 32, 4096)?;
        if self.classes.is_empty() || self.classes.len() > 1000 {
            return Err(ConfigError::invalid(
                "detector.classes",
                format!(
                    "must list between 1 and 1000 class names, got {}",
                    self.classes.len()
                ),
            ));
        }
        if let Some(i) = self.classes.iter().position(|c| c.trim().is_empty()) {
            return Err(ConfigError::invalid(
                &format!("detector.classes[{i}]"),
                "must not be empty",
            ));
        }
        let n = self.classes.len();
        for (key, list) in [
            ("detector.thresholds", &self.thresholds),
            ("detector.min_size_px", &self.min_size_px),
            ("detector.max_size_px", &self.max_size_px),
        ] {
            if list.len() != 1 && list.len() != n {
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "must have one value or one per class ({n}), got {}",
                        list.len()
                    ),
                ));
            }
        }
        for (i, t) in self.thresholds.iter().enumerate() {
            check_range(&format!("detector.thresholds[{i}]"), *t, 0.0, 1.0)?;
        }
        for i in 0..n {
            let lo = self.min_size_px[i.min(self.min_size_px.len() - 1)];
            let hi = self.max_size_px[i.min(self.max_size_px.len() - 1)];
            check_range(&format!("detector.min_size_px[{i}]"), lo, 0.0, 10_000.0)?;
            check_range(&format!("detector.max_size_px[{i}]"), hi, lo, 100_000.0)?;
        }
        check_range("detector.nms_iou", self.nms_iou, 0.05, 1.0)?;
        check_range("detector.seam_merge", self.seam_merge, 0.0, 1.0)?;
        check_range(
            "detector.ball_verifier_threshold",
            self.ball_verifier_threshold,
            0.0,
            1.0,
        )?;
        if !self.ball_verifier.trim().is_empty() && !self.classes.iter().any(|c| c == "ball") {
            return Err(ConfigError::invalid(
                "detector.ball_verifier",
                "is set but detector.classes has no \"ball\" for it to look at",
            ));
        }
        check_range("detector.max_detections", self.max_detections, 1, 1000)?;
        check_range("detector.tile_size", self.tile_size, 32, 8192)?;
        check_range("detector.focus_full_every", self.focus_full_every, 1, 100)?;
        if self.focus_tile_size != 0 {
            check_range(
                "detector.focus_tile_size",
                self.focus_tile_size,
                32,
                self.tile_size,
            )?;
        }
        if !self.focus_magnify
            && (self.focus_tile_size == 0 || !self.focus_tile_size.is_multiple_of(16))
        {
            return Err(ConfigError::invalid(
                "detector.focus_magnify",
                format!(
                    "is false, which looks at the focus square at panorama scale, but \
                     detector.focus_tile_size is {}: set it to the square's side, a multiple \
                     of 16 (160 suits a 1920 px panorama)",
                    self.focus_tile_size
                ),
            ));
        }
        check_range("detector.focus_misses", self.focus_misses, 0, 50)?;
        if !(0.0..1.0).contains(&self.focus_ball_threshold) {
            return Err(ConfigError::invalid(
                "detector.focus_ball_threshold",
                format!(
                    "must be within 0-1 (0: the ball's threshold), not {}",
                    self.focus_ball_threshold
                ),
            ));
        }
        check_range(
            "detector.tile_overlap",
            self.tile_overlap,
            0,
            self.tile_size / 2,
        )?;
        if !MASK_UNITS.contains(&self.mask_units.as_str()) {
            return Err(ConfigError::invalid(
                "detector.mask_units",
                format!(
                    "must be one of {}, got {:?}",
                    MASK_UNITS.join(", "),
                    self.mask_units
                ),
            ));
        }
        if !self.mask_polygon.is_empty() && self.mask_polygon.len() < 3 {
            return Err(ConfigError::invalid(
                "detector.mask_polygon",
                format!(
                    "needs at least 3 points (or none for the pitch outline), got {}",
                    self.mask_polygon.len()
                ),
            ));
        }
        if let Some(i) = self
            .mask_polygon
            .iter()
            .position(|p| !p[0].is_finite() || !p[1].is_finite())
        {
            return Err(ConfigError::invalid(
                &format!("detector.mask_polygon[{i}]"),
                "must be finite numbers",
            ));
        }
        check_range("detector.mask_margin_m", self.mask_margin_m, 0.0, 50.0)?;
        check_range("detector.mask_height_m", self.mask_height_m, 0.0, 50.0)?;
        check_range("detector.max_rate_hz", self.max_rate_hz, 0.1, 120.0)?;
        check_range("detector.threads", self.threads, 1, 256)?;
        check_range("detector.nice", self.nice, 0, 19)?;
        if let Some(p) = self
            .ort_providers
            .iter()
            .find(|p| !ORT_PROVIDERS.contains(&p.as_str()))
        {
            return Err(ConfigError::invalid(
                "detector.ort_providers",
                format!(
                    "entries must be among {}, got {p:?}",
                    ORT_PROVIDERS.join(", ")
                ),
            ));
        }
        Ok(())
    }

    /// Score threshold of class `i` (a single value applies to every class).
    pub fn threshold(&self, i: usize) -> f32 {
        per_class(&self.thresholds, i)
    }

    /// Size limits of class `i`, panorama pixels.
    pub fn size_limits(&self, i: usize) -> (f32, f32) {
        (
            per_class(&self.min_size_px, i),
            per_class(&self.max_size_px, i),
        )
    }
}

fn per_class(list: &[f32], i: usize) -> f32 {
    list.get(i).or(list.last()).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        DetectorConfig::default().validate().unwrap();
    }

    #[test]
    fn per_class_lists_need_one_value_or_one_per_class() {
        let mut c = DetectorConfig {
            thresholds: vec![0.5],
            ..Default::default()
        };
        c.validate().unwrap();
        assert_eq!(c.threshold(2), 0.5);
        c.thresholds = vec![0.5, 0.5];
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("detector.thresholds") && e.contains("one per class"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_the_key() {
        let c = DetectorConfig {
            engine: "trt".into(),
            ..Default::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("detector.engine"));
        let c = DetectorConfig {
            tile_overlap: 400,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("detector.tile_overlap") && e.contains("between 0 and 320"),
            "{e}"
        );
        // A focus square larger than a grid tile would shrink the ball, not magnify it.
        let mut c = DetectorConfig {
            focus_tile_size: 800,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("detector.focus_tile_size") && e.contains("between 32 and 640"),
            "{e}"
        );
        c.focus_tile_size = 320;
        c.validate().unwrap();
        // At panorama scale the square must be a side the network can be resized to.
        c.focus_magnify = false;
        c.focus_tile_size = 150;
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("detector.focus_magnify") && e.contains("multiple of 16"),
            "{e}"
        );
        c.focus_tile_size = 0;
        assert!(c.validate().is_err());
        c.focus_tile_size = 160;
        c.validate().unwrap();
        c.focus_misses = 51;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("detector.focus_misses"), "{e}");
        c.focus_misses = 12;
        c.focus_ball_threshold = 1.5;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("detector.focus_ball_threshold"), "{e}");
        c.focus_ball_threshold = 0.35;
        c.validate().unwrap();
    }

    #[test]
    fn the_ball_verifier_needs_a_ball_class_and_a_probability() {
        let mut c = DetectorConfig {
            ball_verifier: "models/touchline-ball-verifier.onnx".into(),
            ..Default::default()
        };
        c.validate().unwrap();
        c.ball_verifier_threshold = 1.5;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("detector.ball_verifier_threshold"), "{e}");
        c.ball_verifier_threshold = 0.5;
        c.classes = vec!["player".into()];
        (c.thresholds, c.min_size_px, c.max_size_px) = (vec![0.4], vec![4.0], vec![600.0]);
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("detector.ball_verifier") && e.contains("no \"ball\""),
            "{e}"
        );
    }
}
