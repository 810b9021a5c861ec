#!/usr/bin/env python3
"""Where the whole chain loses the ball, from `launch demo` folders: each folder's message
recording (`messages.tlrec`: the detector's and the motion cue's `dets`, the analyzer's
`tracks`) against the synthetic source's ground truth (`truth.jsonl`).

    bench/chain_misses.py DIR...                 # demo folders, or folders of them
                                                 # (bench/demo_quality.py --out)
    bench/chain_misses.py DIR... --analyzer target/release/analyzer
                                                 # also re-run the analyzer on each
                                                 # recording (`analyzer replay`) and score
                                                 # its tracks beside the recorded ones
    bench/chain_misses.py DIR... --analyzer A --analyzer-set motion_seeds=true
                                                 # the replay with an [analyzer] key set
    bench/chain_misses.py DIR... --json out.json # the numbers as JSON too

Printed per scenario (the folder name up to its last `-`, e.g. `lofted-3` -> `lofted`) and
over all folders:

- detector recall: of the frames the detector analysed with the ball visible and in play,
  the share with a ball detection within 6 px of the true ball; whole-panorama passes and
  focused passes (only those whose region held the ball), and by the ball's diameter
  (< 2.5 px, 2.5-3.5 px, >= 3.5 px);
- false balls per analysed frame (ball detections further than 6 px from the ball);
- motion cue: its sightings, and the share within 6 px of the ball;
- tracks: of the in-play frames, the share whose reported ball (tracked or predicted, not
  lost) lies within 12 px of the true ball in the panorama ("on the ball"), the share whose
  reported ball lies more than 50 px from it ("off the ball": what sends the camera
  elsewhere), the share lost, and the share of visible-ball frames `tracked` (as `launch
  demo` reports it).

Needs the Python `msgpack` package (scripts/setup.sh installs it).
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import msgpack
except ImportError:
    sys.exit("chain_misses.py needs the msgpack package: pip install msgpack (scripts/setup.sh does)")

HIT_PX = 6.0
NEAR_PX = 12.0
FAR_PX = 50.0
SIZES = [("< 2.5 px", 0.0, 2.5), ("2.5-3.5 px", 2.5, 3.5), (">= 3.5 px", 3.5, math.inf)]


def records(path: Path):
    """(topic, message) of every record of a Touchline recording."""
    with open(path, "rb") as f:
        magic = f.read(8)
        if magic[:7] != b"TLREC\x00\x00":
            sys.exit(f"{path}: not a Touchline recording (no TLREC header)")
        (n,) = struct.unpack("<I", f.read(4))
        f.read(n)
        while True:
            head = f.read(4)
            if len(head) < 4:
                return
            (n,) = struct.unpack("<I", head)
            body = f.read(n)
            if len(body) < n:
                return  # a truncated tail, as the reader stops there
            r = msgpack.unpackb(body, raw=False)
            if not isinstance(r, dict):
                r = dict(zip(["recv_unix_ns", "topic", "payload"], r))
            yield r["topic"], msgpack.unpackb(r["payload"], raw=False)


def by_pts(path: Path, *topics: str) -> list[dict]:
    """Per topic, its messages by frame time; the recording is read once."""
    out = {t: {} for t in topics}
    for t, m in records(path):
        if t in out:
            out[t][m["pts_ns"]] = m
    return [out[t] for t in topics]


def truth_of(folder: Path) -> dict:
    out = {}
    with open(folder / "truth.jsonl") as f:
        for line in f:
            t = json.loads(line)
            out[t["pts_ns"]] = t["ball"]
    return out


def new_counts() -> dict:
    return {k: 0 for k in [
        "whole", "whole_hit", "focused", "focused_hit", "false_balls", "analysed",
        "cue", "cue_on_ball", "in_play", "near", "far", "lost", "visible", "tracked",
    ]} | {f"size {s}": 0 for s, _, _ in SIZES} | {f"size {s} hit": 0 for s, _, _ in SIZES}


def add(a: dict, b: dict) -> None:
    for k, v in b.items():
        a[k] = a.get(k, 0) + v


def detector_counts(dets: dict, truth: dict) -> dict:
    c = new_counts()
    for pts, d in dets.items():
        tb = truth.get(pts)
        balls = [x for x in d["detections"] if x["class_id"] == 0]
        if d.get("motion"):
            c["cue"] += len(balls)
            if tb:
                c["cue_on_ball"] += sum(math.hypot(x["cx"] - tb["px"], x["cy"] - tb["py"]) <= HIT_PX
                                        for x in balls)
            continue
        if d.get("inference_us", 0) == 0:
            continue  # a frame the detector skipped
        c["analysed"] += 1
        if not tb:
            continue
        near = [math.hypot(x["cx"] - tb["px"], x["cy"] - tb["py"]) <= HIT_PX for x in balls]
        c["false_balls"] += near.count(False)
        if not (tb["visible"] and tb["in_play"]):
            continue
        hit = any(near)
        region = d.get("region")
        if region is None:
            c["whole"] += 1
            c["whole_hit"] += hit
        else:
            x, y, w, h = region
            if not (x <= tb["px"] < x + w and y <= tb["py"] < y + h):
                continue  # the focus looked elsewhere: not the detector's miss
            c["focused"] += 1
            c["focused_hit"] += hit
        for s, lo, hi in SIZES:
            if lo <= tb["diameter_px"] < hi:
                c[f"size {s}"] += 1
                c[f"size {s} hit"] += hit
    return c


def track_counts(tracks: dict, truth: dict) -> dict:
    c = {"in_play": 0, "near": 0, "far": 0, "lost": 0, "visible": 0, "tracked": 0}
    for pts, t in tracks.items():
        tb = truth.get(pts)
        if not tb or not tb["in_play"]:
            continue
        c["in_play"] += 1
        b = t.get("ball")
        status = (b or {}).get("status", "lost").lower()
        if b is None or status == "lost":
            c["lost"] += 1
        else:
            d = math.hypot(b["px"] - tb["px"], b["py"] - tb["py"])
            c["near"] += d <= NEAR_PX
            c["far"] += d > FAR_PX
        if tb["visible"]:
            c["visible"] += 1
            c["tracked"] += status == "tracked"
    return c


def with_keys(cfg: Path, table: str, keys: list[str], tmp: Path) -> Path:
    """A copy of the run's configuration with `key = value` lines set in its [table] table
    (added when it has none)."""
    lines = cfg.read_text().splitlines() if cfg.is_file() else []
    names = {k.split("=", 1)[0].strip() for k in keys}
    head = f"[{table}]"
    if head not in [l.strip() for l in lines]:
        lines.append(head)
    i = [l.strip() for l in lines].index(head)
    j = i + 1
    while j < len(lines) and not lines[j].strip().startswith("["):
        j += 1
    body = [l for l in lines[i + 1:j] if l.split("=", 1)[0].strip() not in names]
    lines[i + 1:j] = body + keys
    out = tmp / f"{cfg.parent.name}-{table}.toml"
    out.write_text("\n".join(lines) + "\n")
    return out


def replay_analyzer(analyzer: str, folder: Path, tmp: Path, keys: list[str]) -> tuple[Path, Path]:
    """`analyzer replay` of a demo folder's recording (with [analyzer] keys set on top of the
    run's configuration): the recording it writes and the configuration it ran with."""
    out = tmp / f"{folder.name}.tlrec"
    cfg = folder / "touchline.toml"
    if keys:
        cfg = with_keys(cfg, "analyzer", keys, tmp)
    cmd = [analyzer] + (["-c", str(cfg)] if cfg.is_file() else []) + [
        "replay", "--input", str(folder / "messages.tlrec"), "--output", str(out), "--no-progress"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.strip()}")
    return out, cfg


def replayed_tracks(analyzer: str, folder: Path, tmp: Path, keys: list[str]) -> dict:
    return by_pts(replay_analyzer(analyzer, folder, tmp, keys)[0], "tracks")[0]


def pct(n, d):
    return "-" if d == 0 else f"{100.0 * n / d:.1f}"


def row(name: str, c: dict, replay: dict | None) -> str:
    cells = [name, pct(c["whole_hit"], c["whole"]) + f" ({c['whole']})",
             pct(c["focused_hit"], c["focused"]) + f" ({c['focused']})"]
    cells += [pct(c[f"size {s} hit"], c[f"size {s}"]) for s, _, _ in SIZES]
    cells += ["-" if c["analysed"] == 0 else f"{c['false_balls'] / c['analysed']:.2f}",
              f"{c['cue']} / {pct(c['cue_on_ball'], c['cue'])}",
              pct(c["near"], c["in_play"]), pct(c["far"], c["in_play"]), pct(c["lost"], c["in_play"]),
              pct(c["tracked"], c["visible"])]
    if replay is not None:
        cells += [pct(replay["near"], replay["in_play"]), pct(replay["far"], replay["in_play"]),
                  pct(replay["lost"], replay["in_play"]), pct(replay["tracked"], replay["visible"])]
    return "| " + " | ".join(cells) + " |"


def folders(paths: list[str]) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if (p / "messages.tlrec").is_file():
            out.append(p)
        elif p.is_dir():
            out += sorted(q for q in p.iterdir() if (q / "messages.tlrec").is_file())
        else:
            sys.exit(f"{p}: neither a demo folder (messages.tlrec) nor a folder of them")
    if not out:
        sys.exit("no demo folder found (a folder with messages.tlrec and truth.jsonl)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--analyzer", help="analyzer binary: re-run it on each recording and score its tracks too")
    ap.add_argument("--analyzer-set", action="append", default=[], metavar="KEY=VALUE",
                    help="with --analyzer: set this [analyzer] key (TOML) for the replay, on top of "
                         "the run's configuration (repeatable)")
    ap.add_argument("--json", help="write the counts here")
    a = ap.parse_args()
    runs = folders(a.dirs)
    groups: dict[str, dict] = {}
    replays: dict[str, dict] = {}
    total, total_replay = new_counts(), {}
    per_run = {}
    with tempfile.TemporaryDirectory() as tmp:
        for f in runs:
            if not (f / "truth.jsonl").is_file():
                print(f"{f}: no truth.jsonl (not a synthetic run), skipped", file=sys.stderr)
                continue
            truth = truth_of(f)
            dets, tracks = by_pts(f / "messages.tlrec", "dets", "tracks")
            c = detector_counts(dets, truth)
            c.update(track_counts(tracks, truth))
            group = f.name.rsplit("-", 1)[0] if "-" in f.name else f.name
            add(groups.setdefault(group, new_counts()), c)
            add(total, c)
            per_run[f.name] = {"recorded": c}
            if a.analyzer:
                r = track_counts(replayed_tracks(a.analyzer, f, Path(tmp), a.analyzer_set), truth)
                add(replays.setdefault(group, {}), r)
                add(total_replay, r)
                per_run[f.name]["replayed"] = r
    head = ["scenario", "detector recall %, whole passes (frames)", "focused passes (frames)"]
    head += [f"recall % {s}" for s, _, _ in SIZES]
    head += ["false balls / frame", "cue sightings / % on ball", "on the ball %", "off the ball %", "lost %",
             "tracked %"]
    if a.analyzer:
        head += ["replayed: on the ball %", "off the ball %", "lost %", "tracked %"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for g, c in groups.items():
        print(row(g, c, replays.get(g) if a.analyzer else None))
    print(row("all", total, total_replay if a.analyzer else None))
    if a.json:
        Path(a.json).write_text(json.dumps({"runs": per_run, "total": total, "total_replayed": total_replay},
                                           indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
