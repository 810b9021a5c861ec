#!/usr/bin/env python3
"""Where the detector's time goes in `launch demo` runs with the focus square, from each run
folder's capture report (`playout.json`, its `detector` section) and evaluation
(`report.json`):

    bench/detector_time.py DIR...          # demo folders, or folders of them
                                           # (bench/demo_quality.py --out)
    bench/detector_time.py DIR... --json out.json

Per run: frames offered and the share analysed, focused looks, full sweeps (analysed frames
that were not focused), frames skipped while the detector was busy, and the ball `tracked`
share. Over all runs, a least-squares fit of the detector's time (`inference_us_total`) as
a x looks + b x sweeps gives what a look and a sweep cost; from it, each run's seconds spent
sweeping and the frames those seconds block at 25 fps, beside the frames skipped. Last, the
correlation of the analysed share with `tracked`. The fit needs runs with different mixes of
looks and sweeps (a few scenarios and seeds).
"""

import argparse
import json
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chain_misses import folders  # noqa: E402


def read(d: Path):
    p = d / "playout.json"
    if not p.is_file():
        sys.exit(f"{p}: missing (capture's report of the run; `launch demo` writes it)")
    det = json.loads(p.read_text()).get("detector")
    if not det or not det.get("analysed"):
        return None
    ev = {}
    if (d / "report.json").is_file():
        ev = json.loads((d / "report.json").read_text()).get("evaluation", {})
    return dict(
        run=d.name,
        offered=det["offered"],
        analysed=det["analysed"],
        looks=det["focused"],
        sweeps=det["analysed"] - det["focused"],
        skipped=det["skipped_busy"],
        busy_s=det["inference_us_total"] * 1e-6,
        tracked_pct=ev.get("ball_tracked_pct"),
    )

def fmt(v, digits):
    return "-" if v is None else f"{v:.{digits}f}"


def fit_costs(rows):
    """Least squares of busy = a * looks + b * sweeps (no intercept): (a, b) in seconds, or
    None where the runs cannot tell the two apart."""
    xx = sum(r["looks"] ** 2 for r in rows)
    xy = sum(r["looks"] * r["sweeps"] for r in rows)
    yy = sum(r["sweeps"] ** 2 for r in rows)
    xb = sum(r["looks"] * r["busy_s"] for r in rows)
    yb = sum(r["sweeps"] * r["busy_s"] for r in rows)
    det = xx * yy - xy * xy
    if len(rows) < 2 or abs(det) <= 1e-9 * max(1.0, xx * yy):
        return None
    return (yy * xb - xy * yb) / det, (xx * yb - xy * xb) / det


def trend(pairs):
    """Correlation and least-squares line of the second value on the first, or None."""
    n = len(pairs)
    if n < 2:
        return None
    mx = sum(p[0] for p in pairs) / n
    my = sum(p[1] for p in pairs) / n
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    syy = sum((p[1] - my) ** 2 for p in pairs)
    sxy = sum((p[0] - mx) * (p[1] - my) for p in pairs)
    if sxx == 0 or syy == 0:
        return None
    slope = sxy / sxx
    return dict(correlation=sxy / math.sqrt(sxx * syy), slope=slope, intercept=my - slope * mx)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--json", help="write the numbers here too")
    ap.add_argument("--fps", type=float, default=25.0, help="the demo's frame rate")
    args = ap.parse_args()
    rows = [r for r in (read(d) for d in folders(args.dirs)) if r]
    if not rows:
        sys.exit(f"no run under {args.dirs} has a detector section in playout.json (detector off?)")
    fit = fit_costs(rows)
    if fit:
        look_s, sweep_s = fit
        print(f"fit over {len(rows)} runs: a look {look_s * 1e3:.1f} ms, a full sweep {sweep_s:.2f} s")
    else:
        print("no fit: it needs at least two runs with different mixes of looks and sweeps")
    print("| run | analysed % | looks | sweeps | s sweeping | frames blocked | skipped busy | tracked % |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        r["analysed_pct"] = 100.0 * r["analysed"] / max(1, r["offered"])
        r["sweeping_s"] = r["sweeps"] * fit[1] if fit else None
        r["blocked"] = r["sweeping_s"] * args.fps if fit else None
        print(
            f"| {r['run']} | {r['analysed_pct']:.0f} | {r['looks']} | {r['sweeps']} | {fmt(r['sweeping_s'], 1)} | "
            f"{fmt(r['blocked'], 0)} | {r['skipped']} | {fmt(r['tracked_pct'], 1)} |"
        )
    out = dict(look_s=fit and fit[0], sweep_s=fit and fit[1], runs=rows)
    if fit:
        blocked, skipped = sum(r["blocked"] for r in rows), sum(r["skipped"] for r in rows)
        print(f"the sweeps block about {blocked:.0f} of the {skipped} frames skipped while busy ({100 * blocked / max(1, skipped):.0f} %)")
    both = [(r["analysed_pct"], r["tracked_pct"]) for r in rows if r["tracked_pct"] is not None]
    line = trend(both)
    if line:
        out.update(line)
        print(
            f"tracked % against analysed %: correlation {line['correlation']:.2f}, "
            f"tracked = {line['slope']:.2f} x analysed {line['intercept']:+.1f}"
        )
    if args.json:
        json.dump(out, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
