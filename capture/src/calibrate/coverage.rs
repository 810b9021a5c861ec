//! The panorama's angular limits for a fitted rig: the pitch with room above it (lofted balls,
//! the far stand) and a little below the near touchline, within what the cameras see, at a
//! given width with square pixels.

use shared::geometry::{lonlat_from_dir, Calibration, PanoramaSpec};

/// Degrees above the highest pitch point (the far touchline) kept in the panorama.
const ABOVE_PITCH_DEG: f64 = 10.0;
/// Degrees below the lowest pitch point (the near touchline) kept in the panorama.
const BELOW_PITCH_DEG: f64 = 3.0;

/// Longitude/latitude of every sampled border pixel of camera `i`.
fn border_lonlats(cal: &Calibration, i: usize) -> Vec<(f64, f64)> {
    let c = &cal.cameras[i];
    let rot = c.rig_to_camera();
    let (w, h) = (c.width as f64 - 1.0, c.height as f64 - 1.0);
    let n = 64;
    let mut pts = Vec::new();
    for k in 0..=n {
        let t = k as f64 / n as f64;
        pts.extend([(t * w, 0.0), (t * w, h), (0.0, t * h), (w, t * h)]);
    }
    pts.into_iter()
        .filter_map(|(u, v)| c.unproject(&rot, u, v))
        .map(|d| lonlat_from_dir(&cal.panorama_direction(i, &d)))
        .collect()
}

/// Panorama limits at `width` pixels (even; the height follows, even, square pixels).
pub fn panorama_for(cal: &Calibration, width: u32) -> PanoramaSpec {
    let seen: Vec<(f64, f64)> = (0..2).flat_map(|i| border_lonlats(cal, i)).collect();
    let (mut lon_min, mut lon_max) = (f64::MAX, f64::MIN);
    let (mut lat_lo, mut lat_hi) = (f64::MAX, f64::MIN);
    for (lon, lat) in &seen {
        lon_min = lon_min.min(*lon);
        lon_max = lon_max.max(*lon);
        lat_lo = lat_lo.min(*lat);
        lat_hi = lat_hi.max(*lat);
    }
    lon_min = lon_min.max(-179.0);
    lon_max = lon_max.min(179.0);
    // The pitch's outline, finely sampled.
    let (l, wd) = (cal.pitch.length_m, cal.pitch.width_m);
    let mut pitch_lats = Vec::new();
    let mut pitch_lons = (f64::MAX, f64::MIN);
    for k in 0..=100 {
        let t = k as f64 / 100.0;
        for (x, y) in [(t * l, 0.0), (t * l, wd), (0.0, t * wd), (l, t * wd)] {
            let (lon, lat) = lonlat_from_dir(&cal.pitch_to_dir(x, y, 0.0));
            pitch_lats.push(lat);
            pitch_lons = (pitch_lons.0.min(lon), pitch_lons.1.max(lon));
        }
    }
    let p_lo = pitch_lats.iter().copied().fold(f64::MAX, f64::min);
    let p_hi = pitch_lats.iter().copied().fold(f64::MIN, f64::max);
    // Within what the cameras see, but never cutting the pitch off (a corner below the
    // cameras' view stays in the panorama, unseen).
    let lat_max = (p_hi + ABOVE_PITCH_DEG)
        .min(lat_hi)
        .max(p_hi + 0.5)
        .min(89.0);
    let lat_min_wanted = (p_lo - BELOW_PITCH_DEG)
        .max(lat_lo)
        .min(p_lo - 0.5)
        .max(-89.0);
    lon_min = lon_min.min(pitch_lons.0 - 0.5);
    lon_max = lon_max.max(pitch_lons.1 + 0.5);
    let width = width.max(64) & !1;
    let dpp = (lon_max - lon_min) / width as f64;
    let height = (((lat_max - lat_min_wanted) / dpp).round() as u32).max(32) & !1;
    PanoramaSpec {
        width,
        height,
        lon_min_deg: lon_min,
        lon_max_deg: lon_max,
        lat_min_deg: lat_max - height as f64 * dpp,
        lat_max_deg: lat_max,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_rig_gets_a_panorama_with_the_pitch_inside_and_square_pixels() {
        let mut cal = Calibration::synthetic(1920, 960, 540);
        cal.panorama = panorama_for(&cal, 3000);
        cal.validate().unwrap();
        let p = &cal.panorama;
        assert_eq!(p.width, 3000);
        assert_eq!(p.height % 2, 0);
        for (x, y) in [
            (0.0, 0.0),
            (105.0, 0.0),
            (0.0, 68.0),
            (105.0, 68.0),
            (52.5, 34.0),
        ] {
            let (u, v) = cal.pitch_to_panorama(x, y, 0.0);
            assert!(p.contains(u, v), "({x},{y}) at ({u},{v}) outside {p:?}");
        }
    }
}
