#!/usr/bin/env bash
# On the GPU machine, from the repository root, with `.gpu-bundle` (debs + bin, from
# bench/gpu/ship.sh) carried: writes the detector's training data with the shipped
# touchline-eval binary, in parallel shards (the recipe of docs/detector.md, each folder split by seed), then
# trains TinyDet and leaves the model (or its checkpoint, see below), its metrics and the
# training log in $OUT (four or five files:
# the device returns at most eight; the dataset logs stay in $LOGS).
#   MINUTES=3.5 WIDTH=16,32,48,80 [MORE=2] [REAL=.gpu-real] [EVAL=1] bash tools/gpu_train.sh
# MORE multiplies the number of training tiles (more shards, other seeds; validation unchanged).
# RT1920=N writes N shards of demo-size tiles (1920 px panoramas at scale 1.0; default 3 x MORE)
# and RT1920_BALL their share of tiles around the ball (default 0.35): a model for the demo size.
# FOCUS2X=N adds N shards of 1920 px panoramas at scale 2.0 (320 px crops around the ball,
# magnified to the model input, as `detector.focus_tile_size = 320` looks at the ball).
# STAGE=data writes the data only, STAGE=train trains on data already in $DATA (a device call
# is limited to 10 minutes: write once, then train one or more models in later calls).
# REAL=.gpu-real adds the real tiles of tools/real_tiles.py (train_real*, val_real) to the
# training and validation folders; TRAIN_ARGS passes more options to train_detector.py.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu-train}
DATA=${DATA:-/tmp/touchline-data}
LOGS=${LOGS:-/tmp/touchline-data-logs}
mkdir -p "$OUT" "$DATA" "$LOGS" /tmp/tlbin
# touchline-eval needs no GStreamer: the bundle may carry the binary alone (its packages are
# unpacked when it has them).
[ ! -d .gpu-bundle/debs ] || source scripts/gpu-env.sh >/dev/null 2>&1
xz -dc .gpu-bundle/bin/touchline-eval.xz >/tmp/tlbin/touchline-eval && chmod +x /tmp/tlbin/touchline-eval
C=/tmp/tlbin/touchline-eval
shard() { # folder seed tiles [options]
  local dir=$1 seed=$2 tiles=$3
  shift 3
  RUST_LOG=warn $C dataset --out "$DATA/$dir" --tiles "$tiles" --seed "$seed" --size 256 "$@" \
    >"$LOGS/$dir.log" 2>&1
}
STAGE=${STAGE:-all}
start=$(date +%s)
pids=()
if [ "$STAGE" != train ]; then
  MORE=${MORE:-1}
  for i in $(seq 0 $((4 * MORE - 1))); do
    shard train_$i $((11 + 100 * i)) 825 --frames-per-scene 10 & pids+=($!)
  done
  for i in $(seq 0 $((${RT1920:-$((3 * MORE))} - 1))); do
    shard train_rt1920_$i $((12 + 100 * i)) 867 --widths 1920 --scale 1.0 --ball-tile-chance "${RT1920_BALL:-0.35}" \
      --tiles-per-frame 6 --frames-per-scene 10 & pids+=($!)
  done
  for i in $(seq 0 $((${FOCUS2X:-0} - 1))); do
    shard train_focus2x_$i $((14 + 100 * i)) 867 --widths 1920 --scale 2.0 --ball-tile-chance 0.7 \
      --tiles-per-frame 3 --frames-per-scene 10 & pids+=($!)
  done
  for i in $(seq 0 $((4 * MORE - 1))); do
    shard train_rt5700_$i $((13 + 100 * i)) 475 --widths 5700 --scale 0.625 --ball-tile-chance 0.35 \
      --tiles-per-frame 8 --frames-per-scene 10 & pids+=($!)
  done
  shard val 501 400 --widths 1920,5700 --scale 0.625,1.0 --ball-tile-chance 0.5 --frames-per-scene 5 & pids+=($!)
  for p in "${pids[@]}"; do wait "$p"; done
  echo "data: $(du -sh "$DATA" | cut -f1) in $(($(date +%s) - start)) s" | tee "$OUT/data.txt"
  tail -qn1 "$LOGS"/*.log | tee -a "$OUT/data.txt"
fi
[ "$STAGE" = data ] && exit 0
[ -d "$DATA/val" ] || { echo "no data in $DATA: run with STAGE=data first" >&2; exit 1; }
if [ -n "${REAL:-}" ]; then # real tiles from tools/real_tiles.py, next to the synthetic folders
  for d in "$REAL"/train_real* "$REAL"/val_real; do
    [ -d "$d/images" ] || { echo "no tiles in $d: run tools/real_tiles.py --out $REAL" >&2; exit 1; }
    ln -sfn "$(cd "$d" && pwd)" "$DATA/$(basename "$d")"
  done
fi
# ${TRAIN_ARGS} passes more options, e.g. "--init X.npz --folder-weight train_real=4 --lr 1e-3".
# shellcheck disable=SC2086
python3 tools/train_detector.py --data "$DATA" --out "$OUT" --minutes "${MINUTES:-3.5}" \
  --batch 256 --width "${WIDTH:-16,32,48,80}" --seed "${SEED:-3}" ${TRAIN_ARGS:-} 2>&1 | tail -25
# EVAL=1: then the held-out synthetic scenes (seed 90001) at the demo and production sizes,
# the new model and the shipped one side by side (tract on every core), JSON into $OUT.
# Without the `onnx` package (torch's exporter needs it) training leaves the checkpoint
# touchline-detector.pt instead of the ONNX file: export it on a machine that has the package
# with tools/export_detector.py, and evaluate there.
if [ "${EVAL:-0}" = 1 ] && [ ! -f "$OUT/touchline-detector.onnx" ]; then
  echo "no $OUT/touchline-detector.onnx (no onnx package here): evaluation skipped"
elif [ "${EVAL:-0}" = 1 ]; then
  ecfg=/tmp/touchline-eval.toml
  printf '[detector]\nthreads = %s\nnice = 0\n' "$(nproc)" >"$ecfg"
  for m in "$OUT/touchline-detector.onnx" models/touchline-detector.onnx; do
    tag=$([ "$m" = models/touchline-detector.onnx ] && echo shipped || echo new)
    RUST_LOG=warn $C -c "$ecfg" detector-eval --model "$m" --frames "${EVAL_FRAMES_1920:-150}" --seed 90001 \
      --threshold 0.7 --json "$OUT/eval-1920-$tag.json" 2>&1 | tail -1
    RUST_LOG=warn $C -c "$ecfg" detector-eval --model "$m" --frames "${EVAL_FRAMES_5700:-100}" --seed 90001 \
      --width 5700 --tile-size 1024 --threshold 0.75 --json "$OUT/eval-5700-$tag.json" 2>&1 | tail -1
  done
fi

