"""The export's ConvTranspose rewrite (sub-pixel convolution) computes what ConvTranspose does."""

import numpy as np
import onnx
import onnxruntime as ort
from hypothesis import given, settings, strategies as st
from onnx import TensorProto, helper, numpy_helper

from export.subpixel import rewrite_conv_transposes, sink_depth_to_space


def conv_transpose_model(weight, stride, pads, height, batch_norm=False):
    """x (1, Cin, H, H) -> ConvTranspose [-> Mul -> Add -> LeakyRelu] -> y."""
    c_in, c_out = weight.shape[:2]
    rng = np.random.default_rng(1)
    initializers = [numpy_helper.from_array(weight, "w")]
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["t"], strides=[stride, stride], pads=pads,
                              kernel_shape=list(weight.shape[2:]))]
    last = "t"
    side = (height - 1) * stride + weight.shape[2] - pads[0] - pads[2]
    if batch_norm:
        initializers += [numpy_helper.from_array(rng.uniform(0.5, 2, (1, c_out, 1, 1)).astype("float32"), "scale"),
                         numpy_helper.from_array(rng.normal(0, 1, (1, c_out, 1, 1)).astype("float32"), "shift")]
        nodes += [helper.make_node("Mul", ["t", "scale"], ["m"]), helper.make_node("Add", ["shift", "m"], ["a"]),
                  helper.make_node("LeakyRelu", ["a"], ["r"], alpha=0.3)]
        last = "r"
    nodes.append(helper.make_node("Identity", [last], ["y"]))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c_in, height, height])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, c_out, side, side])],
                              initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model, x):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]


def rewritten(model):
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    return sink_depth_to_space(rewrite_conv_transposes(copy))


@settings(max_examples=40, deadline=None)
@given(kernel=st.integers(1, 5), stride=st.integers(1, 3), begin=st.integers(0, 2), end=st.integers(0, 2),
       height=st.integers(2, 7), channels=st.tuples(st.integers(1, 4), st.integers(1, 4)), seed=st.integers(0, 99))
def test_the_rewrite_computes_the_same_as_conv_transpose(kernel, stride, begin, end, height, channels, seed):
    begin, end = min(begin, kernel - 1), min(end, kernel - 1)
    rng = np.random.default_rng(seed)
    weight = rng.normal(0, 1, (*channels, kernel, kernel)).astype("float32")
    model = conv_transpose_model(weight, stride, [begin, begin, end, end], height, batch_norm=seed % 2 == 0)
    x = rng.normal(0, 1, (1, channels[0], height, height)).astype("float32")
    new = rewritten(model)
    onnx.checker.check_model(new)
    out = (height - 1) * stride + kernel - begin - end
    ops = [node.op_type for node in new.graph.node]
    assert ("ConvTranspose" in ops) == (out % stride != 0)  # left alone only when phases do not tile
    np.testing.assert_allclose(run(new, x), run(model, x), atol=1e-5, rtol=0)


def test_the_parity_check_would_catch_an_unflipped_kernel(monkeypatch):
    """The comparison above can fail: the same rewrite with the kernel taps in the wrong order does."""
    import export.subpixel as subpixel

    original = subpixel.conv_transpose_as_conv
    monkeypatch.setattr(subpixel, "conv_transpose_as_conv",
                        lambda *args: (lambda k, p, s: (k[:, :, ::-1, ::-1].copy(), p, s))(*original(*args)))
    rng = np.random.default_rng(0)
    model = conv_transpose_model(rng.normal(0, 1, (3, 2, 5, 5)).astype("float32"), 2, [1, 1, 2, 2], 7)
    x = rng.normal(0, 1, (1, 3, 7, 7)).astype("float32")
    assert np.abs(run(rewritten(model), x) - run(model, x)).max() > 1e-2


def test_batch_norm_and_activation_move_next_to_the_conv():
    weight = np.random.default_rng(0).normal(0, 1, (3, 2, 5, 5)).astype("float32")
    ops = [node.op_type for node in rewritten(conv_transpose_model(weight, 2, [1, 1, 2, 2], 7, True)).graph.node]
    assert ops == ["Conv", "Mul", "Add", "LeakyRelu", "DepthToSpace", "Identity"]


def test_the_shipped_onnx_model_has_no_conv_transpose():
    from tests.helpers import ROOT

    ops = {node.op_type for node in onnx.load(ROOT / "artifacts" / "generator.onnx").graph.node}
    assert "ConvTranspose" not in ops and "DepthToSpace" in ops
