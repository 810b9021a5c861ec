#!/usr/bin/env bash
# The ball verifier, from the shared real frames to models/-ready files, in one command:
#   bash tools/train_ball_verifier.sh [OUT]          (default out/verifier)
# DETECTOR=M proposes the candidates with model M (default models/touchline-detector-real.onnx):
# the verifier learns the mistakes of the detector it will run behind.
# 1. The real-frame detector's ball candidates on every shared real frame (detector-eval
#    --detections-out at ball threshold 0.3, only on the grass), written once to $OUT/dumps
#    (about 20 min on 2 cores; an existing dump is reused).
# 2. tools/train_ball_verifier.py on them (seed 1, 3000 steps, about 8 min on 2 cores),
#    split by match id as the real-frame model was (.gpu-real/split.json, else the split
#    written by tools/real_tiles.py). Needs torch and onnx (tools/requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/verifier}
REAL=${REALDATA:-../shared/realdata}
SPLIT=${SPLIT:-.gpu-real/split.json}
[ -d "$REAL/dfl-players/images" ] || { echo "no real frames at $REAL (set REALDATA)" >&2; exit 1; }
[ -f "$SPLIT" ] || { echo "no split at $SPLIT: run tools/real_tiles.py --out .gpu-real (or set SPLIT)" >&2; exit 1; }
mkdir -p "$OUT/dumps"
cargo build --release -q -p touchline-eval
E=target/release/touchline-eval
cfg="$OUT/dumps/candidates.toml"
want=$(printf '[detector]\nmodel = "%s"\nthresholds = [0.3, 0.4, 0.4]\nnice = 0' "${DETECTOR:-models/touchline-detector-real.onnx}")
if [ -f "$cfg" ] && [ "$(cat "$cfg")" != "$want" ] && compgen -G "$OUT/dumps/*.jsonl" >/dev/null; then
  echo "$OUT/dumps holds another detector's candidates (see $cfg): give another OUT, or remove $OUT/dumps" >&2
  exit 1
fi
printf '%s\n' "$want" >"$cfg"
dump() { # name dir [options]
  local name=$1 dir=$2
  shift 2
  [ -s "$OUT/dumps/$name.jsonl" ] && return
  RUST_LOG=warn $E detector-eval -c "$cfg" --images "$REAL/$dir" --field grass "$@" \
    --detections-out "$OUT/dumps/$name.tmp" >"$OUT/dumps/$name.json"
  mv "$OUT/dumps/$name.tmp" "$OUT/dumps/$name.jsonl"
}
dump players dfl-players
dump p1280 dfl-players-1280 --resize 1920x1080
dump ball640 dfl-ball-640 --resize 1920x1080 --label-classes ball
python3 tools/train_ball_verifier.py --dumps "$OUT/dumps/players.jsonl,$OUT/dumps/p1280.jsonl,$OUT/dumps/ball640.jsonl" \
  --split "$SPLIT" --out "$OUT" --steps 3000 --seed 1
echo "then: cp $OUT/touchline-ball-verifier.onnx models/ && cp $OUT/metrics.json models/training-metrics-verifier.json"
