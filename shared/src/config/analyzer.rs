//! `[analyzer]`: settings of the analyzer process (candidate gates, tracker tuning, history,
//! recording). Every key has a default; `validate` names the key and its allowed range.

use super::{check_range, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyzerConfig {
    /// Rig calibration file (TOML) used to turn panorama pixels into pitch metres. Empty:
    /// `capture.calibration` (one rig for the whole system; another file is refused), or the
    /// built-in synthetic rig at `panorama_width` pixels when that is empty too.
    pub calibration: String,
    /// Panorama width in pixels of the built-in synthetic rig (used when `calibration` is
    /// empty); it must match the panorama the detector sees.
    pub panorama_width: u32,
    /// Detector class name of the ball (classes are matched by name, not index).
    pub ball_class: String,
    /// Detector class names counted as players (referees are left out on purpose: they
    /// would pull the players' centre of mass towards themselves).
    pub player_classes: Vec<String>,
    /// Lowest detector score of a ball candidate.
    pub ball_min_score: f32,
    /// Lowest detector score of a player.
    pub player_min_score: f32,
    /// Smallest and largest ball diameter in metres accepted at the candidate's possible
    /// positions along its viewing ray (boxes are looser than the 0.22 m ball; motion blur
    /// stretches them).
    pub ball_min_diameter_m: f32,
    pub ball_max_diameter_m: f32,
    /// Largest width/height (or height/width) ratio of a ball box.
    pub ball_max_aspect: f32,
    /// Smallest and largest height of a player box in metres at its foot point.
    pub player_min_height_m: f32,
    pub player_max_height_m: f32,
    /// Field mask: the pitch outline grown by this margin (the ball may be out of play).
    pub field_margin_m: f32,
    /// Cross-tile NMS: boxes of one class overlapping more than this IoU are merged.
    pub nms_iou: f32,
    /// Static false-positive suppression: grid cell size on the pitch.
    pub static_cell_m: f32,
    /// Seconds a candidate must stay put (without being the moving ball) before its cell is
    /// suppressed.
    pub static_learn_s: f32,
    /// Time constant of forgetting a suppressed cell once nothing is seen there any more.
    pub static_forget_s: f32,
    /// Position noise of a ball detection, panorama pixels (one sigma).
    pub pixel_sigma: f32,
    /// Use the ball box size as a range cue (helps lofted balls).
    pub use_size_cue: bool,
    /// Mahalanobis gate of a measurement against a track, in sigmas.
    pub gate_sigma: f32,
    /// Hypotheses kept when candidates compete.
    pub max_hypotheses: usize,
    /// Detections a new track needs within `confirm_window` analysed frames before it can be
    /// reported. At a low detection rate (a frame every 0.4-1 s, the ball found in half of
    /// them) this takes seconds or never happens: `confirm_single_score` covers that.
    pub confirm_hits: u32,
    pub confirm_window: u32,
    /// A new track born from one candidate with at least this score is confirmed at once when
    /// nothing competes: no other new candidate in that frame and no track measured in it. If
    /// the reported ball is coasting and could have got there (`max_ball_speed_mps`), the new
    /// track continues it. The same score lets a detection restart a track whose prediction
    /// has become very uncertain, instead of being averaged with it. The score is the
    /// detector's times a prior (halved next to the panorama's left, right and top edges and
    /// on painted spots). Above 1: off.
    pub confirm_single_score: f32,
    /// Two detections in successive analysed frames, each with at least this score (times the
    /// same prior), confirm a new track. The second must lie inside the first one's gate and
    /// be reachable at `max_ball_speed_mps`. Above 1: off.
    pub confirm_pair_score: f32,
    /// Fastest plausible ball, m/s: a detection further from the track's last detection than
    /// this speed allows for the elapsed time does not continue the track.
    pub max_ball_speed_mps: f32,
    /// In the motion cue's frames, while the reported ball has gone unmeasured for 0.6 s: a
    /// ball seen moving fast on a straight line through three cue sightings starts a track
    /// (confirmed at once, continuing the reported ball), as after a shot the detector did
    /// not follow. Off by default: on the chain benchmark's recordings it puts the ball on
    /// the ball in more frames and lost in fewer, but off the ball in more after lofted balls
    /// (bench/README.md, "A ball seen moving by the motion cue").
    pub motion_seeds: bool,
    /// Seconds a track is predicted without a measurement before it is reported lost.
    pub predict_max_s: f32,
    /// The same for a ball that was at rest when last seen (hidden by players gathered round
    /// a free kick, it does not go anywhere).
    pub predict_still_max_s: f32,
    /// A `pts_ns` that goes back by more than this is a capture restart (tracker reset);
    /// smaller steps back are dropped as out of order.
    pub restart_backwards_ms: u64,
    /// Seconds of tracks kept for snapshot requests.
    pub history_s: f32,
    /// Candidates per frame and class considered at most (highest scores first).
    pub max_candidates: usize,
    /// Record the analyzer's input and output to this file (empty: off). `--record` overrides.
    pub record_path: String,
    /// Period of the counters log line, seconds.
    pub log_interval_s: u64,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        Self {
            calibration: String::new(),
            panorama_width: 1920,
            ball_class: "ball".into(),
            player_classes: vec!["player".into()],
            ball_min_score: 0.25,
            player_min_score: 0.35,
            ball_min_diameter_m: 0.08,
            ball_max_diameter_m: 0.7,
            ball_max_aspect: 2.0,
            player_min_height_m: 1.0,
            player_max_height_m: 2.6,
            field_margin_m: 4.0,
            nms_iou: 0.5,
            static_cell_m: 1.0,
            static_learn_s: 2.0,
            static_forget_s: 10.0,
            pixel_sigma: 1.5,
            use_size_cue: true,
            motion_seeds: false,
            gate_sigma: 4.0,
            max_hypotheses: 8,
            confirm_hits: 3,
            confirm_window: 5,
            confirm_single_score: 0.85,
            confirm_pair_score: 0.75,
            max_ball_speed_mps: 40.0,
            predict_max_s: 2.5,
            predict_still_max_s: 8.0,
            restart_backwards_ms: 1000,
            history_s: 15.0,
            max_candidates: 64,
            record_path: String::new(),
            log_interval_s: 10,
        }
    }
}

impl AnalyzerConfig {
    // Long by design: one check per key of the section, in the order of the struct, each naming its
    // key; split, the keys would be looked for in several places.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("analyzer.panorama_width", self.panorama_width, 64, 16_384)?;
        if self.ball_class.trim().is_empty() {
            return Err(ConfigError::invalid(
                "analyzer.ball_class",
                "must name the detector's ball class",
            ));
        }
        if self.player_classes.iter().any(|c| c.trim().is_empty()) {
            return Err(ConfigError::invalid(
                "analyzer.player_classes",
                "must not contain an empty class name",
            ));
        }
        if self.player_classes.contains(&self.ball_class) {
            return Err(ConfigError::invalid(
                "analyzer.player_classes",
                format!("must not contain the ball class {:?}", self.ball_class),
            ));
        }
        check_range("analyzer.ball_min_score", self.ball_min_score, 0.0, 1.0)?;
        check_range("analyzer.player_min_score", self.player_min_score, 0.0, 1.0)?;
        check_range(
            "analyzer.ball_min_diameter_m",
            self.ball_min_diameter_m,
            0.0,
            1.0,
        )?;
        check_range(
            "analyzer.ball_max_diameter_m",
            self.ball_max_diameter_m,
            self.ball_min_diameter_m.max(0.05),
            5.0,
        )?;
        check_range("analyzer.ball_max_aspect", self.ball_max_aspect, 1.0, 10.0)?;
        check_range(
            "analyzer.player_min_height_m",
            self.player_min_height_m,
            0.0,
            3.0,
        )?;
        check_range(
            "analyzer.player_max_height_m",
            self.player_max_height_m,
            self.player_min_height_m.max(0.5),
            5.0,
        )?;
        check_range("analyzer.field_margin_m", self.field_margin_m, 0.0, 30.0)?;
        check_range("analyzer.nms_iou", self.nms_iou, 0.05, 1.0)?;
        check_range("analyzer.static_cell_m", self.static_cell_m, 0.1, 10.0)?;
        check_range("analyzer.static_learn_s", self.static_learn_s, 0.2, 120.0)?;
        check_range(
            "analyzer.static_forget_s",
            self.static_forget_s,
            0.5,
            3600.0,
        )?;
        check_range("analyzer.pixel_sigma", self.pixel_sigma, 0.1, 50.0)?;
        check_range("analyzer.gate_sigma", self.gate_sigma, 1.0, 20.0)?;
        check_range("analyzer.max_hypotheses", self.max_hypotheses, 1, 64)?;
        check_range("analyzer.confirm_window", self.confirm_window, 1, 100)?;
        check_range(
            "analyzer.confirm_hits",
            self.confirm_hits,
            1,
            self.confirm_window,
        )?;
        check_range(
            "analyzer.confirm_single_score",
            self.confirm_single_score,
            0.0,
            2.0,
        )?;
        check_range(
            "analyzer.confirm_pair_score",
            self.confirm_pair_score,
            0.0,
            2.0,
        )?;
        check_range(
            "analyzer.max_ball_speed_mps",
            self.max_ball_speed_mps,
            5.0,
            100.0,
        )?;
        check_range("analyzer.predict_max_s", self.predict_max_s, 0.0, 30.0)?;
        check_range(
            "analyzer.predict_still_max_s",
            self.predict_still_max_s,
            0.0,
            60.0,
        )?;
        check_range(
            "analyzer.restart_backwards_ms",
            self.restart_backwards_ms,
            1,
            3_600_000,
        )?;
        check_range("analyzer.history_s", self.history_s, 0.0, 600.0)?;
        check_range("analyzer.max_candidates", self.max_candidates, 1, 10_000)?;
        check_range("analyzer.log_interval_s", self.log_interval_s, 1, 3600)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        AnalyzerConfig::default().validate().unwrap();
    }

    #[test]
    fn out_of_range_names_the_key() {
        let c = AnalyzerConfig {
            gate_sigma: 0.0,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("analyzer.gate_sigma") && e.contains("between 1 and 20"),
            "{e}"
        );
        let c = AnalyzerConfig {
            player_classes: vec!["ball".into()],
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("analyzer.player_classes"), "{e}");
        let c = AnalyzerConfig {
            confirm_single_score: f32::NAN,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("analyzer.confirm_single_score"), "{e}");
        let c = AnalyzerConfig {
            max_ball_speed_mps: 0.0,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("analyzer.max_ball_speed_mps"), "{e}");
    }

    #[test]
    fn older_files_without_the_low_rate_keys_load_with_defaults() {
        let c: AnalyzerConfig = toml::from_str("confirm_hits = 2\nconfirm_window = 4\n").unwrap();
        assert_eq!((c.confirm_hits, c.confirm_window), (2, 4));
        let d = AnalyzerConfig::default();
        assert_eq!(c.confirm_single_score, d.confirm_single_score);
        assert_eq!(c.confirm_pair_score, d.confirm_pair_score);
        assert_eq!(c.max_ball_speed_mps, d.max_ball_speed_mps);
        c.validate().unwrap();
    }
}
