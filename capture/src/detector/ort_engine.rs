//! ONNX Runtime through `ort` (cargo feature `ort`), loaded at run time (`load-dynamic`): the
//! build needs no runtime; at start-up the shared library comes from `[detector] ort_library`
//! or `ORT_DYLIB_PATH` (the PyPI `onnxruntime` wheel ships one in `onnxruntime/capi/`).
//! Execution providers (TensorRT, CUDA) are tried in the configured order where the installed
//! runtime has them; the CPU is always the last resort.

use super::engine::{check_output, inspect_model, InferenceEngine, ModelInfo, ModelOutput};
use super::DetectorError;
use ort::ep::{self, ExecutionProvider};
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The one ONNX Runtime environment of the process (ONNX Runtime allows one).
static ENV: OnceLock<ort::environment::Environment> = OnceLock::new();
static ENV_INIT: Mutex<()> = Mutex::new(());

fn unavailable(reason: impl Into<String>) -> DetectorError {
    DetectorError::EngineUnavailable {
        engine: "ort".into(),
        reason: reason.into(),
    }
}

/// The library to load: the configured path, else `ORT_DYLIB_PATH`.
pub fn library_path(configured: &str) -> Option<PathBuf> {
    if !configured.trim().is_empty() {
        return Some(PathBuf::from(configured));
    }
    std::env::var_os("ORT_DYLIB_PATH")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn environment(library: Option<&Path>) -> Result<ort::environment::Environment, DetectorError> {
    if let Some(e) = ENV.get() {
        return Ok(e.clone());
    }
    let _guard = ENV_INIT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = ENV.get() {
        return Ok(e.clone());
    }
    let lib = library.ok_or_else(|| {
        unavailable("no ONNX Runtime library: set [detector] ort_library or ORT_DYLIB_PATH to libonnxruntime.so (pip install onnxruntime ships one in onnxruntime/capi/)")
    })?;
    if !lib.is_file() {
        return Err(unavailable(format!(
            "ONNX Runtime library {} does not exist",
            lib.display()
        )));
    }
    let env = ort::init_from(lib)
        .map_err(|e| unavailable(format!("{e}")))?
        .with_name("touchline")
        .build()
        .map_err(|e| unavailable(format!("{e}")))?;
    let _ = ENV.set(env.clone());
    Ok(env)
}

pub struct OrtEngine {
    info: ModelInfo,
    session: Session,
    /// Providers registered, in order.
    pub providers: Vec<&'static str>,
}

impl OrtEngine {
    /// Loads the runtime (once per process) and the model, then runs it once on a blank batch
    /// to check the output layout.
    pub fn load(
        path: &Path,
        classes: usize,
        input_size: u32,
        threads: usize,
        library: Option<&Path>,
        providers: &[String],
    ) -> Result<OrtEngine, DetectorError> {
        let info = inspect_model(path, classes, input_size)?;
        let env = environment(library)?;
        let load_err = |e: String| DetectorError::ModelLoad {
            path: path.to_path_buf(),
            reason: e,
        };
        let mut eps = Vec::new();
        let mut names = Vec::new();
        for p in providers {
            let (name, available, dispatch) = match p.as_str() {
                "tensorrt" => (
                    "tensorrt",
                    ep::TensorRT::is_available(),
                    ep::TensorRT::default().build(),
                ),
                "cuda" => (
                    "cuda",
                    ep::CUDA::is_available(),
                    ep::CUDA::default().build(),
                ),
                _ => continue,
            };
            match available {
                Ok(true) => {
                    eps.push(dispatch);
                    names.push(name);
                }
                _ => tracing::warn!(
                    message = "ONNX Runtime execution provider not in this runtime; skipped.",
                    provider = name
                ),
            }
        }
        names.push("cpu");
        let session = Session::builder(&env)
            .map_err(|e| load_err(e.to_string()))?
            .with_execution_providers(eps)
            .map_err(|e| load_err(e.to_string()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| load_err(e.to_string()))?
            .commit_from_file(path)
            .map_err(|e| load_err(e.to_string()))?;
        tracing::info!(message = "ONNX Runtime session ready.", model = %path.display(), providers = ?names);
        let mut e = OrtEngine {
            info,
            session,
            providers: names,
        };
        let probe = vec![0f32; (3 * e.info.in_w * e.info.in_h) as usize];
        e.infer(&probe, 1)?;
        Ok(e)
    }
}

impl InferenceEngine for OrtEngine {
    fn name(&self) -> &'static str {
        "ort"
    }

    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn infer(&mut self, input: &[f32], batch: usize) -> Result<ModelOutput, DetectorError> {
        let per = 3 * (self.info.in_w * self.info.in_h) as usize;
        let run_batch = self.info.batch.unwrap_or(batch);
        if batch == 0 || batch > run_batch || input.len() != per * batch {
            return Err(DetectorError::Inference {
                engine: "ort",
                reason: format!(
                    "batch {batch} of {} floats does not fit the model (batch {run_batch}, {per} floats per image)",
                    input.len()
                ),
            });
        }
        let mut data = input.to_vec();
        data.resize(per * run_batch, 0.0);
        let shape = [
            run_batch,
            3,
            self.info.in_h as usize,
            self.info.in_w as usize,
        ];
        let err = |e: ort::Error| DetectorError::Inference {
            engine: "ort",
            reason: e.to_string(),
        };
        let tensor = Tensor::from_array((shape, data)).map_err(err)?;
        let outputs = self.session.run(ort::inputs![tensor]).map_err(err)?;
        let (oshape, values) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
        let dims: Vec<usize> = oshape.iter().map(|&d| d.max(0) as usize).collect();
        let (ch, anchors) = check_output(&self.info, "ort", &dims, batch)?;
        Ok(ModelOutput {
            data: values[..batch * ch * anchors].to_vec(),
            batch,
            channels: ch,
            anchors,
        })
    }
}
