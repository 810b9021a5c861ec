#!/usr/bin/env python3
"""The convolution weights of an exported TinyDet as a NumPy archive, for
`tools/train_detector.py --init` on a machine without the `onnx` package:

    python3 tools/onnx_weights.py models/touchline-detector.onnx OUT.npz

`OUT.npz` holds `w0, b0, w1, b1, ...` in the order of the model's Conv nodes (the order
`TinyDet.convs()` lists them). Needs numpy and onnx (tools/requirements.txt).
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    graph = onnx.load(src).graph
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    arrays = {}
    for k, node in enumerate(n for n in graph.node if n.op_type == "Conv"):
        if len(node.input) < 3:
            raise SystemExit(f"{src}: Conv {node.name or k} has no bias; not a TinyDet export")
        arrays[f"w{k}"] = init[node.input[1]]
        arrays[f"b{k}"] = init[node.input[2]]
    np.savez(dst, **arrays)
    print(f"{dst}: {len(arrays) // 2} convolutions from {src}")


if __name__ == "__main__":
    main()
