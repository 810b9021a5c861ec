#!/usr/bin/env bash
# On the GPU machine, from the repository root, with `.gpu-bundle` (debs + bin, from
# bench/gpu/ship.sh) carried: writes the detector's training data with the shipped capture
# binary, in parallel shards (the recipe of docs/detector.md, each folder split by seed), then
# trains TinyDet and leaves the model, its metrics and the training log in $OUT (four files:
# the device returns at most eight; the dataset logs stay in $LOGS).
#   MINUTES=3.5 WIDTH=16,32,48,80 [MORE=2] bash tools/gpu_train.sh
# MORE multiplies the number of training tiles (more shards, other seeds; validation unchanged).
# STAGE=data writes the data only, STAGE=train trains on data already in $DATA (a device call
# is limited to 10 minutes: write once, then train one or more models in later calls).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu-train}
DATA=${DATA:-/tmp/touchline-data}
LOGS=${LOGS:-/tmp/touchline-data-logs}
mkdir -p "$OUT" "$DATA" "$LOGS" /tmp/tlbin
source scripts/gpu-env.sh >/dev/null 2>&1
xz -dc .gpu-bundle/bin/capture.xz >/tmp/tlbin/capture && chmod +x /tmp/tlbin/capture
C=/tmp/tlbin/capture
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
  for i in $(seq 0 $((3 * MORE - 1))); do
    shard train_rt1920_$i $((12 + 100 * i)) 867 --widths 1920 --scale 1.0 --ball-tile-chance 0.35 \
      --tiles-per-frame 6 --frames-per-scene 10 & pids+=($!)
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
python3 tools/train_detector.py --data "$DATA" --out "$OUT" --minutes "${MINUTES:-3.5}" \
  --batch 256 --width "${WIDTH:-16,32,48,80}" --seed "${SEED:-3}" 2>&1 | tail -25
