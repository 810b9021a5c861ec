//! What the static world looks like along a ray: grass with mowing stripes and texture, the
//! pitch markings, the surround, a stand on the far side, the sky.

use nalgebra::Vector3;
use shared::geometry::{PitchSpec, PENALTY_SPOT_M, SPOT_RADIUS_M};
use shared::image::Rgb;

const LINE_HALF_WIDTH: f64 = 0.06;

/// Deterministic value noise in [-1, 1] for a grid cell.
fn cell_noise(ix: i64, iy: i64) -> f32 {
    let mut h = (ix as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (iy as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    h ^= h >> 31;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 29;
    ((h & 0xFFFF) as f32 / 32767.5) - 1.0
}

fn dist_to_segment(px: f64, py: f64, ax: f64, ay: f64, bx: f64, by: f64) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((px - ax) * dx + (py - ay) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((px - ax - t * dx).powi(2) + (py - ay - t * dy).powi(2)).sqrt()
}

/// True when the pitch point lies on a painted line.
fn on_line(p: &PitchSpec, x: f64, y: f64) -> bool {
    let (l, w) = (p.length_m, p.width_m);
    let (cx, cy) = (l / 2.0, w / 2.0);
    let near = |d: f64| d <= LINE_HALF_WIDTH;
    let seg = |ax, ay, bx, by| near(dist_to_segment(x, y, ax, ay, bx, by));
    // Outline and halfway line.
    if seg(0.0, 0.0, l, 0.0)
        || seg(0.0, w, l, w)
        || seg(0.0, 0.0, 0.0, w)
        || seg(l, 0.0, l, w)
        || seg(cx, 0.0, cx, w)
    {
        return true;
    }
    // Centre circle and spot.
    let rc = ((x - cx).powi(2) + (y - cy).powi(2)).sqrt();
    if near((rc - 9.15).abs()) || rc < SPOT_RADIUS_M {
        return true;
    }
    for (gx, dir) in [(0.0, 1.0), (l, -1.0)] {
        // Penalty area 16.5 deep, 40.32 wide; goal area 5.5 deep, 18.32 wide.
        for (depth, half) in [(16.5, 20.16), (5.5, 9.16)] {
            let fx = gx + dir * depth;
            if seg(gx, cy - half, fx, cy - half)
                || seg(gx, cy + half, fx, cy + half)
                || seg(fx, cy - half, fx, cy + half)
            {
                return true;
            }
        }
        // Penalty spot and arc outside the area.
        let sx = gx + dir * PENALTY_SPOT_M;
        let rs = ((x - sx).powi(2) + (y - cy).powi(2)).sqrt();
        if rs < SPOT_RADIUS_M {
            return true;
        }
        if near((rs - 9.15).abs()) && (x - gx) * dir > 16.5 {
            return true;
        }
    }
    false
}

/// Colour of the ground at pitch point (x, y).
pub fn ground_color(p: &PitchSpec, x: f64, y: f64) -> Rgb {
    let margin = 6.0;
    let inside = p.contains(x, y, margin);
    if !inside {
        // Running track / hard standing around the pitch.
        let n = cell_noise((x * 2.0).floor() as i64, (y * 2.0).floor() as i64) * 0.03;
        return [0.42 + n, 0.36 + n, 0.30 + n];
    }
    if on_line(p, x, y) {
        return [0.93, 0.93, 0.90];
    }
    // Mowing stripes across the pitch, 12 stripes along its length.
    let stripe = ((x / (p.length_m / 12.0)).floor() as i64).rem_euclid(2);
    let base: Rgb = if stripe == 0 {
        [0.18, 0.50, 0.17]
    } else {
        [0.22, 0.58, 0.21]
    };
    // Grass texture at two scales.
    let n1 = cell_noise((x * 4.0).floor() as i64, (y * 4.0).floor() as i64);
    let n2 = cell_noise((x * 0.7).floor() as i64 + 7919, (y * 0.7).floor() as i64);
    let k = 1.0 + 0.05 * n1 + 0.04 * n2;
    [base[0] * k, base[1] * k, base[2] * k]
}

/// Colour seen along a pitch-frame ray from `origin` (static world only).
pub fn background_color(p: &PitchSpec, origin: &Vector3<f64>, d: &Vector3<f64>) -> Rgb {
    // The far stand: a vertical wall 14 m beyond the far touchline, 18 m high.
    let stand_y = p.width_m + 14.0;
    if d.z < -1e-9 {
        let t = -origin.z / d.z;
        let (x, y) = (origin.x + t * d.x, origin.y + t * d.y);
        if y < stand_y {
            return ground_color(p, x, y);
        }
    }
    if d.y > 1e-9 {
        let t = (stand_y - origin.y) / d.y;
        let z = origin.z + t * d.z;
        if (0.0..18.0).contains(&z) {
            let x = origin.x + t * d.x;
            // Rows of seats with a crowd texture; a band of advertising boards at the bottom.
            if z < 1.0 {
                let seg = ((x / 6.0).floor() as i64).rem_euclid(3);
                return [[0.85, 0.2, 0.15], [0.95, 0.95, 0.95], [0.15, 0.3, 0.8]][seg as usize];
            }
            let row = ((z - 1.0) / 0.8).floor() as i64;
            let n = cell_noise((x * 3.0).floor() as i64, row) * 0.12;
            let g = 0.35 + 0.05 * (row % 2) as f32 + n;
            return [g, g * 0.95, g * 0.92];
        }
    }
    // Sky, lighter towards the horizon.
    let h = (d.z / d.norm()).clamp(0.0, 1.0) as f32;
    [0.62 - 0.25 * h, 0.74 - 0.2 * h, 0.92 - 0.05 * h]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_grass() {
        let p = PitchSpec::default();
        assert_eq!(ground_color(&p, 52.5, 20.0), [0.93, 0.93, 0.90]);
        assert_eq!(ground_color(&p, 0.0, 30.0), [0.93, 0.93, 0.90]);
        let g = ground_color(&p, 30.0, 40.0);
        assert!(g[1] > g[0] * 2.0, "grass is green: {g:?}");
        let s = ground_color(&p, 20.0, -10.0);
        assert!(s[0] > s[1], "surround is not grass: {s:?}");
    }
}
