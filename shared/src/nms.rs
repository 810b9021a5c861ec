//! Cross-tile non-maximum suppression: tiles overlap, so one object can be detected twice
//! (once whole, or once whole and once cut at a tile edge). The analyzer applies it to every
//! frame's detections; `touchline-eval detector-eval --images` scores people after it, as the
//! analyzer sees them.

/// An axis-aligned box, centre and size in panorama pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxPx {
    pub cx: f64,
    pub cy: f64,
    pub w: f64,
    pub h: f64,
}

impl From<&crate::messages::Detection> for BoxPx {
    fn from(d: &crate::messages::Detection) -> BoxPx {
        BoxPx {
            cx: d.cx as f64,
            cy: d.cy as f64,
            w: d.w as f64,
            h: d.h as f64,
        }
    }
}

impl BoxPx {
    fn area(&self) -> f64 {
        self.w * self.h
    }

    /// Area the two boxes share.
    pub fn intersection(&self, o: &BoxPx) -> f64 {
        let ix = ((self.cx + self.w / 2.0).min(o.cx + o.w / 2.0)
            - (self.cx - self.w / 2.0).max(o.cx - o.w / 2.0))
        .max(0.0);
        let iy = ((self.cy + self.h / 2.0).min(o.cy + o.h / 2.0)
            - (self.cy - self.h / 2.0).max(o.cy - o.h / 2.0))
        .max(0.0);
        ix * iy
    }

    /// Intersection over union.
    pub fn iou(&self, o: &BoxPx) -> f64 {
        let i = self.intersection(o);
        let u = self.area() + o.area() - i;
        if u <= 0.0 {
            0.0
        } else {
            i / u
        }
    }

    /// Intersection over the smaller box: near 1 when one box holds the other (a ball cut
    /// at a tile edge inside the whole ball seen by the neighbouring tile).
    pub fn containment(&self, o: &BoxPx) -> f64 {
        let m = self.area().min(o.area());
        if m <= 0.0 {
            0.0
        } else {
            self.intersection(o) / m
        }
    }
}

/// Greedy NMS. `items` are (box, score); returns the indices kept, highest score first.
/// A box is dropped when it overlaps a kept one by more than `iou`, or (when
/// `containment` is given) when the smaller box lies that much inside the kept one.
pub fn nms(items: &[(BoxPx, f32)], iou: f64, containment: Option<f64>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable sort on score, ties by index: deterministic.
    order.sort_by(|&a, &b| items[b].1.total_cmp(&items[a].1).then(a.cmp(&b)));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let b = &items[i].0;
        let overlaps = kept.iter().any(|&k| {
            let kb = &items[k].0;
            b.iou(kb) > iou || containment.is_some_and(|c| b.containment(kb) > c)
        });
        if !overlaps {
            kept.push(i);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(cx: f64, cy: f64, w: f64, h: f64) -> BoxPx {
        BoxPx { cx, cy, w, h }
    }

    #[test]
    fn duplicate_from_overlapping_tiles_is_merged() {
        let items = [
            (b(100.0, 100.0, 6.0, 6.0), 0.6),
            (b(100.5, 100.2, 6.0, 6.0), 0.8),
            (b(300.0, 100.0, 6.0, 6.0), 0.5),
        ];
        assert_eq!(nms(&items, 0.5, None), vec![1, 2]);
    }

    #[test]
    fn ball_cut_at_a_tile_edge_is_merged_by_containment() {
        let items = [
            (b(100.0, 100.0, 8.0, 8.0), 0.9),
            (b(102.0, 100.0, 4.0, 8.0), 0.7),
        ];
        assert_eq!(nms(&items, 0.5, None).len(), 2);
        assert_eq!(nms(&items, 0.5, Some(0.8)), vec![0]);
    }
}
