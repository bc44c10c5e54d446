"""ONNX graph rewrite: each ConvTranspose becomes an ordinary Conv (and, for a stride over 1, a
DepthToSpace): sub-pixel convolution (Shi et al. 2016, arXiv 1609.07009).

Why: onnxruntime runs ConvTranspose as a GEMM into a column buffer plus Col2im, while Conv takes
its NCHWc fast path, which also fuses the per-channel scale, shift and activation that follow.
The arithmetic is the same sums in another order: parity against Keras stays within 1e-5.

A stride-s transposed convolution writes output pixel (s*m + a, s*n + b) from the input pixels
(m - d, n - e) through kernel taps chosen by the phase (a, b). One Conv computes all s*s phases
as s*s*C output channels; DepthToSpace (DCR) interleaves them into the s-times larger image. For
s = 1 this is a Conv with the kernel transposed and flipped, and no DepthToSpace.
"""

import numpy as np
import onnx
from onnx import helper, numpy_helper


def conv_transpose_as_conv(weight, stride, pads):
    """The Conv whose output, through DepthToSpace(stride, DCR), equals ConvTranspose(weight
    (Cin, Cout, k, k), stride, pads): (its kernel (s*s*Cout, Cin, kc, kc), its begin pad, kc)."""
    c_in, c_out, k, k_w = weight.shape
    if k != k_w:
        raise ValueError("square kernels only")
    s, pad_begin = stride, pads[0]
    # output pixel s*m + a takes input m - d through tap ky = s*d + a + pad_begin
    offsets = [(ky - a - pad_begin) // s for a in range(s) for ky in range(k) if (ky - a - pad_begin) % s == 0]
    d_min, d_max = min(offsets), max(offsets)
    size = d_max - d_min + 1
    kernel = np.zeros((s, s, c_out, c_in, size, size), dtype=weight.dtype)
    for a in range(s):
        for b in range(s):
            for u in range(size):
                for v in range(size):
                    ky, kx = s * (d_max - u) + a + pad_begin, s * (d_max - v) + b + pad_begin
                    if 0 <= ky < k and 0 <= kx < k:
                        kernel[a, b, :, :, u, v] = weight[:, :, ky, kx].T
    return kernel.reshape(s * s * c_out, c_in, size, size), d_max, size


def rewrite_conv_transposes(model):
    """Replace every 2-D ConvTranspose of `model` (square kernel, equal strides, no groups or
    dilation, no output_padding, input size known to shape inference) by Conv [+ DepthToSpace].
    Others are left as they are."""
    input_hw = conv_transpose_input_sizes(model)  # the end pads depend on the input's size
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        rewritable = node.op_type == "ConvTranspose" and node.input[0] in input_hw
        if not rewritable or not _simple(attributes, node, initializers):
            nodes.append(node)
            continue
        weight = numpy_helper.to_array(initializers[node.input[1]])
        stride, pads = attributes["strides"][0], list(attributes.get("pads", [0, 0, 0, 0]))
        kernel, pad_begin, size = conv_transpose_as_conv(weight, stride, pads)
        height, width = input_hw[node.input[0]]
        k = weight.shape[2]
        out_h = (height - 1) * stride + k - pads[0] - pads[2]
        out_w = (width - 1) * stride + k - pads[1] - pads[3]
        if out_h % stride or out_w % stride:
            nodes.append(node)
            continue
        # Conv output is (out / stride) per side: out/stride = H + begin + end - size + 1
        end_h = out_h // stride - height - pad_begin + size - 1
        end_w = out_w // stride - width - pad_begin + size - 1
        kernel_name = node.input[1] + "_subpixel"
        model.graph.initializer.append(numpy_helper.from_array(kernel, kernel_name))
        conv_inputs = [node.input[0], kernel_name]
        if len(node.input) > 2 and node.input[2]:  # a bias per output channel, repeated per phase
            bias = np.tile(numpy_helper.to_array(initializers[node.input[2]]), stride * stride)
            model.graph.initializer.append(numpy_helper.from_array(bias, node.input[2] + "_subpixel"))
            conv_inputs.append(node.input[2] + "_subpixel")
        conv_output = node.output[0] + ("_phases" if stride > 1 else "")
        nodes.append(helper.make_node(
            "Conv", conv_inputs, [conv_output], name=node.name + "_subpixel", kernel_shape=[size, size],
            pads=[pad_begin, pad_begin, end_h, end_w], strides=[1, 1]))
        if stride > 1:
            nodes.append(helper.make_node("DepthToSpace", [conv_output], [node.output[0]],
                                          name=node.name + "_depth_to_space", blocksize=stride, mode="DCR"))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _drop_unused_initializers(model)
    return model


def _simple(attributes, node, initializers):
    strides = attributes.get("strides", [1, 1])
    return (node.input[1] in initializers and len(strides) == 2 and strides[0] == strides[1]
            and attributes.get("group", 1) == 1 and set(attributes.get("dilations", [1, 1])) == {1}
            and not any(attributes.get("output_padding", [])) and "output_shape" not in attributes
            and attributes.get("auto_pad", b"NOTSET") in (b"NOTSET", "NOTSET")
            and (not (pads := attributes.get("pads")) or (pads[0] == pads[1] and pads[2] == pads[3])))


def _drop_unused_initializers(model):
    used = {name for node in model.graph.node for name in node.input}
    keep = [tensor for tensor in model.graph.initializer if tensor.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(keep)


def conv_transpose_input_sizes(model):
    """(H, W) of each ConvTranspose's input, from ONNX shape inference."""
    inferred = onnx.shape_inference.infer_shapes(model)
    shapes = {}
    for value in (*inferred.graph.value_info, *inferred.graph.input):
        dims = value.type.tensor_type.shape.dim
        if len(dims) == 4 and all(d.HasField("dim_value") for d in dims[2:]):
            shapes[value.name] = (dims[2].dim_value, dims[3].dim_value)
    return {node.input[0]: shapes[node.input[0]] for node in model.graph.node
            if node.op_type == "ConvTranspose" and node.input[0] in shapes}


ELEMENTWISE = {"LeakyRelu", "Relu", "Tanh", "Sigmoid"}
PER_CHANNEL = {"Mul", "Add"}


def sink_depth_to_space(model):
    """Move each DepthToSpace past the per-channel Mul/Add (batch norm) and the activation that
    follow it, so they come right after the Conv, where onnxruntime fuses them into it. A channel
    constant (1, C, 1, 1) becomes (1, s*s*C, 1, 1): DCR puts channel o of every phase at o mod C."""
    initializers = {tensor.name: tensor for tensor in model.graph.initializer}
    graph_outputs = {value.name for value in model.graph.output}
    moved = True
    while moved:
        moved = False
        consumers = {}
        for node in model.graph.node:
            for name in node.input:
                consumers.setdefault(name, []).append(node)
        for node in model.graph.node:
            if node.op_type != "DepthToSpace" or node.output[0] in graph_outputs:
                continue
            after = consumers.get(node.output[0], [])
            if len(after) != 1 or not _movable(after[0], node.output[0], initializers):
                continue
            nxt = after[0]
            block = next(helper.get_attribute_value(a) for a in node.attribute if a.name == "blocksize")
            if nxt.op_type in PER_CHANNEL:
                constant = nxt.input[1] if nxt.input[0] == node.output[0] else nxt.input[0]
                values = numpy_helper.to_array(initializers[constant])
                tiled = numpy_helper.from_array(np.tile(values, (1, block * block, 1, 1)), constant + "_phases")
                model.graph.initializer.append(tiled)
                initializers[tiled.name] = tiled
                nxt.input[list(nxt.input).index(constant)] = tiled.name
            # D2S(x) -> op  becomes  op(x) -> D2S: rewire names, keep the nodes' order valid
            source, middle, final = node.input[0], node.output[0], nxt.output[0]
            nxt.input[list(nxt.input).index(middle)] = source
            nxt.output[0] = middle
            node.input[0], node.output[0] = middle, final
            nodes = list(model.graph.node)
            i, j = nodes.index(node), nodes.index(nxt)
            nodes[i], nodes[j] = nxt, node
            del model.graph.node[:]
            model.graph.node.extend(nodes)
            moved = True
            break
    _drop_unused_initializers(model)
    return model


def _movable(node, name, initializers):
    if node.op_type in ELEMENTWISE:
        return True
    if node.op_type not in PER_CHANNEL or len(node.input) != 2:
        return False
    constant = node.input[1] if node.input[0] == name else node.input[0]
    return constant in initializers and len(initializers[constant].dims) == 4 and \
        list(initializers[constant].dims)[::2] == [1, 1] and list(initializers[constant].dims)[3] == 1
