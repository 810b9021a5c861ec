#!/usr/bin/env bash
# Downloads Debian 12's GStreamer (with nvcodec and x264) and its libraries into the
# git-ignored .gpu-bundle/debs, for the GPU test machine, which has no GStreamer and no
# network. scripts/gpu-env.sh unpacks them there. Run on a Debian 12 machine; about 14 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-bundle/debs
cd .gpu-bundle/debs
apt-get download \
  libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libgstreamer-plugins-bad1.0-0 \
  libgstreamer-gl1.0-0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-tools \
  libx264-164 liborc-0.4-0 libglib2.0-0 libunwind8 libdw1 libelf1 libgudev-1.0-0 \
  libgraphene-1.0-0 libdrm2 libegl1 libgbm1 libgl1 libglx0 libglvnd0 libegl-mesa0 \
  libwayland-client0 libwayland-cursor0 libwayland-egl1 libwayland-server0 libx11-6 \
  libx11-xcb1 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libx11-data libffi8 libexpat1 libxext6
du -sh .
