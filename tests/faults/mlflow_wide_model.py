"""Writes to stdout an ONNX model that carries the shipped model's metadata (feature list, names,
threshold) but takes one feature more than the engine computes: the hot-swap test's model of the
wrong input shape. Usage: python mlflow_wide_model.py SHIPPED.onnx > wide.onnx"""

import sys

import onnx
from onnx import TensorProto, helper

shipped = onnx.load(sys.argv[1])
width = shipped.graph.input[0].type.tensor_type.shape.dim[1].dim_value + 1
graph = helper.make_graph(
    [helper.make_node("ReduceMax", ["features"], ["fraud_probability"], axes=[1], keepdims=0)],
    "wide",
    [helper.make_tensor_value_info("features", TensorProto.FLOAT, [None, width])],
    [helper.make_tensor_value_info("fraud_probability", TensorProto.FLOAT, [None])],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = shipped.ir_version
for prop in shipped.metadata_props:
    model.metadata_props.add(key=prop.key, value=prop.value)
sys.stdout.buffer.write(model.SerializeToString())
