"""generator_numpy.json: the exported ONNX graph written out for digitgen's numpy backend, which
runs where onnxruntime does not (digitgen.numpy_graph reads it).

Derived from the ONNX model as saved: the same nodes, names and attributes; initializers stored in
the ONNX weights file are named by their offset and length there (not copied), small ones inline.
"""

import json
from pathlib import Path

import onnx
from onnx import helper, numpy_helper

from digitgen.numpy_graph import GRAPH_FORMAT

ELEMENT_TYPES = {1: "float32", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 9: "bool", 11: "float64"}


class UnsupportedGraph(Exception):
    """An ONNX graph the numpy graph format cannot describe."""


def write_numpy_graph(onnx_path, out_path):
    """Describe the ONNX model at onnx_path (weights external or inline) in out_path."""
    onnx_path, out_path = Path(onnx_path), Path(out_path)
    model = onnx.load(str(onnx_path), load_external_data=False)
    graph = model.graph
    initializers, weights = {}, set()
    for tensor in graph.initializer:
        initializers[tensor.name], location = _initializer(tensor)
        weights.update([location] if location else [])
    nodes = []
    for node in graph.node:
        if node.op_type == "Constant":  # a constant node is an initializer by another name
            (attribute,) = node.attribute
            initializers[node.output[0]] = _inline(numpy_helper.to_array(attribute.t))
            continue
        nodes.append({"op": node.op_type, "inputs": list(node.input), "outputs": list(node.output),
                      "attributes": {a.name: _attribute(a, node) for a in node.attribute}})
    if len(weights) > 1:
        raise UnsupportedGraph(f"{onnx_path}: weights in several files ({', '.join(sorted(weights))})")
    spec = {
        "format": GRAPH_FORMAT,
        "source": onnx_path.name,
        "weights": weights.pop() if weights else None,
        "inputs": [_value_info(item) for item in graph.input if item.name not in initializers],
        "outputs": [_value_info(item) for item in graph.output],
        "initializers": initializers,
        "nodes": nodes,
    }
    out_path.write_text(json.dumps(spec, indent=1) + "\n")


def _initializer(tensor):
    """(its entry, the weights file it lives in or None)."""
    if tensor.data_location != onnx.TensorProto.EXTERNAL:
        return _inline(numpy_helper.to_array(tensor)), None
    where = {entry.key: entry.value for entry in tensor.external_data}
    entry = {"dtype": _dtype(tensor.data_type, tensor.name), "shape": list(tensor.dims),
             "offset": int(where.get("offset", 0)), "length": int(where["length"])}
    return entry, where["location"]


def _inline(array):
    return {"dtype": array.dtype.name, "shape": list(array.shape), "values": array.ravel().tolist()}


def _attribute(attribute, node):
    value = helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, list) and all(isinstance(item, (int, float)) for item in value):
        return list(value)
    raise UnsupportedGraph(f"{node.op_type} node {node.name!r}: attribute {attribute.name!r} is not a "
                           "number, a string or a list of numbers")


def _value_info(item):
    tensor = item.type.tensor_type
    shape = [dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None) for dim in tensor.shape.dim]
    return {"name": item.name, "dtype": _dtype(tensor.elem_type, item.name), "shape": shape}


def _dtype(element_type, name):
    if element_type not in ELEMENT_TYPES:
        raise UnsupportedGraph(f"{name}: ONNX element type {element_type} has no numpy counterpart here")
    return ELEMENT_TYPES[element_type]
