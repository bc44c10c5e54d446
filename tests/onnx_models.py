"""Tiny ONNX digit generators built with onnx.helper: real models onnxruntime runs, made in
milliseconds, so runtime tests need neither TensorFlow nor the shipped model."""

import json

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

from digitgen.contract import make_contract


def tiny_generator(path, conditional, latent_dim=8, contract_in_metadata=True, seed=0):
    """images = tanh(z @ W [+ T[digit]]) reshaped to (N, 28, 28, 1); T gives each digit its own look."""
    rng = np.random.default_rng(seed)
    initializers = [numpy_helper.from_array(rng.normal(0, 0.5, (latent_dim, 784)).astype(np.float32), "W"),
                    numpy_helper.from_array(np.array([-1, 28, 28, 1], np.int64), "shape")]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent_dim])]
    nodes = [helper.make_node("MatMul", ["z", "W"], ["noise_part"])]
    summed = "noise_part"
    if conditional:
        table = np.repeat(np.eye(10, dtype=np.float32) * 3, 79, axis=1)[:, :784] - 1
        initializers.append(numpy_helper.from_array(table, "T"))
        inputs.append(helper.make_tensor_value_info("digit", TensorProto.INT32, ["N"]))
        nodes += [helper.make_node("Gather", ["T", "digit"], ["digit_part"], axis=0),
                  helper.make_node("Add", ["noise_part", "digit_part"], ["summed"])]
        summed = "summed"
    nodes += [helper.make_node("Tanh", [summed], ["flat"]),
              helper.make_node("Reshape", ["flat", "shape"], ["images"])]
    graph = helper.make_graph(nodes, "tiny", inputs,
                              [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 28, 28, 1])],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if contract_in_metadata:
        helper.set_model_props(model, {"inputs": json.dumps(make_contract(latent_dim, conditional))})
    save(model, str(path))
    return path
