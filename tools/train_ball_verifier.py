#!/usr/bin/env python3
"""Trains the ball verifier: a small CNN that looks again at each ball the detector proposes
(a square crop around it) and says whether it is the ball.

The detector sees a ball in every white or dark spot of a real pitch (models/README.md): one
frame's tile cannot tell them apart at its threshold. The verifier is trained on exactly those
mistakes: the candidates the detector proposes on real frames of the training matches
(`touchline-eval detector-eval --images DIR --detections-out F` at a low ball threshold),
each labelled by the same rule detector-eval scores with (its centre within max(3 px, ball
size) of a labelled ball), plus the labelled balls themselves. Thresholds are chosen on the
validation matches; the held-out matches are measured once, at the end.

    python3 tools/train_ball_verifier.py --dumps players.jsonl,p1280.jsonl,ball640.jsonl \
        --split .gpu-real/split.json --out out/verifier [--steps 3000] [--seed 1]

Writes touchline-ball-verifier.onnx (input `crops` [N, 3, S, S] RGB in 0..1, output
`ball` [N, 1] probability), metrics.json and train.log. Needs torch and onnx.
"""

import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

CROP = 48  # default crop side in image pixels (balls of 6-24 px: the ball and its surroundings)


def label_path(image_path):
    d, f = os.path.split(image_path)
    return os.path.join(os.path.dirname(d), "labels", os.path.splitext(f)[0] + ".txt")


def read_balls(path, w, h):
    balls = []
    if not os.path.exists(path):
        return balls
    for line in open(path):
        p = line.split()
        if len(p) >= 5 and p[0] == "0":
            cx, cy, bw, bh = (float(v) for v in p[1:5])
            balls.append((cx * w, cy * h, max(bw * w, bh * h)))
    return balls


def merge(dets):
    """The cross-tile merge detector-eval applies (eval/src/render_eval.rs `merge`)."""
    kept = []
    for d in sorted(dets, key=lambda d: -d["score"]):
        r = max(4.0, d["w"], d["h"])
        if not any(np.hypot(k["cx"] - d["cx"], k["cy"] - d["cy"]) < max(r, k["w"], k["h"]) for k in kept):
            kept.append(d)
    return kept


def nv12_roundtrip(rgb):
    """RGB -> video-range YUV 4:2:0 -> RGB, as the panorama's NV12 is seen by the crop."""
    x = rgb.astype(np.float32)
    y = 16 + 0.1826 * x[..., 0] + 0.6142 * x[..., 1] + 0.0620 * x[..., 2]
    u = 128 - 0.1006 * x[..., 0] - 0.3386 * x[..., 1] + 0.4392 * x[..., 2]
    v = 128 + 0.4392 * x[..., 0] - 0.3989 * x[..., 1] - 0.0403 * x[..., 2]
    h, w = y.shape
    h2, w2 = h // 2 * 2, w // 2 * 2
    u = u[:h2, :w2].reshape(h2 // 2, 2, w2 // 2, 2).mean((1, 3)).repeat(2, 0).repeat(2, 1)
    v = v[:h2, :w2].reshape(h2 // 2, 2, w2 // 2, 2).mean((1, 3)).repeat(2, 0).repeat(2, 1)
    y = y[:h2, :w2] - 16
    u, v = u - 128, v - 128
    r = 1.1644 * y + 1.7927 * v
    g = 1.1644 * y - 0.2132 * u - 0.5329 * v
    b = 1.1644 * y + 2.1124 * u
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def crop(img, cx, cy, side=CROP):
    """A side x side crop centred on (cx, cy), edge pixels repeated outside the image."""
    h, w, _ = img.shape
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    xs = np.clip(np.arange(x0, x0 + side), 0, w - 1)
    ys = np.clip(np.arange(y0, y0 + side), 0, h - 1)
    return img[ys][:, xs]


class Verifier(nn.Module):
    def __init__(self, width=(16, 32, 64, 96)):
        super().__init__()
        a, b, c, d = width

        def cbr(i, o, s):
            return [nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(
            *cbr(3, a, 1), *cbr(a, b, 2), *cbr(b, b, 1), *cbr(b, c, 2), *cbr(c, c, 1), *cbr(c, d, 2), *cbr(d, d, 1)
        )
        self.head = nn.Linear(d, 1)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))


class Exported(nn.Module):
    """What ships: probabilities, not logits."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, crops):
        return torch.sigmoid(self.net(crops))


def collect(dumps, split, min_score, side, log):
    """Candidates (crop, is_ball, detector score, image key) by split, and per-image truth."""
    sets = {"train": [], "val": [], "heldout": []}
    images = {"train": {}, "val": {}, "heldout": {}}
    which = {m: s for s, ms in split.items() for m in ms}
    for dump in dumps:
        src = os.path.basename(dump)
        for line in open(dump):
            rec = json.loads(line)
            path = rec["image"]
            match = os.path.basename(path)[:6]
            s = which.get(match)
            if s is None:
                continue
            w, h = rec["size"]
            im = Image.open(path).convert("RGB")
            if im.size != (w, h):
                im = im.resize((w, h), Image.BILINEAR)
            img = nv12_roundtrip(np.asarray(im))
            balls = read_balls(label_path(path), w, h)
            key = src + ":" + os.path.basename(path)
            dets = merge([d for d in rec["detections"] if d["class_id"] == 0 and d["score"] >= min_score])
            cands = []
            for d in dets:
                hit = any(np.hypot(d["cx"] - bx, d["cy"] - by) <= max(3.0, bs) for bx, by, bs in balls)
                cands.append((crop(img, d["cx"], d["cy"], side), int(hit), d["score"], key))
            sets[s].extend(cands)
            if s == "train":  # the labelled balls too, slightly off centre
                for bx, by, bs in balls:
                    for _ in range(2):
                        jx, jy = np.random.uniform(-2, 2, 2)
                        sets[s].append((crop(img, bx + jx, by + jy, side), 1, 1.0, key))
            images[s][key] = dict(balls=balls, dets=[(d["cx"], d["cy"], d["w"], d["h"], d["score"]) for d in dets], src=src)
        log(f"{dump}: train {len(sets['train'])}, val {len(sets['val'])}, heldout {len(sets['heldout'])} candidates so far")
    return sets, images


def to_tensor(crops):
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255.0


def rescale(x, s):
    """The crops magnified by `s` about their centre, same size (edges repeated)."""
    side = x.shape[-1]
    m = max(8, int(round(side * s)))
    if m == side:
        return x
    y = F.interpolate(x, size=(m, m), mode="bilinear", align_corners=False)
    if m > side:
        o = (m - side) // 2
        return y[..., o : o + side, o : o + side]
    a = (side - m) // 2
    return F.pad(y, (a, side - m - a, a, side - m - a), mode="replicate")


def augment(x, scale):
    if random.random() < 0.5:
        x = x.flip(3)
    n = x.shape[0]
    gain = torch.empty(n, 1, 1, 1).uniform_(0.75, 1.25) * torch.empty(n, 3, 1, 1).uniform_(0.92, 1.08)
    bias = torch.empty(n, 1, 1, 1).uniform_(-0.08, 0.08)
    x = (x * gain + bias).clamp(0, 1)
    if scale > 1:  # balls nearer or farther than in the training frames
        x = rescale(x, float(np.exp(random.uniform(-np.log(scale), np.log(scale)))))
    dx, dy = random.randint(-2, 2), random.randint(-2, 2)
    return torch.roll(x, (dy, dx), (2, 3))


def predict(net, crops, batch=512):
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(crops), batch):
            out.append(torch.sigmoid(net(to_tensor(crops[i : i + batch]))).squeeze(1))
    return torch.cat(out).numpy() if out else np.zeros(0)


def frame_score(images, probs_by_key, det_t, ver_t, src=None):
    """detector-eval's ball rule over whole images: (recall, precision, found, balls, false)."""
    found = balls_n = false = 0
    for key, im in images.items():
        if src and im["src"] != src:
            continue
        probs = probs_by_key.get(key, [])
        kept = [d for d, p in zip(im["dets"], probs) if d[4] >= det_t and p >= ver_t]
        got = [False] * len(im["balls"])
        for cx, cy, w, h, _ in kept:
            best = None
            for i, (bx, by, bs) in enumerate(im["balls"]):
                e = np.hypot(cx - bx, cy - by)
                if e <= max(3.0, bs) and (best is None or e < best[1]):
                    best = (i, e)
            if best is None:
                false += 1
            elif not got[best[0]]:
                got[best[0]] = True
        found += sum(got)
        balls_n += len(im["balls"])
    rec = found / max(1, balls_n)
    prec = found / max(1, found + false)
    return rec, prec, found, balls_n, false


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dumps", required=True, help="comma-separated detector-eval --detections-out files")
    ap.add_argument("--split", required=True, help="split.json of tools/real_tiles.py (train/val/heldout match ids)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--minutes", type=float, default=6.0, help="training time budget (wall clock), with --steps 0")
    ap.add_argument("--steps", type=int, default=3000, help="training steps (0: the time budget); fixed for a reproducible model")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-score", type=float, default=0.15, help="candidates from this detector score")
    ap.add_argument("--width", default="16,32,64,96", help="channels of the four stages")
    ap.add_argument("--crop", type=int, default=CROP, help="crop side, image pixels (the model's input side)")
    ap.add_argument("--scale-jitter", type=float, default=1.3, help="crops magnified by up to this factor or its inverse (1: none)")
    ap.add_argument("--det-threshold", type=float, default=0.7, choices=(0.3, 0.5, 0.7), help="the detector's ball threshold the verifier's is chosen at")
    ap.add_argument("--precision", type=float, default=0.90, help="validation precision the chosen verifier threshold reaches")
    args = ap.parse_args()
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(os.cpu_count() or 2)
    os.makedirs(args.out, exist_ok=True)
    fh = open(os.path.join(args.out, "train.log"), "w")

    def log(msg):
        print(msg, flush=True)
        fh.write(msg + "\n")
        fh.flush()

    split = json.load(open(args.split))
    split = {k: split[k] for k in ("train", "val", "heldout")}
    sets, images = collect(args.dumps.split(","), split, args.min_score, args.crop, log)
    tr = sets["train"]
    pos = [c for c in tr if c[1] == 1]
    neg = [c for c in tr if c[1] == 0]
    log(f"training: {len(pos)} balls, {len(neg)} false candidates; validation {len(sets['val'])}")
    net = Verifier(tuple(int(v) for v in args.width.split(",")))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    t0 = time.time()
    step = 0
    budget = args.minutes * 60
    total = args.steps

    def progress():
        return step / total if total else (time.time() - t0) / budget

    while progress() < 1.0:
        net.train()
        batch = random.sample(pos, min(64, len(pos))) + random.sample(neg, min(64, len(neg)))
        x = augment(to_tensor([c[0] for c in batch]), args.scale_jitter)
        y = torch.tensor([float(c[1]) for c in batch]).unsqueeze(1)
        for g in opt.param_groups:
            g["lr"] = 2e-3 * 0.5 * (1 + np.cos(np.pi * min(1.0, progress())))
        loss = F.binary_cross_entropy_with_logits(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 200 == 0:
            log(f"step {step} loss {loss.item():.4f} ({time.time() - t0:.0f} s)")
    log(f"{step} steps in {time.time() - t0:.0f} s")

    probs = {}
    for s in ("val", "heldout"):
        p = predict(net, [c[0] for c in sets[s]])
        for c, v in zip(sets[s], p):
            probs.setdefault(c[3], []).append(float(v))
    # The candidates were appended in each image's detection order: probs line up with dets.
    metrics = {
        "args": vars(args),
        "matches": split,
        "steps": step,
        "train_balls": len(pos),
        "train_false": len(neg),
        "sweep_val": [],
        "chosen": None,
    }
    for det_t in (0.3, 0.5, 0.7):
        base = frame_score(images["val"], {k: [1.0] * len(v["dets"]) for k, v in images["val"].items()}, det_t, 0.0)
        for ver_t in [0.0] + [round(0.05 * i, 2) for i in range(1, 20)] + [0.97, 0.99]:
            r, p, *_ = frame_score(images["val"], probs, det_t, ver_t)
            metrics["sweep_val"].append(dict(det=det_t, ver=ver_t, recall=r, precision=p))
            log(f"val det {det_t} ver {ver_t}: recall {r:.3f} precision {p:.3f} (detector alone {base[0]:.3f} / {base[1]:.3f})")
    # The shipped threshold: at the detector's own ball threshold, the lowest verifier
    # threshold with the asked precision on the validation matches (the highest if none has).
    det_t = args.det_threshold
    at = [s for s in metrics["sweep_val"] if s["det"] == det_t]
    ok = [s for s in at if s["precision"] >= args.precision]
    ver_t = (min(ok, key=lambda s: s["ver"]) if ok else max(at, key=lambda s: s["ver"]))["ver"]
    metrics["chosen"] = dict(det=det_t, ver=ver_t, rule=f"lowest verifier threshold with validation precision >= {args.precision}")
    log(f"chosen on validation: detector {det_t}, verifier {ver_t}")
    held = {}
    for src in sorted({im["src"] for im in images["heldout"].values()}):
        ones = {k: [1.0] * len(v["dets"]) for k, v in images["heldout"].items()}
        held[src] = dict(
            with_verifier=frame_score(images["heldout"], probs, det_t, ver_t, src),
            detector_alone_at_0_7=frame_score(images["heldout"], ones, 0.7, 0.0, src),
            sweep=[
                dict(det=dt, ver=vt, score=frame_score(images["heldout"], probs, dt, vt, src))
                for dt in (0.3, 0.5, 0.7)
                for vt in (0.5, 0.7, 0.8, 0.9, 0.95)
            ],
        )
        log(f"held out {src}: with verifier {held[src]['with_verifier']}, detector alone {held[src]['detector_alone_at_0_7']}")
    metrics["heldout"] = held
    json.dump(metrics, open(os.path.join(args.out, "metrics.json"), "w"), indent=1)
    net.eval()
    torch.onnx.export(
        Exported(net),
        torch.zeros(1, 3, args.crop, args.crop),
        os.path.join(args.out, "touchline-ball-verifier.onnx"),
        input_names=["crops"],
        output_names=["ball"],
        dynamic_axes={"crops": {0: "n"}, "ball": {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    log("wrote " + os.path.join(args.out, "touchline-ball-verifier.onnx"))


if __name__ == "__main__":
    main()
