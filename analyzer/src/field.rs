//! The field mask: a polygon in pitch metres (the pitch outline grown by a margin, so a ball
//! that is out of play is still seen).

use shared::geometry::PitchSpec;

/// A simple polygon on the pitch plane.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldMask {
    polygon: Vec<(f64, f64)>,
}

impl FieldMask {
    /// The pitch outline grown by `margin_m`.
    pub fn from_pitch(pitch: &PitchSpec, margin_m: f64) -> FieldMask {
        FieldMask {
            polygon: pitch.outline(margin_m).to_vec(),
        }
    }

    /// Any simple polygon (at least three corners).
    pub fn from_polygon(polygon: Vec<(f64, f64)>) -> FieldMask {
        FieldMask { polygon }
    }

    /// Even-odd rule point-in-polygon test.
    pub fn contains(&self, x: f64, y: f64) -> bool {
        let n = self.polygon.len();
        if n < 3 || !x.is_finite() || !y.is_finite() {
            return false;
        }
        let mut inside = false;
        let mut j = n - 1;
        for i in 0..n {
            let (xi, yi) = self.polygon[i];
            let (xj, yj) = self.polygon[j];
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_lets_a_ball_out_of_play_in() {
        let m = FieldMask::from_pitch(&PitchSpec::default(), 3.0);
        assert!(m.contains(52.5, 34.0));
        assert!(m.contains(52.5, -2.0));
        assert!(!m.contains(52.5, -4.0));
        assert!(!m.contains(f64::NAN, 0.0));
    }

    #[test]
    fn concave_polygon() {
        let m = FieldMask::from_polygon(vec![
            (0.0, 0.0),
            (10.0, 0.0),
            (10.0, 10.0),
            (5.0, 2.0),
            (0.0, 10.0),
        ]);
        assert!(m.contains(1.0, 1.0));
        assert!(!m.contains(5.0, 8.0));
    }
}
