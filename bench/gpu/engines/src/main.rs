//! `engines-bench MODEL [TILES] [RUNS] [THREADS] [SIDE]`: runs the detector model on TILES
//! deterministic tiles with tract on the CPU (THREADS threads) and with tract's CUDA
//! runtime, RUNS times each after a warm-up, and prints one JSON object: per engine the
//! median and mean milliseconds per tile, and the largest difference of the CUDA outputs
//! from the CPU's (boxes and scores).

use anyhow::{anyhow, Context, Result};
use std::time::Instant;
use tract_onnx::prelude::*;
// Linked for its runtime registration ("cuda").
use tract_cuda as _;

fn tiles(n: usize, side: usize) -> Vec<Tensor> {
    // A fixed pseudo-random pattern with smooth structure (not pure noise).
    let mut seed = 0x2545F4914F6CDD1Du64;
    (0..n)
        .map(|t| {
            let mut v = vec![0f32; 3 * side * side];
            for (i, x) in v.iter_mut().enumerate() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let p = i % (side * side);
                let (r, c) = (p / side, p % side);
                let smooth = (((r / 16 + c / 16 + t) % 4) as f32) / 4.0;
                *x = 0.7 * smooth + 0.3 * ((seed >> 40) as f32 / (1u64 << 24) as f32);
            }
            tract_ndarray::Array4::from_shape_vec((1, 3, side, side), v)
                .unwrap()
                .into_tensor()
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn time(
    name: &str,
    run: &dyn Fn(&Tensor) -> Result<Tensor>,
    inputs: &[Tensor],
    runs: usize,
) -> Result<(serde_json::Value, Vec<Tensor>)> {
    let outs: Vec<Tensor> = inputs.iter().map(run).collect::<Result<_>>()?; // warm-up
    let mut per_tile = Vec::new();
    for _ in 0..runs {
        for t in inputs {
            let s = Instant::now();
            run(t)?;
            per_tile.push(s.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mean = per_tile.iter().sum::<f64>() / per_tile.len() as f64;
    let v = serde_json::json!({
        "engine": name,
        "median_ms_per_tile": median(per_tile.clone()),
        "mean_ms_per_tile": mean,
        "tiles": per_tile.len(),
    });
    eprintln!("{v}");
    Ok((v, outs))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let model_path = args.get(1).context("usage: engines-bench MODEL [TILES] [RUNS] [THREADS]")?;
    let n: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(6);
    let runs: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let threads: usize = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let mut model = tract_onnx::onnx().model_for_path(model_path)?;
    let side: usize = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(640);
    model.set_input_fact(0, f32::fact([1, 3, side, side]).into())?;
    let typed = model.into_typed()?.into_decluttered()?;
    let inputs = tiles(n, side);
    let mut results = Vec::new();

    let executor = if threads > 1 {
        tract_linalg::multithread::Executor::multithread(threads)
    } else {
        Default::default()
    };
    let cpu = typed
        .clone()
        .into_optimized()?
        .into_runnable_with_options(&RunOptions {
            executor: Some(executor),
            ..Default::default()
        })?;
    let cpu_run = |t: &Tensor| -> Result<Tensor> {
        let out = cpu.run(tvec!(t.clone().into()))?;
        Ok(out[0].clone().into_tensor())
    };
    let (v, cpu_out) = time(&format!("tract-cpu-{threads}t"), &cpu_run, &inputs, runs)?;
    results.push(v);

    // Keeps tract-cuda's registration in the binary.
    eprintln!("{}", std::any::type_name::<tract_cuda::CudaTransform>());
    let cuda = tract_onnx::tract_core::runtime::runtime_for_name("cuda")
        .map_err(|e| anyhow!("{e:#}"))?
        .ok_or_else(|| anyhow!("tract's cuda runtime is not registered"))?;
    match cuda.prepare(typed.clone()) {
        Err(e) => results.push(serde_json::json!({"engine": "tract-cuda", "error": format!("{e:#}")})),
        Ok(plan) => {
            let run = |t: &Tensor| -> Result<Tensor> {
                let out = plan.run(tvec!(t.clone().into()))?;
                Ok(out[0].clone().into_tensor())
            };
            let (mut v, outs) = time("tract-cuda", &run, &inputs, runs)?;
            let mut max_box = 0f32;
            let mut max_score = 0f32;
            for (a, b) in cpu_out.iter().zip(&outs) {
                let (a, b) = (a.to_plain_array_view::<f32>()?, b.to_plain_array_view::<f32>()?);
                let shape = a.shape().to_vec(); // [1, 4 + nc, anchors]
                for ((idx, x), y) in a.indexed_iter().zip(b.iter()) {
                    let d = (x - y).abs();
                    if idx[1] < 4 {
                        max_box = max_box.max(d);
                    } else {
                        max_score = max_score.max(d);
                    }
                }
                let _ = shape;
            }
            v["max_box_diff_px"] = serde_json::json!(max_box);
            v["max_score_diff"] = serde_json::json!(max_score);
            results.push(v);
        }
    }
    println!(
        "{}",
        serde_json::json!({"model": model_path, "tile_side": side, "tiles": n, "runs": runs, "results": results})
    );
    Ok(())
}
