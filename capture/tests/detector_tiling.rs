//! Tiling: the tiles cover the field mask with the configured overlap, for several panorama
//! and tile sizes, so no seam band is blind.

use capture::detector::field_mask;
use capture::detector::mask::PanoramaMask;
use capture::detector::tiling::Tiling;
use shared::config::DetectorConfig;
use shared::geometry::Calibration;

/// Every mask point (sampled every 3 px) has a tile that holds the whole square of side
/// `overlap` centred on it (clipped to the panorama); tiles stay inside the panorama; grid
/// neighbours overlap by at least `overlap`.
fn assert_covers(t: &Tiling, mask: &PanoramaMask) {
    let (w, h) = (t.width as f64, t.height as f64);
    for tile in &t.tiles {
        assert!(
            tile.x + tile.w <= t.width && tile.y + tile.h <= t.height,
            "{tile:?}"
        );
        assert!(tile.w == t.tile_size.min(t.width) && tile.h == t.tile_size.min(t.height));
    }
    for a in &t.tiles {
        for b in &t.tiles {
            if a.row == b.row && b.col == a.col + 1 {
                assert!(a.x + a.w >= b.x + t.overlap, "columns {a:?} {b:?}");
            }
            if a.col == b.col && b.row == a.row + 1 {
                assert!(a.y + a.h >= b.y + t.overlap, "rows {a:?} {b:?}");
            }
        }
    }
    let (x0, y0, x1, y1) = mask.bounds().expect("a mask");
    let half = t.overlap as f64 / 2.0;
    let mut checked = 0;
    let mut y = y0.floor();
    while y <= y1 {
        let mut x = x0.floor();
        while x <= x1 {
            if mask.contains(x, y) {
                let (ax, bx) = ((x - half).max(0.0), (x + half).min(w - 1.0));
                let (ay, by) = ((y - half).max(0.0), (y + half).min(h - 1.0));
                let whole = t
                    .tiles
                    .iter()
                    .any(|tile| tile.contains(ax, ay) && tile.contains(bx, by));
                assert!(
                    whole,
                    "{}x{} tile {} overlap {}: no tile holds the {}px square at ({x}, {y})",
                    t.width, t.height, t.tile_size, t.overlap, t.overlap
                );
                checked += 1;
            }
            x += 3.0;
        }
        y += 3.0;
    }
    assert!(checked > 100, "only {checked} mask points");
}

#[test]
fn tiles_cover_the_pitch_mask_with_overlap_at_several_sizes() {
    for (width, tile, overlap) in [
        (960, 640, 64),
        (1920, 640, 96),
        (1920, 512, 32),
        (2880, 1024, 96),
        (3840, 640, 96),
        (5700, 1024, 64),
        (5700, 1024, 128),
    ] {
        let cal = Calibration::synthetic(width, width / 2, width / 2 * 9 / 16 / 2 * 2);
        let cfg = DetectorConfig {
            tile_size: tile,
            tile_overlap: overlap,
            ..Default::default()
        };
        let mask = field_mask(&cfg, &cal);
        let t = Tiling::new(
            cal.panorama.width,
            cal.panorama.height,
            tile,
            overlap,
            &mask,
        );
        eprintln!(
            "{}x{} tile {tile} overlap {overlap}: {} tiles",
            cal.panorama.width,
            cal.panorama.height,
            t.tiles.len()
        );
        assert_covers(&t, &mask);
    }
}

#[test]
fn the_demo_panorama_needs_four_tiles_and_5700_needs_at_most_twelve() {
    let cfg = DetectorConfig::default();
    let cal = Calibration::synthetic(1920, 960, 540);
    let t = Tiling::new(1920, 640, 640, 96, &field_mask(&cfg, &cal));
    assert_eq!(t.tiles.len(), 4, "{:?}", t.tiles);
    let cal = Calibration::synthetic(5700, 2850, 1604);
    let t = Tiling::new(5700, 1900, 1024, 96, &field_mask(&cfg, &cal));
    assert!(t.tiles.len() <= 12, "{}", t.tiles.len());
}

#[test]
fn a_pixel_polygon_mask_is_covered_and_tiles_off_it_are_left_out() {
    let poly = [
        (100.0, 300.0),
        (1500.0, 250.0),
        (1800.0, 600.0),
        (50.0, 620.0),
    ];
    let mask = PanoramaMask::from_pixels(&poly, 1920, 640);
    let t = Tiling::new(1920, 640, 256, 48, &mask);
    assert_covers(&t, &mask);
    // The top rows of a 256 px grid do not touch a mask that starts at y = 250 - 24.
    assert!(t.tiles.iter().all(|tile| tile.y + tile.h > 220));
    let full = Tiling::new(1920, 640, 256, 48, &PanoramaMask::whole(1920, 640));
    assert!(t.tiles.len() < full.tiles.len());
}

#[test]
fn tile_ids_are_their_indices() {
    let cal = Calibration::synthetic(3840, 1920, 1080);
    let t = Tiling::new(
        3840,
        1280,
        640,
        96,
        &field_mask(&DetectorConfig::default(), &cal),
    );
    for (i, tile) in t.tiles.iter().enumerate() {
        assert_eq!(tile.id as usize, i);
    }
}
