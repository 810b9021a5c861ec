#!/usr/bin/env python3
"""Writes the small deterministic ONNX models the Rust tests use (capture/tests/data/):

- tiny_yolo.onnx: a TinyDet with random weights, 3 classes, input [batch, 3, 64, 64], output
  [batch, 7, 336] in the Ultralytics layout; class biases at 0 so scores spread around 0.5;
- bad_input_nhwc.onnx: input [1, 64, 64, 3] (channels last, a common export mistake).

Run from the repository root: python3 tools/make_test_model.py (needs torch and onnx).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))



def tiny_yolo(path: str) -> None:
    import torch

    from tinydet import TinyDet

    torch.manual_seed(1234)
    m = TinyDet(3, width=(4, 8, 8, 8))
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.1, 0.1)
    for h in m.heads:
        torch.nn.init.normal_(h.weight, std=0.5)
        h.bias.data.zero_()
    m.export_onnx(path, 64, ["ball", "player", "referee"])


def bad_input(path: str) -> None:
    import torch

    class ChannelsLast(torch.nn.Module):
        def forward(self, x):
            return x.reshape(1, 3, 4096)

    torch.onnx.export(
        ChannelsLast(),
        (torch.zeros(1, 64, 64, 3),),
        path,
        dynamo=False,
        opset_version=17,
        input_names=["images"],
        output_names=["output0"],
    )


def main() -> None:
    out = os.path.join("capture", "tests", "data")
    os.makedirs(out, exist_ok=True)
    tiny_yolo(os.path.join(out, "tiny_yolo.onnx"))
    bad_input(os.path.join(out, "bad_input_nhwc.onnx"))
    for n in sorted(os.listdir(out)):
        print(f"{os.path.join(out, n)}: {os.path.getsize(os.path.join(out, n))} bytes")


if __name__ == "__main__":
    main()
