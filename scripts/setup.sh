#!/usr/bin/env bash
# Installs what Touchline needs on a Debian 12 machine (idempotent; quick when all is there).
# Needs root (or sudo) for apt. Rust (cargo) must already be installed.
set -euo pipefail

APT_PACKAGES=(
  pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-tools gstreamer1.0-plugins-base-apps
  # textoverlay (the panorama view's status line).
  gstreamer1.0-x
  python3 python3-pip
  # An RTMP server for the streaming tests (started by the tests on 127.0.0.1 only).
  nginx libnginx-mod-rtmp
  # An SRT listener for the SRT output tests (srt-live-transmit).
  srt-tools
  # An RTSP camera server for the camera recovery tests and the soak (GStreamer's
  # rtsp-server from Python).
  python3-gi gir1.2-gst-rtsp-server-1.0
  # A real browser for the operator page's test (headless Chromium driven by Selenium).
  chromium chromium-driver
)
PIP_PACKAGES=(pyzmq msgpack "selenium>=4.15")

if ! command -v cargo >/dev/null; then
  echo "setup: cargo is not installed; install Rust (https://rustup.rs) and run again" >&2
  exit 1
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! python3 -c "import zmq, msgpack, selenium" 2>/dev/null; then
  echo "setup: installing Python packages ${PIP_PACKAGES[*]}"
  python3 -m pip install --quiet "${PIP_PACKAGES[@]}" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "${PIP_PACKAGES[@]}"
fi
