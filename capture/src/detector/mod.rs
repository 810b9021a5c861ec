//! The detector stage: finds the ball and players in overlapping tiles of the panorama with a
//! YOLO-style ONNX model and publishes `RawDetections` in panorama pixels.
//!
//! - [`tiling`] and [`mask`]: which crops of the panorama are analysed;
//! - [`prepare`]: crop, letterbox, normalise into the model input (CPU backend);
//!   [`prepare_cuda`]: the same on the GPU (CUDA backend);
//! - [`engine`]: the [`InferenceEngine`] trait, model checks; [`tract_engine`] (default),
//!   [`cuda_engine`] (tract's CUDA runtime, tiles straight from GPU memory) and `ort_engine`
//!   (cargo feature `ort`);
//! - [`decode`]: the Ultralytics output layout back to panorama pixels;
//! - [`verifier`]: the optional second look at each proposed ball (`detector.ball_verifier`);
//! - [`handoff`] and [`stage`]: the leaky hand-off from the engine thread to the worker thread
//!   ([`DetectorSink`]), which never blocks the panorama;
//! - [`scenes`]: varied synthetic scenes (the motion cue's tests and the `touchline-eval`
//!   crate, which owns the training tiles and the quality measurements, use them).

pub mod cuda_engine;
pub mod decode;
pub mod engine;
mod error;
pub mod focus;
pub mod handoff;
pub mod mask;
pub mod motion;
pub mod order;
#[cfg(feature = "ort")]
pub mod ort_engine;
pub mod prepare;
pub mod prepare_cuda;
pub mod priority;
pub mod resize;
pub mod scenes;
pub mod seams;
pub mod stage;
pub mod tiling;
pub mod tract_engine;
pub mod verifier;

pub use decode::{DecodeCounts, DecodeParams};
pub use engine::{InferenceEngine, ModelInfo, ModelOutput};
pub use error::DetectorError;
pub use stage::{DetectionsOut, DetectorSink, DetectorStats};
pub use tiling::{Tile, Tiling};

use mask::PanoramaMask;
use prepare::{rgb_to_planes, Letterbox, TilePreparer};
use shared::config::DetectorConfig;
use shared::geometry::Calibration;
use shared::image::Nv12Ref;
use shared::messages::{Detection, RawDetections};
use std::time::Instant;

/// Loads the configured engine with the configured (or shipped) model.
pub fn load_engine(cfg: &DetectorConfig) -> Result<Box<dyn InferenceEngine>, DetectorError> {
    let path = engine::resolve_model_path(&cfg.model)?;
    let classes = cfg.classes.len();
    let threads = cfg.threads as usize;
    match cfg.engine.as_str() {
        "tract" => Ok(Box::new(tract_engine::TractEngine::load_niced(
            &path,
            classes,
            cfg.input_size,
            threads,
            cfg.nice,
        )?)),
        "cuda" => Ok(Box::new(cuda_engine::CudaEngine::load(
            &path,
            classes,
            cfg.input_size,
        )?)),
        #[cfg(feature = "ort")]
        "ort" => Ok(Box::new(ort_engine::OrtEngine::load(
            &path,
            classes,
            cfg.input_size,
            threads,
            ort_engine::library_path(&cfg.ort_library).as_deref(),
            &cfg.ort_providers,
        )?)),
        #[cfg(not(feature = "ort"))]
        "ort" => Err(DetectorError::EngineUnavailable {
            engine: "ort".into(),
            reason: "this build has no ONNX Runtime support; rebuild with `--features ort`".into(),
        }),
        other => Err(DetectorError::Config(format!(
            "detector.engine {other:?} is not an engine"
        ))),
    }
}

/// The configured ball verifier (`detector.ball_verifier`), `None` when the key is empty.
pub fn load_verifier(
    cfg: &DetectorConfig,
) -> Result<Option<verifier::BallVerifier>, DetectorError> {
    if cfg.ball_verifier.trim().is_empty() {
        return Ok(None);
    }
    let path = engine::resolve_model_path(&cfg.ball_verifier)?;
    verifier::BallVerifier::load(&path, cfg.ball_verifier_threshold).map(Some)
}

/// The field mask of the config for this rig.
pub fn field_mask(cfg: &DetectorConfig, cal: &Calibration) -> PanoramaMask {
    let poly: Vec<(f64, f64)> = cfg.mask_polygon.iter().map(|p| (p[0], p[1])).collect();
    match (poly.is_empty(), cfg.mask_units.as_str()) {
        (true, _) => PanoramaMask::from_pitch(cal, cfg.mask_margin_m, cfg.mask_height_m),
        (false, "px") => PanoramaMask::from_pixels(&poly, cal.panorama.width, cal.panorama.height),
        (false, _) => {
            // Grow a polygon in metres by the margin about its centroid.
            let n = poly.len() as f64;
            let (cx, cy) = poly
                .iter()
                .fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
            let grown: Vec<(f64, f64)> = poly
                .iter()
                .map(|&(x, y)| {
                    let (dx, dy) = (x - cx, y - cy);
                    let d = (dx * dx + dy * dy).sqrt().max(1e-9);
                    (
                        x + dx / d * cfg.mask_margin_m,
                        y + dy / d * cfg.mask_margin_m,
                    )
                })
                .collect();
            PanoramaMask::from_metres(cal, &grown, cfg.mask_height_m)
        }
    }
}

/// The motion cue of the config for this rig, when it is on and the classes name a ball.
pub fn motion_cue(cfg: &DetectorConfig, cal: &Calibration) -> Option<motion::MotionCue> {
    let ball = cfg.classes.iter().position(|c| c == "ball")?;
    // The cue looks higher than the detector's mask: a lofted ball against the stands is as
    // clear a change as one on the grass, and only continues a track the detector started.
    let tall = DetectorConfig {
        mask_height_m: cfg.mask_height_m.max(motion::MASK_HEIGHT_M),
        ..cfg.clone()
    };
    cfg.motion_cue.then(|| {
        motion::MotionCue::new(
            cal,
            &field_mask(&tall, cal),
            ball as u16,
            motion::MotionSettings::default(),
        )
    })
}

/// Decode settings of the config.
pub fn decode_params(cfg: &DetectorConfig) -> DecodeParams {
    let n = cfg.classes.len();
    DecodeParams {
        thresholds: (0..n).map(|i| cfg.threshold(i)).collect(),
        min_size: (0..n).map(|i| cfg.size_limits(i).0).collect(),
        max_size: (0..n).map(|i| cfg.size_limits(i).1).collect(),
        nms_iou: cfg.nms_iou,
        max_candidates: 1000,
        seam_merge: cfg.seam_merge,
    }
}

/// Counters of the detector itself (what decoding and the cap threw away).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DetectCounts {
    pub size_rejected: u64,
    pub outside_crop: u64,
    pub suppressed: u64,
    /// Detections beyond `max_detections` in a frame.
    pub truncated: u64,
    /// Balls the verifier looked at, and of them those it turned down.
    pub verified: u64,
    pub verifier_rejected: u64,
    /// Balls the verifier could not look at: their tiles were on the GPU.
    pub unverified: u64,
    /// People boxes cut at a tile's inner edge, merged into the whole box of a neighbouring
    /// tile (`detector.seam_merge`).
    pub seam_merged: u64,
}

/// Tiling + preparation + engine + decoding: one panorama in, detections out.
pub struct Detector {
    engine: Box<dyn InferenceEngine>,
    tiling: Tiling,
    letterboxes: Vec<Letterbox>,
    params: DecodeParams,
    classes: Vec<String>,
    max_detections: usize,
    preparer: TilePreparer,
    pool: rayon::ThreadPool,
    /// Niceness of the detector's threads (the worker applies it to itself).
    nice: i32,
    rgb: Vec<u8>,
    input: Vec<f32>,
    /// The CUDA backend's preparer and, for engines that take host memory, its device
    /// scratch tensor, once [`Detector::use_gpu`] is called.
    gpu: Option<(
        prepare_cuda::CudaTilePreparer,
        Option<shared::gpu::DeviceBuffer>,
    )>,
    prepared: Prepared,
    /// The tiles prepared for the current frame, in input order (every tile, or the ones
    /// [`focus::Focus`] chose).
    active: Vec<usize>,
    /// Looking where the ball is (host-memory tiles only), and the current frame's plan.
    focus: Option<focus::Focus>,
    plan: focus::Plan,
    /// The current frame's focus crop and its letterbox (index `tiling.tiles.len()` in
    /// `active`), when the plan is one.
    crop: Option<(Tile, Letterbox)>,
    /// The network resized to the focus square's side, which then reaches it at panorama
    /// scale (`detector.focus_magnify = false`), with the square's model input.
    crop_engine: Option<CropEngine>,
    /// The second look at each proposed ball, and the ball's class.
    verifier: Option<(verifier::BallVerifier, u16)>,
    /// One tile's model input, for the rows around balls on tiles that stay on the GPU.
    band: Vec<f32>,
    /// The verifier's first failure was logged.
    verifier_warned: bool,
    pub counts: DetectCounts,
    /// Time of the last engine run(s) of a frame, microseconds (inference alone).
    pub last_engine_us: u32,
}

/// The network at the focus square's side, and the square's prepared input.
struct CropEngine {
    engine: Box<dyn InferenceEngine>,
    /// Decoding inside the square (its own ball threshold).
    params: DecodeParams,
    rgb: Vec<u8>,
    input: Vec<f32>,
}

/// Where the prepared tiles of the current frame are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prepared {
    Nothing,
    /// In the host input buffer.
    Host,
    /// In the engine's device input tensor (all tiles, one batch).
    Device,
}

impl Detector {
    /// A detector over `tiling` with a loaded engine. The engine's input size and class count
    /// must match `params`.
    pub fn new(
        engine: Box<dyn InferenceEngine>,
        tiling: Tiling,
        params: DecodeParams,
        classes: Vec<String>,
        max_detections: usize,
        threads: usize,
    ) -> Result<Detector, DetectorError> {
        let info = engine.info().clone();
        if info.classes != classes.len() || params.classes() != classes.len() {
            return Err(DetectorError::Config(format!(
                "the model has {} classes but {} class names and {} thresholds are configured",
                info.classes,
                classes.len(),
                params.classes()
            )));
        }
        let letterboxes = tiling
            .tiles
            .iter()
            .map(|t| Letterbox::new(t.w, t.h, info.in_w, info.in_h))
            .collect();
        let per = (info.in_w * info.in_h * 3) as usize;
        let pool = priority::pool(threads, "detector-prep", 0)
            .map_err(|e| DetectorError::Config(format!("detector threads: {e}")))?;
        let mut engine = engine;
        engine.prepare_batch(info.batch.unwrap_or(tiling.tiles.len()).max(1))?;
        Ok(Detector {
            input: vec![0.0; per * tiling.tiles.len()],
            rgb: vec![0; per],
            engine,
            tiling,
            letterboxes,
            params,
            classes,
            max_detections,
            preparer: TilePreparer::new(),
            pool,
            nice: 0,
            gpu: None,
            prepared: Prepared::Nothing,
            active: Vec::new(),
            focus: None,
            plan: focus::Plan::Full,
            crop: None,
            crop_engine: None,
            verifier: None,
            band: Vec::new(),
            verifier_warned: false,
            counts: DetectCounts::default(),
            last_engine_us: 0,
        })
    }

    /// Everything from the config: engine, model, tiling for this rig's panorama.
    pub fn from_config(cfg: &DetectorConfig, cal: &Calibration) -> Result<Detector, DetectorError> {
        let engine = load_engine(cfg)?;
        Self::with_engine(cfg, cal, engine)
    }

    /// As [`Detector::from_config`] with an engine made by the caller (tests, benches).
    pub fn with_engine(
        cfg: &DetectorConfig,
        cal: &Calibration,
        engine: Box<dyn InferenceEngine>,
    ) -> Result<Detector, DetectorError> {
        let mask = field_mask(cfg, cal);
        let tiling = Tiling::new(
            cal.panorama.width,
            cal.panorama.height,
            cfg.tile_size,
            cfg.tile_overlap,
            &mask,
        );
        let mut d = Detector::new(
            engine,
            tiling,
            decode_params(cfg),
            cfg.classes.clone(),
            cfg.max_detections as usize,
            cfg.threads as usize,
        )?;
        d.set_nice(cfg.nice)?;
        let ball = cfg.classes.iter().position(|c| c == "ball");
        if let Some(v) = load_verifier(cfg)? {
            d.set_verifier(v, ball)?;
        }
        if let (true, Some(ball)) = (cfg.focus_full_every > 1, ball) {
            if !cfg.focus_magnify && cfg.focus_tile_size > 0 {
                d.set_crop_engine(
                    Box::new(tract_engine::TractEngine::load_at_side(
                        &engine::resolve_model_path(&cfg.model)?,
                        cfg.classes.len(),
                        cfg.focus_tile_size,
                        cfg.threads as usize,
                        cfg.nice,
                    )?),
                    (cfg.focus_ball_threshold > 0.0).then_some(cfg.focus_ball_threshold),
                )?;
            }
            d.focus = Some(focus::Focus::new(
                focus::FocusSettings {
                    full_every: cfg.focus_full_every,
                    misses_allowed: cfg.focus_misses,
                    crop_px: cfg.focus_tile_size,
                    crop_always: !cfg.focus_magnify,
                    cue_refresh: !cfg.focus_magnify && cfg.motion_cue,
                    cue_hold_ns: if cfg.focus_on_cue && cfg.motion_cue {
                        focus::FocusSettings::default().cue_hold_ns
                    } else {
                        0
                    },
                    ..Default::default()
                },
                ball as u16,
            ));
        }
        Ok(d)
    }

    /// The tiles to prepare for the frame at `pts_ns` with [`Detector::prepare_tiles`]: the
    /// focus's choice, or every tile without a focus.
    pub fn plan_tiles(&mut self, pts_ns: u64) -> Vec<usize> {
        self.plan = match self.focus.as_mut() {
            Some(f) => f.plan(pts_ns, &self.tiling),
            None => focus::Plan::Full,
        };
        self.crop = None;
        match &self.plan {
            focus::Plan::Full => (0..self.tiling.tiles.len()).collect(),
            focus::Plan::Tiles(t) => t.clone(),
            focus::Plan::Crop(tile) => {
                let info = match &self.crop_engine {
                    Some(c) => c.engine.info(),
                    None => self.engine.info(),
                };
                let lb = Letterbox::new(tile.w, tile.h, info.in_w, info.in_h);
                self.crop = Some((*tile, lb));
                vec![self.tiling.tiles.len()]
            }
        }
    }

    /// Looks at focus squares with `engine` (the network at the square's side, so at panorama
    /// scale) instead of magnifying them into the main model.
    pub fn set_crop_engine(
        &mut self,
        engine: Box<dyn InferenceEngine>,
        ball_threshold: Option<f32>,
    ) -> Result<(), DetectorError> {
        let info = engine.info();
        if info.classes != self.classes.len() {
            return Err(DetectorError::Config(format!(
                "the focus square's model has {} classes, the detector {}",
                info.classes,
                self.classes.len()
            )));
        }
        let per = (info.in_w * info.in_h * 3) as usize;
        let mut params = self.params.clone();
        let ball = self.classes.iter().position(|c| c == "ball");
        if let (Some(b), Some(t)) = (ball, ball_threshold) {
            params.thresholds[b] = t;
        }
        self.crop_engine = Some(CropEngine {
            engine,
            params,
            rgb: vec![0; per],
            input: vec![0.0; per],
        });
        Ok(())
    }

    /// Whether the current frame looks at the focus square alone, with the crop engine.
    fn on_crop_engine(&self) -> bool {
        self.crop_engine.is_some() && self.active == [self.tiling.tiles.len()]
    }

    /// Tile `i` of the current frame and its letterbox: a grid tile, or past the grid the
    /// focus crop.
    fn tile_at(&self, i: usize) -> Option<(&Tile, &Letterbox)> {
        match self.tiling.tiles.get(i) {
            Some(t) => Some((t, &self.letterboxes[i])),
            None if i == self.tiling.tiles.len() => self.crop.as_ref().map(|(t, l)| (t, l)),
            None => None,
        }
    }

    /// The motion cue's newest ball sighting, for the focus to look at when it has no ball of
    /// its own (before [`Detector::plan_tiles`]).
    pub fn cue_hint(&mut self, pts_ns: u64, x: f32, y: f32) {
        if let Some(f) = self.focus.as_mut() {
            f.cue(pts_ns, x as f64, y as f64, self.tiling.width);
        }
    }

    /// Whether `detections` hold a ball.
    pub fn ball_found(&self, detections: &[Detection]) -> bool {
        let ball = self.classes.iter().position(|c| c == "ball");
        ball.is_some_and(|b| detections.iter().any(|d| d.class_id as usize == b))
    }

    /// Whether the current frame's plan looks around a motion cue sighting.
    pub fn on_cue(&self) -> bool {
        self.plan.is_focused() && self.focus.as_ref().is_some_and(|f| f.on_cue())
    }

    /// Tells the focus what the frame at `pts_ns` found (after [`Detector::infer`]).
    pub fn observe(&mut self, pts_ns: u64, detections: &[Detection]) {
        let full = self.analysed_region().is_none();
        if let Some(f) = self.focus.as_mut() {
            let plan = if full { &focus::Plan::Full } else { &self.plan };
            f.observe(pts_ns, plan, detections, self.tiling.width);
        }
    }

    /// Runs tile preparation (and, through the worker, inference) at niceness `nice`.
    pub fn set_nice(&mut self, nice: i32) -> Result<(), DetectorError> {
        if nice != self.nice {
            self.pool = priority::pool(self.pool.current_num_threads(), "detector-prep", nice)
                .map_err(|e| DetectorError::Config(format!("detector threads: {e}")))?;
            self.nice = nice;
        }
        Ok(())
    }

    pub fn nice(&self) -> i32 {
        self.nice
    }

    pub fn tiling(&self) -> &Tiling {
        &self.tiling
    }

    pub fn engine(&self) -> &dyn InferenceEngine {
        self.engine.as_ref()
    }

    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    pub fn letterbox(&self, tile: usize) -> &Letterbox {
        &self.letterboxes[tile]
    }

    /// Looks again at each ball (class `ball`) with `v` from now on; a ball it turns down is
    /// not published (and counted).
    pub fn set_verifier(
        &mut self,
        v: verifier::BallVerifier,
        ball: Option<usize>,
    ) -> Result<(), DetectorError> {
        let Some(ball) = ball else {
            return Err(DetectorError::Config(
                "detector.ball_verifier is set but detector.classes has no \"ball\"".into(),
            ));
        };
        self.verifier = Some((v, ball as u16));
        Ok(())
    }

    /// Copies every tile of the panorama into the model input. The panorama can be released
    /// as soon as this returns.
    pub fn prepare(&mut self, pano: &Nv12Ref<'_>) -> Result<(), DetectorError> {
        let all: Vec<usize> = (0..self.tiling.tiles.len()).collect();
        self.prepare_tiles(pano, &all)
    }

    /// As [`Detector::prepare`] for the tiles `tiles` only (indices into the tiling), in that
    /// order.
    pub fn prepare_tiles(
        &mut self,
        pano: &Nv12Ref<'_>,
        tiles: &[usize],
    ) -> Result<(), DetectorError> {
        if let Some(&bad) = tiles.iter().find(|&&i| self.tile_at(i).is_none()) {
            return Err(DetectorError::Config(format!(
                "tile {bad} asked for, the tiling has {} (and no focus crop is planned)",
                self.tiling.tiles.len()
            )));
        }
        if pano.width != self.tiling.width as usize || pano.height != self.tiling.height as usize {
            return Err(DetectorError::Frame {
                width: pano.width as u32,
                height: pano.height as u32,
                reason: format!(
                    "the tiling was made for {}x{}",
                    self.tiling.width, self.tiling.height
                ),
            });
        }
        if let (Some(c), [i]) = (self.crop_engine.as_mut(), tiles) {
            if let (true, Some((tile, lb))) = (*i == self.tiling.tiles.len(), self.crop.as_ref()) {
                let CropEngine { rgb, input, .. } = c;
                self.pool.install(|| {
                    self.preparer.tile_rgb(pano, tile, lb, rgb);
                    rgb_to_planes(rgb, input);
                });
                self.active = vec![*i];
                self.prepared = Prepared::Host;
                return Ok(());
            }
        }
        let per = self.rgb.len();
        let crops: Vec<(Tile, Letterbox)> = tiles
            .iter()
            .filter_map(|&i| self.tile_at(i).map(|(t, l)| (*t, *l)))
            .collect();
        if self.input.len() < per * crops.len() {
            self.input.resize(per * crops.len(), 0.0);
        }
        let Detector {
            pool,
            preparer,
            rgb,
            input,
            ..
        } = self;
        pool.install(|| {
            for (slot, (tile, lb)) in crops.iter().enumerate() {
                preparer.tile_rgb(pano, tile, lb, rgb);
                rgb_to_planes(rgb, &mut input[slot * per..(slot + 1) * per]);
            }
        });
        self.active.clear();
        self.active.extend_from_slice(tiles);
        self.prepared = Prepared::Host;
        Ok(())
    }

    /// Prepares tiles on `gpu` from now on ([`Detector::prepare_device`]). An engine that
    /// takes GPU memory gets them there; for any other the finished tensor is the only thing
    /// downloaded.
    pub fn use_gpu(&mut self, gpu: std::sync::Arc<shared::gpu::Gpu>) -> Result<(), DetectorError> {
        let prep =
            prepare_cuda::CudaTilePreparer::new(gpu.clone(), &self.tiling, &self.letterboxes)?;
        let scratch = match self.engine.device_input(prep.tiles())? {
            Some(_) => {
                // The host input buffer is never used again.
                self.input = Vec::new();
                None
            }
            None => Some(gpu.alloc(prep.tensor_len() * 4)?),
        };
        self.gpu = Some((prep, scratch));
        Ok(())
    }

    /// True when the tiles go to the engine in GPU memory (after [`Detector::use_gpu`]).
    pub fn tiles_stay_on_gpu(&self) -> bool {
        matches!(&self.gpu, Some((_, None)))
    }

    /// As [`Detector::prepare`] from a panorama in GPU memory (after [`Detector::use_gpu`]).
    pub fn prepare_device(
        &mut self,
        pano: &shared::gpu::DeviceNv12<'_>,
    ) -> Result<(), DetectorError> {
        let Some((prep, scratch)) = self.gpu.as_ref() else {
            return Err(DetectorError::Config(
                "a GPU panorama reached a detector without a GPU preparer".into(),
            ));
        };
        match scratch {
            Some(tensor) => {
                prep.prepare_to_host(pano, tensor, &mut self.input)?;
                self.prepared = Prepared::Host;
            }
            None => {
                let n = prep.tiles();
                let Some(dst) = self.engine.device_input(n)? else {
                    return Err(DetectorError::Config(format!(
                        "engine {} gave no device input for {n} tiles",
                        self.engine.name()
                    )));
                };
                prep.prepare(pano, dst, prepare_cuda::TensorType::F32)?;
                // The engine runs on its own stream: our writes must be done first.
                prep.gpu().sync()?;
                self.prepared = Prepared::Device;
            }
        }
        self.active = (0..self.tiling.tiles.len()).collect();
        Ok(())
    }

    /// The prepared input of tile `i` (`[3, h, w]` floats) in host memory; empty when the
    /// tiles go to the engine in GPU memory.
    pub fn input_of(&self, i: usize) -> &[f32] {
        let per = self.rgb.len();
        self.input.get(i * per..(i + 1) * per).unwrap_or(&[])
    }

    /// Runs the model on the prepared tiles (all in one batch where the model allows it) and
    /// decodes. Detections are in descending score order, at most `max_detections`.
    pub fn infer(&mut self) -> Result<Vec<Detection>, DetectorError> {
        let prepared = std::mem::replace(&mut self.prepared, Prepared::Nothing);
        if prepared == Prepared::Nothing {
            return Err(DetectorError::Config("infer() before prepare()".into()));
        }
        let n = self.active.len();
        let on_crop = self.on_crop_engine();
        let per = match &self.crop_engine {
            Some(c) if on_crop => c.input.len(),
            _ => self.rgb.len(),
        };
        let chunk = match prepared {
            Prepared::Device => n,
            _ => self.engine.info().batch.unwrap_or(n).max(1),
        };
        let mut dets = Vec::new();
        let mut start = 0;
        let mut engine_time = std::time::Duration::ZERO;
        while start < n {
            let b = chunk.min(n - start);
            let t = Instant::now();
            let out = match (prepared, self.crop_engine.as_mut()) {
                (Prepared::Device, _) => self.engine.infer_device(b)?,
                (_, Some(c)) if on_crop => c.engine.infer(&c.input, 1)?,
                _ => self
                    .engine
                    .infer(&self.input[start * per..(start + b) * per], b)?,
            };
            engine_time += t.elapsed();
            for k in 0..b {
                let i = self.active[start + k];
                let Some((tile, lb)) = self.tile_at(i).map(|(t, l)| (*t, *l)) else {
                    continue;
                };
                let first = dets.len();
                let c = decode::decode_tile(
                    out.item(k),
                    out.anchors,
                    &tile,
                    &lb,
                    match &self.crop_engine {
                        Some(c) if on_crop => &c.params,
                        _ => &self.params,
                    },
                    &mut dets,
                );
                self.counts.size_rejected += c.size_rejected;
                self.counts.outside_crop += c.outside_crop;
                self.counts.suppressed += c.suppressed;
                let Some((v, ball)) = self.verifier.as_mut() else {
                    continue;
                };
                let ball = *ball;
                let mut trouble = None;
                let planes = match (prepared, &self.gpu) {
                    (Prepared::Host, _) if on_crop => {
                        self.crop_engine.as_ref().map(|c| &c.input[..])
                    }
                    (Prepared::Host, _) => self.input.get((start + k) * per..(start + k + 1) * per),
                    // Tiles on the GPU: the rows around this tile's balls come down.
                    (Prepared::Device, Some((prep, _)))
                        if dets[first..].iter().any(|d| d.class_id == ball) =>
                    {
                        let centres = dets[first..]
                            .iter()
                            .filter(|d| d.class_id == ball)
                            .map(|d| (d.cx as f64 - tile.x as f64, d.cy as f64 - tile.y as f64));
                        self.band.resize(per, 0.0);
                        let fetched = match self.engine.device_input(n) {
                            Ok(Some(device)) => verifier::fetch_rows(
                                prep.gpu(),
                                device + ((start + k) * per * 4) as u64,
                                &lb,
                                v.side(),
                                centres,
                                &mut self.band,
                            ),
                            Ok(None) => Err(DetectorError::Config(
                                "the engine gave no device input to read the tiles from".into(),
                            )),
                            Err(e) => Err(e),
                        };
                        match fetched {
                            Ok(()) => Some(&self.band[..]),
                            Err(e) => {
                                trouble = Some(e.to_string());
                                None
                            }
                        }
                    }
                    _ => None,
                };
                // The verifier never costs a frame: balls it cannot look at go out as they
                // are, counted.
                let c = v.verify(&mut dets, first, ball, planes, &tile, &lb);
                self.counts.verified += c.verified;
                self.counts.verifier_rejected += c.rejected;
                self.counts.unverified += c.unverified;
                if let Some(e) = trouble.or(c.error) {
                    if !self.verifier_warned {
                        self.verifier_warned = true;
                        tracing::warn!(message = "The ball verifier could not look at some balls; they are published unverified (counted as unverified).", error = %e);
                    }
                }
            }
            start += b;
        }
        self.last_engine_us = engine_time.as_micros().min(u32::MAX as u128) as u32;
        let ball = self
            .classes
            .iter()
            .position(|c| c == "ball")
            .map(|b| b as u16);
        self.counts.seam_merged += seams::merge_cut_boxes(
            &mut dets,
            |id| self.tile_at(id as usize),
            self.tiling.width,
            self.tiling.height,
            ball,
            self.params.seam_merge,
        );
        dets.sort_by(|a, b| b.score.total_cmp(&a.score));
        if dets.len() > self.max_detections {
            self.counts.truncated += (dets.len() - self.max_detections) as u64;
            dets.truncate(self.max_detections);
        }
        Ok(dets)
    }

    /// Prepare + infer for one frame, as a message.
    pub fn detect(
        &mut self,
        pano: &Nv12Ref<'_>,
        pts_ns: u64,
        seq: u64,
    ) -> Result<RawDetections, DetectorError> {
        let t = Instant::now();
        self.prepare(pano)?;
        let detections = self.infer()?;
        Ok(self.message(detections, pts_ns, seq, t))
    }

    /// Wraps detections of a frame into the published message.
    pub fn message(
        &self,
        detections: Vec<Detection>,
        pts_ns: u64,
        seq: u64,
        started: Instant,
    ) -> RawDetections {
        RawDetections {
            pts_ns,
            seq,
            classes: self.classes.clone(),
            detections,
            inference_us: started.elapsed().as_micros().min(u32::MAX as u128) as u32,
            region: self.analysed_region(),
            motion: false,
        }
    }

    /// The tiles analysed in the current (or last) frame.
    pub fn analysed_tiles(&self) -> &[usize] {
        &self.active
    }

    /// `None` when the last frame's tiles were every tile; else the bounding box of the ones
    /// analysed, `[x, y, w, h]` in panorama pixels.
    pub fn analysed_region(&self) -> Option<[u32; 4]> {
        let n = self.tiling.tiles.len();
        if self.active.len() >= n && self.active.iter().all(|&i| i < n) {
            return None;
        }
        let tiles = self
            .active
            .iter()
            .filter_map(|&i| self.tile_at(i).map(|(t, _)| t));
        let x0 = tiles.clone().map(|t| t.x).min()?;
        let y0 = tiles.clone().map(|t| t.y).min()?;
        let x1 = tiles.clone().map(|t| t.x + t.w).max()?;
        let y1 = tiles.map(|t| t.y + t.h).max()?;
        Some([x0, y0, x1 - x0, y1 - y0])
    }
}
