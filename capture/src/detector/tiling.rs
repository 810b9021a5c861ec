//! Cutting the panorama into overlapping square tiles whose union covers the field mask.
//!
//! The tiles form a grid over the mask's bounding box grown by half the overlap: along each
//! axis the fewest tiles whose neighbours overlap by at least `overlap` pixels, spread evenly
//! so that the first starts at one edge and the last ends at the other. So any square up to
//! `overlap` pixels across centred on a mask point lies whole inside one tile: no seam band. Tiles that do not touch the mask are left
//! out; every mask point lies in a grid tile that touches the mask, so the union still covers
//! it. A panorama smaller than a tile gives a smaller crop (letterboxed by preparation).

use super::mask::PanoramaMask;

/// One tile: a crop of the panorama, in panorama pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tile {
    /// Index in [`Tiling::tiles`], published with each detection.
    pub id: u16,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    /// Grid column and row (neighbours differ by one).
    pub col: u16,
    pub row: u16,
}

impl Tile {
    pub fn contains(&self, x: f64, y: f64) -> bool {
        x >= self.x as f64
            && y >= self.y as f64
            && x < (self.x + self.w) as f64
            && y < (self.y + self.h) as f64
    }
}

/// The tiles of one panorama size.
#[derive(Debug, Clone, PartialEq)]
pub struct Tiling {
    pub width: u32,
    pub height: u32,
    pub tile_size: u32,
    pub overlap: u32,
    pub tiles: Vec<Tile>,
}

/// Starts and lengths of tiles along one axis covering `[lo, hi)` of `0..extent`.
fn spans(lo: f64, hi: f64, extent: u32, size: u32, overlap: u32) -> Vec<(u32, u32)> {
    if size >= extent {
        return vec![(0, extent)];
    }
    let a = (lo.floor().max(0.0) as u32).min(extent);
    let b = (hi.ceil().max(0.0) as u32).clamp(a, extent);
    let len = b - a;
    if len <= size {
        let centre = (a + b) / 2;
        let start = centre.saturating_sub(size / 2).min(extent - size);
        return vec![(start, size)];
    }
    let step = size - overlap;
    let n = (len - overlap).div_ceil(step) as u64;
    let room = (len - size) as u64;
    (0..n)
        .map(|i| {
            let start = if i + 1 == n {
                b - size
            } else {
                a + (i * room / (n - 1)) as u32
            };
            (start, size)
        })
        .collect()
}

impl Tiling {
    /// Tiles of `tile_size` (clipped to the panorama) overlapping by at least `overlap`
    /// (which must be below `tile_size`), covering `mask`.
    pub fn new(
        width: u32,
        height: u32,
        tile_size: u32,
        overlap: u32,
        mask: &PanoramaMask,
    ) -> Tiling {
        let overlap = overlap.min(tile_size.saturating_sub(1));
        // Half the overlap beyond the mask, so that an object up to `overlap` across centred
        // anywhere on the mask lies whole inside one tile.
        let m = overlap as f64 / 2.0;
        let (x0, y0, x1, y1) = mask
            .bounds()
            .map(|(a, b, c, d)| (a - m, b - m, c + m, d + m))
            .unwrap_or((0.0, 0.0, width as f64, height as f64));
        let cols = spans(x0, x1, width, tile_size, overlap);
        let rows = spans(y0, y1, height, tile_size, overlap);
        let mut tiles = Vec::with_capacity(cols.len() * rows.len());
        for (r, &(y, h)) in rows.iter().enumerate() {
            for (c, &(x, w)) in cols.iter().enumerate() {
                let touches = mask.is_empty()
                    || mask.intersects_rect(x as f64, y as f64, (x + w) as f64, (y + h) as f64);
                if touches {
                    tiles.push(Tile {
                        id: tiles.len() as u16,
                        x,
                        y,
                        w,
                        h,
                        col: c as u16,
                        row: r as u16,
                    });
                }
            }
        }
        Tiling {
            width,
            height,
            tile_size,
            overlap,
            tiles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_overlap_at_least_as_asked_and_reach_both_ends() {
        for (len, size, overlap) in [
            (1920, 640, 96),
            (5700, 1024, 64),
            (1000, 300, 0),
            (641, 640, 10),
        ] {
            let s = spans(0.0, len as f64, len, size, overlap);
            assert_eq!(s[0].0, 0);
            assert_eq!(s.last().unwrap().0 + size, len);
            for w in s.windows(2) {
                assert!(
                    w[0].0 + size - w[1].0 >= overlap,
                    "{len} {size} {overlap}: {s:?}"
                );
            }
        }
    }

    #[test]
    fn a_small_mask_gets_one_tile_centred_on_it() {
        let s = spans(500.0, 600.0, 1920, 640, 96);
        assert_eq!(s, vec![(230, 640)]);
        let s = spans(1900.0, 1910.0, 1920, 640, 96);
        assert_eq!(s, vec![(1280, 640)]);
    }

    #[test]
    fn a_panorama_smaller_than_a_tile_is_one_crop() {
        let t = Tiling::new(600, 200, 640, 64, &PanoramaMask::whole(600, 200));
        assert_eq!(t.tiles.len(), 1);
        assert_eq!((t.tiles[0].w, t.tiles[0].h), (600, 200));
    }
}
