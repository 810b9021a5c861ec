//! The pitch in a picture that has no calibration: the grass. A frame of a broadcast camera
//! (the real labelled sets) has no rig to project the pitch outline with, so the field mask is
//! found in the picture itself: the convex hull of the largest connected area of grass-green
//! cells. Stands, advertising boards and the sky lie outside it; the players, the lines and the
//! ball on the pitch lie inside. Used by `detector-eval --images --field grass`, where it plays
//! the part the calibrated mask plays live.

use capture::detector::mask::{convex_hull, PanoramaMask};

/// Side of the square cells the picture is judged in (px).
pub const CELL: usize = 16;
/// Share of a cell's pixels that must be grass for the cell to be grass.
const CELL_SHARE: f64 = 0.5;
/// Smallest share of the picture the grass must cover to be taken for a pitch.
const MIN_AREA: f64 = 0.05;

/// True for a grass-green pixel: green clearly above red and blue, and not black.
pub fn is_grass(r: u8, g: u8, b: u8) -> bool {
    let (r, g, b) = (r as u32, g as u32, b as u32);
    g >= 40 && g * 20 >= r * 23 && g * 20 >= b * 23
}

/// The grass of an RGB picture (`w` x `h`, 3 bytes a pixel) as a field mask, or `None` when
/// less than 5 % of the picture is grass (no pitch to be seen).
pub fn grass_mask(rgb: &[u8], w: usize, h: usize) -> Option<PanoramaMask> {
    let (cw, ch) = (w.div_ceil(CELL), h.div_ceil(CELL));
    let cells = grass_cells(rgb, w, h, cw, ch);
    let region = largest_region(&cells, cw, ch);
    if (region.len() as f64) < MIN_AREA * (cw * ch) as f64 {
        return None;
    }
    let mut corners = Vec::with_capacity(region.len() * 4);
    for i in region {
        let (x, y) = ((i % cw * CELL) as f64, (i / cw * CELL) as f64);
        let c = CELL as f64;
        corners.extend([(x, y), (x + c, y), (x, y + c), (x + c, y + c)]);
    }
    Some(PanoramaMask::from_pixels(
        &convex_hull(corners),
        w as u32,
        h as u32,
    ))
}

/// Which cells (row-major, `cw` x `ch`) are mostly grass.
fn grass_cells(rgb: &[u8], w: usize, h: usize, cw: usize, ch: usize) -> Vec<bool> {
    let mut count = vec![(0u32, 0u32); cw * ch]; // (grass, all)
    for y in 0..h {
        let row = &rgb[y * w * 3..(y + 1) * w * 3];
        for (x, p) in row.chunks_exact(3).enumerate() {
            let c = &mut count[y / CELL * cw + x / CELL];
            c.0 += is_grass(p[0], p[1], p[2]) as u32;
            c.1 += 1;
        }
    }
    count
        .iter()
        .map(|&(g, n)| n > 0 && g as f64 >= CELL_SHARE * n as f64)
        .collect()
}

/// The cells of the largest 4-connected region of `true` cells.
fn largest_region(cells: &[bool], cw: usize, ch: usize) -> Vec<usize> {
    let mut seen = vec![false; cells.len()];
    let mut best = Vec::new();
    for start in 0..cells.len() {
        if !cells[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        let mut region = vec![start];
        let mut k = 0;
        while k < region.len() {
            let i = region[k];
            k += 1;
            let (x, y) = (i % cw, i / cw);
            let mut visit = |j: usize| {
                if cells[j] && !seen[j] {
                    seen[j] = true;
                    region.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < cw {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - cw);
            }
            if y + 1 < ch {
                visit(i + cw);
            }
        }
        if region.len() > best.len() {
            best = region;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 320x160 picture: grey stands above y = 48, green pitch below, a white player and a
    /// green advertising patch in the stands (not connected to the pitch).
    fn picture() -> Vec<u8> {
        let (w, h) = (320, 160);
        let mut rgb = vec![0u8; w * h * 3];
        for y in 0..h {
            for x in 0..w {
                let mut p = if y < 48 {
                    [120, 110, 100]
                } else {
                    [60, 140, 50]
                };
                if (150..160).contains(&x) && (90..120).contains(&y) {
                    p = [240, 240, 240];
                }
                if (16..48).contains(&x) && (0..16).contains(&y) {
                    p = [20, 160, 30];
                }
                rgb[(y * w + x) * 3..(y * w + x) * 3 + 3].copy_from_slice(&p);
            }
        }
        rgb
    }

    #[test]
    fn the_pitch_is_inside_and_the_stands_are_not() {
        let m = grass_mask(&picture(), 320, 160).expect("a pitch");
        assert!(m.contains(155.0, 119.0), "a player's feet on the pitch");
        assert!(m.contains(5.0, 150.0) && m.contains(315.0, 50.0));
        assert!(!m.contains(160.0, 20.0), "the stands");
        assert!(!m.contains(30.0, 8.0), "green boards away from the pitch");
    }

    #[test]
    fn no_grass_no_mask() {
        let grey = vec![128u8; 64 * 64 * 3];
        assert_eq!(grass_mask(&grey, 64, 64), None);
    }

    #[test]
    fn grass_green_and_not_white_lines_or_shadowless_black() {
        assert!(is_grass(60, 140, 50));
        assert!(is_grass(30, 70, 30), "grass in shade");
        assert!(!is_grass(235, 240, 235), "a white line");
        assert!(!is_grass(10, 20, 10), "too dark to say");
        assert!(!is_grass(120, 110, 100), "stands");
    }
}
