//! The inference engine seam: one trait, three engines (tract on the CPU, tract's CUDA runtime,
//! ONNX Runtime), and what all check at start-up: that the model file exists and has the Ultralytics YOLO layout, input
//! `[B, 3, H, W]` and output `[B, 4 + nc, N]` with `nc` the configured class count.

use super::DetectorError;
use std::path::{Path, PathBuf};
use tract_onnx::pb;
use tract_onnx::prelude::Framework;

/// The shipped model, relative to the repository root.
pub const DEFAULT_MODEL: &str = "models/touchline-detector.onnx";

/// What the model takes and gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    pub path: PathBuf,
    /// Fixed batch size, or `None` when the batch dimension is dynamic.
    pub batch: Option<usize>,
    /// Input width and height (the model's when fixed, else the configured size).
    pub in_w: u32,
    pub in_h: u32,
    /// Number of classes (`4 + nc` output channels).
    pub classes: usize,
}

/// Output of one run: `[batch, 4 + nc, anchors]`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOutput {
    pub data: Vec<f32>,
    pub batch: usize,
    pub channels: usize,
    pub anchors: usize,
}

impl ModelOutput {
    /// The `[4 + nc, anchors]` slice of batch item `b`.
    pub fn item(&self, b: usize) -> &[f32] {
        let n = self.channels * self.anchors;
        &self.data[b * n..(b + 1) * n]
    }
}

/// Bytes an engine moved between host and GPU memory (zero for CPU engines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineTransfers {
    pub htod_bytes: u64,
    pub dtoh_bytes: u64,
}

/// Runs the model. Implementations own their session and scratch memory.
pub trait InferenceEngine: Send {
    fn name(&self) -> &'static str;
    fn info(&self) -> &ModelInfo;
    /// Runs `batch` images of `[3, in_h, in_w]` floats laid end to end. `batch` is at most
    /// the model's fixed batch (when it has one); a smaller batch is padded by the engine.
    fn infer(&mut self, input: &[f32], batch: usize) -> Result<ModelOutput, DetectorError>;
    /// Gets ready to run batches of `batch` images (compiles what it needs), so that the first
    /// frame does not pay for it. Called once the tiling is known.
    fn prepare_batch(&mut self, _batch: usize) -> Result<(), DetectorError> {
        Ok(())
    }
    /// The device address of an input tensor of `batch` images (f32, `[batch, 3, in_h, in_w]`)
    /// that the caller may fill in GPU memory and then run with [`Self::infer_device`]; `None`
    /// for engines that take host memory only. The caller's writes must be complete (its
    /// stream synchronised) before `infer_device`.
    fn device_input(&mut self, _batch: usize) -> Result<Option<u64>, DetectorError> {
        Ok(None)
    }
    /// Runs the images written at [`Self::device_input`].
    fn infer_device(&mut self, _batch: usize) -> Result<ModelOutput, DetectorError> {
        Err(DetectorError::Inference {
            engine: self.name(),
            reason: "this engine takes host memory only".into(),
        })
    }
    /// Bytes moved between host and GPU memory so far.
    fn transfers(&self) -> EngineTransfers {
        EngineTransfers::default()
    }
}

/// Finds the model file: an absolute path as given; a relative one (or the default) in the
/// current directory, next to the executable and up to two folders above it (`target/release`
/// -> the repository), then in the source tree this crate was built from.
pub fn resolve_model_path(given: &str) -> Result<PathBuf, DetectorError> {
    let rel = if given.trim().is_empty() {
        DEFAULT_MODEL
    } else {
        given
    };
    let p = Path::new(rel);
    let mut tried = Vec::new();
    if p.is_absolute() {
        tried.push(p.to_path_buf());
    } else {
        if let Ok(cwd) = std::env::current_dir() {
            tried.push(cwd.join(p));
        }
        if let Some(dir) = std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(Path::to_path_buf))
        {
            tried.push(dir.join(p));
            if let Some(up) = dir.parent() {
                tried.push(up.join(p));
                if let Some(up2) = up.parent() {
                    tried.push(up2.join(p));
                }
            }
        }
        tried.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p));
    }
    match tried.iter().find(|c| c.is_file()) {
        Some(found) => Ok(found.clone()),
        None => Err(DetectorError::ModelNotFound {
            given: rel.to_string(),
            tried,
        }),
    }
}

/// A declared dimension: fixed, or symbolic/unknown.
pub type Dim = Option<i64>;

fn dims_of(v: &pb::ValueInfoProto) -> Option<Vec<Dim>> {
    use pb::tensor_shape_proto::dimension::Value;
    let Some(pb::type_proto::Value::TensorType(t)) = v.r#type.as_ref()?.value.as_ref() else {
        return None;
    };
    Some(
        t.shape
            .as_ref()?
            .dim
            .iter()
            .map(|d| match d.value {
                Some(Value::DimValue(n)) if n > 0 => Some(n),
                _ => None,
            })
            .collect(),
    )
}

/// Declared dimensions as text, `?` for a dynamic one.
pub(crate) fn show(d: &[Dim]) -> String {
    let parts: Vec<String> = d
        .iter()
        .map(|x| x.map_or("?".to_string(), |n| n.to_string()))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The model file as ONNX protobuf.
pub(crate) fn read_proto(path: &Path) -> Result<pb::ModelProto, DetectorError> {
    tract_onnx::onnx()
        .proto_model_for_path(path)
        .map_err(|e| DetectorError::ModelLoad {
            path: path.to_path_buf(),
            reason: format!("not a readable ONNX file: {e}"),
        })
}

/// The declared shapes of a model's one input and first output, read from the file.
pub(crate) fn declared_shapes(path: &Path) -> Result<(Vec<Dim>, Vec<Dim>), DetectorError> {
    let proto = read_proto(path)?;
    let graph = proto
        .graph
        .as_ref()
        .ok_or_else(|| DetectorError::ModelLoad {
            path: path.to_path_buf(),
            reason: "the file has no graph".into(),
        })?;
    let inits: std::collections::HashSet<&str> =
        graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs: Vec<&pb::ValueInfoProto> = graph
        .input
        .iter()
        .filter(|i| !inits.contains(i.name.as_str()))
        .collect();
    if inputs.len() != 1 || graph.output.is_empty() {
        return Err(DetectorError::ModelShape {
            path: path.to_path_buf(),
            what: "number of inputs/outputs",
            expected: "1 input and at least 1 output".into(),
            found: format!("{} inputs, {} outputs", inputs.len(), graph.output.len()),
        });
    }
    Ok((
        dims_of(inputs[0]).unwrap_or_default(),
        dims_of(&graph.output[0]).unwrap_or_default(),
    ))
}

/// Reads the declared input and output shapes from the file and checks the YOLO layout.
/// `input_size` is used for a dynamic input side.
pub fn inspect_model(
    path: &Path,
    classes: usize,
    input_size: u32,
) -> Result<ModelInfo, DetectorError> {
    let (din, dout) = declared_shapes(path)?;
    let shape_err =
        |what: &'static str, expected: String, found: String| DetectorError::ModelShape {
            path: path.to_path_buf(),
            what,
            expected,
            found,
        };
    if din.len() != 4 || din[1].is_some_and(|c| c != 3) {
        return Err(shape_err(
            "input shape",
            "[batch, 3, height, width]".into(),
            show(&din),
        ));
    }
    let channels = 4 + classes as i64;
    if dout.len() != 3 || dout[1].is_some_and(|c| c != channels) {
        return Err(shape_err(
            "output shape",
            format!("[batch, {channels}, anchors] (4 box values + {classes} configured classes)"),
            show(&dout),
        ));
    }
    if let (Some(bi), Some(bo)) = (din[0], dout[0]) {
        if bi != bo {
            return Err(shape_err("output batch", show(&din), show(&dout)));
        }
    }
    Ok(ModelInfo {
        path: path.to_path_buf(),
        batch: din[0].map(|b| b as usize),
        in_w: din[3].map_or(input_size, |w| w as u32),
        in_h: din[2].map_or(input_size, |h| h as u32),
        classes,
    })
}

/// Checks what an engine returned against the model info.
pub fn check_output(
    info: &ModelInfo,
    engine: &'static str,
    shape: &[usize],
    batch: usize,
) -> Result<(usize, usize), DetectorError> {
    let ch = 4 + info.classes;
    if shape.len() != 3 || shape[0] < batch || shape[1] != ch {
        return Err(DetectorError::ModelShape {
            path: info.path.clone(),
            what: "output shape at run time",
            expected: format!("[{batch}, {ch}, anchors] ({engine})"),
            found: format!("{shape:?}"),
        });
    }
    Ok((ch, shape[2]))
}
