"""TinyDet: a small single-stage, anchor-free, YOLO-style detector in plain PyTorch, and its
export to ONNX in the Ultralytics YOLO layout.

Network: a 4-stage strided backbone (strides 2, 4, 8, 16), a top-down neck (nearest 2x
upsampling + lateral adds), and 1x1 heads on strides 4, 8 and 16 (stride 4 is what sees a
2-3 px ball). Each head cell predicts `tx ty tw th` and one logit per class.

Decoding (in the exported graph: `TinyDet.decode`, exported with the network by
`torch.onnx.export`):
    cx = (gx + 2 * sigmoid(tx) - 0.5) * stride      (continuous input pixels)
    cy = (gy + 2 * sigmoid(ty) - 0.5) * stride
    w  = exp(clip(tw, -6, 6)) * stride
    h  = exp(clip(th, -6, 6)) * stride
    scores = sigmoid(class logits)
Output `[batch, 4 + nc, N]` with N = sum of H*W over the heads: the Ultralytics export layout
(box centre and size in input pixels, class scores, no objectness).
"""

from __future__ import annotations

import io
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDES = (4, 8, 16)
# ONNX opset of the export (IR 8): what tract and ONNX Runtime >= 1.20 read.
OPSET = 17


class CBR(nn.Module):
    """Conv + BatchNorm + ReLU (the exporter folds the BatchNorm into the conv)."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Res(nn.Module):
    """x + CBR(x)."""

    def __init__(self, c: int):
        super().__init__()
        self.cbr = CBR(c, c, 3)

    def forward(self, x):
        return x + self.cbr(x)


class TinyDet(nn.Module):
    def __init__(self, nc: int, width=(16, 24, 40, 64)):
        super().__init__()
        c1, c2, c3, c4 = width
        self.nc = nc
        self.width = tuple(width)
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

    def decode(self, raw, grids=None):
        """Raw maps -> `[B, 4 + nc, N]` (the exported output). `grids`: the cell grid of each
        head (`grid`), when the input size is fixed (the export: constants in the graph)."""
        outs = []
        for k, (r, s) in enumerate(zip(raw, STRIDES)):
            _, c, h, w = r.shape
            g = self.grid(h, w, r.device) if grids is None else grids[k]
            # -1 and constants (not the traced shape): the export then declares
            # `[batch, 4 + nc, N]`.
            r = r.reshape(-1, 4 + self.nc, g.shape[1]).float()
            g = g[None]
            xy = (torch.sigmoid(r[:, 0:2]) * 2.0 - 0.5 + g) * s
            wh = torch.exp(r[:, 2:4].clamp(-6.0, 6.0)) * s
            outs.append(torch.cat([xy, wh, torch.sigmoid(r[:, 4:])], 1))
        return torch.cat(outs, 2)

    # ---- ONNX export ----

    def export_onnx(self, path: str, size: int, names: list[str]) -> None:
        """Writes the model with a dynamic batch and a fixed `size` x `size` input, through
        `torch.onnx.export` (the TorchScript exporter: it needs no `onnxscript`, and folds
        each BatchNorm into its convolution), with its output shape declared
        (`declared_shapes`) and the Ultralytics metadata (`names`, `imgsz`, `stride`,
        `task`)."""
        was_training = self.training
        self.eval()
        buf = io.BytesIO()
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(
                    _Decoded(self, size),
                    (torch.zeros(1, 3, size, size, device=next(self.parameters()).device),),
                    buf,
                    dynamo=False,
                    opset_version=OPSET,
                    input_names=["images"],
                    output_names=["output0"],
                    dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
                    do_constant_folding=True,
                )
        finally:
            self.train(was_training)
        model = declared_shapes(buf.getvalue())
        meta = {
            "names": str({i: n for i, n in enumerate(names)}),
            "imgsz": str([size, size]),
            "stride": str(max(STRIDES)),
            "task": "detect",
            "description": "Touchline TinyDet (Ultralytics YOLO output layout)",
        }
        with open(path, "wb") as f:
            f.write(model + metadata_props(meta))


def save_checkpoint(net: TinyDet, path: str, size: int, names: list[str]) -> None:
    """The trained weights with what an export needs (`load_checkpoint`, then
    `export_onnx`): for a machine without the `onnx` package, which torch's exporter needs."""
    torch.save(
        {
            "state_dict": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "width": list(net.width),
            "names": list(names),
            "export_size": size,
        },
        path,
    )


def load_checkpoint(path: str) -> tuple[TinyDet, int, list[str]]:
    """A `save_checkpoint` file: the network (eval mode), its export size and class names."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    net = TinyDet(len(ck["names"]), width=tuple(ck["width"]))
    net.load_state_dict(ck["state_dict"])
    return net.eval(), int(ck["export_size"]), list(ck["names"])


def onnx_parity(net: TinyDet, path: str, x: torch.Tensor) -> dict | None:
    """The largest differences between the exported model under ONNX Runtime and the network
    on the input `x`: scores and box values (pixels); None without `onnxruntime`."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    net = net.cpu().float().eval()
    with torch.no_grad():
        ref = net.decode(net(x.cpu())).numpy()
    got = sess.run(None, {"images": x.cpu().numpy()})[0]
    return {
        "onnxruntime": ort.__version__,
        "max_abs_diff_scores": float(abs(got[:, 4:] - ref[:, 4:]).max()),
        "max_abs_diff_boxes_px": float(abs(got[:, :4] - ref[:, :4]).max()),
    }


class _Decoded(nn.Module):
    """The network and its decoding in one forward, for a `size` x `size` input: what the
    exported graph computes (the cell grids are constants)."""

    def __init__(self, net: TinyDet, size: int):
        super().__init__()
        self.net = net
        device = next(net.parameters()).device
        self.grids = [TinyDet.grid(size // s, size // s, device) for s in STRIDES]

    def forward(self, x):
        return self.net.decode(self.net(x), self.grids)


def declared_shapes(model: bytes) -> bytes:
    """The exporter names every dimension of the output (`Concatoutput0_dim_1`); ONNX shape
    inference declares the real ones (`[batch, 4 + nc, N]`), so that capture checks a model
    against its configured classes before running it. Needs the `onnx` package; without it
    the model is returned as it is (capture then checks the output on a trial run)."""
    try:
        import onnx
    except ImportError:
        return model
    inferred = onnx.shape_inference.infer_shapes(onnx.load_from_string(model), strict_mode=True)
    # Only the outputs: the inner tensors' shapes would tie a run-time batch to the symbol.
    del inferred.graph.value_info[:]
    onnx.checker.check_model(inferred)
    return inferred.SerializeToString()


def metadata_props(entries: dict[str, str]) -> bytes:
    """`ModelProto.metadata_props` (field 14, `StringStringEntryProto` key 1, value 2) as
    protobuf bytes. A protobuf message may carry its fields in any order, so appending these
    to an exported model adds the entries without the `onnx` package."""

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            b, n = n & 0x7F, n >> 7
            out.append(b | 0x80 if n else b)
            if not n:
                return bytes(out)

    def field(num: int, payload: bytes) -> bytes:
        return varint((num << 3) | 2) + varint(len(payload)) + payload

    return b"".join(
        field(14, field(1, k.encode()) + field(2, v.encode())) for k, v in entries.items()
    )
