//! Decoding the Ultralytics output layout: hand-made tensors through letterbox and tile
//! offsets give exact panorama boxes; the detector batches tiles as the model allows.

use capture::detector::decode::{decode_tile, DecodeParams};
use capture::detector::prepare::Letterbox;
use capture::detector::tiling::{Tile, Tiling};
use capture::detector::{
    mask::PanoramaMask, Detector, DetectorError, InferenceEngine, ModelInfo, ModelOutput,
};
use shared::image::Nv12Image;
use shared::messages::Detection;
use std::path::PathBuf;

fn params() -> DecodeParams {
    DecodeParams {
        thresholds: vec![0.5, 0.6, 0.6],
        min_size: vec![1.0, 10.0, 10.0],
        max_size: vec![50.0, 400.0, 400.0],
        nms_iou: 0.5,
        seam_merge: 0.0,
        max_candidates: 100,
    }
}

/// `[4 + nc, N]` channel-major from per-anchor rows `(cx, cy, w, h, scores...)`.
fn tensor(rows: &[[f32; 7]]) -> Vec<f32> {
    let n = rows.len();
    let mut out = vec![0.0; 7 * n];
    for (i, r) in rows.iter().enumerate() {
        for c in 0..7 {
            out[c * n + i] = r[c];
        }
    }
    out
}

fn close(d: &Detection, cx: f32, cy: f32, w: f32, h: f32) {
    for (got, want, what) in [
        (d.cx, cx, "cx"),
        (d.cy, cy, "cy"),
        (d.w, w, "w"),
        (d.h, h, "h"),
    ] {
        assert!(
            (got - want).abs() < 1e-3,
            "{what}: got {got}, want {want} in {d:?}"
        );
    }
}

#[test]
fn boxes_map_through_letterbox_and_tile_offset_exactly() {
    // A 1024 x 512 crop at (1000, 300) letterboxed into 640 x 640: scale 0.625, 160 px bands
    // above and below.
    let tile = Tile {
        id: 7,
        x: 1000,
        y: 300,
        w: 1024,
        h: 512,
        col: 3,
        row: 1,
    };
    let lb = Letterbox::new(1024, 512, 640, 640);
    assert_eq!((lb.left, lb.top, lb.new_w, lb.new_h), (0, 160, 640, 320));
    let out = tensor(&[
        // A ball: centre (320.5, 320.5) in continuous input pixels, 5 x 5.
        [320.5, 320.5, 5.0, 5.0, 0.9, 0.1, 0.05],
        // Below every threshold.
        [100.0, 300.0, 20.0, 40.0, 0.3, 0.4, 0.2],
        // In the letterbox band (y < 160).
        [100.0, 100.0, 20.0, 40.0, 0.1, 0.95, 0.0],
        // The same ball one pixel off, weaker: removed by NMS.
        [321.5, 320.5, 5.0, 5.0, 0.8, 0.0, 0.0],
        // A player too small for the player class (8 x 6 input px -> 12.8 x 9.6 panorama px
        // is allowed... make it 4 x 4 -> 6.4 px, below 10).
        [500.0, 400.0, 4.0, 4.0, 0.0, 0.99, 0.0],
        // A referee: top-left corner of the scaled crop is (0, 160); centre (40, 200),
        // 16 x 48 input px.
        [40.0, 200.0, 16.0, 48.0, 0.0, 0.3, 0.7],
    ]);
    let mut dets = Vec::new();
    let counts = decode_tile(&out, 6, &tile, &lb, &params(), &mut dets);
    assert_eq!(dets.len(), 2, "{dets:?}");
    assert_eq!(
        (counts.outside_crop, counts.suppressed, counts.size_rejected),
        (1, 1, 1)
    );
    // Panorama centre = tile.x + (X - left) / sx - 0.5 (pixel centres at integers).
    let ball = &dets[0];
    assert_eq!((ball.class_id, ball.tile), (0, 7));
    assert!((ball.score - 0.9).abs() < 1e-6);
    close(
        ball,
        1000.0 + 320.5 / 0.625 - 0.5,
        300.0 + (320.5 - 160.0) / 0.625 - 0.5,
        8.0,
        8.0,
    );
    let referee = &dets[1];
    assert_eq!(referee.class_id, 2);
    close(
        referee,
        1000.0 + 40.0 / 0.625 - 0.5,
        300.0 + (200.0 - 160.0) / 0.625 - 0.5,
        25.6,
        76.8,
    );
}

#[test]
fn an_unscaled_tile_only_shifts_by_the_offset_and_half_a_pixel() {
    let tile = Tile {
        id: 0,
        x: 576,
        y: 0,
        w: 640,
        h: 640,
        col: 1,
        row: 0,
    };
    let lb = Letterbox::new(640, 640, 640, 640);
    let out = tensor(&[[10.5, 20.5, 3.0, 3.0, 0.7, 0.0, 0.0]]);
    let mut dets = Vec::new();
    decode_tile(&out, 1, &tile, &lb, &params(), &mut dets);
    close(&dets[0], 586.0, 20.0, 3.0, 3.0);
}

/// An engine that puts one ball at the centre of every input image, scored by the image's
/// mean value, and records the batch sizes it was called with.
struct CentreEngine {
    info: ModelInfo,
    calls: std::sync::Arc<std::sync::Mutex<Vec<usize>>>,
}

impl InferenceEngine for CentreEngine {
    fn name(&self) -> &'static str {
        "centre"
    }
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn infer(&mut self, input: &[f32], batch: usize) -> Result<ModelOutput, DetectorError> {
        self.calls.lock().unwrap().push(batch);
        let per = input.len() / batch;
        let (w, h) = (self.info.in_w as f32, self.info.in_h as f32);
        let mut data = Vec::new();
        for b in 0..batch {
            let mean = input[b * per..(b + 1) * per].iter().sum::<f32>() / per as f32;
            // One anchor: [cx, cy, w, h, ball, player, referee].
            data.extend_from_slice(&[w / 2.0, h / 2.0, 4.0, 4.0, 0.5 + mean / 2.0, 0.0, 0.0]);
        }
        Ok(ModelOutput {
            data,
            batch,
            channels: 7,
            anchors: 1,
        })
    }
}

fn detector(batch: Option<usize>) -> (Detector, std::sync::Arc<std::sync::Mutex<Vec<usize>>>) {
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let engine = CentreEngine {
        info: ModelInfo {
            path: PathBuf::from("centre"),
            batch,
            in_w: 64,
            in_h: 64,
            classes: 3,
        },
        calls: calls.clone(),
    };
    let tiling = Tiling::new(400, 200, 128, 16, &PanoramaMask::whole(400, 200));
    let d = Detector::new(
        Box::new(engine),
        tiling,
        params(),
        vec!["ball".into(), "player".into(), "referee".into()],
        100,
        1,
    )
    .unwrap();
    (d, calls)
}

#[test]
fn all_tiles_go_in_one_batch_when_the_batch_is_dynamic_and_one_by_one_when_fixed() {
    let pano = Nv12Image::new(400, 200);
    for (batch, expect) in [
        (None, vec![8]),
        (Some(1), vec![1; 8]),
        (Some(3), vec![3, 3, 2]),
    ] {
        let (mut d, calls) = detector(batch);
        assert_eq!(d.tiling().tiles.len(), 8);
        let msg = d.detect(&pano.as_ref(), 40, 1).unwrap();
        assert_eq!(*calls.lock().unwrap(), expect);
        assert_eq!(msg.detections.len(), 8, "{:?}", msg.detections);
        assert_eq!((msg.pts_ns, msg.seq), (40, 1));
        // Each detection sits at its tile's centre (64 input px = 128 panorama px).
        for det in &msg.detections {
            let t = d.tiling().tiles[det.tile as usize];
            close(det, t.x as f32 + 63.5, t.y as f32 + 63.5, 8.0, 8.0);
        }
    }
}

#[test]
fn a_panorama_of_another_size_is_refused() {
    let (mut d, _) = detector(None);
    let e = d
        .detect(&Nv12Image::new(200, 100).as_ref(), 0, 0)
        .unwrap_err();
    assert!(e.to_string().contains("400x200"), "{e}");
}

/// An engine that sees one person at a fixed panorama rectangle: each tile's output holds the
/// part of the person inside that tile (tiles in the tiling's order, one batch).
struct PersonEngine {
    info: ModelInfo,
    tiles: Vec<Tile>,
    person: [f32; 4],
}

impl InferenceEngine for PersonEngine {
    fn name(&self) -> &'static str {
        "person"
    }
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn infer(&mut self, _input: &[f32], batch: usize) -> Result<ModelOutput, DetectorError> {
        assert_eq!(batch, self.tiles.len());
        let s = self.info.in_w as f32 / 128.0;
        let [x0, y0, x1, y1] = self.person;
        let mut data = Vec::new();
        for t in &self.tiles {
            let (tx, ty) = (t.x as f32, t.y as f32);
            let (a, b) = (x0.max(tx) - tx, x1.min(tx + t.w as f32) - tx);
            let (c, d) = (y0.max(ty) - ty, y1.min(ty + t.h as f32) - ty);
            let score = if b > a && d > c { 0.9 } else { 0.0 };
            data.extend_from_slice(&[
                (a + b) / 2.0 * s,
                (c + d) / 2.0 * s,
                (b - a).max(1.0) * s,
                (d - c).max(1.0) * s,
                0.0,
                score,
                0.0,
            ]);
        }
        Ok(ModelOutput {
            data,
            batch,
            channels: 7,
            anchors: 1,
        })
    }
}

#[test]
fn a_person_cut_at_a_tile_seam_is_published_once_whole() {
    let tiling = Tiling::new(400, 200, 128, 16, &PanoramaMask::whole(400, 200));
    // Columns start at 0 and 90: the person (x 110-135) is cut by the first tile's right
    // edge and whole in the second.
    assert_eq!((tiling.tiles[0].x, tiling.tiles[1].x), (0, 90));
    let person = [110.0, 20.0, 135.0, 60.0];
    for (seam_merge, expect) in [(0.0, 2), (0.5, 1)] {
        let engine = PersonEngine {
            info: ModelInfo {
                path: PathBuf::from("person"),
                batch: None,
                in_w: 64,
                in_h: 64,
                classes: 3,
            },
            tiles: tiling.tiles.clone(),
            person,
        };
        let mut d = Detector::new(
            Box::new(engine),
            tiling.clone(),
            DecodeParams {
                seam_merge,
                ..params()
            },
            vec!["ball".into(), "player".into(), "referee".into()],
            100,
            1,
        )
        .unwrap();
        let msg = d.detect(&Nv12Image::new(400, 200).as_ref(), 0, 0).unwrap();
        assert_eq!(msg.detections.len(), expect, "{:?}", msg.detections);
        assert_eq!(d.counts.seam_merged, 2 - expect as u64);
        if expect == 1 {
            let p = &msg.detections[0];
            assert_eq!(p.tile, 1);
            close(p, 122.0, 39.5, 25.0, 40.0);
        }
    }
}
