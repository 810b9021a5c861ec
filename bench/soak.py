#!/usr/bin/python3
"""Soak: the whole system unattended for a given time while faults come every few minutes.

    bench/soak.py --minutes 30 --out out/soak

What runs: `launch run` (capture, analyzer, director) at the demo size (1920x640 panorama,
25 fps, detector on) with two RTSP cameras on loopback (GStreamer's rtsp-server,
tools/rtsp_camera_server.py, one server per camera), recording to MP4 and streaming to a
local nginx-rtmp. Faults, in turn, every --fault-every minutes:

  director   SIGKILL of the director (launch restarts it);
  rtmp       the RTMP server stopped for 5 s, then started again;
  camera     the right camera's server stopped for 10 s (unplugged), then started again.

It polls `launch status --json` every second (out/status.jsonl) and prints at the end:
frames in/out/dropped, output rebuilds, camera restarts, process restarts, the recovery
time of every fault, CPU share per process, and the recording's decoded length (out/soak.json).
Needs what scripts/setup.sh installs; builds the release binaries first.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release"
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, limit: float = 10.0) -> None:
    t = time.time()
    while time.time() - t < limit:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


class Rtsp:
    """One camera server (serves /left and /right; the soak uses one mount of each)."""

    def __init__(self, port: int, log: Path):
        self.port, self.log, self.proc = port, log, None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(ROOT / "tools" / "rtsp_camera_server.py"),
             "--port", str(self.port), "--width", "960", "--height", "540"],
            stdout=subprocess.PIPE, stderr=open(self.log, "a"), text=True)
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("the RTSP camera server did not start (scripts/setup.sh)")

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Rtmp:
    """Debian's nginx with the RTMP module on 127.0.0.1 (live only, nothing recorded)."""

    def __init__(self, port: int, folder: Path):
        self.port, self.folder, self.proc = port, folder, None
        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "nginx.conf"
        self.conf.write_text(
            "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\ndaemon off;\n"
            f"master_process off;\npid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            "events { worker_connections 64; }\n"
            f"rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; }} }} }}\n")

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["/usr/sbin/nginx", "-p", str(self.folder), "-e", str(self.folder / "start.log"),
             "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None


def cpu_seconds(pid: int) -> float:
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICKS
    except OSError:
        return 0.0


def decoded_frames(path: Path) -> tuple[int, float]:
    """Frames of a video file, decoded, and the last timestamp (s)."""
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    Gst.init(None)
    p = Gst.parse_launch(
        f'filesrc location="{path}" ! decodebin ! fakesink name=s signal-handoffs=true sync=false')
    count, last = [0], [0.0]

    def handoff(_sink, buf, _pad):
        count[0] += 1
        if buf.pts != Gst.CLOCK_TIME_NONE:
            last[0] = max(last[0], buf.pts / 1e9)

    p.get_by_name("s").connect("handoff", handoff)
    p.set_state(Gst.State.PLAYING)
    bus = p.get_bus()
    bus.timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    p.set_state(Gst.State.NULL)
    return count[0], last[0]


class Soak:
    def __init__(self, a):
        self.a = a
        self.out = Path(a.out).resolve()
        self.out.mkdir(parents=True, exist_ok=True)
        self.cfg = self.out / "touchline.toml"
        self.status_log = open(self.out / "status.jsonl", "w")
        self.events = []
        self.t0 = time.time()

    def launch(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / "launch"), "--config", str(self.cfg), *args],
                              capture_output=True, text=True)

    def status(self):
        r = self.launch("status", "--json")
        if r.returncode != 0:
            return None
        s = json.loads(r.stdout)
        s["t"] = round(time.time() - self.t0, 2)
        self.status_log.write(json.dumps(s) + "\n")
        return s

    def process(self, s, name):
        return next((p for p in (s or {}).get("processes", []) if p["name"] == name), None)

    def wait_for(self, what: str, pred, limit: float):
        """Polls status until pred(status) holds; returns seconds waited (None: never)."""
        t = time.time()
        while time.time() - t < limit:
            s = self.status()
            if s and pred(s):
                return time.time() - t
            time.sleep(0.25)
        print(f"soak: {what} did not happen within {limit:.0f} s", file=sys.stderr)
        return None

    def event(self, kind: str, **kw):
        e = {"t": round(time.time() - self.t0, 1), "fault": kind, **kw}
        self.events.append(e)
        print(f"soak: {json.dumps(e)}", flush=True)

    def output(self, s, prefix):
        p = (s or {}).get("playout") or {}
        return next((o for o in p.get("status", {}).get("outputs", [])
                     if o["name"].startswith(prefix)), None)

    def camera(self, s, name):
        p = (s or {}).get("playout") or {}
        return next((c for c in p.get("status", {}).get("cameras", []) if c["name"] == name), None)

    def fault_director(self):
        s = self.status()
        d = self.process(s, "director")
        if not d or not d.get("pid"):
            return self.event("director", error="no director pid")
        os.kill(d["pid"], signal.SIGKILL)
        back = self.wait_for(
            "the director's return",
            lambda s: (p := self.process(s, "director")) and p["state"] == "running"
            and p["pid"] != d["pid"], 60)
        self.event("director", killed_pid=d["pid"], back_after_s=back)

    def fault_rtmp(self):
        before = self.output(self.status(), "rtmp://")
        self.rtmp.stop()
        time.sleep(5)
        self.rtmp.start()
        back = self.wait_for(
            "the stream's return",
            lambda s: (o := self.output(s, "rtmp://")) and o["state"] == "running"
            and o["restarts"] > (before or {}).get("restarts", 0), 60)
        self.event("rtmp", down_s=5, back_after_s=back)

    def fault_camera(self):
        before = self.camera(self.status(), "right")
        self.cam_right.stop()
        time.sleep(10)
        self.cam_right.start()
        back = self.wait_for(
            "the right camera's return",
            lambda s: (c := self.camera(s, "right")) and c["state"] == "running"
            and c["silent_ms"] < 500 and c["restarts"] > (before or {}).get("restarts", 0), 60)
        self.event("camera", camera="right", down_s=10, back_after_s=back)

    def run(self) -> int:
        a = self.a
        subprocess.run(["cargo", "build", "--release", "--workspace", "--bins", "-q"],
                       cwd=ROOT, check=True)
        rig = self.out / "rig.toml"
        subprocess.run([str(BIN / "capture"), "calibrate", "synthetic", "--out", str(rig)],
                       check=True, stderr=subprocess.DEVNULL)
        pl, pr, pm = free_port(), free_port(), free_port()
        self.cam_left = Rtsp(pl, self.out / "rtsp-left.log")
        self.cam_right = Rtsp(pr, self.out / "rtsp-right.log")
        self.rtmp = Rtmp(pm, self.out / "nginx")
        for x in (self.cam_left, self.cam_right, self.rtmp):
            x.start()
        key = self.out / "stream.key"
        key.write_text("soak\n")
        for old in self.out.glob("broadcast*.mp4"):
            old.unlink()
        rt = f"/tmp/touchline-soak-{os.getpid()}"
        self.cfg.write_text(f"""[runtime]
dir = "{rt}"
[capture]
source = "rtsp"
rtsp = ["rtsp://127.0.0.1:{pl}/left", "rtsp://127.0.0.1:{pr}/right"]
calibration = "{rig}"
table_cache = "{self.out / 'cache'}"
[detector]
enabled = {"false" if a.no_detector else "true"}
nice = {a.detector_nice}
[playout]
record = "{self.out / 'broadcast.mp4'}"
rtmp_url = "rtmp://127.0.0.1:{pm}/live"
rtmp_key_file = "{key}"
report = "{self.out / 'playout.json'}"
audio = "none"
""")
        log = open(self.out / "launch.log", "w")
        launch = subprocess.Popen([str(BIN / "launch"), "--config", str(self.cfg), "run"],
                                  stderr=log, stdout=log)
        try:
            self.wait_for("every process running", lambda s: all(
                p["state"] == "running" for p in s["processes"]), 60)
            cpu0 = self.cpu()
            faults = [self.fault_director, self.fault_rtmp, self.fault_camera]
            end = self.t0 + a.minutes * 60
            next_fault, i = self.t0 + a.fault_every * 60, 0
            while time.time() < end:
                self.status()
                if time.time() >= next_fault and time.time() < end - 60:
                    faults[i % len(faults)]()
                    i += 1
                    next_fault += a.fault_every * 60
                time.sleep(1)
            final = self.status()
            cpu1 = self.cpu()
        finally:
            launch.send_signal(signal.SIGTERM)
            try:
                launch.wait(timeout=120)
            except subprocess.TimeoutExpired:
                launch.kill()
            for x in (self.cam_left, self.cam_right, self.rtmp):
                x.stop()
        return self.summary(final, cpu0, cpu1, launch.returncode)

    def cpu(self):
        s = self.status()
        pids = {p["name"]: p["pid"] for p in (s or {}).get("processes", []) if p.get("pid")}
        pids["launch"] = s["launch_pid"] if s else 0
        pids["cameras"] = self.cam_left.proc.pid
        pids["cameras2"] = self.cam_right.proc.pid
        return time.time(), {n: (pid, cpu_seconds(pid)) for n, pid in pids.items()}

    def summary(self, final, cpu0, cpu1, rc) -> int:
        wall = cpu1[0] - cpu0[0]
        share = {}
        for n, (pid, c1) in cpu1[1].items():
            pid0, c0 = cpu0[1].get(n, (None, 0.0))
            # A restarted process: only its new life is counted.
            share[n] = round(100 * (c1 - (c0 if pid0 == pid else 0.0)) / wall, 1)
        share["cameras"] = round(share.pop("cameras", 0) + share.pop("cameras2", 0), 1)
        report = json.loads((self.out / "playout.json").read_text())
        recs = sorted(self.out.glob("broadcast*.mp4"))
        decoded = [(r.name, *decoded_frames(r)) for r in recs]
        pl = report["playout"]
        eng = report["engine"]
        procs = {p["name"]: {"restarts": p["restarts"], "last_exit": p["last_exit"]}
                 for p in final["processes"]} if final else {}
        result = {
            "minutes": self.a.minutes,
            "launch_exit": rc,
            "frames_in": pl["frames_in"],
            "frames_out": pl["frames_out"],
            "ring_overflowed": pl["ring_overflowed"],
            "pool_exhausted": eng["pool_exhausted"],
            "ingest_dropped": eng["ingest_dropped"],
            "camera_frames": eng["camera_frames"],
            "camera_down": eng["camera_down"],
            "filled": eng["filled"],
            "partner_missing": eng["partner_missing"],
            "outputs": pl["output_health"],
            "processes": procs,
            "faults": self.events,
            "cpu_percent": share,
            "recordings": [{"file": f, "decoded_frames": n, "last_pts_s": round(t, 2)}
                           for f, n, t in decoded],
        }
        (self.out / "soak.json").write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
        return 0 if rc == 0 else 1


def main() -> int:
    # The recordings are decoded with GStreamer's Python bindings, which Debian's Python has
    # (scripts/setup.sh installs python3-gi); another python3 first on PATH may not.
    try:
        import gi  # noqa: F401
    except ImportError:
        if sys.executable != "/usr/bin/python3" and os.path.exists("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
        raise SystemExit("soak: needs python3-gi (GStreamer's Python bindings): run scripts/setup.sh")
    # SIGTERM stops the soak like Ctrl-C: the system and the servers are stopped on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--fault-every", type=float, default=3, help="minutes between faults")
    ap.add_argument("--out", default=str(ROOT / "out" / "soak"))
    ap.add_argument("--no-detector", action="store_true",
                    help="detector off: shows how much of the CPU (and of any drops) is its")
    ap.add_argument("--detector-nice", type=int, default=19, help="detector.nice (0-19)")
    return Soak(ap.parse_args()).run()


if __name__ == "__main__":
    sys.exit(main())
