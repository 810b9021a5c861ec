# Source this on the GPU test machine from the repository root:
#   source scripts/gpu-env.sh [PREFIX]
# Unpacks the GStreamer packages of .gpu-bundle/debs (see scripts/gpu-bundle.sh) into PREFIX
# (default /opt/gst; never into /) once, and exports the variables that make GStreamer and
# its plugins (nvcodec, x264enc, mp4mux, ...) load from there.
_tl_prefix="${1:-/opt/gst}"
if [ ! -d .gpu-bundle/debs ]; then
  echo "gpu-env: .gpu-bundle/debs is missing; run scripts/gpu-bundle.sh and carry .gpu-bundle" >&2
  return 1 2>/dev/null || exit 1
fi
if [ ! -e "$_tl_prefix/.unpacked" ]; then
  mkdir -p "$_tl_prefix"
  for f in .gpu-bundle/debs/*.deb; do dpkg -x "$f" "$_tl_prefix"; done
  touch "$_tl_prefix/.unpacked"
fi
export LD_LIBRARY_PATH="$_tl_prefix/usr/lib/x86_64-linux-gnu:$_tl_prefix/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GST_PLUGIN_SYSTEM_PATH="$_tl_prefix/usr/lib/x86_64-linux-gnu/gstreamer-1.0"
export GST_PLUGIN_SCANNER="$_tl_prefix/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner"
export GST_REGISTRY=/tmp/gstreg.bin
# The CUDA libraries the `cuda` detector engine loads (cudart, cuBLAS, cuDNN; NVRTC too),
# where the machine has them only inside Python wheels (torch's `nvidia-*` packages).
for _tl_d in $(find / -xdev \( -name 'libcublas.so*' -o -name 'libcudnn.so*' -o -name 'libcudart.so*' \
    -o -name 'libnvrtc.so*' \) -path '*nvidia*' -printf '%h\n' 2>/dev/null | sort -u); do
  case ":$LD_LIBRARY_PATH:" in *":$_tl_d:"*) ;; *) LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$_tl_d" ;; esac
done
unset _tl_d
export PATH="$_tl_prefix/usr/bin:$PATH"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
unset _tl_prefix
