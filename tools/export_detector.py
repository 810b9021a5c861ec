#!/usr/bin/env python3
"""Exports a trained TinyDet checkpoint (`touchline-detector.pt`, written by
tools/train_detector.py) to ONNX in the Ultralytics layout, with `torch.onnx.export`, and
checks the file against the network with ONNX Runtime. For a model trained where the `onnx`
package (which torch's exporter needs) is not installed, e.g. the GPU machine:

    python3 tools/export_detector.py out/gpu-train/touchline-detector.pt models/NEW.onnx
"""

import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tinydet import load_checkpoint, onnx_parity  # noqa: E402


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    net, size, names = load_checkpoint(src)
    net.export_onnx(dst, size, names)
    x = torch.rand((2, 3, size, size), generator=torch.Generator().manual_seed(0))
    parity = onnx_parity(net, dst, x)
    print(f"{dst}: {os.path.getsize(dst)} bytes, classes {names}, input {size}x{size}")
    print("ONNX Runtime parity:", json.dumps(parity) if parity else "not checked (no onnxruntime)")


if __name__ == "__main__":
    main()
