#!/usr/bin/env bash
# On the development machine: builds the release binaries the GPU machine runs (the GPU
# kernel tests of capture and playout, the gpu_bench example, the process binaries and
# touchline-eval for tools/gpu_train.sh), strips and compresses them
# into the git-ignored .gpu-bundle/bin, next to the GStreamer packages of
# scripts/gpu-bundle.sh. The device call then carries `.gpu-bundle` (64 MiB at most in all).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d .gpu-bundle/debs ] || scripts/gpu-bundle.sh
mkdir -p .gpu-bundle/bin
rm -f .gpu-bundle/bin/*
test_binary() { # crate, test name -> path of the release test executable
  cargo test --release -p "$1" --test "$2" --no-run 2>&1 \
    | sed -n "s/.*Executable tests\/$2.rs (\(.*\))/\1/p" | tail -1
}
cargo build --release -p touchline-capture --example gpu_bench --bin capture
cargo build --release -p touchline-launch -p touchline-analyzer -p touchline-director -p touchline-eval --bins
cp target/release/examples/gpu_bench .gpu-bundle/bin/gpu_bench
for b in capture launch analyzer director touchline-eval; do cp target/release/$b .gpu-bundle/bin/$b; done
cp "$(test_binary touchline-capture gpu_kernels)" .gpu-bundle/bin/capture_gpu_kernels
cp "$(test_binary touchline-playout gpu_kernels)" .gpu-bundle/bin/playout_gpu_kernels
for f in .gpu-bundle/bin/*; do
  strip "$f"
  xz -T2 -6 "$f"
done
# The real rig's clips for run.sh's `soccertrack` step (git-ignored .gpu-rig, 5 MB), when
# the shared real data is here.
rig=../shared/realdata/soccertrack-rig
if [ -f $rig/left_camera.mp4 ]; then
  mkdir -p .gpu-rig
  cp $rig/left_camera.mp4 $rig/right_camera.mp4 .gpu-rig/
fi
du -sh .gpu-bundle .gpu-bundle/bin/*
