"""The exported ONNX graph run by numpy alone: the backend for machines without onnxruntime
(32-bit Raspberry Pi OS has no onnxruntime wheel or package).

Export writes the graph as JSON (generator_numpy.json: its inputs, outputs, nodes and their
attributes, in ONNX's order and with ONNX's names) beside the ONNX model; the weights are not
copied: each initializer names its bytes in the ONNX model's own weights file
(generator.onnx.data), small ones are written inline. Each node runs as the ONNX operator of its
name does (opset 17 semantics), from the table OPS below; a graph with an operator not in it is
refused when it is loaded, not half-way through a run.
"""

import json
from pathlib import Path

import numpy as np

GRAPH_FORMAT = "digitgen-numpy-graph/1"
DTYPES = {"float32": np.float32, "float64": np.float64, "int32": np.int32, "int64": np.int64,
          "bool": np.bool_, "uint8": np.uint8, "int8": np.int8}
# ONNX TensorProto data types (Cast's `to`) as numpy types
ONNX_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64}


class GraphError(Exception):
    """A graph file this module cannot run: unreadable, malformed, or with an unknown operator."""


class NumpyGraph:
    """A loaded graph: run(feed {input name: array}) -> {output name: array}. Nothing it holds
    changes during a run, so one graph serves several threads at once."""

    def __init__(self, path):
        path = Path(path)
        try:
            spec = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise GraphError(f"{path}: not a readable numpy graph ({type(error).__name__}: {error})") from None
        if not isinstance(spec, dict) or spec.get("format") != GRAPH_FORMAT:
            raise GraphError(f"{path}: not a {GRAPH_FORMAT} file")
        try:
            self.inputs = {item["name"]: item for item in spec["inputs"]}
            self.outputs = [item["name"] for item in spec["outputs"]]
            self.output_shapes = {item["name"]: item["shape"] for item in spec["outputs"]}
            self.nodes = [(node["op"], node["inputs"], node["outputs"], node.get("attributes", {}))
                          for node in spec["nodes"]]
            weights_file = path.parent / spec["weights"] if spec.get("weights") else None
            self.constants = {name: _constant(entry, weights_file) for name, entry in spec["initializers"].items()}
        except (KeyError, TypeError, ValueError, OSError) as error:
            raise GraphError(f"{path}: malformed numpy graph ({type(error).__name__}: {error})") from None
        unknown = sorted({op for op, *_ in self.nodes} - set(OPS))
        if unknown:
            raise GraphError(f"{path}: the numpy backend cannot run operator(s) {', '.join(unknown)}; "
                             f"use --backend onnx")
        self.last_use = _last_uses(self.nodes, self.outputs)

    def run(self, feed):
        values = {**self.constants, **feed}
        for index, (op, inputs, outputs, attributes) in enumerate(self.nodes):
            results = OPS[op]([values[name] if name else None for name in inputs], **attributes)
            values.update(zip(outputs, results))
            for name in inputs:  # intermediate results go as soon as nothing reads them again
                if self.last_use.get(name) == index and name not in self.constants:
                    values.pop(name, None)
        return {name: values[name] for name in self.outputs}


def _constant(entry, weights_file):
    dtype, shape = np.dtype(DTYPES[entry["dtype"]]).newbyteorder("<"), tuple(entry["shape"])
    if "values" in entry:
        array = np.array(entry["values"], dtype=dtype).reshape(shape)
    else:
        count = int(np.prod(shape, dtype=np.int64))
        if weights_file is None or entry["length"] != count * dtype.itemsize:
            raise ValueError(f"initializer of {count} {entry['dtype']} values but {entry['length']} bytes")
        array = np.fromfile(weights_file, dtype=dtype, count=count, offset=entry["offset"])
        if array.size != count:
            raise ValueError(f"{weights_file.name} ends inside an initializer")
        array = array.reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _last_uses(nodes, outputs):
    last = {}
    for index, (_, inputs, _, _) in enumerate(nodes):
        for name in inputs:
            last[name] = index
    for name in outputs:
        last[name] = len(nodes)  # never dropped
    return last


# --- the operators: each takes its inputs as a list (None for an omitted optional one) and the
# node's attributes as keywords, and returns a tuple of outputs.

def _elementwise(function):
    return lambda inputs: (function(*inputs),)


def _cast(inputs, to):
    return (inputs[0].astype(ONNX_DTYPES[to]),)


def _gather(inputs, axis=0):
    data, indices = inputs
    return (np.take(data, indices.astype(np.intp), axis=axis),)  # intp: int32 on 32-bit ARM, where int64 is refused


def _concat(inputs, axis):
    return (np.concatenate(inputs, axis=axis),)


def _reshape(inputs, allowzero=0):
    data, shape = inputs
    shape = [int(size) for size in shape]
    if not allowzero:  # 0 copies the input's size at that axis
        shape = [data.shape[axis] if size == 0 else size for axis, size in enumerate(shape)]
    return (data.reshape(shape),)


def _transpose(inputs, perm=None):
    return (np.transpose(inputs[0], perm),)


def _flatten(inputs, axis=1):
    data = inputs[0]
    rows = int(np.prod(data.shape[:axis], dtype=np.int64))
    return (data.reshape(rows, -1),)


def _gemm(inputs, alpha=1.0, beta=1.0, transA=0, transB=0):
    a, b = inputs[0], inputs[1]
    a, b = (a.T if transA else a), (b.T if transB else b)
    result = np.matmul(a, b)
    if alpha != 1.0:
        result = result * np.float32(alpha)
    if len(inputs) > 2 and inputs[2] is not None:
        result = result + (inputs[2] if beta == 1.0 else inputs[2] * np.float32(beta))
    return (result,)


def _leaky_relu(inputs, alpha=0.01):
    x = inputs[0]
    return (np.where(x >= 0, x, x * x.dtype.type(alpha)),)


def _relu(inputs):
    return (np.maximum(inputs[0], inputs[0].dtype.type(0)),)


def _sigmoid(inputs):
    x = inputs[0]
    return ((1 / (1 + np.exp(-x))).astype(x.dtype, copy=False),)


def _batch_normalization(inputs, epsilon=1e-5, momentum=None, training_mode=0):
    x, scale, bias, mean, variance = inputs
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = scale / np.sqrt(variance + x.dtype.type(epsilon))
    return (x * scale.reshape(shape) + (bias - mean * scale).reshape(shape),)


def _conv(inputs, kernel_shape=None, strides=None, pads=None, dilations=None, group=1, auto_pad="NOTSET"):
    """2-D convolution, NCHW, one group, no dilation: one matrix product per kernel tap, summed;
    memory grows with the output, not with the taps (as an im2col buffer would)."""
    x, weight = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    if x.ndim != 4 or group != 1 or any(d != 1 for d in dilations or ()) or auto_pad not in ("NOTSET", ""):
        raise GraphError("the numpy backend runs 2-D convolutions without groups, dilation or auto_pad only")
    out_channels, _, kh, kw = weight.shape
    sh, sw = strides or (1, 1)
    top, left, bottom, right = pads or (0, 0, 0, 0)
    padded = np.pad(x.transpose(0, 2, 3, 1), ((0, 0), (top, bottom), (left, right), (0, 0)))
    n, height, width, channels = padded.shape
    out_h, out_w = (height - kh) // sh + 1, (width - kw) // sw + 1
    out = np.zeros((n * out_h * out_w, out_channels), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            tap = padded[:, i : i + sh * (out_h - 1) + 1 : sh, j : j + sw * (out_w - 1) + 1 : sw, :]
            out += tap.reshape(-1, channels) @ weight[:, :, i, j].T
    if bias is not None:
        out += bias
    return (out.reshape(n, out_h, out_w, out_channels).transpose(0, 3, 1, 2),)


def _depth_to_space(inputs, blocksize, mode="DCR"):
    x = inputs[0]
    n, channels, height, width = x.shape
    b = blocksize
    if mode == "DCR":
        blocks = x.reshape(n, b, b, channels // (b * b), height, width).transpose(0, 3, 4, 1, 5, 2)
    else:  # CRD
        blocks = x.reshape(n, channels // (b * b), b, b, height, width).transpose(0, 1, 4, 2, 5, 3)
    return (blocks.reshape(n, channels // (b * b), height * b, width * b),)


def _identity(inputs):
    return (inputs[0],)


OPS = {
    "Add": _elementwise(np.add),
    "Sub": _elementwise(np.subtract),
    "Mul": _elementwise(np.multiply),
    "Less": _elementwise(np.less),
    "Greater": _elementwise(np.greater),
    "Equal": _elementwise(np.equal),
    "Not": _elementwise(np.logical_not),
    "And": _elementwise(np.logical_and),
    "Or": _elementwise(np.logical_or),
    "Where": _elementwise(np.where),
    "Tanh": _elementwise(np.tanh),
    "MatMul": _elementwise(np.matmul),
    "Cast": _cast,
    "Gather": _gather,
    "Concat": _concat,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "Flatten": _flatten,
    "Gemm": _gemm,
    "LeakyRelu": _leaky_relu,
    "Relu": _relu,
    "Sigmoid": _sigmoid,
    "BatchNormalization": _batch_normalization,
    "Conv": _conv,
    "DepthToSpace": _depth_to_space,
    "Identity": _identity,
}
