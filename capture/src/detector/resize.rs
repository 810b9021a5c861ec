//! The same network at another input side. A TinyDet export (`tools/tinydet.py`, and the
//! shipped models) is convolutional up to its decode; only the decode is tied to the side it
//! was exported at: each head's cell grid is a constant `[1, 2, cells]` (the cell's column
//! and row, plus an offset), and each head is reshaped to `[batch, 4 + nc, cells]` with the
//! cell count written in. [`at_side`] rewrites those constants (and the declared input and
//! output shapes) for another square side, so a crop of that side can be analysed at panorama
//! scale for a fraction of a tile's cost (a 160 px square: a sixteenth of a 640 px tile).
//! Away from the crop's border the result is the same as the full-size model's on the same
//! pixels (`tools/tinydet.py`'s receptive field is under 80 px).
//!
//! A model whose decode is laid out otherwise (an Ultralytics export, whose anchors are one
//! constant) is refused with the reason, rather than guessed at.

use super::engine::show;
use super::DetectorError;
use std::collections::BTreeMap;
use std::path::Path;
use tract_onnx::pb::{self, tensor_proto::DataType, tensor_shape_proto::dimension::Value};

/// One head's grid as found: cells per side and the offset added to each cell index.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Grid {
    side: usize,
    offset: f32,
}

/// Rewrites `proto` (read from `path`, named in errors) to take `side` x `side` images.
pub fn at_side(proto: &mut pb::ModelProto, side: u32, path: &Path) -> Result<(), DetectorError> {
    let refuse = |reason: String| DetectorError::ModelLoad {
        path: path.to_path_buf(),
        reason: format!("cannot run it on {side} px squares: {reason}"),
    };
    let graph = proto
        .graph
        .as_mut()
        .ok_or_else(|| refuse("the file has no graph".into()))?;
    let inits: std::collections::HashSet<String> =
        graph.initializer.iter().map(|t| t.name.clone()).collect();
    let input = graph
        .input
        .iter_mut()
        .find(|i| !inits.contains(&i.name))
        .ok_or_else(|| refuse("the model has no input".into()))?;
    let dims = dims_mut(input).ok_or_else(|| refuse("its input has no declared shape".into()))?;
    let old = match (dim(&dims[..]).get(2), dim(&dims[..]).get(3)) {
        (Some(Some(h)), Some(Some(w))) if h == w && dims.len() == 4 => *h as usize,
        _ => {
            return Err(refuse(format!(
                "its input is not a fixed square [batch, 3, side, side] ({})",
                show(&dim(&dims[..]))
            )))
        }
    };
    // The grids first: they say which cell counts the reshapes hold.
    let mut grids: BTreeMap<usize, Grid> = BTreeMap::new();
    for t in tensors(graph) {
        if t.dims.len() == 3 && t.dims[0] == 1 && t.dims[1] == 2 {
            let cells = t.dims[2] as usize;
            let g = grid_of(t, old).ok_or_else(|| {
                refuse(format!(
                    "constant {:?} of shape [1, 2, {cells}] is not a head's cell grid (only \
                     TinyDet exports can be resized)",
                    t.name
                ))
            })?;
            grids.insert(cells, g);
        }
    }
    if grids.is_empty() {
        return Err(refuse(
            "no head cell grid ([1, 2, cells] constant) in its decode; only TinyDet exports \
             can be resized"
                .into(),
        ));
    }
    let mut new_cells = BTreeMap::new();
    for (&cells, g) in &grids {
        let stride = old / g.side;
        if !old.is_multiple_of(g.side) || !(side as usize).is_multiple_of(stride) {
            return Err(refuse(format!(
                "a head of stride {stride} needs a side that is a multiple of {stride}"
            )));
        }
        new_cells.insert(cells, side as usize / stride);
    }
    let mut reshapes = 0;
    for t in tensors_mut(graph) {
        if t.dims.len() == 3 && t.dims[0] == 1 && t.dims[1] == 2 {
            let g = grids[&(t.dims[2] as usize)];
            let k = new_cells[&(t.dims[2] as usize)];
            set_grid(t, k, g.offset);
        } else if t.dims == [3] && t.data_type == DataType::Int64 as i32 {
            let v = ints(t);
            if let Some(&k) = v.get(2).and_then(|&c| new_cells.get(&(c as usize))) {
                set_ints(t, &[v[0], v[1], (k * k) as i64]);
                reshapes += 1;
            }
        }
    }
    if reshapes != grids.len() {
        return Err(refuse(format!(
            "{} head grids but {reshapes} reshapes to their cell counts",
            grids.len()
        )));
    }
    let input = graph
        .input
        .iter_mut()
        .find(|i| !inits.contains(&i.name))
        .expect("found above");
    let dims = dims_mut(input).expect("checked above");
    dims[2].value = Some(Value::DimValue(side as i64));
    dims[3].value = Some(Value::DimValue(side as i64));
    let old_total: usize = grids.keys().sum();
    let total: usize = new_cells.values().map(|k| k * k).sum();
    for out in graph.output.iter_mut() {
        if let Some(d) = dims_mut(out) {
            if d.len() == 3 {
                if let Some(Value::DimValue(n)) = d[2].value {
                    if n as usize != old_total {
                        return Err(refuse(format!(
                            "its output declares {n} cells, its heads' grids hold {old_total}"
                        )));
                    }
                }
                d[2].value = Some(Value::DimValue(total as i64));
            }
        }
    }
    // Intermediate shapes recorded at the old side would contradict the new ones.
    graph.value_info.clear();
    Ok(())
}

/// Reads the model at `path` and rewrites it for `side` ([`at_side`]).
pub fn load_at_side(path: &Path, side: u32) -> Result<pb::ModelProto, DetectorError> {
    let mut proto = super::engine::read_proto(path)?;
    at_side(&mut proto, side, path)?;
    Ok(proto)
}

fn dims_mut(v: &mut pb::ValueInfoProto) -> Option<&mut Vec<pb::tensor_shape_proto::Dimension>> {
    match v.r#type.as_mut()?.value.as_mut()? {
        pb::type_proto::Value::TensorType(t) => Some(&mut t.shape.as_mut()?.dim),
    }
}

fn dim(d: &[pb::tensor_shape_proto::Dimension]) -> Vec<Option<i64>> {
    d.iter()
        .map(|d| match d.value {
            Some(Value::DimValue(n)) if n > 0 => Some(n),
            _ => None,
        })
        .collect()
}

/// Every constant tensor of the graph: initializers and `Constant` nodes' values.
fn tensors(g: &pb::GraphProto) -> impl Iterator<Item = &pb::TensorProto> {
    g.initializer.iter().chain(
        g.node
            .iter()
            .filter(|n| n.op_type == "Constant")
            .flat_map(|n| n.attribute.iter().filter_map(|a| a.t.as_ref())),
    )
}

fn tensors_mut(g: &mut pb::GraphProto) -> impl Iterator<Item = &mut pb::TensorProto> {
    g.initializer.iter_mut().chain(
        g.node
            .iter_mut()
            .filter(|n| n.op_type == "Constant")
            .flat_map(|n| n.attribute.iter_mut().filter_map(|a| a.t.as_mut())),
    )
}

fn floats(t: &pb::TensorProto) -> Option<Vec<f32>> {
    if t.data_type != DataType::Float as i32 {
        return None;
    }
    if t.raw_data.is_empty() {
        return Some(t.float_data.clone());
    }
    Some(
        t.raw_data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    )
}

fn ints(t: &pb::TensorProto) -> Vec<i64> {
    if t.raw_data.is_empty() {
        return t.int64_data.clone();
    }
    t.raw_data
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect()
}

fn set_ints(t: &mut pb::TensorProto, v: &[i64]) {
    t.int64_data.clear();
    t.raw_data = v.iter().flat_map(|x| x.to_le_bytes()).collect();
}

/// The grid `t` holds, when it is one: row-major cells of a square, x then y, plus an offset.
fn grid_of(t: &pb::TensorProto, input_side: usize) -> Option<Grid> {
    let v = floats(t)?;
    let cells = t.dims[2] as usize;
    let side = (cells as f64).sqrt().round() as usize;
    if side * side != cells || v.len() != 2 * cells || side == 0 || side > input_side {
        return None;
    }
    let offset = v[0];
    let ok = (0..cells)
        .all(|i| v[i] == (i % side) as f32 + offset && v[cells + i] == (i / side) as f32 + offset);
    ok.then_some(Grid { side, offset })
}

fn set_grid(t: &mut pb::TensorProto, side: usize, offset: f32) {
    let cells = side * side;
    let xs = (0..cells).map(|i| (i % side) as f32 + offset);
    let ys = (0..cells).map(|i| (i / side) as f32 + offset);
    t.float_data.clear();
    t.raw_data = xs.chain(ys).flat_map(|x| x.to_le_bytes()).collect();
    t.dims = vec![1, 2, cells as i64];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grid_is_recognised_with_its_offset_and_rewritten() {
        let mut t = pb::TensorProto {
            dims: vec![1, 2, 4],
            data_type: DataType::Float as i32,
            float_data: vec![-0.5, 0.5, -0.5, 0.5, -0.5, -0.5, 0.5, 0.5],
            ..Default::default()
        };
        let g = grid_of(&t, 8).unwrap();
        assert_eq!(
            g,
            Grid {
                side: 2,
                offset: -0.5
            }
        );
        set_grid(&mut t, 3, g.offset);
        let v = floats(&t).unwrap();
        assert_eq!(&v[..9], &[-0.5, 0.5, 1.5, -0.5, 0.5, 1.5, -0.5, 0.5, 1.5]);
        assert_eq!(&v[9..], &[-0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 1.5, 1.5, 1.5]);
        assert_eq!(
            grid_of(&t, 8),
            Some(Grid {
                side: 3,
                offset: -0.5
            })
        );
    }

    #[test]
    fn a_constant_that_is_not_a_grid_is_not_taken_for_one() {
        let t = pb::TensorProto {
            dims: vec![1, 2, 4],
            data_type: DataType::Float as i32,
            float_data: vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0],
            ..Default::default()
        };
        assert_eq!(grid_of(&t, 8), None);
    }
}
