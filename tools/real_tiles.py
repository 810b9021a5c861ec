#!/usr/bin/env python3
"""Training tiles from real labelled football frames, in the layout of `touchline-eval dataset`
(`images/*.jpg`, `labels/*.txt`, `ignore/*.txt`, `dataset.json`), so that
tools/train_detector.py trains on them next to the synthetic folders.

    python3 tools/real_tiles.py --realdata ../shared/realdata --out .gpu-real

Reads `dfl-players/` (1920x1080), `dfl-players-1280/` (stretched to 1280x1280, resized back
to 1920x1080) and `dfl-ball-640/` (ball only, stretched to 640x640) of the shared real data
(see its SOURCES.md). Frames are split by match id (the first six characters of a file
name), never by frame: `--heldout` matches are written nowhere (they are for
`touchline-eval detector-eval --images ... --only ...`), `--val` matches go to `val_real/`, every
other match to `train_real/` and, for the ball-only set, `train_real_ball/` (its
`dataset.json` says `"ball_only": true`: the trainer then ignores the people classes there,
since people are not labelled in it). `split.json` records which match went where.

Classes map to the shipped model's: ball -> ball, goalkeeper and player -> player,
referee -> referee. A frame is resized by each `--scales` factor (1.0: the 1080p ball of about
12 px; 0.625: the production scale of a 1024 px tile in a 640 px input) and cut into
`--size` tiles: one around the ball (shifted at random) and `--random-tiles` anywhere. As in
`touchline-eval dataset`, a ball is labelled in a tile when its centre is inside, a person when at
least 40 % of its box is; what is cut more goes to `ignore/`. Deterministic for a `--seed`.
Needs numpy and opencv (tools/requirements.txt).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

import cv2
import numpy as np

CLASSES = ["ball", "player", "referee"]
# DFL classes: 0 ball, 1 goalkeeper, 2 player, 3 referee.
CLASS_MAP = {0: 0, 1: 1, 2: 1, 3: 2}
FULL = (1920, 1080)


def match_id(name: str) -> str:
    return name[:6]


def read_labels(path: str, w: int, h: int, keep_classes=None) -> list[tuple[int, float, float, float, float]]:
    """YOLO lines -> (our class, cx, cy, w, h) in pixels of a w x h image."""
    out = []
    if not os.path.exists(path):
        return out
    for ln in open(path):
        p = ln.split()
        if len(p) != 5:
            continue
        c = int(float(p[0]))
        if c not in CLASS_MAP or (keep_classes is not None and CLASS_MAP[c] not in keep_classes):
            continue
        cx, cy, bw, bh = (float(v) for v in p[1:])
        out.append((CLASS_MAP[c], cx * w, cy * h, bw * w, bh * h))
    return out


def tile_lines(boxes, x0: int, y0: int, size: int):
    """Label and ignore lines of `boxes` in the tile at (x0, y0)."""
    labels, ignore = [], []
    for c, cx, cy, bw, bh in boxes:
        l, r, t, b = cx - bw / 2 - x0, cx + bw / 2 - x0, cy - bh / 2 - y0, cy + bh / 2 - y0
        cl, cr, ct, cb = max(l, 0.0), min(r, float(size)), max(t, 0.0), min(b, float(size))
        if cl >= cr or ct >= cb:
            continue
        inside = 0 <= cx - x0 < size and 0 <= cy - y0 < size
        kept = (cr - cl) * (cb - ct) / max((r - l) * (b - t), 1e-9)
        ok = inside if c == 0 else kept >= 0.4
        line = f"{c} {(cl + cr) / 2 / size:.6f} {(ct + cb) / 2 / size:.6f} {(cr - cl) / size:.6f} {(cb - ct) / size:.6f}"
        (labels if ok else ignore).append(line)
    return labels, ignore


class Writer:
    def __init__(self, out: str, quality: int, ball_only: bool, source: str):
        self.out = out
        self.quality = quality
        self.n = 0
        self.summary = {"tiles": 0, "balls": 0, "people": 0, "ignored": 0, "frames": 0, "matches": []}
        self.ball_only = ball_only
        self.source = source
        for sub in ("images", "labels", "ignore"):
            os.makedirs(os.path.join(out, sub), exist_ok=True)

    def write(self, tile: np.ndarray, labels: list[str], ignore: list[str]) -> None:
        name = f"{self.n:06d}"
        cv2.imwrite(os.path.join(self.out, "images", name + ".jpg"), tile, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        with open(os.path.join(self.out, "labels", name + ".txt"), "w") as f:
            f.write("".join(ln + "\n" for ln in labels))
        if ignore:
            with open(os.path.join(self.out, "ignore", name + ".txt"), "w") as f:
                f.write("".join(ln + "\n" for ln in ignore))
        self.n += 1
        s = self.summary
        s["tiles"] += 1
        s["balls"] += sum(1 for ln in labels if ln.startswith("0 "))
        s["people"] += sum(1 for ln in labels if not ln.startswith("0 "))
        s["ignored"] += len(ignore)

    def finish(self, size: int, seed: int, spec: dict) -> None:
        self.summary["matches"] = sorted(set(self.summary["matches"]))
        info = {
            "classes": CLASSES,
            "input_size": size,
            "seed": seed,
            "ball_only": self.ball_only,
            "summary": self.summary,
            "spec": dict(spec, source=self.source),
            "label_format": "YOLO: class cx cy w h, normalised to the tile; ignore/ holds boxes the loss should ignore",
        }
        with open(os.path.join(self.out, "dataset.json"), "w") as f:
            json.dump(info, f, indent=2)


def cut(img: np.ndarray, boxes, size: int, rng: random.Random, ball_tiles: int, random_tiles: int):
    """Tiles of one (already scaled) image: around the ball, then anywhere."""
    h, w = img.shape[:2]
    if w < size or h < size:
        return
    balls = [b for b in boxes if b[0] == 0]
    origins = []
    for _ in range(ball_tiles if balls else 0):
        _, cx, cy, _, _ = balls[0]
        x0 = int(cx - size / 2 + rng.uniform(-0.35, 0.35) * size)
        y0 = int(cy - size / 2 + rng.uniform(-0.35, 0.35) * size)
        origins.append((x0, y0))
    people = [b for b in boxes if b[0] != 0]
    for _ in range(random_tiles):
        if people and rng.random() < 0.5:
            _, cx, cy, _, _ = rng.choice(people)
            origins.append((int(cx - size / 2 + rng.uniform(-0.4, 0.4) * size), int(cy - size / 2 + rng.uniform(-0.4, 0.4) * size)))
        else:
            origins.append((rng.randrange(0, w - size + 1), rng.randrange(0, h - size + 1)))
    for x0, y0 in origins:
        x0 = min(max(x0, 0), w - size)
        y0 = min(max(y0, 0), h - size)
        labels, ignore = tile_lines(boxes, x0, y0, size)
        yield img[y0 : y0 + size, x0 : x0 + size], labels, ignore


def frames(root: str, stretched: bool, keep_classes=None):
    """(name, image at 1920x1080, boxes in its pixels) of a shared folder."""
    names = sorted(f for f in os.listdir(os.path.join(root, "images")) if f.endswith(".jpg"))
    for f in names:
        img = cv2.imread(os.path.join(root, "images", f), cv2.IMREAD_COLOR)
        if img is None:
            print(f"skipped unreadable {root}/images/{f}", file=sys.stderr)
            continue
        if stretched or (img.shape[1], img.shape[0]) != FULL:
            img = cv2.resize(img, FULL, interpolation=cv2.INTER_LINEAR)
        boxes = read_labels(os.path.join(root, "labels", f[:-4] + ".txt"), *FULL, keep_classes)
        yield f, img, boxes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--realdata", default="../shared/realdata", help="folder holding dfl-players/ etc.")
    ap.add_argument("--out", required=True, help="output folder (train_real/, train_real_ball/, val_real/)")
    ap.add_argument("--heldout", default="42ba34,54745b,cd987c", help="match ids kept out of training and validation")
    ap.add_argument("--val", default="121364,c01561,55c9d1", help="match ids for validation")
    ap.add_argument("--scales", default="1.0,0.8,0.625", help="resize factors of the 1080p frames")
    ap.add_argument("--ball-scales", default="0.5,0.8", help="range of resize factors for dfl-ball-640 frames")
    ap.add_argument("--ball-every", type=int, default=2, help="use every n-th frame of dfl-ball-640 (consecutive frames)")
    ap.add_argument("--random-tiles", type=int, default=1, help="tiles anywhere per frame and scale")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--quality", type=int, default=88)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    heldout = set(filter(None, args.heldout.split(",")))
    val = set(filter(None, args.val.split(",")))
    if heldout & val:
        raise SystemExit(f"matches {sorted(heldout & val)} are both held out and for validation")
    scales = [float(s) for s in args.scales.split(",")]
    lo, hi = (float(s) for s in args.ball_scales.split(","))
    spec = {"scales": scales, "ball_scales": [lo, hi], "random_tiles": args.random_tiles, "size": args.size, "quality": args.quality}
    players = [os.path.join(args.realdata, d) for d in ("dfl-players", "dfl-players-1280")]
    for p in players + [os.path.join(args.realdata, "dfl-ball-640")]:
        if not os.path.isdir(os.path.join(p, "images")):
            raise SystemExit(f"no {p}/images: point --realdata at the shared real data (see its SOURCES.md)")
    train = Writer(os.path.join(args.out, "train_real"), args.quality, False, "dfl-players, dfl-players-1280")
    valw = Writer(os.path.join(args.out, "val_real"), args.quality, False, "dfl-players, dfl-players-1280")
    ballw = Writer(os.path.join(args.out, "train_real_ball"), args.quality, True, "dfl-ball-640")
    split = {"heldout": sorted(heldout), "val": sorted(val), "train": set()}
    for root in players:
        for name, img, boxes in frames(root, root.endswith("1280")):
            m = match_id(name)
            if m in heldout:
                continue
            w = valw if m in val else train
            if w is train:
                split["train"].add(m)
            w.summary["frames"] += 1
            w.summary["matches"].append(m)
            for s in scales:
                scaled = cv2.resize(img, (round(FULL[0] * s), round(FULL[1] * s)), interpolation=cv2.INTER_AREA)
                sb = [(c, cx * s, cy * s, bw * s, bh * s) for c, cx, cy, bw, bh in boxes]
                for t, lab, ign in cut(scaled, sb, args.size, rng, 1, args.random_tiles):
                    w.write(t, lab, ign)
    root = os.path.join(args.realdata, "dfl-ball-640")
    for k, (name, img, boxes) in enumerate(frames(root, True, keep_classes={0})):
        m = match_id(name)
        if m in heldout or m in val or k % args.ball_every:
            continue
        split["train"].add(m)
        ballw.summary["frames"] += 1
        ballw.summary["matches"].append(m)
        s = rng.uniform(lo, hi)
        scaled = cv2.resize(img, (round(FULL[0] * s), round(FULL[1] * s)), interpolation=cv2.INTER_AREA)
        sb = [(c, cx * s, cy * s, bw * s, bh * s) for c, cx, cy, bw, bh in boxes]
        for t, lab, ign in cut(scaled, sb, args.size, rng, 1, 0):
            ballw.write(t, lab, ign)
    for w in (train, valw, ballw):
        w.finish(args.size, args.seed, spec)
    split["train"] = sorted(split["train"])
    with open(os.path.join(args.out, "split.json"), "w") as f:
        json.dump(split, f, indent=2)
    for w in (train, valw, ballw):
        print(f"{w.out}: {json.dumps(w.summary)}")
    print(f"split: {json.dumps(split)}")


if __name__ == "__main__":
    main()
