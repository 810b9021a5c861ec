#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Touchline and runs the demo: the whole system on
# the synthetic pitch. Results go to out/demo (or the folder given as first argument).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-out/demo}"
SECONDS_TO_RUN="${DEMO_SECONDS:-20}"
scripts/setup.sh
cargo build --release --workspace --bins
target/release/launch demo --seconds "$SECONDS_TO_RUN" --out "$OUT"
echo
echo "Demo results are in $OUT:"
ls -l "$OUT"
