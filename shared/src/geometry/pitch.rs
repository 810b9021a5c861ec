//! The pitch: its size and the field mask polygon.

use serde::{Deserialize, Serialize};

/// Radius of the painted centre and penalty spots, metres.
pub const SPOT_RADIUS_M: f64 = 0.15;

/// Distance of a penalty spot from its goal line, metres.
pub const PENALTY_SPOT_M: f64 = 11.0;

/// Pitch dimensions in metres (FIFA standard 105 x 68 by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PitchSpec {
    pub length_m: f64,
    pub width_m: f64,
}

impl Default for PitchSpec {
    fn default() -> Self {
        Self {
            length_m: 105.0,
            width_m: 68.0,
        }
    }
}

impl PitchSpec {
    /// True when `(x, y)` is on the pitch, or within `margin_m` of it.
    pub fn contains(&self, x: f64, y: f64, margin_m: f64) -> bool {
        x >= -margin_m
            && y >= -margin_m
            && x <= self.length_m + margin_m
            && y <= self.width_m + margin_m
    }

    /// Centres of the painted spots: the centre spot, then the two penalty spots.
    pub fn spots(&self) -> [(f64, f64); 3] {
        let (l, cy) = (self.length_m, self.width_m / 2.0);
        [
            (l / 2.0, cy),
            (PENALTY_SPOT_M, cy),
            (l - PENALTY_SPOT_M, cy),
        ]
    }

    /// The pitch outline grown by `margin_m`, corners counter-clockwise from the origin.
    pub fn outline(&self, margin_m: f64) -> [(f64, f64); 4] {
        let (m, l, w) = (margin_m, self.length_m, self.width_m);
        [(-m, -m), (l + m, -m), (l + m, w + m), (-m, w + m)]
    }
}
