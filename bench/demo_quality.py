#!/usr/bin/env python3
"""Whole-chain camera quality of `launch demo` (synthetic cameras -> stitch -> detector ->
analyzer -> director -> playout) over seeds and scenarios, on this machine.

    bench/demo_quality.py [--seeds 1,2,3,4,5] [--scenarios mixed,passes,...] [--seconds 60]
                          [--launch target/release/launch] [--out out/quality]
                          [--config examples/demo.toml]
    bench/demo_quality.py --evaluate-again [--out out/quality]   # the runs in --out, evaluated
                                                                 # again; nothing runs

Each run is `launch --config <cfg> demo --seconds S --out <out>/<scenario>-<seed>` with
`capture.scenario` and `capture.seed` set on top of `--config`: by default
`examples/demo.toml`, the configuration `launch demo` runs without one; an empty file gives
the built-in defaults with the detector on. Nothing else
should run on the machine meanwhile: the CPU the benchmark itself takes is reported
(`bench cpu %`) so that drops can be judged. Prints a Markdown table, one row per run, then the
worst of every column; writes the rows to <out>/quality.json.

Columns: ball in frame % of the judged in-play frames (the director replay's definition: a
ball above the panorama, which no pose can show, is not judged), of every in-play frame, and
the in-play frames with the ball above the panorama; in the director's safe zone % (of the
judged frames where some pose can hold the ball there); ball tracked %
of the frames with a visible ball, the track's RMSE and p95 (m), detector analysed frames per
second and the motion cue's ball sightings (capture's counters in playout.json), panoramas
dropped, and CPU % (of one core) per process over the run.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

SCENARIOS = ["mixed", "passes", "lofted", "shot", "still", "hidden"]
NAMES = ["capture", "analyzer", "director", "launch"]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: str) -> tuple[str, float]:
    try:
        raw = open(f"/proc/{pid}/stat").read()
    except OSError:
        return "", 0.0
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    f = raw.rsplit(")", 1)[1].split()
    return comm, (int(f[11]) + int(f[12])) / TICKS


class CpuSampler(threading.Thread):
    """CPU seconds of every process named in NAMES, sampled until stopped (the last reading
    of a process that exits is kept)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen: dict[str, tuple[str, float]] = {}
        self.done = threading.Event()

    def run(self):
        while not self.done.wait(0.5):
            for pid in os.listdir("/proc"):
                if pid.isdigit():
                    comm, s = cpu_of(pid)
                    if comm in NAMES:
                        self.seen[pid] = (comm, s)

    def shares(self, wall: float) -> dict[str, float]:
        out = {n: 0.0 for n in NAMES}
        for comm, s in self.seen.values():
            out[comm] += s
        return {n: 100.0 * s / max(wall, 1e-9) for n, s in out.items()}


def config(base: str | None, scenario: str, seed: int, path: Path) -> None:
    """The base configuration with the scenario and seed set and the detector on (as in
    `examples/demo.toml`)."""
    lines = (Path(base).read_text() if base else "").splitlines()

    def put(table: str, keys: list[str]) -> None:
        stripped = [line.strip() for line in lines]
        if table in stripped:
            i = stripped.index(table)
            lines[i + 1:i + 1] = keys
        else:
            lines[:0] = [table, *keys, ""]

    put("[capture]", [f'scenario = "{scenario}"', f"seed = {seed}"])
    if not any(line.strip().startswith("enabled") for line in detector_table(lines)):
        put("[detector]", ["enabled = true"])
    path.write_text("\n".join(lines) + "\n")


def detector_table(lines: list[str]) -> list[str]:
    """The lines of the base file's [detector] table."""
    out, inside = [], False
    for line in lines:
        if line.strip().startswith("["):
            inside = line.strip() == "[detector]"
        elif inside:
            out.append(line)
    return out


def one(a, scenario: str, seed: int) -> dict:
    out = Path(a.out) / f"{scenario}-{seed}"
    out.mkdir(parents=True, exist_ok=True)
    cfg = out / "config.toml"
    config(a.config, scenario, seed, cfg)
    sampler = CpuSampler()
    sampler.start()
    t0 = time.time()
    bench0 = time.process_time()
    p = subprocess.run(
        [a.launch, "--config", str(cfg), "demo", "--seconds", str(a.seconds), "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=open(out / "launch.log", "w"))
    wall = time.time() - t0
    sampler.done.set()
    sampler.join()
    row = {"scenario": scenario, "seed": seed, "exit": p.returncode, "wall_s": wall,
           "bench_cpu_pct": 100.0 * (time.process_time() - bench0) / wall}
    try:
        r = json.loads((out / "report.json").read_text())
    except (OSError, ValueError) as e:
        row["error"] = f"no report.json: {e}"
        return row
    e = r.get("evaluation") or {}
    seconds = r.get("seconds_run") or a.seconds
    try:
        det = json.loads((out / "playout.json").read_text()).get("detector") or {}
    except (OSError, ValueError):
        det = {}
    row.update(evaluation_fields(e, det, seconds))
    row["cpu_pct"] = sampler.shares(wall)
    return row


def evaluation_fields(e: dict, det: dict, seconds: float) -> dict:
    """The table's columns from a run's evaluation and capture's detector counters."""
    return {
        "in_frame_pct": e.get("ball_in_frame_pct"),
        "in_frame_all_pct": e.get("ball_in_frame_all_in_play_pct"),
        "unframeable": e.get("unframeable_frames"),
        "safe_zone_pct": e.get("ball_in_safe_zone_pct"),
        "tracked_pct": e.get("ball_tracked_pct"),
        "rmse_m": e.get("ball_track_rmse_m"),
        "p95_m": e.get("ball_track_p95_m"),
        # The detector's analysed frames (the `dets` topic also carries the motion cue's).
        "detector_hz": det.get("analysed", 0) / max(seconds, 1e-9),
        "cue_sightings": det.get("motion_sightings"),
        "cue_dropped": det.get("motion_dropped"),
        "dropped": e.get("frames_dropped"),
        "frames_in": e.get("frames_in"),
        "problems": e.get("problems", []),
    }


def evaluate_again(a, rows: list[dict]) -> list[dict]:
    """The runs of quality.json evaluated again by `launch evaluate` (their CPU shares kept)."""
    for row in rows:
        out = Path(a.out, f"{row['scenario']}-{row['seed']}")
        p = subprocess.run([a.launch, "evaluate", str(out)], capture_output=True, text=True)
        try:
            e = json.loads(p.stdout)
            r = json.loads((out / "report.json").read_text())
            det = json.loads((out / "playout.json").read_text()).get("detector") or {}
        except (OSError, ValueError) as err:
            row["error"] = f"{out}: not evaluated again: {err} {p.stderr.strip()}"
            continue
        row.update(evaluation_fields(e, det, r.get("seconds_run") or a.seconds))
    return rows


def fmt(v, digits=1):
    return "-" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


def table(rows: list[dict]) -> str:
    head = ["scenario", "seed", "in frame %", "of all in play %", "above panorama", "safe zone %", "tracked %", "RMSE m", "p95 m",
            "detector Hz", "cue sightings", "dropped / in", "cpu % capture", "analyzer", "director", "launch",
            "bench cpu %", "problems"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        c = r.get("cpu_pct", {})
        out.append("| " + " | ".join([
            r["scenario"], str(r["seed"]), fmt(r.get("in_frame_pct")), fmt(r.get("in_frame_all_pct")),
            fmt(r.get("unframeable")), fmt(r.get("safe_zone_pct")),
            fmt(r.get("tracked_pct")), fmt(r.get("rmse_m"), 2), fmt(r.get("p95_m"), 2),
            fmt(r.get("detector_hz"), 2), fmt(r.get("cue_sightings")),
            f"{fmt(r.get('dropped'))} / {fmt(r.get('frames_in'))}",
            fmt(c.get("capture")), fmt(c.get("analyzer")), fmt(c.get("director")),
            fmt(c.get("launch")), fmt(r.get("bench_cpu_pct")),
            "; ".join(r.get("problems", [])) or r.get("error", ""),
        ]) + " |")
    def worst(key, low=True):
        vals = [r[key] for r in rows if r.get(key) is not None]
        return (min(vals) if low else max(vals)) if vals else None
    out.append("")
    out.append(
        f"worst: in frame {fmt(worst('in_frame_pct'))} %, safe zone {fmt(worst('safe_zone_pct'))} %, "
        f"tracked {fmt(worst('tracked_pct'))} %, RMSE {fmt(worst('rmse_m', False), 2)} m, "
        f"detector {fmt(worst('detector_hz'), 2)} Hz, dropped {fmt(worst('dropped', False))}")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--launch", default="target/release/launch")
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "examples" / "demo.toml"),
                    help="base configuration (TOML) the scenario and seed go on top of "
                         "(default: the demo's own, examples/demo.toml)")
    ap.add_argument("--out", default="out/quality")
    ap.add_argument("--evaluate-again", action="store_true",
                    help="run nothing: evaluate the runs already in --out again (`launch evaluate`) "
                         "and print the table")
    a = ap.parse_args()
    if not Path(a.launch).is_file():
        print(f"{a.launch} not found: build with `cargo build --release --workspace --bins`", file=sys.stderr)
        return 2
    if a.evaluate_again:
        rows = evaluate_again(a, json.loads(Path(a.out, "quality.json").read_text()))
        Path(a.out, "quality.json").write_text(json.dumps(rows, indent=1))
        print(table(rows))
        return 0
    rows = []
    for scenario in a.scenarios.split(","):
        for seed in (int(s) for s in a.seeds.split(",")):
            print(f"== {scenario} seed {seed}: {a.seconds:.0f} s", file=sys.stderr, flush=True)
            rows.append(one(a, scenario, seed))
            print(table(rows[-1:]).splitlines()[2], file=sys.stderr, flush=True)
    Path(a.out, "quality.json").write_text(json.dumps(rows, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
