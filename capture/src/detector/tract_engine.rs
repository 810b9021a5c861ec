//! The default engine: tract, pure Rust, nothing to install. A dynamic batch dimension is
//! kept symbolic so all tiles of a frame go through in one run; a fixed batch is honoured
//! (padding a short batch).

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
        let info = inspect_model(path, classes, input_size)?;
        let load_err = |e: TractError| DetectorError::ModelLoad {
            path: path.to_path_buf(),
            reason: format!("{e:#}"),
        };
        let mut model = tract_onnx::onnx().model_for_path(path).map_err(load_err)?;
        let batch: TDim = match info.batch {
            Some(b) => (b as i64).into(),
            None => model.sym("N").into(),
        };
        let fact = f32::fact([
            batch,
            TDim::from(3i64),
            TDim::from(info.in_h as i64),
            TDim::from(info.in_w as i64),
        ]);
        model.set_input_fact(0, fact.into()).map_err(load_err)?;
        let typed = model.into_optimized().map_err(load_err)?;
        let executor = if threads > 1 {
            tract_onnx::prelude::tract_linalg::multithread::Executor::multithread(threads)
        } else {
            Default::default()
        };
        let plan = typed
            .into_runnable_with_options(&RunOptions {
                executor: Some(executor),
                ..Default::default()
            })
            .map_err(load_err)?;
        let mut e = TractEngine { info, plan };
        let probe = vec![0f32; (3 * e.info.in_w * e.info.in_h) as usize];
        e.infer(&probe, 1)?;
        Ok(e)
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
        let run_batch = self.info.batch.unwrap_or(batch);
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
