"""ONNX Runtime on the CPU, same model and tiles as the other engines: median and mean
milliseconds per tile for 1 thread and for all cores. Prints one JSON line.

    python3 ort_cpu.py MODEL TILES RUNS [TILES_FILE]

TILES_FILE: raw little-endian f32 tiles `[n, 3, 640, 640]` (written by
`gpu_bench engines --tiles-out`); without it, TILES deterministic random tiles."""
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort

model, tiles, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
side = 640
if len(sys.argv) > 4:
    data = np.fromfile(sys.argv[4], dtype="<f4").reshape(-1, 3, side, side)
    inputs = [data[i:i + 1].copy() for i in range(len(data))]
    source = sys.argv[4]
else:
    rng = np.random.default_rng(7)
    inputs = [rng.random((1, 3, side, side), dtype=np.float32) for _ in range(tiles)]
    source = "random"
out = {"onnxruntime": ort.__version__, "tiles_from": source, "results": []}
for threads in (1, os.cpu_count()):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    for x in inputs:
        s.run(None, {name: x})
    times = []
    for _ in range(runs):
        for x in inputs:
            t = time.perf_counter()
            s.run(None, {name: x})
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    out["results"].append({
        "engine": f"onnxruntime-cpu-{threads}t",
        "median_ms_per_tile": times[len(times) // 2],
        "mean_ms_per_tile": sum(times) / len(times),
        "tiles": len(times),
    })
print(json.dumps(out))
