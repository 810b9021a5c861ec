#!/usr/bin/env bash
# On the GPU machine: tract (CPU, 1 and all threads), tract's CUDA runtime and ONNX Runtime
# (CPU) on the shipped detector model, 640x640 tiles, side by side. Writes $OUT/engines.json.
# Needs engines-bench built here (cargo build --release in bench/gpu/engines) and carried.
set -euo pipefail
cd "$(dirname "$0")/../../.."
BIN=bench/gpu/engines/target/release/engines-bench
MODEL=models/touchline-detector.onnx
OUT=${OUT:-bench/gpu/out}
mkdir -p "$OUT"
# cuBLAS and the CUDA runtime come with torch's NVIDIA wheels on that machine.
for lib in libcublas.so libcudart.so libcublasLt.so; do
  d=$(dirname "$(find / -xdev -name "$lib*" 2>/dev/null | grep -m1 nvidia || true)" 2>/dev/null || true)
  [ -n "$d" ] && [ "$d" != "." ] && LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"
done
export LD_LIBRARY_PATH
echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
{
  "$BIN" "$MODEL" 6 20 1
  "$BIN" "$MODEL" 6 20 "$(nproc)"
  python3 bench/gpu/engines/ort_cpu.py "$MODEL" 6 20
} | tee "$OUT/engines.json"
