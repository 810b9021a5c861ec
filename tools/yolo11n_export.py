#!/usr/bin/env python3
"""A real Ultralytics export for the detector's format tests.

Builds YOLO11n from Ultralytics' own model definition (`yolo11n.yaml`) with Touchline's three
classes (ball, player, referee), trains it briefly with Ultralytics' own training loop on the
CPU on the real tiles of tools/real_tiles.py (`--train`; untrained, its head gives the same
output for every input, which tests nothing), and exports it with Ultralytics' ONNX exporter
at 640x640, batch 1. It is there for the format: a few epochs from scratch do not make a
detector worth shipping. Then ONNX Runtime runs the exported file on a fixed input and its raw output
is written beside it, so that the Rust tests (capture/tests/detector_engines.rs) can check
tract against ONNX Runtime without Python, and, with `--features ort`, both live.

    python3 -m venv /tmp/yv && /tmp/yv/bin/pip install ultralytics onnx onnxslim onnxruntime
    /tmp/yv/bin/python tools/real_tiles.py --realdata ../shared/realdata --out .gpu-real
    /tmp/yv/bin/python tools/yolo11n_export.py --train .gpu-real --out capture/tests/data

Writes OUT/yolo11n.onnx, OUT/yolo11n.ort.f32 (ONNX Runtime's output
`[1, 7, 8400]`, float32 little-endian) and OUT/yolo11n.json (versions, the input
formula, the model's SHA-256).

The fixed input is `x[0, c, y, x] = ((7 x + 13 y + 29 c) mod 256) / 255`, which the Rust test
computes the same way.
"""

import argparse
import hashlib
import json
import os
import shutil
import tempfile

import numpy as np

CLASSES = ["ball", "player", "referee"]
SIZE = 640


def fixed_input() -> np.ndarray:
    c, y, x = np.meshgrid(np.arange(3), np.arange(SIZE), np.arange(SIZE), indexing="ij")
    return (((7 * x + 13 * y + 29 * c) % 256) / 255.0).astype(np.float32)[None]


def train(weights: str, args, work: str) -> str:
    """Ultralytics' own training loop on the CPU, from the untrained weights."""
    from ultralytics import YOLO

    root = os.path.abspath(args.train)
    data = os.path.join(work, "data.yaml")
    with open(data, "w") as f:
        f.write(f"path: {root}\ntrain: train_real/images\nval: val_real/images\n"
                f"names: {dict(enumerate(CLASSES))}\n")
    model = YOLO(weights)
    model.train(data=data, epochs=args.epochs, imgsz=args.imgsz, batch=16, device="cpu",
                workers=2, seed=args.seed, deterministic=True, project=work, name="train",
                plots=False, amp=False, verbose=False)
    return os.path.join(work, "train", "weights", "last.pt")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for the model, output and record")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", metavar="DIR",
                    help="train on DIR/train_real (and validate on DIR/val_real): folders in "
                    "`touchline-eval dataset` layout, as tools/real_tiles.py writes them")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--imgsz", type=int, default=256, help="training tile size")
    args = ap.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "1")

    import onnxruntime as ort
    import torch
    import ultralytics
    from ultralytics import YOLO

    torch.manual_seed(args.seed)
    work = tempfile.mkdtemp(prefix="yolo11n-")
    try:
        yaml_path = os.path.join(work, "yolo11n-touchline.yaml")
        # Ultralytics' yolo11n.yaml ("n" scale) with nc = 3.
        from ultralytics.nn.tasks import yaml_model_load

        import yaml

        cfg = yaml_model_load("yolo11n.yaml")
        cfg["nc"] = len(CLASSES)
        cfg.pop("yaml_file", None)
        with open(yaml_path, "w") as f:
            yaml.safe_dump(cfg, f)
        model = YOLO(yaml_path, task="detect")
        model.model.names = dict(enumerate(CLASSES))
        weights = os.path.join(work, "yolo11n_untrained.pt")
        model.save(weights)
        if args.train:
            weights = train(weights, args, work)
        exported = YOLO(weights).export(format="onnx", imgsz=SIZE, batch=1, simplify=True)
        os.makedirs(args.out, exist_ok=True)
        onnx_path = os.path.join(args.out, "yolo11n.onnx")
        shutil.copyfile(exported, onnx_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    (inp,) = sess.get_inputs()
    out = sess.run(None, {inp.name: fixed_input()})[0]
    assert out.shape == (1, 4 + len(CLASSES), 8400), out.shape
    out.astype("<f4").tofile(os.path.join(args.out, "yolo11n.ort.f32"))
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    scores = out[0, 4:]
    record = {
        "model": "yolo11n.onnx",
        "sha256": sha,
        "built_from": "ultralytics yolo11n.yaml, nc=3 (ball, player, referee), "
        f"torch.manual_seed({args.seed}), "
        + (f"trained {args.epochs} epochs at {args.imgsz} px on the CPU on "
           f"{os.path.basename(os.path.abspath(args.train))}/train_real"
           if args.train else "untrained"),
        "ultralytics": ultralytics.__version__,
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
        "input": {"name": inp.name, "shape": [1, 3, SIZE, SIZE],
                  "formula": "((7 x + 13 y + 29 c) mod 256) / 255"},
        "output": {"file": "yolo11n.ort.f32", "shape": list(out.shape),
                   "dtype": "float32 little-endian"},
        "score_max": float(scores.max()),
        "score_p99_9": float(np.quantile(scores, 0.999)),
    }
    with open(os.path.join(args.out, "yolo11n.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
