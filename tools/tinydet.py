"""TinyDet: a small single-stage, anchor-free, YOLO-style detector in plain PyTorch, and its
export to ONNX in the Ultralytics YOLO layout.

Network: a 4-stage strided backbone (strides 2, 4, 8, 16), a top-down neck (nearest 2x
upsampling + lateral adds), and 1x1 heads on strides 4, 8 and 16 (stride 4 is what sees a
2-3 px ball). Each head cell predicts `tx ty tw th` and one logit per class.

Decoding (in the exported graph, exactly as in `TinyDet.decode`):
    cx = (gx + 2 * sigmoid(tx) - 0.5) * stride      (continuous input pixels)
    cy = (gy + 2 * sigmoid(ty) - 0.5) * stride
    w  = exp(clip(tw, -6, 6)) * stride
    h  = exp(clip(th, -6, 6)) * stride
    scores = sigmoid(class logits)
Output `[batch, 4 + nc, N]` with N = sum of H*W over the heads: the Ultralytics export layout
(box centre and size in input pixels, class scores, no objectness).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from onnx_lite import Graph

STRIDES = (4, 8, 16)


class CBR(nn.Module):
    """Conv + BatchNorm + ReLU (BatchNorm folded into the conv at export)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.k, self.stride = k, stride

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))

    def fused(self):
        w = self.conv.weight.detach().float().cpu().numpy()
        bn = self.bn
        std = torch.sqrt(bn.running_var + bn.eps).detach().float().cpu().numpy()
        gamma = bn.weight.detach().float().cpu().numpy()
        beta = bn.bias.detach().float().cpu().numpy()
        mean = bn.running_mean.detach().float().cpu().numpy()
        scale = gamma / std
        return (w * scale[:, None, None, None]).astype(np.float32), (beta - mean * scale).astype(np.float32)

    def export(self, g: Graph, x: str) -> str:
        w, b = self.fused()
        p = self.k // 2
        y = g.op(
            "Conv",
            [x, g.const("w", w), g.const("b", b)],
            kernel_shape=[self.k, self.k],
            strides=[self.stride, self.stride],
            pads=[p, p, p, p],
        )
        return g.op("Relu", [y])


class Res(nn.Module):
    """x + CBR(x)."""

    def __init__(self, c: int):
        super().__init__()
        self.cbr = CBR(c, c, 3)

    def forward(self, x):
        return x + self.cbr(x)

    def export(self, g: Graph, x: str) -> str:
        return g.op("Add", [x, self.cbr.export(g, x)])


def conv_export(g: Graph, conv: nn.Conv2d, x: str) -> str:
    w = conv.weight.detach().float().cpu().numpy()
    b = conv.bias.detach().float().cpu().numpy()
    return g.op("Conv", [x, g.const("hw", w), g.const("hb", b)], kernel_shape=[1, 1])


class TinyDet(nn.Module):
    def __init__(self, nc: int, width=(16, 24, 40, 64)):
        super().__init__()
        c1, c2, c3, c4 = width
        self.nc = nc
        self.stem = CBR(3, c1, 3, 2)
        self.d2, self.b2 = CBR(c1, c2, 3, 2), Res(c2)
        self.d3, self.b3 = CBR(c2, c3, 3, 2), Res(c3)
        self.d4, self.b4, self.b4b = CBR(c3, c4, 3, 2), Res(c4), Res(c4)
        self.l43, self.n3 = CBR(c4, c3, 1), Res(c3)
        self.l32, self.n2 = CBR(c3, c2, 1), Res(c2)
        self.heads = nn.ModuleList(nn.Conv2d(c, 4 + nc, 1) for c in (c2, c3, c4))
        for h, s in zip(self.heads, STRIDES):
            nn.init.normal_(h.weight, std=0.01)
            nn.init.zeros_(h.bias)
            # Rare positives: start the class scores near 0.01.
            h.bias.data[4:] = -4.6

    def forward(self, x):
        """Raw head maps `[B, 4 + nc, H, W]` for strides 4, 8, 16."""
        x = self.stem(x)
        c2 = self.b2(self.d2(x))
        c3 = self.b3(self.d3(c2))
        c4 = self.b4b(self.b4(self.d4(c3)))
        p3 = self.n3(c3 + F.interpolate(self.l43(c4), scale_factor=2, mode="nearest"))
        p2 = self.n2(c2 + F.interpolate(self.l32(p3), scale_factor=2, mode="nearest"))
        return [h(p) for h, p in zip(self.heads, (p2, p3, c4))]

    def convs(self) -> list[tuple[nn.Conv2d, nn.BatchNorm2d | None]]:
        """Every convolution with its BatchNorm, in the order the export writes them."""
        cbrs = [self.stem, self.d2, self.b2.cbr, self.d3, self.b3.cbr, self.d4, self.b4.cbr, self.b4b.cbr]
        cbrs += [self.l43, self.n3.cbr, self.l32, self.n2.cbr]
        return [(c.conv, c.bn) for c in cbrs] + [(h, None) for h in self.heads]

    def load_onnx(self, path: str) -> None:
        """Loads the weights of a model this class exported (BatchNorm folded): each
        BatchNorm becomes the identity plus the folded bias, to be trained with its
        statistics frozen (`freeze_bn`). Needs the `onnx` package, or a `.npz` of the
        convolutions written by tools/onnx_weights.py."""
        if path.endswith(".npz"):
            import numpy as np

            arch = np.load(path)
            pairs = [(arch[f"w{k}"], arch[f"b{k}"]) for k in range(len(arch.files) // 2)]
        else:
            import onnx
            from onnx import numpy_helper

            graph = onnx.load(path).graph
            init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
            pairs = [(init[n.input[1]], init[n.input[2]]) for n in graph.node if n.op_type == "Conv"]
        mods = self.convs()
        if len(pairs) != len(mods):
            raise ValueError(f"{path}: {len(pairs)} convolutions, this TinyDet has {len(mods)}")
        with torch.no_grad():
            for (w, b), (conv, bn) in zip(pairs, mods):
                if tuple(w.shape) != tuple(conv.weight.shape):
                    raise ValueError(f"{path}: weight {w.shape} where this TinyDet has {tuple(conv.weight.shape)}")
                conv.weight.copy_(torch.from_numpy(w.copy()))
                if bn is None:
                    conv.bias.copy_(torch.from_numpy(b.copy()))
                else:
                    bn.weight.fill_(1.0)
                    bn.bias.copy_(torch.from_numpy(b.copy()))
                    bn.running_mean.zero_()
                    bn.running_var.fill_(1.0 - bn.eps)

    def freeze_bn(self) -> None:
        """BatchNorm layers use their running statistics (and keep them) in training too."""
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()

    def macs(self, size: int) -> int:
        """Multiply-accumulates of the convolutions for one `size` x `size` input."""
        total = 0

        def hook(mod, _inp, out):
            nonlocal total
            total += out.numel() * mod.kernel_size[0] * mod.kernel_size[1] * mod.in_channels // mod.groups

        hooks = [m.register_forward_hook(hook) for m in self.modules() if isinstance(m, nn.Conv2d)]
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                self(torch.zeros(1, 3, size, size, device=next(self.parameters()).device))
        finally:
            for h in hooks:
                h.remove()
            self.train(was_training)
        return total

    @staticmethod
    def grid(h: int, w: int, device=None):
        gy, gx = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
        return torch.stack([gx.reshape(-1), gy.reshape(-1)], 0).float()  # [2, HW]

    def decode(self, raw):
        """Raw maps -> `[B, 4 + nc, N]` (the exported output)."""
        outs = []
        for r, s in zip(raw, STRIDES):
            b, c, h, w = r.shape
            r = r.reshape(b, c, h * w).float()
            g = self.grid(h, w, r.device)[None]
            xy = (torch.sigmoid(r[:, 0:2]) * 2.0 - 0.5 + g) * s
            wh = torch.exp(r[:, 2:4].clamp(-6.0, 6.0)) * s
            outs.append(torch.cat([xy, wh, torch.sigmoid(r[:, 4:])], 1))
        return torch.cat(outs, 2)

    # ---- ONNX export ----

    def _head_export(self, g: Graph, x: str, head: nn.Conv2d, s: int, h: int, w: int) -> str:
        c = 4 + self.nc
        r = conv_export(g, head, x)
        r = g.op("Reshape", [r, g.const("shape", np.array([0, c, h * w], np.int64))])

        def sl(a, b):
            return g.op(
                "Slice",
                [
                    r,
                    g.const("st", np.array([a], np.int64)),
                    g.const("en", np.array([b], np.int64)),
                    g.const("ax", np.array([1], np.int64)),
                ],
            )

        grid = self.grid(h, w).numpy()[None].astype(np.float32)  # [1, 2, HW]
        xy = g.op("Sigmoid", [sl(0, 2)])
        xy = g.op("Mul", [xy, g.const("two", np.array(2.0, np.float32))])
        xy = g.op("Add", [xy, g.const("grid", grid - 0.5)])
        xy = g.op("Mul", [xy, g.const("stride", np.array(float(s), np.float32))])
        wh = g.op("Clip", [sl(2, 4), g.const("lo", np.array(-6.0, np.float32)), g.const("hi", np.array(6.0, np.float32))])
        wh = g.op("Exp", [wh])
        wh = g.op("Mul", [wh, g.const("stride", np.array(float(s), np.float32))])
        cls = g.op("Sigmoid", [sl(4, c)])
        return g.op("Concat", [xy, wh, cls], axis=1)

    def export_onnx(self, path: str, size: int, names: list[str]) -> None:
        """Writes the model with a dynamic batch and a fixed `size` x `size` input."""
        self.eval()
        g = Graph("touchline-tinydet")
        x = g.input("images", [None, 3, size, size])
        up = dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
        scales = np.array([1.0, 1.0, 2.0, 2.0], np.float32)

        def upsample(v):
            return g.op("Resize", [v, "", g.const("scales", scales)], **up)

        t = self.stem.export(g, x)
        c2 = self.b2.export(g, self.d2.export(g, t))
        c3 = self.b3.export(g, self.d3.export(g, c2))
        c4 = self.b4b.export(g, self.b4.export(g, self.d4.export(g, c3)))
        p3 = self.n3.export(g, g.op("Add", [c3, upsample(self.l43.export(g, c4))]))
        p2 = self.n2.export(g, g.op("Add", [c2, upsample(self.l32.export(g, p3))]))
        heads = []
        for head, p, s in zip(self.heads, (p2, p3, c4), STRIDES):
            heads.append(self._head_export(g, p, head, s, size // s, size // s))
        out = g.op("Concat", heads, axis=2)
        n = sum((size // s) ** 2 for s in STRIDES)
        g.output(out, "output0", [None, 4 + self.nc, n])
        g.metadata["names"] = str({i: n for i, n in enumerate(names)})
        g.metadata["imgsz"] = str([size, size])
        g.metadata["stride"] = str(max(STRIDES))
        g.metadata["task"] = "detect"
        g.metadata["description"] = "Touchline TinyDet (Ultralytics YOLO output layout)"
        with open(path, "wb") as f:
            f.write(g.to_bytes())
