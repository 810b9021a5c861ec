//! The default engine: tract, pure Rust, nothing to install.
//!
//! A model with a dynamic batch is compiled for batch 1 and the tiles of a frame run one after
//! the other inside one `infer` call: with tract 0.23 that is 1.5-2x faster than one run with
//! a symbolic or concrete batch of 4 (measured on the 640x640 TinyDet; the batched run's
//! larger im2col buffers fall out of cache). A model with a fixed batch runs in chunks of that
//! size (a short chunk padded).

use super::engine::{check_output, inspect_model, InferenceEngine, ModelInfo, ModelOutput};
use super::DetectorError;
use std::path::Path;
use std::sync::Arc;
use tract_onnx::prelude::*;

type Plan = Arc<TypedRunnableModel>;

pub struct TractEngine {
    info: ModelInfo,
    plan: Plan,
}

impl TractEngine {
    /// Loads and optimises the model for `threads` threads, then runs it once on a blank
    /// batch to check the output layout.
    pub fn load(
        path: &Path,
        classes: usize,
        input_size: u32,
        threads: usize,
    ) -> Result<TractEngine, DetectorError> {
        Self::load_niced(path, classes, input_size, threads, 0)
    }

    /// As [`TractEngine::load`], with tract's worker threads (if `threads > 1`) at niceness
    /// `nice`.
    pub fn load_niced(
        path: &Path,
        classes: usize,
        input_size: u32,
        threads: usize,
        nice: i32,
    ) -> Result<TractEngine, DetectorError> {
        let info = inspect_model(path, classes, input_size)?;
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .map_err(load_err(path))?;
        Self::build(model, info, threads, nice)
    }

    /// As [`TractEngine::load_niced`] with the network resized to take `side` x `side`
    /// images ([`super::resize`]): a focus square looked at without magnifying it.
    pub fn load_at_side(
        path: &Path,
        classes: usize,
        side: u32,
        threads: usize,
        nice: i32,
    ) -> Result<TractEngine, DetectorError> {
        let mut info = inspect_model(path, classes, side)?;
        let proto = super::resize::load_at_side(path, side)?;
        let model = tract_onnx::onnx()
            .model_for_proto_model(&proto)
            .map_err(load_err(path))?;
        (info.in_w, info.in_h) = (side, side);
        Self::build(model, info, threads, nice)
    }

    fn build(
        mut model: InferenceModel,
        info: ModelInfo,
        threads: usize,
        nice: i32,
    ) -> Result<TractEngine, DetectorError> {
        let path = info.path.clone();
        let load_err = load_err(&path);
        let batch = TDim::from(info.batch.unwrap_or(1) as i64);
        let fact = f32::fact([
            batch,
            TDim::from(3i64),
            TDim::from(info.in_h as i64),
            TDim::from(info.in_w as i64),
        ]);
        model.set_input_fact(0, fact.into()).map_err(&load_err)?;
        let typed = model.into_optimized().map_err(&load_err)?;
        let executor = if threads > 1 {
            let pool = super::priority::pool(threads, "detector-tract", nice)
                .map_err(|e| DetectorError::Config(format!("detector threads: {e}")))?;
            tract_onnx::prelude::tract_linalg::multithread::Executor::MultiThread(Arc::new(pool))
        } else {
            Default::default()
        };
        let plan = typed
            .into_runnable_with_options(&RunOptions {
                executor: Some(executor),
                ..Default::default()
            })
            .map_err(&load_err)?;
        let mut e = TractEngine { info, plan };
        let probe = vec![0f32; (3 * e.info.in_w * e.info.in_h) as usize];
        e.infer(&probe, 1)?;
        Ok(e)
    }
}

fn load_err(path: &Path) -> impl Fn(TractError) -> DetectorError + '_ {
    move |e| DetectorError::ModelLoad {
        path: path.to_path_buf(),
        reason: format!("{e:#}"),
    }
}

impl InferenceEngine for TractEngine {
    fn name(&self) -> &'static str {
        "tract"
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn infer(&mut self, input: &[f32], batch: usize) -> Result<ModelOutput, DetectorError> {
        let per = 3 * (self.info.in_w * self.info.in_h) as usize;
        if self.info.batch.is_none() && batch > 1 && input.len() == per * batch {
            // One image at a time through the batch-1 plan.
            let mut data = Vec::new();
            let (mut ch, mut anchors) = (0, 0);
            for b in 0..batch {
                let o = self.run(&input[b * per..(b + 1) * per], 1)?;
                (ch, anchors) = (o.channels, o.anchors);
                data.extend_from_slice(&o.data);
            }
            return Ok(ModelOutput {
                data,
                batch,
                channels: ch,
                anchors,
            });
        }
        self.run(input, batch)
    }
}

impl TractEngine {
    /// One run of the compiled plan (batch 1 for a dynamic-batch model, else the model's).
    fn run(&mut self, input: &[f32], batch: usize) -> Result<ModelOutput, DetectorError> {
        let per = 3 * (self.info.in_w * self.info.in_h) as usize;
        let run_batch = self.info.batch.unwrap_or(1);
        if batch == 0 || batch > run_batch || input.len() != per * batch {
            return Err(DetectorError::Inference {
                engine: "tract",
                reason: format!(
                    "batch {batch} of {} floats does not fit the model (batch {run_batch}, {per} floats per image)",
                    input.len()
                ),
            });
        }
        let shape = [
            run_batch,
            3,
            self.info.in_h as usize,
            self.info.in_w as usize,
        ];
        let tensor = if run_batch == batch {
            Tensor::from_shape(&shape, input)
        } else {
            let mut padded = input.to_vec();
            padded.resize(per * run_batch, 0.0);
            Tensor::from_shape(&shape, &padded)
        };
        let err = |e: TractError| DetectorError::Inference {
            engine: "tract",
            reason: format!("{e:#}"),
        };
        let out = self
            .plan
            .run(tvec!(tensor.map_err(err)?.into()))
            .map_err(err)?;
        let view = out[0].to_plain_array_view::<f32>().map_err(err)?;
        let (ch, anchors) = check_output(&self.info, "tract", view.shape(), batch)?;
        let take = batch * ch * anchors;
        let data: Vec<f32> = match view.as_slice() {
            Some(s) => s[..take].to_vec(),
            None => view.iter().take(take).copied().collect(),
        };
        Ok(ModelOutput {
            data,
            batch,
            channels: ch,
            anchors,
        })
    }
}
