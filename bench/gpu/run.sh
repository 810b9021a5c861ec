#!/usr/bin/env bash
# On the GPU machine, from the repository root, with `.gpu-bundle` carried (built by
# bench/gpu/ship.sh): the GPU kernel tests with the GPU mandatory, then the benchmarks.
#   bench/gpu/run.sh [STEP...]   steps: tests kernels pipeline files nvdec record capture
#                                engines detector soccertrack (default: all but nvdec,
#                                capture, engines, detector and soccertrack)
# `capture` runs the capture binary itself (backend = "cuda", files source, 1920x1080
# programme recorded, 7 s delay at 30 fps, not real time): zero-copy with NVDEC decoding into
# GPU memory, zero-copy decoding into system memory, host-copy with NVDEC into GPU memory,
# each once recording the programme with x264 and once only rendering and downloading it,
# sampling the GPU's memory with nvidia-smi; reports go to
# $LOGDIR/capture-<mode>-decode-<gpu_decode>-<record|render>.json. `detector` runs the same
# with the detector on at production tiling: the `cuda` engine (tiles from GPU memory) while
# recording and while only rendering, and tract on the CPU's cores while recording
# ($LOGDIR/capture-...-detector-<engine>.json). `engines`: the detector engines side by side
# on the same production-size frames (gpu_bench engines), then ONNX Runtime on the CPU on the
# same tiles.
# H.264 inputs: $FILES/left.mp4 and right.mp4 (default .gpu-bundle/h264 when carried, else
# written on the machine by `gpu_bench make-files`).
# The whole log goes to $OUT/gpu-bench.log (or bench/gpu/out/ without $OUT).
set -uo pipefail
cd "$(dirname "$0")/../.."
LOGDIR=${OUT:-bench/gpu/out}
mkdir -p "$LOGDIR" /tmp/tlbin
LOG="$LOGDIR/gpu-bench.log"
source scripts/gpu-env.sh || exit 1
for f in .gpu-bundle/bin/*.xz; do
  b=/tmp/tlbin/$(basename "$f" .xz)
  xz -dc "$f" >"$b" && chmod +x "$b"
done
export TOUCHLINE_REQUIRE_GPU=1 RUST_LOG=${RUST_LOG:-warn}
B=/tmp/tlbin
FILES=${FILES:-/tmp/touchline-h264}
[ -f .gpu-bundle/h264/left.mp4 ] && FILES=.gpu-bundle/h264
make_files() {
  [ -f $FILES/left.mp4 ] && [ -f $FILES/calibration.toml ] ||
    step $B/gpu_bench make-files --out $FILES --frames ${FRAMES:-300}
}
capture_run() { # ring mode, gpu_decode (true: NVDEC into GPU memory, false: into system memory),
  # programme (record: x264 to an MP4 file; render: rendered and downloaded, not encoded),
  # detector engine (none: off; cuda; tract: on the CPU with every core), the shipped model's
  # production tiling (1024 px tiles, ball threshold 0.75), every frame it can keep up with
  local det=${4:-none}
  local name=$1-decode-${2:-true}-${3:-record}
  [ "$det" != none ] && name=$name-detector-$det
  local output="record = \"/tmp/touchline-capture-$name.mp4\""
  [ "${3:-record}" = render ] && output="pose_log = \"/tmp/touchline-capture-$name.poses\""
  local cfg=/tmp/touchline-capture-$name.toml rep=$LOGDIR/capture-$name.json smi=/tmp/touchline-smi-$name.csv
  cat >"$cfg" <<CFG
[capture]
source = "files"
files = ["$FILES/left.mp4", "$FILES/right.mp4"]
calibration = "$FILES/calibration.toml"
backend = "cuda"
gpu_decode = ${2:-true}
fps = 30
realtime = false
table_cache = "/tmp/touchline-tables"
[detector]
enabled = $([ "$det" = none ] && echo false || echo true)
engine = "$([ "$det" = none ] && echo tract || echo "$det")"
tile_size = 1024
thresholds = [0.75, 0.4, 0.4]
max_rate_hz = 120
threads = $(nproc)
nice = 0
[playout]
delay_s = 7.0
ring_mode = "${1//-/_}"
output_width = 1920
output_height = 1080
bitrate_kbps = 8000
audio = "none"
$output
report = "$rep"
CFG
  rm -f "$rep" "/tmp/touchline-capture-$name.mp4"
  echo "gpu used before (MiB): $(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits)" | tee -a "$LOG"
  (while :; do
    echo "$(date +%s.%N),$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits),$(nvidia-smi --query-compute-apps=used_memory --format=csv,noheader,nounits | paste -sd+)"
    sleep 0.2
  done >"$smi") &
  local sampler=$!
  RUST_LOG=${RUST_LOG_CAPTURE:-info} step $B/capture -c "$cfg" run
  kill $sampler
  echo "gpu used, max over the run (MiB; device, then capture's process): $(sort -t, -k2 -n "$smi" | tail -1 | cut -d, -f2-)" | tee -a "$LOG"
  ls -l /tmp/touchline-capture-$name.* | tee -a "$LOG"
  echo "capture report $name: $(python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$rep")" | tee -a "$LOG"
}
soccertrack_run() { # the whole system (launch run) on the real SoccerTrack clips carried in
  # .gpu-rig (copied there by bench/gpu/ship.sh from ../shared/realdata/soccertrack-rig):
  # examples/soccertrack.toml with the cuda backend, NVDEC and the cuda detector engine, the
  # clips played in real time (25 fps, looping) so that the detector may analyse every frame,
  # stopped by SIGINT after SOCCERTRACK_S seconds. `launch demo` would also write the panorama
  # view, whose text overlay needs gstreamer1.0-x (fonts, pango, cairo), which this machine
  # lacks; `launch run` records the programme, capture's report and the analyzer's input and
  # output instead, all copied to $LOGDIR.
  [ -f .gpu-rig/left_camera.mp4 ] || { echo "soccertrack: .gpu-rig/left_camera.mp4 missing (run bench/gpu/ship.sh)" | tee -a "$LOG"; return; }
  local cfg=/tmp/touchline-soccertrack.toml out=/tmp/touchline-soccertrack-out
  rm -rf $out && mkdir -p $out
  sed -e 's#"../shared/realdata/soccertrack-rig/#".gpu-rig/#' \
    -e 's#^realtime = false#realtime = true\nbackend = "cuda"\ngpu_decode = true\ntable_cache = "/tmp/touchline-tables"#' \
    -e 's#^\[detector\]#[detector]\nengine = "cuda"\nmax_rate_hz = 30#' \
    -e "s#^\\[playout\\]#[playout]\\nrecord = \"$out/broadcast.mp4\"\\nreport = \"$out/playout.json\"#" \
    examples/soccertrack.toml >"$cfg"
  printf '[analyzer]\nrecord_path = "%s/analyzer.tlrec"\n' $out >>"$cfg"
  grep -q '^engine = "cuda"' "$cfg" && grep -q '^backend = "cuda"' "$cfg" && grep -q '^report = ' "$cfg" || { echo "soccertrack: config edit failed" | tee -a "$LOG"; cat "$cfg" | tee -a "$LOG"; return; }
  RUST_LOG=${RUST_LOG_CAPTURE:-info} STEP_TIMEOUT=$((${SOCCERTRACK_S:-40} + 60)) step timeout -s INT ${SOCCERTRACK_S:-40} $B/launch --config "$cfg" run
  ls -l $out | tee -a "$LOG"
  for f in broadcast.mp4 playout.json analyzer.tlrec; do cp "$out/$f" "$LOGDIR/soccertrack-$f"; done
  echo "soccertrack detector: $(python3 -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))["detector"]))' "$out/playout.json")" | tee -a "$LOG"
}
step() {
  echo "== $(date -u +%FT%TZ) $*" | tee -a "$LOG"
  timeout "${STEP_TIMEOUT:-150}" "$@" 2>&1 | tee -a "$LOG"
  echo "== exit ${PIPESTATUS[0]}" | tee -a "$LOG"
}
steps=${*:-tests kernels pipeline files record}
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv | tee -a "$LOG"
nproc | sed 's/^/cpus: /' | tee -a "$LOG"
for s in $steps; do
  case $s in
    tests)
      step $B/capture_gpu_kernels --test-threads 1 --nocapture
      step $B/playout_gpu_kernels --test-threads 1 --nocapture ;;
    kernels)
      step $B/gpu_bench kernels ;;
    pipeline)
      step $B/gpu_bench pipeline --frames 600 --ring-mode zero-copy
      step $B/gpu_bench pipeline --frames 600 --ring-mode host-copy ;;
    files)
      make_files
      step $B/gpu_bench pipeline --files $FILES/left.mp4 $FILES/right.mp4 --frames 300 --ring-mode zero-copy
      step $B/gpu_bench pipeline --files $FILES/left.mp4 $FILES/right.mp4 --frames 300 --ring-mode host-copy ;;
    nvdec)
      make_files
      step $B/gpu_bench pipeline --files $FILES/left.mp4 $FILES/right.mp4 --frames 300 --ring-mode zero-copy
      step $B/gpu_bench pipeline --files $FILES/left.mp4 $FILES/right.mp4 --frames 300 --ring-mode zero-copy --cuda-memory
      step $B/gpu_bench pipeline --files $FILES/left.mp4 $FILES/right.mp4 --frames 300 --ring-mode host-copy --cuda-memory ;;
    capture)
      make_files
      capture_run zero-copy true
      capture_run zero-copy false
      capture_run host-copy true
      capture_run zero-copy true render
      capture_run zero-copy false render
      capture_run host-copy true render ;;
    engines)
      step $B/gpu_bench engines --frames 4 --reps 5 --tiles-out /tmp/touchline-tiles.f32
      step python3 bench/gpu/engines/ort_cpu.py models/touchline-detector.onnx 0 5 /tmp/touchline-tiles.f32 ;;
    detector)
      make_files
      capture_run zero-copy true record cuda
      capture_run zero-copy true render cuda
      capture_run zero-copy true record tract ;;
    soccertrack)
      soccertrack_run ;;
    record)
      step $B/gpu_bench pipeline --frames 300 --ring-mode zero-copy --record /tmp/touchline-programme.mp4
      ls -l /tmp/touchline-programme.mp4 | tee -a "$LOG" ;;
    *) echo "unknown step $s" | tee -a "$LOG" ;;
  esac
done
grep -E '^soccertrack|^\{"mode"|^\{"device"|^\{"onnxruntime"|^\| |^copy bandwidth|test result|max abs error|^capture report|^gpu used' "$LOG" | tail -80
