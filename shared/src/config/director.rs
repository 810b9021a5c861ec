//! `[director]`: settings of the director process (camera path planner, live recovery,
//! replay metrics). Angles are degrees; the virtual camera's yaw/pitch are panorama
//! longitude/latitude and `fov` its horizontal field of view (16:9 output).

use super::{check_range, ConfigError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectorConfig {
    /// Rig calibration file (TOML) used to turn pitch metres into view angles. Empty:
    /// `capture.calibration` (one rig for the whole system; another file is refused), or the
    /// built-in synthetic calibration when that is empty too.
    pub calibration: String,
    /// Spacing of the planned keyframes, milliseconds (40 = one per frame at 25 fps).
    pub plan_step_ms: u64,
    /// How often the path is replanned and published, milliseconds.
    pub replan_period_ms: u64,
    /// Frames closer than this to the frame being shown are never changed by a replan
    /// (covers transport latency and the error of the playout clock estimate), milliseconds.
    pub commit_guard_ms: u64,
    /// Delay between live and playout assumed when capture's playout status is not known
    /// (replay, and live mode until the first `PlayoutStatus`), milliseconds. Not a key of
    /// its own: the system has one delay, `playout.delay_s`, copied here when the file is
    /// read ([`super::SystemConfig::share_delay`]); 7000 for a director section alone.
    #[serde(skip)]
    pub delay_ms: u64,

    /// Width of the safe zone as a fraction of the frame width (centred).
    pub safe_zone_width: f64,
    /// Height of the safe zone as a fraction of the frame height (centred).
    pub safe_zone_height: f64,
    /// Half-size of the band around the framing target in which the camera holds still, as a
    /// fraction of the safe zone's half-size: larger means fewer, longer moves.
    pub dead_zone: f64,
    /// Most room given ahead of the ball in the direction of play, as a fraction of the safe
    /// zone's half-size.
    pub lead: f64,
    /// Look-ahead over which the ball's coming positions are averaged to find the direction
    /// of play, seconds.
    pub lead_time_s: f64,

    /// Bounds of the pan and tilt motion (each axis): angular velocity (deg/s), acceleration
    /// (deg/s^2) and jerk (deg/s^3).
    pub max_speed_deg_s: f64,
    pub max_accel_deg_s2: f64,
    pub max_jerk_deg_s3: f64,
    /// Bounds of the zoom (horizontal field of view): rate, acceleration, jerk.
    pub max_zoom_speed_deg_s: f64,
    pub max_zoom_accel_deg_s2: f64,
    pub max_zoom_jerk_deg_s3: f64,
    /// Width of the symmetric smoothing applied to the minimal-motion path before tracking it
    /// (longer: softer starts and stops, more corner cutting), seconds.
    pub smoothing_s: f64,

    /// Horizontal field of view range, degrees. The widest shot uses `fov_max_deg` (or less
    /// where the panorama is too small for it).
    pub fov_min_deg: f64,
    pub fov_max_deg: f64,
    /// Pitch metres across the frame at the ball's distance when play is settled.
    pub framing_width_m: f64,
    /// Widening for fast play: the field of view grows by up to this fraction when the ball's
    /// angular speed reaches `zoom_speed_ref_deg_s`.
    pub zoom_speed_gain: f64,
    pub zoom_speed_ref_deg_s: f64,
    /// Widening while the ball position is uncertain (predicted, gap-filled or held).
    pub zoom_uncertainty_gain: f64,
    /// The zoom is set for the widest need within this time before and after each frame
    /// (widen early, tighten late), seconds.
    pub zoom_hold_s: f64,
    /// The zoom may stay up to this much wider than needed before it tightens (fewer zoom
    /// changes), degrees.
    pub zoom_tolerance_deg: f64,

    /// Ball states below this confidence are ignored. The analyzer's confidence of a
    /// predicted ball fades with the time since its last measurement (docs/director.md,
    /// framing step 1), so this also bounds how long a prediction is followed.
    pub min_confidence: f64,
    /// Gaps in the ball track up to this long are bridged between the observations on both
    /// sides (the director knows the future), seconds.
    pub gap_fill_s: f64,
    /// Without a later observation, the last ball position is held this long before falling
    /// back to the players' centre (then to the wide shot), seconds.
    pub ball_hold_s: f64,
    /// Players' summaries older or newer than this are not used for a frame, seconds.
    pub players_hold_s: f64,

    /// After a start or restart: how long to wait for capture's playout position (REP
    /// request or first `PlayoutStatus`) before assuming `delay_ms`, milliseconds.
    pub playout_wait_ms: u64,
    /// After a start or restart: seconds of tracks asked from the analyzer before the frame
    /// being shown, used to rebuild the path the previous director was following.
    pub snapshot_history_s: f64,

    /// Replay metrics: a pan direction reversal counts as hunting when the pan speed exceeds
    /// this on both sides of the reversal, deg/s.
    pub hunting_speed_deg_s: f64,
    /// Replay metrics: the zoom counts as changing while its rate exceeds this, deg/s.
    pub zoom_change_deg_s: f64,
}

impl Default for DirectorConfig {
    fn default() -> Self {
        Self {
            calibration: String::new(),
            plan_step_ms: 40,
            replan_period_ms: 250,
            commit_guard_ms: 200,
            delay_ms: 7000,
            safe_zone_width: 0.7,
            safe_zone_height: 0.7,
            dead_zone: 0.3,
            lead: 0.25,
            lead_time_s: 1.0,
            max_speed_deg_s: 30.0,
            max_accel_deg_s2: 30.0,
            max_jerk_deg_s3: 120.0,
            max_zoom_speed_deg_s: 8.0,
            max_zoom_accel_deg_s2: 10.0,
            max_zoom_jerk_deg_s3: 40.0,
            smoothing_s: 0.6,
            fov_min_deg: 25.0,
            fov_max_deg: 65.0,
            framing_width_m: 40.0,
            zoom_speed_gain: 0.25,
            zoom_speed_ref_deg_s: 20.0,
            zoom_uncertainty_gain: 0.1,
            zoom_hold_s: 3.0,
            zoom_tolerance_deg: 8.0,
            min_confidence: 0.6,
            gap_fill_s: 2.0,
            ball_hold_s: 1.0,
            players_hold_s: 1.0,
            playout_wait_ms: 3000,
            snapshot_history_s: 10.0,
            hunting_speed_deg_s: 2.0,
            zoom_change_deg_s: 0.5,
        }
    }
}

impl DirectorConfig {
    // Long by design: one check per key of the section, in the order of the struct, each naming its
    // key; split, the keys would be looked for in several places.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let k = |name: &str| format!("director.{name}");
        check_range(&k("plan_step_ms"), self.plan_step_ms, 10, 200)?;
        check_range(&k("replan_period_ms"), self.replan_period_ms, 20, 5000)?;
        check_range(&k("commit_guard_ms"), self.commit_guard_ms, 0, 2000)?;
        check_range(&k("safe_zone_width"), self.safe_zone_width, 0.1, 1.0)?;
        check_range(&k("safe_zone_height"), self.safe_zone_height, 0.1, 1.0)?;
        check_range(&k("dead_zone"), self.dead_zone, 0.0, 0.9)?;
        check_range(&k("lead"), self.lead, 0.0, 0.6)?;
        check_range(&k("lead_time_s"), self.lead_time_s, 0.0, 5.0)?;
        check_range(&k("max_speed_deg_s"), self.max_speed_deg_s, 1.0, 180.0)?;
        check_range(&k("max_accel_deg_s2"), self.max_accel_deg_s2, 1.0, 1000.0)?;
        check_range(&k("max_jerk_deg_s3"), self.max_jerk_deg_s3, 1.0, 10_000.0)?;
        check_range(
            &k("max_zoom_speed_deg_s"),
            self.max_zoom_speed_deg_s,
            0.5,
            180.0,
        )?;
        check_range(
            &k("max_zoom_accel_deg_s2"),
            self.max_zoom_accel_deg_s2,
            0.5,
            1000.0,
        )?;
        check_range(
            &k("max_zoom_jerk_deg_s3"),
            self.max_zoom_jerk_deg_s3,
            0.5,
            10_000.0,
        )?;
        check_range(&k("smoothing_s"), self.smoothing_s, 0.0, 3.0)?;
        check_range(&k("fov_min_deg"), self.fov_min_deg, 5.0, 120.0)?;
        check_range(&k("fov_max_deg"), self.fov_max_deg, 5.0, 120.0)?;
        if self.fov_max_deg < self.fov_min_deg {
            return Err(ConfigError::invalid(
                "director.fov_max_deg",
                format!(
                    "must be at least director.fov_min_deg ({}), got {}",
                    self.fov_min_deg, self.fov_max_deg
                ),
            ));
        }
        check_range(&k("framing_width_m"), self.framing_width_m, 5.0, 200.0)?;
        check_range(&k("zoom_speed_gain"), self.zoom_speed_gain, 0.0, 2.0)?;
        check_range(
            &k("zoom_speed_ref_deg_s"),
            self.zoom_speed_ref_deg_s,
            1.0,
            180.0,
        )?;
        check_range(
            &k("zoom_uncertainty_gain"),
            self.zoom_uncertainty_gain,
            0.0,
            2.0,
        )?;
        check_range(&k("zoom_hold_s"), self.zoom_hold_s, 0.0, 10.0)?;
        check_range(&k("zoom_tolerance_deg"), self.zoom_tolerance_deg, 0.0, 30.0)?;
        check_range(&k("min_confidence"), self.min_confidence, 0.0, 1.0)?;
        check_range(&k("gap_fill_s"), self.gap_fill_s, 0.0, 10.0)?;
        check_range(&k("ball_hold_s"), self.ball_hold_s, 0.0, 10.0)?;
        check_range(&k("players_hold_s"), self.players_hold_s, 0.0, 10.0)?;
        check_range(&k("playout_wait_ms"), self.playout_wait_ms, 0, 60_000)?;
        check_range(
            &k("snapshot_history_s"),
            self.snapshot_history_s,
            0.0,
            120.0,
        )?;
        check_range(
            &k("hunting_speed_deg_s"),
            self.hunting_speed_deg_s,
            0.0,
            180.0,
        )?;
        check_range(&k("zoom_change_deg_s"), self.zoom_change_deg_s, 0.0, 180.0)?;
        if self.commit_guard_ms + self.replan_period_ms >= self.delay_ms {
            return Err(ConfigError::invalid(
                "director.commit_guard_ms",
                format!(
                    "plus director.replan_period_ms must be below the delay, playout.delay_s ({} ms), got {} + {}",
                    self.delay_ms, self.commit_guard_ms, self.replan_period_ms
                ),
            ));
        }
        Ok(())
    }

    /// Keyframe spacing in nanoseconds.
    pub fn plan_step_ns(&self) -> u64 {
        self.plan_step_ms * 1_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        DirectorConfig::default().validate().unwrap();
    }

    #[test]
    fn out_of_range_names_key_and_range() {
        let c = DirectorConfig {
            max_accel_deg_s2: 0.0,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("director.max_accel_deg_s2"), "{e}");
        assert!(e.contains("between 1 and 1000"), "{e}");
        let c = DirectorConfig {
            fov_min_deg: 60.0,
            fov_max_deg: 40.0,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("director.fov_max_deg"), "{e}");
        let c = DirectorConfig {
            safe_zone_width: f64::NAN,
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }
}
