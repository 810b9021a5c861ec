//! The GPU engine (`[detector] engine = "cuda"`): tract's CUDA runtime on the same ONNX model
//! as the CPU engine, so a user's model still drops in at run time.
//!
//! Why this engine (measured in `bench/gpu/engines`, bench/README.md): tract-cuda is built on
//! cudarc 0.19 with dynamic loading, like our own kernels, so the same binary builds and runs
//! without CUDA; it shares the driver's primary context with [`shared::gpu::Gpu`], so the
//! tiles our kernel prepares in GPU memory are the engine's input without a host round trip.
//! ONNX Runtime's CUDA provider would need ONNX Runtime with CUDA on the machine and could not
//! take our device pointers through the `ort` API without an I/O binding per frame.
//!
//! A model with a dynamic batch is compiled for the whole frame's tiles in one batch
//! ([`InferenceEngine::prepare_batch`]); one with a fixed batch runs in chunks of that size
//! from host memory. What crosses PCIe per frame is counted: the input only when the tiles
//! came from the host, the output (`[batch, 4 + nc, anchors]` floats) always, since decoding
//! runs on the CPU.

use super::engine::{check_output, inspect_model, EngineTransfers, InferenceEngine, ModelInfo};
use super::{DetectorError, ModelOutput};
use std::collections::HashMap;
use std::path::Path;
use tract_gpu::tensor::{DeviceTensor, LazyHostStorage};
use tract_onnx::prelude::*;

const ENGINE: &str = "cuda";

pub struct CudaEngine {
    info: ModelInfo,
    /// The decluttered model, compiled per batch size on demand.
    typed: TypedModel,
    /// Per batch size: the compiled plan's running state.
    states: HashMap<usize, Box<dyn State>>,
    /// The device input tensor the caller fills (batch, tensor).
    device_input: Option<(usize, DeviceTensor)>,
    transfers: EngineTransfers,
}

fn unavailable(reason: impl std::fmt::Display) -> DetectorError {
    DetectorError::EngineUnavailable {
        engine: ENGINE.into(),
        reason: format!(
            "{reason}; `detector.engine = \"cuda\"` needs an NVIDIA GPU with its driver and the \
             CUDA runtime libraries (cudart, cuBLAS, cuDNN, NVRTC) on the library path; set \
             `detector.engine = \"tract\"` to run the detector on the CPU"
        ),
    }
}

fn inference_err(e: impl std::fmt::Display) -> DetectorError {
    DetectorError::Inference {
        engine: ENGINE,
        reason: format!("{e:#}"),
    }
}

/// Checks the driver, a device and tract's CUDA libraries without touching anything that
/// panics when they are missing.
pub fn check_available() -> Result<(), DetectorError> {
    shared::gpu::Gpu::open(0).map_err(unavailable)?;
    // Keeps tract-cuda's runtime registration linked into the binary.
    let _ = std::any::type_name::<tract_cuda::CudaTransform>();
    let runtime = tract_onnx::tract_core::runtime::runtime_for_name(ENGINE)
        .map_err(|e| unavailable(format!("{e:#}")))?
        .ok_or_else(|| unavailable("tract's CUDA runtime is not registered in this build"))?;
    runtime.check().map_err(|e| unavailable(format!("{e:#}")))
}

impl CudaEngine {
    /// Checks the GPU and libraries, loads the model and compiles it for batch 1 (a probe run
    /// checks the output layout). [`InferenceEngine::prepare_batch`] compiles other sizes.
    pub fn load(path: &Path, classes: usize, input_size: u32) -> Result<CudaEngine, DetectorError> {
        check_available()?;
        let info = inspect_model(path, classes, input_size)?;
        let load_err = |e: TractError| DetectorError::ModelLoad {
            path: path.to_path_buf(),
            reason: format!("{e:#}"),
        };
        let model = tract_onnx::onnx().model_for_path(path).map_err(load_err)?;
        let typed = model
            .into_typed()
            .and_then(|m| m.into_decluttered())
            .map_err(load_err)?;
        let mut e = CudaEngine {
            info,
            typed,
            states: HashMap::new(),
            device_input: None,
            transfers: EngineTransfers::default(),
        };
        let first = e.info.batch.unwrap_or(1);
        e.prepare_batch(first)?;
        let probe = vec![0f32; 3 * (e.info.in_w * e.info.in_h) as usize * first];
        e.infer(&probe, first)?;
        e.transfers = EngineTransfers::default();
        Ok(e)
    }

    fn per_image(&self) -> usize {
        3 * (self.info.in_w * self.info.in_h) as usize
    }

    fn shape(&self, batch: usize) -> [usize; 4] {
        [batch, 3, self.info.in_h as usize, self.info.in_w as usize]
    }

    /// Compiles the plan for `batch` images (the model's fixed batch, or any for a dynamic one).
    fn compile(&self, batch: usize) -> Result<Box<dyn State>, DetectorError> {
        let path = self.info.path.clone();
        let load_err = move |e: TractError| DetectorError::ModelLoad {
            path: path.clone(),
            reason: format!(
                "the CUDA runtime cannot run this model (`detector.engine = \"cuda\"`; \
                 `detector.engine = \"tract\"` runs it on the CPU): {e:#}"
            ),
        };
        let mut model = self.typed.clone();
        let fact = f32::fact(self.shape(batch));
        model.set_input_fact(0, fact).map_err(&load_err)?;
        let model = model.into_decluttered().map_err(&load_err)?;
        let runtime = tract_onnx::tract_core::runtime::runtime_for_name(ENGINE)
            .map_err(|e| unavailable(format!("{e:#}")))?
            .ok_or_else(|| unavailable("tract's CUDA runtime is not registered in this build"))?;
        // tract-cuda panics where its context cannot be made; the checks above make that
        // unlikely, and a panic here must still become a start-up error, not a crash.
        let plan =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.prepare(model)))
                .map_err(|_| unavailable("tract's CUDA runtime failed to start"))?
                .map_err(&load_err)?;
        plan.spawn().map_err(load_err)
    }

    /// Runs `input` (a host tensor or a lazy host view of a device tensor) through the plan
    /// of `batch`.
    fn run(&mut self, input: Tensor, batch: usize) -> Result<ModelOutput, DetectorError> {
        if !self.states.contains_key(&batch) {
            self.prepare_batch(batch)?;
        }
        let state = self
            .states
            .get_mut(&batch)
            .ok_or_else(|| inference_err(format!("no plan for batch {batch}")))?;
        let out = state.run(tvec!(input.into())).map_err(inference_err)?;
        let view = out[0].to_plain_array_view::<f32>().map_err(inference_err)?;
        let (ch, anchors) = check_output(&self.info, ENGINE, view.shape(), batch)?;
        let take = batch * ch * anchors;
        let data: Vec<f32> = match view.as_slice() {
            Some(s) => s[..take].to_vec(),
            None => view.iter().take(take).copied().collect(),
        };
        self.transfers.dtoh_bytes += (view.len() * 4) as u64;
        Ok(ModelOutput {
            data,
            batch,
            channels: ch,
            anchors,
        })
    }
}

impl InferenceEngine for CudaEngine {
    fn name(&self) -> &'static str {
        ENGINE
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn prepare_batch(&mut self, batch: usize) -> Result<(), DetectorError> {
        let batch = self.info.batch.unwrap_or(batch).max(1);
        if !self.states.contains_key(&batch) {
            let state = self.compile(batch)?;
            self.states.insert(batch, state);
        }
        Ok(())
    }

    fn infer(&mut self, input: &[f32], batch: usize) -> Result<ModelOutput, DetectorError> {
        let per = self.per_image();
        let run_batch = self.info.batch.unwrap_or(batch);
        if batch == 0 || batch > run_batch || input.len() != per * batch {
            return Err(inference_err(format!(
                "batch {batch} of {} floats does not fit the model (batch {run_batch}, {per} floats per image)",
                input.len()
            )));
        }
        let tensor = if run_batch == batch {
            Tensor::from_shape(&self.shape(run_batch), input)
        } else {
            let mut padded = input.to_vec();
            padded.resize(per * run_batch, 0.0);
            Tensor::from_shape(&self.shape(run_batch), &padded)
        }
        .map_err(inference_err)?;
        self.transfers.htod_bytes += (per * run_batch * 4) as u64;
        let mut out = self.run(tensor, run_batch)?;
        if batch < run_batch {
            out.data.truncate(batch * out.channels * out.anchors);
            out.batch = batch;
        }
        Ok(out)
    }

    fn device_input(&mut self, batch: usize) -> Result<Option<u64>, DetectorError> {
        if self.info.batch.is_some_and(|b| b != batch) || batch == 0 {
            return Ok(None);
        }
        if self.device_input.as_ref().map(|(b, _)| *b) != Some(batch) {
            self.prepare_batch(batch)?;
            let t = DeviceTensor::uninitialized_dt(f32::datum_type(), &self.shape(batch))
                .map_err(inference_err)?;
            self.device_input = Some((batch, t));
        }
        Ok(self
            .device_input
            .as_ref()
            .map(|(_, t)| t.device_buffer_ptr() as u64))
    }

    fn infer_device(&mut self, batch: usize) -> Result<ModelOutput, DetectorError> {
        let t = match &self.device_input {
            Some((b, t)) if *b == batch => t.clone(),
            _ => {
                return Err(inference_err(format!(
                    "no device input of batch {batch} was handed out"
                )))
            }
        };
        let input = LazyHostStorage::new(t)
            .map_err(inference_err)?
            .into_tensor();
        self.run(input, batch)
    }

    fn transfers(&self) -> EngineTransfers {
        self.transfers
    }
}
