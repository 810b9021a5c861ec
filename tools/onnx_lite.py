"""A minimal ONNX writer: enough protobuf to write small convolutional graphs.

It needs only numpy, so the training script can export on a machine without the `onnx`
package (or a torch whose exporter wants `onnxscript`). The output is a standard ONNX file
(IR 8, opset 17) that ONNX Runtime, tract and the `onnx` checker read.

Usage:
    g = Graph("name")
    x = g.input("images", [None, 3, 640, 640])         # None = dynamic ("batch")
    w = g.const("w0", np.zeros((16, 3, 3, 3), np.float32))
    y = g.op("Conv", [x, w], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2])
    g.output(y, "output0", [None, 7, None])
    open("m.onnx", "wb").write(g.to_bytes())
"""

from __future__ import annotations

import struct

import numpy as np

IR_VERSION = 8
OPSET = 17

# TensorProto.DataType
FLOAT = 1
INT64 = 7

_DTYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.int64): INT64}


def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint((field << 3) | wire)


def _int(field: int, v: int) -> bytes:
    return _key(field, 0) + _varint(int(v))


def _bytes(field: int, b: bytes) -> bytes:
    return _key(field, 2) + _varint(len(b)) + b


def _str(field: int, s: str) -> bytes:
    return _bytes(field, s.encode("utf-8"))


def _float(field: int, f: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", float(f))


def tensor_proto(name: str, arr: np.ndarray) -> bytes:
    arr = np.ascontiguousarray(arr)
    if arr.dtype not in _DTYPES:
        raise TypeError(f"unsupported dtype {arr.dtype} for {name}")
    out = b"".join(_int(1, d) for d in arr.shape)
    out += _int(2, _DTYPES[arr.dtype])
    out += _str(8, name)
    out += _bytes(9, arr.astype(arr.dtype.newbyteorder("<")).tobytes())
    return out


def _attribute(name: str, v) -> bytes:
    out = _str(1, name)
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return out + _int(3, v) + _int(20, 2)
    if isinstance(v, float):
        return out + _float(2, v) + _int(20, 1)
    if isinstance(v, str):
        return out + _bytes(4, v.encode()) + _int(20, 3)
    if isinstance(v, np.ndarray):
        return out + _bytes(5, tensor_proto(name, v)) + _int(20, 4)
    if isinstance(v, (list, tuple)):
        if all(isinstance(x, int) for x in v):
            return out + b"".join(_int(8, x) for x in v) + _int(20, 7)
        return out + b"".join(_float(7, x) for x in v) + _int(20, 6)
    raise TypeError(f"attribute {name}: unsupported value {v!r}")


def _value_info(name: str, shape, elem=FLOAT) -> bytes:
    dims = b""
    for i, d in enumerate(shape):
        if d is None:
            dims += _bytes(1, _str(2, "batch" if i == 0 else f"d{i}"))
        elif isinstance(d, str):
            dims += _bytes(1, _str(2, d))
        else:
            dims += _bytes(1, _int(1, d))
    tensor_type = _int(1, elem) + _bytes(2, dims)
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


class Graph:
    def __init__(self, name: str):
        self.name = name
        self.nodes: list[bytes] = []
        self.inits: list[bytes] = []
        self.inputs: list[bytes] = []
        self.outputs: list[bytes] = []
        self.metadata: dict[str, str] = {}
        self._n = 0

    def fresh(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}_{self._n}"

    def input(self, name: str, shape) -> str:
        self.inputs.append(_value_info(name, shape))
        return name

    def const(self, name: str, arr: np.ndarray) -> str:
        name = self.fresh(name)
        self.inits.append(tensor_proto(name, np.asarray(arr)))
        return name

    def op(self, op_type: str, inputs, out: str | None = None, **attrs) -> str:
        out = out or self.fresh(op_type.lower())
        node = b"".join(_str(1, i) for i in inputs)
        node += _str(2, out)
        node += _str(3, self.fresh("n_" + op_type.lower()))
        node += _str(4, op_type)
        for k, v in attrs.items():
            node += _bytes(5, _attribute(k, v))
        self.nodes.append(node)
        return out

    def output(self, value: str, name: str, shape) -> str:
        """Marks `value` as a graph output called `name` (through an Identity)."""
        self.op("Identity", [value], out=name)
        self.outputs.append(_value_info(name, shape))
        return name

    def to_bytes(self, producer: str = "touchline-tools") -> bytes:
        graph = b"".join(_bytes(1, n) for n in self.nodes)
        graph += _str(2, self.name)
        graph += b"".join(_bytes(5, t) for t in self.inits)
        graph += b"".join(_bytes(11, i) for i in self.inputs)
        graph += b"".join(_bytes(12, o) for o in self.outputs)
        model = _int(1, IR_VERSION)
        model += _str(2, producer)
        model += _str(3, "1")
        model += _bytes(7, graph)
        model += _bytes(8, _str(1, "") + _int(2, OPSET))
        for k, v in self.metadata.items():
            model += _bytes(14, _str(1, k) + _str(2, str(v)))
        return model
