#!/usr/bin/env python3
"""Writes mean_verifier.onnx: a ball verifier for tests whose "probability" is the mean of its
16x16 crop (input `crops` [N, 3, 16, 16], output `ball` [N, 1]), so that a test can predict
which balls it keeps. Needs the `onnx` package: python3 make_mean_verifier.py"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

x = helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["n", 3, 16, 16])
y = helper.make_tensor_value_info("ball", TensorProto.FLOAT, ["n", 1])
shape = numpy_helper.from_array(np.array([-1, 1], dtype=np.int64), "shape")
graph = helper.make_graph(
    [
        helper.make_node("ReduceMean", ["crops"], ["mean"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Reshape", ["mean", "shape"], ["ball"]),
    ],
    "mean_verifier",
    [x],
    [y],
    [shape],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(os.path.dirname(os.path.abspath(__file__)), "mean_verifier.onnx"))
