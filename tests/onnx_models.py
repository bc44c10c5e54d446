"""Tiny ONNX digit generators built with onnx.helper: real models onnxruntime runs, made in
milliseconds, so runtime tests need neither TensorFlow nor the shipped model."""

import json

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

from digitgen.contract import make_contract


def tiny_generator(path, conditional, latent_dim=8, contract_in_metadata=True, seed=0, batch="N",
                   nan=False):
    """images = tanh(z @ W [+ T[digit]]) reshaped to (N, 28, 28, 1); T gives each digit its own look.

    batch: "N" (dynamic) or a fixed number; nan: the output is NaN (a broken model)."""
    rng = np.random.default_rng(seed)
    initializers = [numpy_helper.from_array(rng.normal(0, 0.5, (latent_dim, 784)).astype(np.float32), "W"),
                    numpy_helper.from_array(np.array([-1, 28, 28, 1], np.int64), "shape")]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, latent_dim])]
    nodes = [helper.make_node("MatMul", ["z", "W"], ["noise_part"])]
    summed = "noise_part"
    if conditional:
        table = np.repeat(np.eye(10, dtype=np.float32) * 3, 79, axis=1)[:, :784] - 1
        initializers.append(numpy_helper.from_array(table, "T"))
        inputs.append(helper.make_tensor_value_info("digit", TensorProto.INT32, [batch]))
        nodes += [helper.make_node("Gather", ["T", "digit"], ["digit_part"], axis=0),
                  helper.make_node("Add", ["noise_part", "digit_part"], ["summed"])]
        summed = "summed"
    nodes.append(helper.make_node("Tanh", [summed], ["flat"]))
    if nan:  # log(tanh(x) - 3): every pixel NaN
        initializers.append(numpy_helper.from_array(np.array(3, np.float32), "three"))
        nodes += [helper.make_node("Sub", ["flat", "three"], ["below"]), helper.make_node("Log", ["below"], ["broken"])]
    nodes.append(helper.make_node("Reshape", ["broken" if nan else "flat", "shape"], ["images"]))
    graph = helper.make_graph(nodes, "tiny", inputs,
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 28, 28, 1])],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if contract_in_metadata:
        helper.set_model_props(model, {"inputs": json.dumps(make_contract(latent_dim, conditional, batch))})
    save(model, str(path))
    return path


def odd_input_model(path, dtype=TensorProto.FLOAT, latent_dim=8):
    """z (N, latent_dim) of any dtype -> its first 784 values as (N, 28, 28, 1): passes a shape check
    with a wrong dtype, or declares an absurd latent size without holding its weights."""
    initializers = [numpy_helper.from_array(np.array([0], np.int64), "start"),
                    numpy_helper.from_array(np.array([784], np.int64), "end"),
                    numpy_helper.from_array(np.array([1], np.int64), "axis"),
                    numpy_helper.from_array(np.array([-1, 28, 28, 1], np.int64), "shape")]
    nodes = [helper.make_node("Slice", ["z", "start", "end", "axis"], ["flat"]),
             helper.make_node("Cast", ["flat"], ["float"], to=TensorProto.FLOAT),
             helper.make_node("Reshape", ["float", "shape"], ["images"])]
    graph = helper.make_graph(nodes, "odd", [helper.make_tensor_value_info("z", dtype, ["N", latent_dim])],
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 28, 28, 1])],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, str(path))
    return path
