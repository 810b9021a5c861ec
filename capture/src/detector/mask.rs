//! The field mask: the part of the panorama where the ball and players can be, as a polygon in
//! panorama pixels. Built from the pitch outline (or a polygon in pitch metres) projected at
//! the ground and at `height_m` above it, or given directly in pixels.

use shared::geometry::Calibration;

/// Points sampled along each edge of a polygon in metres (straight lines on the pitch are
/// curves in the equirectangular panorama).
const EDGE_SAMPLES: usize = 48;

/// A polygon in panorama pixels, clipped to the panorama.
#[derive(Debug, Clone, PartialEq)]
pub struct PanoramaMask {
    pub polygon: Vec<(f64, f64)>,
}

impl PanoramaMask {
    /// The whole panorama.
    pub fn whole(width: u32, height: u32) -> PanoramaMask {
        let (w, h) = (width as f64, height as f64);
        PanoramaMask {
            polygon: vec![(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)],
        }
    }

    /// The pitch outline grown by `margin_m`, seen from the ground up to `height_m`.
    pub fn from_pitch(cal: &Calibration, margin_m: f64, height_m: f64) -> PanoramaMask {
        let outline: Vec<(f64, f64)> = cal.pitch.outline(margin_m).to_vec();
        Self::from_metres(cal, &outline, height_m)
    }

    /// A polygon in pitch metres, seen from the ground up to `height_m`. The pixel polygon is
    /// the convex hull of the projections: it may cover a little more than the field, never
    /// less.
    pub fn from_metres(cal: &Calibration, polygon_m: &[(f64, f64)], height_m: f64) -> PanoramaMask {
        let mut pts = Vec::with_capacity(polygon_m.len() * EDGE_SAMPLES * 2);
        for (i, &(ax, ay)) in polygon_m.iter().enumerate() {
            let (bx, by) = polygon_m[(i + 1) % polygon_m.len()];
            for k in 0..EDGE_SAMPLES {
                let t = k as f64 / EDGE_SAMPLES as f64;
                let (x, y) = (ax + (bx - ax) * t, ay + (by - ay) * t);
                for z in [0.0, height_m] {
                    let (u, v) = cal.pitch_to_panorama(x, y, z);
                    if u.is_finite() && v.is_finite() {
                        pts.push((u, v));
                    }
                }
            }
        }
        let hull = convex_hull(pts);
        Self::from_pixels(&hull, cal.panorama.width, cal.panorama.height)
    }

    /// A polygon in panorama pixels, clipped to the panorama.
    pub fn from_pixels(polygon: &[(f64, f64)], width: u32, height: u32) -> PanoramaMask {
        PanoramaMask {
            polygon: clip_to_rect(polygon, 0.0, 0.0, width as f64, height as f64),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.polygon.len() < 3 || polygon_area(&self.polygon).abs() < 1e-9
    }

    /// Bounding box `(x0, y0, x1, y1)`.
    pub fn bounds(&self) -> Option<(f64, f64, f64, f64)> {
        if self.is_empty() {
            return None;
        }
        let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for &(x, y) in &self.polygon {
            b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
        }
        Some(b)
    }

    /// True when the point lies inside the polygon (even-odd rule).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        let p = &self.polygon;
        let mut inside = false;
        let mut j = p.len().wrapping_sub(1);
        for i in 0..p.len() {
            let (xi, yi) = p[i];
            let (xj, yj) = p[j];
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }

    /// True when the rectangle `[x0, x1] x [y0, y1]` and the polygon share any area.
    pub fn intersects_rect(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> bool {
        let clipped = clip_to_rect(&self.polygon, x0, y0, x1, y1);
        clipped.len() >= 3 && polygon_area(&clipped).abs() > 1e-6
    }
}

fn polygon_area(p: &[(f64, f64)]) -> f64 {
    let mut a = 0.0;
    for i in 0..p.len() {
        let (x0, y0) = p[i];
        let (x1, y1) = p[(i + 1) % p.len()];
        a += x0 * y1 - x1 * y0;
    }
    a / 2.0
}

/// Andrew's monotone chain; counter-clockwise, no repeated end point.
pub fn convex_hull(mut pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f64, f64)> = Vec::with_capacity(pts.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f64, f64)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// Sutherland-Hodgman clipping of any polygon against an axis-aligned rectangle.
fn clip_to_rect(poly: &[(f64, f64)], x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    type Inside = fn(&(f64, f64), f64) -> bool;
    type Cut = fn((f64, f64), (f64, f64), f64) -> (f64, f64);
    let cut_x: Cut = |a, b, x| (x, a.1 + (b.1 - a.1) * (x - a.0) / (b.0 - a.0));
    let cut_y: Cut = |a, b, y| (a.0 + (b.0 - a.0) * (y - a.1) / (b.1 - a.1), y);
    let edges: [(Inside, Cut, f64); 4] = [
        (|p, v| p.0 >= v, cut_x, x0),
        (|p, v| p.0 <= v, cut_x, x1),
        (|p, v| p.1 >= v, cut_y, y0),
        (|p, v| p.1 <= v, cut_y, y1),
    ];
    let mut out = poly.to_vec();
    for (inside, cut, v) in edges {
        let input = std::mem::take(&mut out);
        for i in 0..input.len() {
            let cur = input[i];
            let prev = input[(i + input.len() - 1) % input.len()];
            match (inside(&prev, v), inside(&cur, v)) {
                (true, true) => out.push(cur),
                (true, false) => out.push(cut(prev, cur, v)),
                (false, true) => {
                    out.push(cut(prev, cur, v));
                    out.push(cur);
                }
                (false, false) => {}
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pitch_mask_contains_the_pitch_and_not_the_sky() {
        let cal = Calibration::synthetic(1920, 960, 540);
        let m = PanoramaMask::from_pitch(&cal, 3.0, 3.0);
        for (x, y) in [(0.0, 0.0), (105.0, 68.0), (52.5, 34.0), (10.0, 60.0)] {
            let (u, v) = cal.pitch_to_panorama(x, y, 0.0);
            assert!(
                m.contains(u, v),
                "pitch point ({x}, {y}) -> ({u:.0}, {v:.0})"
            );
        }
        // Straight up from the centre spot, far above the pitch.
        let (u, _) = cal.pitch_to_panorama(52.5, 68.0, 0.0);
        assert!(!m.contains(u, 2.0));
    }

    #[test]
    fn clipping_keeps_the_inside_part() {
        let p = [(-10.0, -10.0), (50.0, -10.0), (50.0, 50.0), (-10.0, 50.0)];
        let m = PanoramaMask::from_pixels(&p, 20, 30);
        assert_eq!(m.bounds(), Some((0.0, 0.0, 20.0, 30.0)));
        assert!(m.intersects_rect(5.0, 5.0, 6.0, 6.0));
        assert!(!m.intersects_rect(25.0, 5.0, 30.0, 6.0));
    }

    #[test]
    fn hull_of_a_square_with_inner_points() {
        let h = convex_hull(vec![
            (0.0, 0.0),
            (1.0, 0.0),
            (0.5, 0.5),
            (1.0, 1.0),
            (0.0, 1.0),
        ]);
        assert_eq!(h.len(), 4);
        assert!((polygon_area(&h) - 1.0).abs() < 1e-12);
    }
}
