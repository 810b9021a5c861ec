//! Training data from the synthetic pitch: model-input-sized tiles (JPEG) made by the same
//! crop/letterbox/resize code as at run time, with YOLO-format labels
//! (`class cx cy w h`, normalised to the tile), from varied scenes (see [`capture::detector::scenes`]).
//!
//! Layout of the output folder:
//! - `images/NNNNNN.jpg`, `labels/NNNNNN.txt` (Ultralytics layout);
//! - `ignore/NNNNNN.txt`: boxes the loss should ignore (balls hidden behind people, people
//!   mostly cut by the tile edge), same format, only where there are any;
//! - `tiles.jsonl`: one line per tile (scene, panorama size, crop, scale, ball truth);
//! - `dataset.json`: classes, input size, counts, the spec that made it.

use capture::detector::mask::PanoramaMask;
use capture::detector::prepare::{Letterbox, TilePreparer};
use capture::detector::scenes::{LutCache, Rng, Scene, SceneVariety};
use capture::detector::tiling::{Tile, Tiling};
use shared::geometry::{Calibration, SPOT_RADIUS_M};
use shared::scene::{GroundTruth, Role, BALL_RADIUS_M};
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Classes of the shipped model, in output order.
pub const DATASET_CLASSES: [&str; 3] = ["ball", "player", "referee"];

#[derive(Debug, Error)]
pub enum DatasetError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {path}: {reason}")]
    Jpeg { path: PathBuf, reason: String },
}

/// A box in panorama pixels (pixel centres at integers).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelBox {
    pub class: u16,
    pub cx: f64,
    pub cy: f64,
    pub w: f64,
    pub h: f64,
}

/// Width of a person (0.5 m cylinder), panorama pixels.
fn person_width_px(cal: &Calibration, x: f64, y: f64) -> f64 {
    let d =
        ((x - cal.rig.x_m).powi(2) + (y - cal.rig.y_m).powi(2) + (cal.rig.height_m - 0.9).powi(2))
            .sqrt();
    (0.5 / d).atan().to_degrees() / cal.panorama.deg_per_px()
}

/// True when the ball rests (or rolls) on a painted spot: the centre spot at every kick-off,
/// a penalty spot. A 0.22 m ball on a 0.30 m white disc looks like the disc alone at the
/// sizes the detector works at (2-10 px), and the disc is there in every other frame, so such
/// a ball is neither taught as a ball nor counted as one to find (see docs/detector.md).
pub fn ball_on_spot(truth: &GroundTruth, cal: &Calibration) -> bool {
    let b = &truth.ball;
    b.z_m < 2.0 * BALL_RADIUS_M
        && cal
            .pitch
            .spots()
            .iter()
            .any(|&(x, y)| (b.x_m - x).hypot(b.y_m - y) < SPOT_RADIUS_M + BALL_RADIUS_M)
}

/// Boxes of a frame's objects: what must be found, and what the loss should ignore (balls
/// hidden behind people, balls on a painted spot).
pub fn truth_boxes(
    truth: &GroundTruth,
    cal: &Calibration,
    blur: (f64, f64),
) -> (Vec<LabelBox>, Vec<LabelBox>) {
    let mut labels = Vec::new();
    let mut ignore = Vec::new();
    let b = &truth.ball;
    if cal.panorama.contains(b.px, b.py) {
        let d = b.diameter_px.max(1.0);
        let bx = LabelBox {
            class: 0,
            cx: b.px,
            cy: b.py,
            w: d + blur.0.abs(),
            h: d + blur.1.abs(),
        };
        if b.visible && !ball_on_spot(truth, cal) {
            labels.push(bx);
        } else {
            ignore.push(LabelBox {
                w: bx.w * 2.0,
                h: bx.h * 2.0,
                ..bx
            });
        }
    }
    for p in &truth.people {
        let h = p.foot_py - p.head_py;
        if h <= 0.0 {
            continue;
        }
        labels.push(LabelBox {
            class: if p.role == Role::Player { 1 } else { 2 },
            cx: p.foot_px,
            cy: (p.foot_py + p.head_py) / 2.0,
            w: person_width_px(cal, p.x_m, p.y_m).max(1.0),
            h,
        });
    }
    (labels, ignore)
}

/// Where a box falls in a tile.
#[derive(Debug, Clone, PartialEq)]
enum InTile {
    Out,
    /// A YOLO label line (`class cx cy w h`, normalised to the input), clipped to the tile.
    Label(String),
    /// Cut by the tile edge too much to learn from: the clipped box, for the ignore list.
    Ignore(String),
}

/// The box in tile `t` (letterboxed by `lb`). A ball counts when its centre is in the tile;
/// a person when at least 40 % of the box is.
fn tile_label(b: &LabelBox, t: &Tile, lb: &Letterbox, always_ignore: bool) -> InTile {
    // Continuous crop coordinates (pixel k spans [k, k+1)).
    let (l, r) = (
        b.cx - b.w / 2.0 + 0.5 - t.x as f64,
        b.cx + b.w / 2.0 + 0.5 - t.x as f64,
    );
    let (top, bot) = (
        b.cy - b.h / 2.0 + 0.5 - t.y as f64,
        b.cy + b.h / 2.0 + 0.5 - t.y as f64,
    );
    let (cl, cr) = (l.max(0.0), r.min(t.w as f64));
    let (ct, cb) = (top.max(0.0), bot.min(t.h as f64));
    if cl >= cr || ct >= cb {
        return InTile::Out;
    }
    let (cx, cy) = (b.cx + 0.5 - t.x as f64, b.cy + 0.5 - t.y as f64);
    let centre_in = cx >= 0.0 && cy >= 0.0 && cx < t.w as f64 && cy < t.h as f64;
    let kept = (cr - cl) * (cb - ct) / ((r - l) * (bot - top));
    let ok = if b.class == 0 { centre_in } else { kept >= 0.4 };
    let (iw, ih) = (lb.in_w as f64, lb.in_h as f64);
    let x0 = cl * lb.sx + lb.left as f64;
    let x1 = cr * lb.sx + lb.left as f64;
    let y0 = ct * lb.sy + lb.top as f64;
    let y1 = cb * lb.sy + lb.top as f64;
    let line = format!(
        "{} {:.6} {:.6} {:.6} {:.6}",
        b.class,
        (x0 + x1) / 2.0 / iw,
        (y0 + y1) / 2.0 / ih,
        (x1 - x0) / iw,
        (y1 - y0) / ih
    );
    if ok && !always_ignore {
        InTile::Label(line)
    } else {
        InTile::Ignore(line)
    }
}

/// What to export.
#[derive(Debug, Clone)]
pub struct ExportSpec {
    pub out: PathBuf,
    /// Tiles to write.
    pub tiles: usize,
    pub seed: u64,
    /// Side of the written tiles, model input pixels. The model is fully convolutional: it
    /// trains on these and runs on larger inputs (640) with the same pixel scale.
    pub input_size: u32,
    /// Frames sampled per scene before a new scene starts.
    pub frames_per_scene: usize,
    /// Tiles cut from each frame.
    pub tiles_per_frame: usize,
    /// Probability that a tile is placed around the visible ball (else a tile of the run-time
    /// grid: players, empty grass, lines, stands).
    pub ball_tile_chance: f64,
    /// Range of model-input pixels per panorama pixel (ball sizes vary with it).
    pub scale: (f64, f64),
    /// JPEG quality.
    pub quality: u8,
    pub variety: SceneVariety,
}

impl ExportSpec {
    pub fn new(out: PathBuf, tiles: usize, seed: u64) -> ExportSpec {
        ExportSpec {
            out,
            tiles,
            seed,
            input_size: 320,
            frames_per_scene: 40,
            tiles_per_frame: 4,
            ball_tile_chance: 0.6,
            scale: (0.5, 1.3),
            quality: 75,
            variety: SceneVariety::default(),
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ExportSummary {
    pub tiles: usize,
    pub scenes: usize,
    pub frames: usize,
    /// Labelled visible balls, people, and ignored boxes.
    pub balls: usize,
    pub people: usize,
    pub ignored: usize,
    /// Tiles with a blurred ball.
    pub blurred: usize,
    pub bytes: u64,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Crops to cut from one frame.
fn pick_tiles(
    rng: &mut Rng,
    spec: &ExportSpec,
    cal: &Calibration,
    mask: &PanoramaMask,
    truth: &GroundTruth,
) -> Vec<Tile> {
    let (pw, ph) = (cal.panorama.width, cal.panorama.height);
    (0..spec.tiles_per_frame)
        .map(|_| {
            let scale = rng.range(spec.scale.0, spec.scale.1);
            let s = ((spec.input_size as f64 / scale).round() as u32).max(64);
            let (w, h) = (s.min(pw), s.min(ph));
            let b = &truth.ball;
            if b.visible
                && !ball_on_spot(truth, cal)
                && cal.panorama.contains(b.px, b.py)
                && rng.chance(spec.ball_tile_chance)
            {
                let m = 3.0f64.min(w as f64 / 4.0);
                let ox = rng.range(m, w as f64 - m);
                let oy = rng.range(m.min(h as f64 / 4.0), h as f64 - m.min(h as f64 / 4.0));
                let x = (b.px - ox).round().clamp(0.0, (pw - w) as f64) as u32;
                let y = (b.py - oy).round().clamp(0.0, (ph - h) as f64) as u32;
                return Tile {
                    id: 0,
                    x,
                    y,
                    w,
                    h,
                    col: 0,
                    row: 0,
                };
            }
            let grid = Tiling::new(pw, ph, s, 96, mask);
            let mut t = grid.tiles[rng.below(grid.tiles.len())];
            t.id = 0;
            t
        })
        .collect()
}

/// The YOLO label lines of a tile, and the lines of boxes its loss should ignore (cut by
/// the tile's edge, or hidden); whether it holds the ball. Counts balls and people into `sum`.
fn tile_labels(
    labels: &[LabelBox],
    ignore: &[LabelBox],
    t: &Tile,
    lb: &Letterbox,
    sum: &mut ExportSummary,
) -> (Vec<String>, Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut ign = Vec::new();
    let mut has_ball = false;
    for b in labels {
        match tile_label(b, t, lb, false) {
            InTile::Label(line) => {
                has_ball |= b.class == 0;
                sum.balls += usize::from(b.class == 0);
                sum.people += usize::from(b.class != 0);
                lines.push(line);
            }
            InTile::Ignore(line) => ign.push(line),
            InTile::Out => {}
        }
    }
    for b in ignore {
        if let InTile::Ignore(line) = tile_label(b, t, lb, true) {
            ign.push(line);
        }
    }
    (lines, ign, has_ball)
}

/// Writes a tile's image (JPEG), labels and, when any, the boxes to ignore.
fn write_tile(
    spec: &ExportSpec,
    name: &str,
    rgb: &[u8],
    lines: &[String],
    ign: &[String],
    sum: &mut ExportSummary,
) -> Result<(), DatasetError> {
    let side = spec.input_size as u16;
    let img_path = spec.out.join("images").join(format!("{name}.jpg"));
    let jpeg_err = |e: jpeg_encoder::EncodingError| DatasetError::Jpeg {
        path: img_path.clone(),
        reason: e.to_string(),
    };
    jpeg_encoder::Encoder::new_file(&img_path, spec.quality)
        .map_err(jpeg_err)?
        .encode(rgb, side, side, jpeg_encoder::ColorType::Rgb)
        .map_err(jpeg_err)?;
    sum.bytes += std::fs::metadata(&img_path).map(|m| m.len()).unwrap_or(0);
    let lbl_path = spec.out.join("labels").join(format!("{name}.txt"));
    let text = if lines.is_empty() {
        String::new()
    } else {
        lines.join("\n") + "\n"
    };
    std::fs::write(&lbl_path, text).map_err(io_err(&lbl_path))?;
    if !ign.is_empty() {
        sum.ignored += ign.len();
        let p = spec.out.join("ignore").join(format!("{name}.txt"));
        std::fs::write(&p, ign.join("\n") + "\n").map_err(io_err(&p))?;
    }
    Ok(())
}

/// `dataset.json`: classes, input size, seed, the summary and the spec it was made with.
fn dataset_info(spec: &ExportSpec, sum: &ExportSummary) -> serde_json::Value {
    serde_json::json!({
        "classes": DATASET_CLASSES,
        "input_size": spec.input_size,
        "seed": spec.seed,
        "summary": sum,
        "spec": {
            "frames_per_scene": spec.frames_per_scene,
            "tiles_per_frame": spec.tiles_per_frame,
            "ball_tile_chance": spec.ball_tile_chance,
            "scale": [spec.scale.0, spec.scale.1],
            "quality": spec.quality,
            "widths": spec.variety.widths,
            "gain": [spec.variety.gain.0, spec.variety.gain.1],
            "noise": [spec.variety.noise.0, spec.variety.noise.1],
            "blur_chance": spec.variety.blur_chance,
            "shutter": [spec.variety.shutter.0, spec.variety.shutter.1],
        },
        "label_format": "YOLO: class cx cy w h, normalised to the tile; ignore/ holds boxes the loss should ignore",
    })
}

/// Writes the dataset; `progress` is called after every frame.
pub fn export(
    spec: &ExportSpec,
    progress: &mut dyn FnMut(&ExportSummary),
) -> Result<ExportSummary, DatasetError> {
    for sub in ["images", "labels", "ignore"] {
        let d = spec.out.join(sub);
        std::fs::create_dir_all(&d).map_err(io_err(&d))?;
    }
    let meta_path = spec.out.join("tiles.jsonl");
    let mut meta =
        std::io::BufWriter::new(std::fs::File::create(&meta_path).map_err(io_err(&meta_path))?);
    let mut luts = LutCache::default();
    let mut sum = ExportSummary::default();
    let mut preparer = TilePreparer::new();
    let side = spec.input_size;
    let mut rgb = vec![0u8; (side * side * 3) as usize];
    let mut scene_no = 0u64;
    while sum.tiles < spec.tiles {
        let scene_seed = spec.seed.wrapping_mul(1_000_003).wrapping_add(scene_no);
        let mut scene = Scene::new(scene_seed, &spec.variety, &mut luts);
        let mask = PanoramaMask::from_pitch(&scene.cal, 3.0, 3.0);
        sum.scenes += 1;
        for _ in 0..spec.frames_per_scene {
            if sum.tiles >= spec.tiles {
                break;
            }
            let f = scene.next_frame();
            sum.frames += 1;
            let (labels, ignore) = truth_boxes(&f.truth, &scene.cal, f.blur);
            let cal = scene.cal.clone();
            let tiles = pick_tiles(scene.rng(), spec, &cal, &mask, &f.truth);
            for t in tiles {
                if sum.tiles >= spec.tiles {
                    break;
                }
                let lb = Letterbox::new(t.w, t.h, side, side);
                preparer.tile_rgb(&scene.pano.as_ref(), &t, &lb, &mut rgb);
                let name = format!("{:06}", sum.tiles);
                let (lines, ign, has_ball) = tile_labels(&labels, &ignore, &t, &lb, &mut sum);
                write_tile(spec, &name, &rgb, &lines, &ign, &mut sum)?;
                let blurred = has_ball && (f.blur.0 != 0.0 || f.blur.1 != 0.0);
                sum.blurred += usize::from(blurred);
                let b = &f.truth.ball;
                let line = serde_json::json!({
                    "name": name,
                    "scene": scene_seed,
                    "scenario": scene.scenario.name(),
                    "panorama": [cal.panorama.width, cal.panorama.height],
                    "crop": [t.x, t.y, t.w, t.h],
                    "scale": lb.sx,
                    "pts_ns": f.truth.pts_ns,
                    "ball": {"px": b.px, "py": b.py, "diameter_px": b.diameter_px, "visible": b.visible, "on_spot": ball_on_spot(&f.truth, &cal), "in_tile": has_ball},
                    "blur_px": [f.blur.0, f.blur.1],
                });
                writeln!(meta, "{line}").map_err(io_err(&meta_path))?;
                sum.tiles += 1;
            }
            progress(&sum);
        }
        scene_no += 1;
    }
    meta.flush().map_err(io_err(&meta_path))?;
    let info = dataset_info(spec, &sum);
    let p = spec.out.join("dataset.json");
    std::fs::write(&p, serde_json::to_string_pretty(&info).unwrap_or_default())
        .map_err(io_err(&p))?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::scene::BallTruth;

    fn truth_at(cal: &Calibration, x: f64, y: f64, z: f64) -> GroundTruth {
        let (px, py) = cal.pitch_to_panorama(x, y, z);
        GroundTruth {
            pts_ns: 0,
            t_s: 0.0,
            ball: BallTruth {
                x_m: x,
                y_m: y,
                z_m: z,
                in_play: true,
                px,
                py,
                diameter_px: 3.0,
                visible: true,
            },
            people: Vec::new(),
        }
    }

    #[test]
    fn a_ball_on_a_painted_spot_is_ignored_not_labelled() {
        let cal = Calibration::synthetic(1920, 960, 540);
        let (l, w) = (cal.pitch.length_m, cal.pitch.width_m);
        let r = BALL_RADIUS_M;
        for (x, y, z, on) in [
            (l / 2.0, w / 2.0, r, true),        // kick-off
            (11.0 + 0.2, w / 2.0, r, true),     // rolling off a penalty spot
            (l - 11.0, w / 2.0, r, true),       // the other penalty spot
            (l / 2.0 + 0.5, w / 2.0, r, false), // beside the centre spot
            (l / 2.0, w / 2.0, 2.0, false),     // in the air above it
            (30.0, 20.0, r, false),
        ] {
            let t = truth_at(&cal, x, y, z);
            assert_eq!(ball_on_spot(&t, &cal), on, "{x} {y} {z}");
            let (labels, ignore) = truth_boxes(&t, &cal, (0.0, 0.0));
            let balls = labels.iter().filter(|b| b.class == 0).count();
            assert_eq!((balls, ignore.len()), if on { (0, 1) } else { (1, 0) });
        }
    }
}
