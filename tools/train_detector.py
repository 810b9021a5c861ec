#!/usr/bin/env python3
"""Trains Touchline's ball/player detector (TinyDet, tools/tinydet.py) on tiles exported by
`touchline-eval dataset`, evaluates it on the validation split, and exports it to ONNX in the
Ultralytics YOLO layout (`[batch, 4 + nc, N]`, dynamic batch, opset 17).

    python3 tools/train_detector.py --data .gpu-data --out OUT [--minutes 5]

`--data` holds `val/` and one or more training folders whose names start with `train`
(`train/`, `train_rt1920/`, ...; each made by `touchline-eval dataset`, all with the same tile
size): they are trained on together. Writes to `--out`:
`touchline-detector.onnx`, `metrics.json` (training, validation metrics, ONNX parity) and
`train.log`. Needs torch and numpy; reads JPEGs with opencv (or Pillow); checks the export
with onnxruntime when installed. `--smoke` runs a few steps on CPU on a handful of tiles.

Training: everything on the GPU (tiles decoded once into device memory, targets precomputed
per tile), horizontal flips and photometric jitter (brightness, contrast, saturation, colour
tint, gamma, noise) as lighting variation, focal loss for classes, L1 on centre offsets and
log sizes, AdamW with a cosine schedule over a wall-clock budget, an EMA of the weights.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tinydet import STRIDES, TinyDet, onnx_parity, save_checkpoint  # noqa: E402

MODEL_NAME = "touchline-detector.onnx"
# The trained weights, for an export elsewhere (tools/export_detector.py).
CHECKPOINT_NAME = "touchline-detector.pt"
# Objects up to this size (longer side, input px) go to stride 4, then 8, then 16.
LEVEL_LIMITS = (20.0, 56.0)


def log(msg: str, fh=None) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if fh:
        fh.write(line + "\n")
        fh.flush()


# ---------------------------------------------------------------- data


def read_image(path: str) -> np.ndarray:
    try:
        import cv2

        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise OSError(f"cannot read {path}")
        return img[:, :, ::-1].copy()  # BGR -> RGB
    except ImportError:
        from PIL import Image

        return np.asarray(Image.open(path).convert("RGB"))


def read_boxes(path: str) -> np.ndarray:
    """YOLO lines -> [M, 5] (class, cx, cy, w, h normalised)."""
    if not os.path.exists(path):
        return np.zeros((0, 5), np.float32)
    rows = [list(map(float, ln.split())) for ln in open(path) if ln.strip()]
    return np.array(rows, np.float32).reshape(-1, 5)


def level_of(w: float, h: float) -> int:
    m = max(w, h)
    return 0 if m <= LEVEL_LIMITS[0] else (1 if m <= LEVEL_LIMITS[1] else 2)


def dense_targets(labels: np.ndarray, ignore: np.ndarray, size: int):
    """Per level: class index map (-1 none, -2 ignore) and box map (cx, cy, w, h in px).

    A box is positive in the (up to) four cells whose centres lie within one stride of its
    centre on its size's level; smaller boxes win shared cells (balls over players)."""
    cls_maps, box_maps = [], []
    px = labels.copy()
    px[:, 1:] *= size
    order = np.argsort(-(px[:, 3] * px[:, 4])) if len(px) else []
    for li, s in enumerate(STRIDES):
        n = size // s
        cm = np.full((n, n), -1, np.int8)
        bm = np.zeros((4, n, n), np.float32)
        for b in ignore:
            x0, x1 = (b[1] - b[3] / 2) * size, (b[1] + b[3] / 2) * size
            y0, y1 = (b[2] - b[4] / 2) * size, (b[2] + b[4] / 2) * size
            gx0, gx1 = max(0, int(math.floor(x0 / s - 0.5))), min(n - 1, int(math.ceil(x1 / s - 0.5)))
            gy0, gy1 = max(0, int(math.floor(y0 / s - 0.5))), min(n - 1, int(math.ceil(y1 / s - 0.5)))
            if gx0 <= gx1 and gy0 <= gy1:
                cm[gy0 : gy1 + 1, gx0 : gx1 + 1] = -2
        for k in order:
            c, cx, cy, w, h = px[k]
            if level_of(w, h) != li:
                continue
            fx, fy = cx / s - 0.5, cy / s - 0.5
            for gy in (int(math.floor(fy)), int(math.floor(fy)) + 1):
                for gx in (int(math.floor(fx)), int(math.floor(fx)) + 1):
                    if 0 <= gx < n and 0 <= gy < n:
                        cm[gy, gx] = int(c)
                        bm[:, gy, gx] = (cx, cy, w, h)
        cls_maps.append(cm)
        box_maps.append(bm)
    return cls_maps, box_maps


class Split:
    """One split in memory: uint8 images [N, H, W, 3] and dense targets per level, from one
    or more dataset folders with the same tile size."""

    def __init__(self, roots: list[str], limit: int | None, device: torch.device, nc: int, fh=None):
        t = time.time()
        paths = []
        people_ok = []  # per tile: False where people are not labelled (a ball-only folder)
        for root in roots:
            names = sorted(f[:-4] for f in os.listdir(os.path.join(root, "images")) if f.endswith(".jpg"))
            if limit:
                names = names[:limit]
            if not names:
                raise SystemExit(f"no tiles in {root}/images")
            paths += [(root, n) for n in names]
            info_path = os.path.join(root, "dataset.json")
            ball_only = bool(json.load(open(info_path)).get("ball_only")) if os.path.exists(info_path) else False
            people_ok += [not ball_only] * len(names)
        with ThreadPoolExecutor(max_workers=min(16, os.cpu_count() or 4)) as ex:
            imgs = list(ex.map(lambda p: read_image(os.path.join(p[0], "images", p[1] + ".jpg")), paths))
        sizes = {im.shape[:2] for im in imgs}
        if len(sizes) != 1 or imgs[0].shape[0] != imgs[0].shape[1]:
            raise SystemExit(f"tiles of {roots} must be square and of one size, found {sorted(sizes)}")
        self.size = imgs[0].shape[0]
        self.labels = [read_boxes(os.path.join(r, "labels", n + ".txt")) for r, n in paths]
        ignores = [read_boxes(os.path.join(r, "ignore", n + ".txt")) for r, n in paths]
        dense = [dense_targets(lb, ig, self.size) for lb, ig in zip(self.labels, ignores)]
        self.cls = [torch.from_numpy(np.stack([d[0][li] for d in dense])).to(device) for li in range(3)]
        self.box = [torch.from_numpy(np.stack([d[1][li] for d in dense])).to(device) for li in range(3)]
        self.images = torch.from_numpy(np.stack(imgs)).to(device)
        self.people_ok = torch.tensor(people_ok, dtype=torch.float32, device=device)
        self.roots = [r for r, _ in paths]
        self.names = [f"{os.path.basename(r)}/{n}" for r, n in paths]
        self.nc = nc
        where = ", ".join(roots)
        log(f"loaded {len(paths)} tiles of {self.size}px from {where} in {time.time() - t:.1f}s", fh)

    def __len__(self):
        return len(self.names)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Photometric jitter per image on float RGB in [0, 1]: lighting and camera variety."""
    b = x.shape[0]
    dev = x.device

    def u(lo, hi, *shape):
        return torch.rand((b, *shape), generator=gen, device=dev) * (hi - lo) + lo

    x = x * u(0.7, 1.3, 1, 1, 1)  # brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.7, 1.3, 1, 1, 1) + mean  # contrast
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * u(0.6, 1.4, 1, 1, 1) + grey  # saturation
    x = x * u(0.92, 1.08, 3, 1, 1)  # colour tint
    x = x.clamp(0, 1) ** u(0.75, 1.3, 1, 1, 1)  # gamma
    x = x + torch.randn(x.shape, generator=gen, device=dev) * u(0.0, 0.025, 1, 1, 1)
    return x.clamp(0, 1)


def batch(split: Split, idx: torch.Tensor, gen: torch.Generator | None, train: bool, crop: int = 0):
    """Images and targets of `idx`; for training, flipped, jittered and (with `crop`, a
    multiple of 16) cut to a random `crop` x `crop` window."""
    x = split.images[idx].permute(0, 3, 1, 2).float() / 255.0
    cls = [c[idx].long() for c in split.cls]
    box = [bx[idx].clone() for bx in split.box]
    if train and crop and crop < split.size:
        top = max(STRIDES)
        n = (split.size - crop) // top + 1
        ox = int(torch.randint(0, n, (1,), generator=gen, device=x.device)) * top
        oy = int(torch.randint(0, n, (1,), generator=gen, device=x.device)) * top
        x = x[:, :, oy : oy + crop, ox : ox + crop]
        for li, s in enumerate(STRIDES):
            a, b, c = oy // s, ox // s, crop // s
            cls[li] = cls[li][:, a : a + c, b : b + c]
            box[li] = box[li][:, :, a : a + c, b : b + c].clone()
            box[li][:, 0] -= ox
            box[li][:, 1] -= oy
    size = x.shape[-1]
    if train:
        flip = torch.rand(len(idx), generator=gen, device=x.device) < 0.5
        if flip.any():
            x[flip] = x[flip].flip(-1)
            for li in range(3):
                cls[li][flip] = cls[li][flip].flip(-1)
                bf = box[li][flip].flip(-1)
                bf[:, 0] = size - bf[:, 0]
                box[li][flip] = bf
        x = augment(x, gen)
    return x, cls, box


# ---------------------------------------------------------------- loss


def focal(logits, target, alpha=0.25, gamma=2.0):
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    pt = p * target + (1 - p) * (1 - target)
    a = alpha * target + (1 - alpha) * (1 - target)
    return a * ce * (1 - pt) ** gamma


def loss_fn(raw, cls, box, nc: int, ball_weight: float = 2.0, people_ok=None):
    """Focal class loss and box loss (centre offset L1 in strides, log size L1) over the
    positive cells, both per positive; ball cells weigh `ball_weight`. `people_ok` ([B], 0 or
    1) leaves out the people classes' loss of tiles whose people are not labelled. No host
    syncs."""
    total_cls = raw[0].new_zeros((), dtype=torch.float32)
    total_box = raw[0].new_zeros((), dtype=torch.float32)
    npos = raw[0].new_zeros((), dtype=torch.float32)
    for li, (r, s) in enumerate(zip(raw, STRIDES)):
        r = r.float()
        b, _, h, w = r.shape
        cm = cls[li]  # [B, H, W]
        pos = cm >= 0
        valid = cm != -2
        onehot = F.one_hot(cm.clamp(min=0), nc).permute(0, 3, 1, 2).float() * pos[:, None]
        fl = focal(r[:, 4:], onehot)
        if people_ok is not None and nc > 1:
            keep = torch.ones_like(fl[:1, :, :1, :1]).repeat(b, 1, 1, 1)
            keep[:, 1:] = people_ok[:, None, None, None]
            fl = fl * keep
        weight = 1.0 + (cm == 0).float() * (ball_weight - 1.0)
        total_cls = total_cls + (fl.sum(1) * valid * weight).sum()
        npos = npos + pos.sum()
        g = TinyDet.grid(h, w, r.device).reshape(2, h, w)
        t = box[li]  # [B, 4, H, W]
        pxy = (torch.sigmoid(r[:, 0:2]) * 2.0 - 0.5 + g[None]) * s
        lxy = (pxy - t[:, 0:2]).abs().sum(1) / s
        lwh = (r[:, 2:4].clamp(-6, 6) - torch.log(t[:, 2:4].clamp(min=0.5) / s)).abs().sum(1)
        wpos = weight * pos
        total_box = total_box + (lxy * wpos).sum() * 2.0 + (lwh * wpos).sum()
    n = npos.clamp(min=1.0)
    return total_cls / n, total_box / n


# ---------------------------------------------------------------- evaluation


def merge_balls(d: np.ndarray) -> np.ndarray:
    """Greedy merge of [K, 5] (cx, cy, w, h, score) by centre distance."""
    d = d[np.argsort(-d[:, 4])]
    kept = []
    for row in d:
        r = max(4.0, row[2], row[3])
        if all(math.hypot(row[0] - k[0], row[1] - k[1]) >= max(r, k[2], k[3]) for k in kept):
            kept.append(row)
    return np.array(kept, np.float32).reshape(-1, 5)


def iou(a, b):
    ax0, ay0, ax1, ay1 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx0, by0, bx1, by1 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    iw, ih = max(0.0, min(ax1, bx1) - max(ax0, bx0)), max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = iw * ih
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9)


@torch.no_grad()
def evaluate(model: TinyDet, split: Split, device, thresholds=tuple(round(0.05 * k, 2) for k in range(2, 20)), people_thr=0.4):
    """Per-tile metrics in model input pixels (the panorama-level numbers come from
    `touchline-eval detector-eval`)."""
    was_training = model.training
    model.eval()
    size = split.size
    per_tile = []  # (has_ball, [(score, dist or None)], ball_d)
    players = [0, 0]
    refs = [0, 0]
    for start in range(0, len(split), 32):
        idx = torch.arange(start, min(start + 32, len(split)), device=device)
        x, _, _ = batch(split, idx, None, False)
        out = model.decode(model(x)).float().cpu().numpy()  # [B, 4+nc, N]
        for k, i in enumerate(idx.tolist()):
            o = out[k]
            lab = split.labels[i].copy()
            lab[:, 1:] *= size
            balls = lab[lab[:, 0] == 0]
            sc = o[4]
            sel = sc >= min(thresholds)
            d = np.concatenate([o[:4, sel].T, sc[sel, None]], 1)
            d = merge_balls(d)
            has = len(balls) > 0
            items = []
            bd = 0.0
            if has:
                bx = balls[0]
                bd = max(bx[3], bx[4])
                radius = max(3.0, min(bx[3], bx[4])) + abs(bx[3] - bx[4]) / 2
            for row in d:
                dist = math.hypot(row[0] - balls[0][1], row[1] - balls[0][2]) if has else None
                items.append((float(row[4]), dist if (has and dist <= radius) else None))
            per_tile.append((has, items, bd))
            for cls_id, acc in ((1, players), (2, refs)):
                if split.nc <= cls_id:
                    continue
                gts = lab[lab[:, 0] == cls_id]
                sel = (o[4 + cls_id] >= people_thr) & (o[4:].argmax(0) == cls_id)
                cand = o[:4, sel].T
                scores = o[4 + cls_id, sel]
                cand = cand[np.argsort(-scores)]
                keep = []
                for c in cand:
                    if all(iou(c, k) <= 0.5 for k in keep):
                        keep.append(c)
                used = [False] * len(keep)
                for g in gts:
                    acc[0] += 1
                    best, bi = 0.3, -1
                    for j, c in enumerate(keep):
                        v = iou(c, g[1:])
                        if not used[j] and v >= best:
                            best, bi = v, j
                    if bi >= 0:
                        used[bi] = True
                        acc[1] += 1
    sweep = []
    for t in thresholds:
        tp = fp = miss = 0
        errs = []
        for has, items, _ in per_tile:
            above = [it for it in items if it[0] >= t]
            matches = [it[1] for it in above if it[1] is not None]
            fp += sum(1 for it in above if it[1] is None)
            if has:
                if matches:
                    tp += 1
                    errs.append(matches[0])
                else:
                    miss += 1
        sweep.append(
            {
                "threshold": t,
                "recall": tp / max(tp + miss, 1),
                "precision": tp / max(tp + fp, 1),
                "tp": tp,
                "fp": fp,
                "missed": miss,
                "loc_err_mean_px": float(np.mean(errs)) if errs else None,
                "loc_err_p95_px": float(np.percentile(errs, 95)) if errs else None,
            }
        )
    ok = [s for s in sweep if s["precision"] >= 0.95]
    best = max(ok, key=lambda s: s["recall"]) if ok else max(sweep, key=lambda s: s["recall"] + s["precision"])
    model.train(was_training)
    return {
        "tiles": len(split),
        "tiles_with_ball": sum(1 for p in per_tile if p[0]),
        "ball_size_mean_px": float(np.mean([p[2] for p in per_tile if p[0]] or [0])),
        "ball_sweep": sweep,
        "ball_best": best,
        "player_recall": players[1] / max(players[0], 1),
        "players": players[0],
        "referee_recall": refs[1] / max(refs[0], 1),
        "referees": refs[0],
        "people_threshold": people_thr,
    }


# ---------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with train/ and val/ from `touchline-eval dataset`")
    ap.add_argument("--out", required=True, help="output folder")
    ap.add_argument("--minutes", type=float, default=5.0, help="training time budget (wall clock)")
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--limit", type=int, default=0, help="use at most this many tiles per split")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: time budget)")
    ap.add_argument("--crop", type=int, default=0, help="train on random crops of this side (multiple of 16; 0: whole tiles)")
    ap.add_argument("--export-size", type=int, default=640, help="input side of the exported model")
    ap.add_argument("--width", default="16,24,40,64", help="channels of the four backbone stages")
    ap.add_argument("--ball-weight", type=float, default=2.0, help="loss weight of ball cells")
    ap.add_argument(
        "--folder-weight",
        action="append",
        default=[],
        metavar="PREFIX=W",
        help="tiles of training folders whose name starts with PREFIX are drawn W times as often (repeatable)",
    )
    ap.add_argument("--init", default="", help="start from this exported TinyDet (same --width; needs `onnx`); BatchNorm frozen")
    ap.add_argument("--smoke", action="store_true", help="a few CPU steps on a few tiles")
    args = ap.parse_args()
    if args.smoke:
        args.device, args.limit, args.steps, args.batch, args.minutes = "cpu", args.limit or 24, args.steps or 6, 4, 1.0

    os.makedirs(args.out, exist_ok=True)
    fh = open(os.path.join(args.out, "train.log"), "w")
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    roots = sorted(
        os.path.join(args.data, d)
        for d in os.listdir(args.data)
        if d.startswith("train") and os.path.isdir(os.path.join(args.data, d, "images"))
    )
    if not roots:
        raise SystemExit(f"no train*/ folders in {args.data}")
    info = json.load(open(os.path.join(roots[0], "dataset.json")))
    names = info["classes"]
    nc = len(names)
    log(f"torch {torch.__version__} on {device}; classes {names}", fh)
    summaries = {os.path.basename(r): json.load(open(os.path.join(r, "dataset.json"))) for r in roots}
    for name, d in summaries.items():
        if d["classes"] != names:
            raise SystemExit(f"{name}: classes {d['classes']} differ from {names}")
    train = Split(roots, args.limit or None, device, nc, fh)
    val = Split([os.path.join(args.data, "val")], args.limit or None, device, nc, fh)
    extra_val = {
        d: Split([os.path.join(args.data, d)], args.limit or None, device, nc, fh)
        for d in sorted(os.listdir(args.data))
        if d.startswith("val_") and os.path.isdir(os.path.join(args.data, d, "images"))
    }
    weights = torch.ones(len(train), device=device)
    for fw in args.folder_weight:
        prefix, _, w = fw.partition("=")
        hit = torch.tensor([os.path.basename(r).startswith(prefix) for r in train.roots], device=device)
        if not w or not hit.any():
            raise SystemExit(f"--folder-weight {fw}: no training folder starts with {prefix!r} (or no weight)")
        weights[hit] = float(w)
    size = train.size
    width = tuple(int(v) for v in args.width.split(","))
    if len(width) != 4:
        raise SystemExit("--width needs four channel counts")

    model = TinyDet(nc, width)
    if args.init:
        model.load_onnx(args.init)
        model.freeze_bn()
        log(f"initialised from {args.init} (BatchNorm frozen)", fh)
    model = model.to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        torch.backends.cudnn.benchmark = True
    params = sum(p.numel() for p in model.parameters())
    gmac = TinyDet(nc, width).macs(args.export_size) / 1e9
    log(f"TinyDet {width}: {params} parameters, {gmac:.3f} GMAC per {args.export_size}px input, trained on {size}px tiles", fh)
    ema = TinyDet(nc, width).to(device)
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    ema_float = [e for e in ema.state_dict().values() if e.dtype.is_floating_point]
    model_float = [m for m in model.state_dict().values() if m.dtype.is_floating_point]
    ema_other = [e for e in ema.state_dict().values() if not e.dtype.is_floating_point]
    model_other = [m for m in model.state_dict().values() if not m.dtype.is_floating_point]
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=5e-4)
    gen = torch.Generator(device=device)
    gen.manual_seed(args.seed)
    budget = args.minutes * 60.0
    t0 = time.time()
    step = 0
    seen = 0
    amp = device.type == "cuda"
    while True:
        frac = (time.time() - t0) / budget
        if (args.steps and step >= args.steps) or (not args.steps and frac >= 1.0):
            break
        if args.steps:
            frac = step / args.steps
        lr = args.lr * (min(1.0, frac / 0.03) if frac < 0.03 else 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.multinomial(weights, args.batch, replacement=True, generator=gen)
        x, cls, box = batch(train, idx, gen, True, args.crop)
        if device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            raw = model(x)
        lc, lb = loss_fn(raw, cls, box, nc, args.ball_weight, train.people_ok[idx])
        loss = lc + lb
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        opt.step()
        with torch.no_grad():
            d = min(0.999, (1 + step) / (10 + step))
            torch._foreach_mul_(ema_float, d)
            torch._foreach_add_(ema_float, model_float, alpha=1 - d)
            for e, m in zip(ema_other, model_other):
                e.copy_(m)
        step += 1
        seen += args.batch
        if step % 100 == 0 or args.smoke:
            log(f"step {step} ({seen / len(train):.1f} epochs, {time.time() - t0:.0f}s) lr {lr:.2e} cls {lc.item():.4f} box {lb.item():.4f}", fh)
    train_s = time.time() - t0
    log(f"trained {step} steps, {seen / len(train):.1f} epochs in {train_s:.0f}s", fh)

    ema.eval()
    metrics = evaluate(ema, val, device)
    b = metrics["ball_best"]
    log(
        f"val: ball recall {b['recall']:.3f} precision {b['precision']:.3f} at {b['threshold']} "
        f"(loc err {b['loc_err_mean_px']} px), player recall {metrics['player_recall']:.3f}",
        fh,
    )

    val_by_folder = {}
    for name, split in extra_val.items():
        m = evaluate(ema, split, device)
        val_by_folder[name] = m
        b = m["ball_best"]
        log(
            f"{name}: ball recall {b['recall']:.3f} precision {b['precision']:.3f} at {b['threshold']}, "
            f"player recall {m['player_recall']:.3f}, referee recall {m['referee_recall']:.3f}",
            fh,
        )

    path = os.path.join(args.out, MODEL_NAME)
    ema = ema.cpu().float()
    save_checkpoint(ema, os.path.join(args.out, CHECKPOINT_NAME), args.export_size, names)
    parity = None
    try:
        ema.export_onnx(path, args.export_size, names)
    except Exception as e:  # torch's exporter needs the `onnx` package
        log(
            f"no ONNX export here ({e}); the weights are in {CHECKPOINT_NAME}: "
            f"python3 tools/export_detector.py {CHECKPOINT_NAME} {MODEL_NAME} where `onnx` is installed",
            fh,
        )
        path = None
    if path:
        # Validation tiles laid side by side (grey elsewhere) at the export size.
        e = args.export_size
        x = torch.full((2, 3, e, e), 114 / 255.0)
        k = 0
        for b in range(2):
            for oy in range(0, e - size + 1, size):
                for ox in range(0, e - size + 1, size):
                    img = val.images[k % len(val)].permute(2, 0, 1).float().cpu() / 255.0
                    x[b, :, oy : oy + size, ox : ox + size] = img
                    k += 1
        parity = onnx_parity(ema, path, x)
        if parity is None:
            log("onnxruntime not installed: ONNX parity not checked", fh)
        else:
            log(f"ONNX check with onnxruntime {parity['onnxruntime']}: {parity}", fh)
    out = {
        "model": MODEL_NAME,
        "classes": names,
        "input_size": args.export_size,
        "train_tile_size": size,
        "parameters": params,
        "width": list(width),
        "gmac_per_input": gmac,
        "train": {
            "tiles": len(train),
            "steps": step,
            "epochs": seen / len(train),
            "seconds": train_s,
            "batch": args.batch,
            "crop": args.crop,
            "ball_weight": args.ball_weight,
            "folder_weights": args.folder_weight,
            "init": os.path.basename(args.init) if args.init else None,
            "lr": args.lr,
            "device": str(device),
            "torch": torch.__version__,
            "dataset": info.get("summary"),
            "folders": {k: {"summary": v.get("summary"), "seed": v.get("seed"), "spec": v.get("spec")} for k, v in summaries.items()},
        },
        "val": metrics,
        "val_by_folder": val_by_folder,
        "onnx_parity": parity,
    }
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(out, f, indent=2)
    written = f"{path} ({os.path.getsize(path)} bytes)" if path else CHECKPOINT_NAME
    log(f"wrote {written} and metrics.json", fh)


if __name__ == "__main__":
    main()
