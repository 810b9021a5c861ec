#!/usr/bin/python3
"""Two live test cameras over RTSP on 127.0.0.1, from GStreamer's rtsp-server (Debian
packages python3-gi and gir1.2-gst-rtsp-server-1.0; run with Debian's /usr/bin/python3).

    rtsp_camera_server.py --port 8554 --width 480 --height 270 --fps 25

serves rtsp://127.0.0.1:8554/left and rtsp://127.0.0.1:8554/right (H.264, a moving ball on
the left, colour bars on the right) and prints "ready" once it listens. The camera recovery
tests and bench/soak.sh stop and start it to unplug and restore the cameras.
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8554)
    ap.add_argument("--width", type=int, default=480)
    ap.add_argument("--height", type=int, default=270)
    ap.add_argument("--fps", type=int, default=25)
    a = ap.parse_args()
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(a.port))
    mounts = server.get_mount_points()
    for name, pattern in (("left", "ball"), ("right", "smpte")):
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(
            f"( videotestsrc is-live=true pattern={pattern} "
            f"! video/x-raw,width={a.width},height={a.height},framerate={a.fps}/1 "
            f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={a.fps} "
            f"! rtph264pay name=pay0 pt=96 config-interval=1 )"
        )
        factory.set_shared(True)
        mounts.add_factory(f"/{name}", factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{a.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("ready", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
