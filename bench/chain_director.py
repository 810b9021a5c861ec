#!/usr/bin/env python3
"""The camera the director would have planned over `launch demo` folders, judged against the
synthetic source's ground truth as `launch demo` judges the broadcast: the loop for tuning the
director (and the analyzer) on whole-chain recordings without running the chain again.

    bench/chain_director.py DIR...                          # demo folders, or folders of them
    bench/chain_director.py DIR... --director-set zoom_uncertainty_gain=0.3
                                                            # with a [director] key set (TOML)
    bench/chain_director.py DIR... --analyzer target/release/analyzer [--analyzer-set K=V]
                                                            # re-run the analyzer first, then
                                                            # the director on its tracks

For each folder: `director replay` of the recording's tracks (the analyzer's as recorded, or
`analyzer replay`'s with --analyzer) with the run's configuration and the keys set, its
path.csv written as poses.jsonl into a scratch copy of the folder, and `launch evaluate` of
that copy. Printed per run and per scenario (the folder name up to its last `-`): ball in
frame % (the director's definition: judged in-play frames), safe zone %, and the same two of
the broadcast as it ran (its report), so that the replay's own distance from the live chain is
in view: compare variants with each other, not with the live column. A demo folder's
touchline.toml holds every key as the run had it, so a changed default is compared by setting
the key (e.g. `--director-set min_confidence=0.6`), not by a new build alone.

Needs the Python `msgpack` package (through chain_misses.py; scripts/setup.sh installs it).
"""
import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chain_misses import folders, replay_analyzer, with_keys  # noqa: E402

# The videos are left out: decoding them is most of `launch evaluate`'s time, and the camera's
# numbers do not need them (their checks report the files missing, which is ignored here).
LINKED = ["playout.json", "truth.jsonl"]


def run(cmd: list[str]) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 and not p.stdout.strip().startswith("{"):
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr.strip()[-2000:]}")
    return p.stdout


def poses_from_path(path_csv: Path, out: Path) -> None:
    """path.csv (pts_ns, yaw_deg, pitch_deg, fov_deg, ...) as playout's poses.jsonl (every
    frame a planned one: playout's own fallback, with no path, does not arise here)."""
    with open(path_csv) as f, open(out, "w") as o:
        for r in csv.DictReader(f):
            o.write(json.dumps({"pts_ns": int(r["pts_ns"]), "yaw": float(r["yaw_deg"]),
                                "pitch": float(r["pitch_deg"]), "fov": float(r["fov_deg"]),
                                "fallback": False}) + "\n")


def judge(a, folder: Path, tmp: Path) -> dict:
    tmp = tmp / str(len(list(tmp.iterdir())))
    tmp.mkdir()
    work = tmp / folder.name
    work.mkdir()
    cfg = folder / "touchline.toml"
    if a.analyzer:
        rec, cfg = replay_analyzer(a.analyzer, folder, tmp, a.analyzer_set)
    else:
        rec = folder / "messages.tlrec"
    if a.director_set:
        cfg = with_keys(cfg, "director", a.director_set, tmp)
    run([a.director, "-c", str(cfg), "replay", "--input", str(rec), "--out", str(work / "replay")])
    for name in LINKED:
        if (folder / name).exists():
            (work / name).symlink_to((folder / name).resolve())
    (work / "messages.tlrec").symlink_to(rec.resolve())
    (work / "touchline.toml").write_text(with_keys(cfg, "playout", ['panorama_view = ""'], tmp).read_text())
    poses_from_path(work / "replay" / "path.csv", work / "poses.jsonl")
    e = json.loads(run([a.launch, "evaluate", str(work)]))
    live = json.loads((folder / "report.json").read_text()) if (folder / "report.json").is_file() else {}
    live = live.get("evaluation", live)
    return {"in_frame": e.get("ball_in_frame_pct"), "safe": e.get("ball_in_safe_zone_pct"),
            "live_in_frame": live.get("ball_in_frame_pct"), "live_safe": live.get("ball_in_safe_zone_pct")}


def fmt(v) -> str:
    return "-" if v is None else f"{v:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--director", default="target/release/director")
    ap.add_argument("--launch", default="target/release/launch")
    ap.add_argument("--director-set", action="append", default=[], metavar="KEY=VALUE",
                    help="set this [director] key (TOML) on top of each run's configuration (repeatable)")
    ap.add_argument("--analyzer", help="analyzer binary: re-run it on each recording first")
    ap.add_argument("--analyzer-set", action="append", default=[], metavar="KEY=VALUE",
                    help="with --analyzer: set this [analyzer] key for its replay (repeatable)")
    ap.add_argument("--json", help="write the per-run numbers here")
    a = ap.parse_args()
    if a.analyzer_set and not a.analyzer:
        sys.exit("--analyzer-set needs --analyzer")
    for b in (a.director, a.launch):
        if not Path(b).is_file():
            sys.exit(f"{b} not found: build with `cargo build --release --workspace --bins`")
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for f in folders(a.dirs):
            if not (f / "truth.jsonl").is_file():
                print(f"{f}: no truth.jsonl (not a synthetic run), skipped", file=sys.stderr)
                continue
            name = f.name if f.name not in rows else f"{f.parent.name}/{f.name}"
            rows[name] = judge(a, f, Path(tmp))
    print("| run | in frame % | safe zone % | live: in frame % | live: safe zone % |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {fmt(r['in_frame'])} | {fmt(r['safe'])} | {fmt(r['live_in_frame'])} | "
              f"{fmt(r['live_safe'])} |")
    vals = [r["in_frame"] for r in rows.values() if r["in_frame"] is not None]
    if vals:
        print(f"\nin frame >= 99 %: {sum(v >= 99.0 for v in vals)} of {len(vals)} runs; "
              f"lowest {min(vals):.1f} %; mean {sum(vals) / len(vals):.2f} %")
        safe = [r["safe"] for r in rows.values() if r["safe"] is not None]
        if safe:
            print(f"safe zone >= 95 %: {sum(v >= 95.0 for v in safe)} of {len(safe)}; "
                  f"mean {sum(safe) / len(safe):.2f} %")
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
