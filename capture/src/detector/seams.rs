//! People cut at a tile's inner edge. Neighbouring tiles overlap by at least
//! `detector.tile_overlap`, so a person standing across the seam is seen whole by one tile
//! and cut by the other: the cut box (legs only, or half a body) is a second, wrong person,
//! and its IoU with the whole box is often below the NMS threshold, so NMS keeps both.
//!
//! A box is *cut* when it reaches within a few model-input pixels of an edge of its tile that
//! lies inside the panorama. A cut box that lies mostly (`detector.seam_merge`, intersection
//! over the cut box's area) inside a box another tile found is merged into that box: the cut
//! box goes, and when it scored higher its class and score go to the whole box (the tile that
//! saw less may have named the person better). Whole boxes are placed first, highest score
//! first, so a box is only ever merged into a box that stays. Balls are left alone: the
//! analyzer merges cut balls by containment.

use super::prepare::Letterbox;
use super::tiling::Tile;
use shared::messages::Detection;
use shared::nms::BoxPx;

/// How near an inner tile edge (model-input pixels) a box must reach to count as cut.
pub const CUT_MARGIN_INPUT_PX: f64 = 4.0;

/// Whether `d` reaches within the margin of an edge of `tile` that lies inside the
/// `width` x `height` panorama.
pub fn is_cut(d: &Detection, tile: &Tile, lb: &Letterbox, width: u32, height: u32) -> bool {
    let (mx, my) = (CUT_MARGIN_INPUT_PX / lb.sx, CUT_MARGIN_INPUT_PX / lb.sy);
    let (x0, x1) = ((d.cx - d.w / 2.0) as f64, (d.cx + d.w / 2.0) as f64);
    let (y0, y1) = ((d.cy - d.h / 2.0) as f64, (d.cy + d.h / 2.0) as f64);
    let (tx0, ty0) = (tile.x as f64, tile.y as f64);
    let (tx1, ty1) = (tx0 + tile.w as f64, ty0 + tile.h as f64);
    (tile.x > 0 && x0 < tx0 + mx)
        || (tile.y > 0 && y0 < ty0 + my)
        || (tile.x + tile.w < width && x1 > tx1 - mx)
        || (tile.y + tile.h < height && y1 > ty1 - my)
}

/// Merges cut people boxes into whole ones of other tiles (see the module docs); returns how
/// many boxes were merged away. `tile_of` gives a detection's tile and letterbox by tile id
/// (`None`: the box is never counted as cut). `containment` 0 turns merging off. Detections
/// of class `ball` are untouched. The order of the remaining detections is not kept.
pub fn merge_cut_boxes<'a>(
    dets: &mut Vec<Detection>,
    tile_of: impl Fn(u16) -> Option<(&'a Tile, &'a Letterbox)>,
    width: u32,
    height: u32,
    ball: Option<u16>,
    containment: f32,
) -> u64 {
    if containment <= 0.0 {
        return 0;
    }
    let cut: Vec<bool> = dets
        .iter()
        .map(|d| {
            Some(d.class_id) != ball
                && tile_of(d.tile).is_some_and(|(t, lb)| is_cut(d, t, lb, width, height))
        })
        .collect();
    let mut order: Vec<usize> = (0..dets.len()).collect();
    order.sort_by(|&a, &b| {
        cut[a]
            .cmp(&cut[b])
            .then(dets[b].score.total_cmp(&dets[a].score))
            .then(a.cmp(&b))
    });
    let mut kept: Vec<usize> = Vec::with_capacity(dets.len());
    let mut merged = 0;
    for i in order {
        let d = &dets[i];
        let into = if cut[i] {
            let area = d.w * d.h;
            kept.iter()
                .copied()
                .filter(|&k| Some(dets[k].class_id) != ball && dets[k].tile != d.tile)
                .map(|k| {
                    (
                        k,
                        BoxPx::from(d).intersection(&BoxPx::from(&dets[k])) as f32,
                    )
                })
                .filter(|&(_, inter)| area > 0.0 && inter / area >= containment)
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map(|(k, _)| k)
        } else {
            None
        };
        match into {
            Some(k) => {
                if dets[i].score > dets[k].score {
                    dets[k].class_id = dets[i].class_id;
                    dets[k].score = dets[i].score;
                }
                merged += 1;
            }
            None => kept.push(i),
        }
    }
    if merged > 0 {
        kept.sort_unstable();
        let mut keep = vec![false; dets.len()];
        for k in kept {
            keep[k] = true;
        }
        let mut i = 0;
        dets.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 1920;
    const H: u32 = 1080;

    fn tiles() -> Vec<(Tile, Letterbox)> {
        // Two tiles side by side overlapping by 200 px, model input at half scale.
        [(0u16, 0u32), (1, 440)]
            .iter()
            .map(|&(id, x)| {
                let t = Tile {
                    id,
                    x,
                    y: 0,
                    w: 640,
                    h: 1080,
                    col: id,
                    row: 0,
                };
                (t, Letterbox::new(640, 1080, 320, 540))
            })
            .collect()
    }

    fn det(tile: u16, x0: f32, x1: f32, class_id: u16, score: f32) -> Detection {
        Detection {
            cx: (x0 + x1) / 2.0,
            cy: 500.0,
            w: x1 - x0,
            h: 60.0,
            class_id,
            score,
            tile,
        }
    }

    fn run(dets: &mut Vec<Detection>, containment: f32) -> u64 {
        let t = tiles();
        let tile_of = |id: u16| t.get(id as usize).map(|(t, l)| (t, l));
        merge_cut_boxes(dets, tile_of, W, H, Some(0), containment)
    }

    #[test]
    fn a_box_is_cut_only_at_an_edge_inside_the_panorama() {
        let t = tiles();
        let (t0, lb0) = (&t[0].0, &t[0].1);
        // Margin: 4 input px at half scale = 8 panorama px.
        assert!(is_cut(&det(0, 600.0, 635.0, 1, 0.9), t0, lb0, W, H));
        assert!(!is_cut(&det(0, 590.0, 630.0, 1, 0.9), t0, lb0, W, H));
        // The panorama's own left edge is not a seam.
        assert!(!is_cut(&det(0, 0.0, 20.0, 1, 0.9), t0, lb0, W, H));
        let (t1, lb1) = (&t[1].0, &t[1].1);
        assert!(is_cut(&det(1, 441.0, 470.0, 1, 0.9), t1, lb1, W, H));
        // Top and bottom: the tile spans the whole height.
        let mut tall = det(1, 500.0, 520.0, 1, 0.9);
        tall.cy = 1060.0;
        tall.h = 40.0;
        assert!(!is_cut(&tall, t1, lb1, W, H));
    }

    #[test]
    fn the_cut_half_goes_and_the_whole_person_stays() {
        // A person at x 610..650: tile 0 sees x 610..640 (cut), tile 1 sees it whole.
        let mut dets = vec![det(0, 610.0, 639.0, 1, 0.95), det(1, 610.0, 650.0, 1, 0.8)];
        assert_eq!(run(&mut dets, 0.5), 1);
        assert_eq!(dets.len(), 1);
        assert_eq!(dets[0].tile, 1);
        assert_eq!((dets[0].w, dets[0].score), (40.0, 0.95));
    }

    #[test]
    fn a_better_named_cut_box_gives_the_whole_box_its_class() {
        let mut dets = vec![det(0, 610.0, 639.0, 1, 0.95), det(1, 610.0, 650.0, 2, 0.5)];
        assert_eq!(run(&mut dets, 0.5), 1);
        assert_eq!(
            (dets[0].class_id, dets[0].score, dets[0].tile),
            (1, 0.95, 1)
        );
        // A weaker cut box leaves the whole box's class.
        let mut dets = vec![det(0, 610.0, 639.0, 1, 0.3), det(1, 610.0, 650.0, 2, 0.5)];
        assert_eq!(run(&mut dets, 0.5), 1);
        assert_eq!((dets[0].class_id, dets[0].score), (2, 0.5));
    }

    #[test]
    fn people_who_only_touch_are_both_kept() {
        // Two people side by side: the cut one overlaps the other by a quarter.
        let mut dets = vec![det(0, 620.0, 639.0, 1, 0.9), det(1, 600.0, 625.0, 1, 0.9)];
        assert_eq!(run(&mut dets, 0.5), 0);
        assert_eq!(dets.len(), 2);
    }

    #[test]
    fn boxes_of_one_tile_balls_and_off_are_left_alone() {
        // Same tile: people in front of each other, NMS's business.
        let mut dets = vec![det(0, 610.0, 639.0, 1, 0.9), det(0, 605.0, 639.0, 1, 0.8)];
        assert_eq!(run(&mut dets, 0.5), 0);
        // Balls: the analyzer merges them.
        let mut dets = vec![det(0, 630.0, 639.0, 0, 0.9), det(1, 630.0, 642.0, 0, 0.8)];
        assert_eq!(run(&mut dets, 0.5), 0);
        // Off.
        let mut dets = vec![det(0, 610.0, 639.0, 1, 0.95), det(1, 610.0, 650.0, 1, 0.8)];
        assert_eq!(run(&mut dets, 0.0), 0);
        assert_eq!(dets.len(), 2);
    }

    #[test]
    fn of_two_cut_boxes_the_stronger_stays() {
        // A person wider than the overlap (x 430..650): each tile sees it cut.
        let mut dets = vec![det(0, 430.0, 639.0, 1, 0.9), det(1, 441.0, 650.0, 1, 0.8)];
        assert_eq!(run(&mut dets, 0.5), 1);
        assert_eq!((dets.len(), dets[0].tile, dets[0].score), (1, 0, 0.9));
    }
}
