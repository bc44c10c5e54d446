"""The two conversions: Keras generator -> ONNX (tf2onnx) and -> full-integer int8 TFLite."""

import contextlib
import json
import logging
import warnings
from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

from digitgen.contract import DIGIT, NOISE
from digitgen.quiet import native_chatter_silenced
from export.subpixel import rewrite_conv_transposes, sink_depth_to_space

OUTPUT_NAME = "images"
DATA_SUFFIX = ".data"  # generator.onnx keeps its weights in generator.onnx.data
ONNX_OPSET = 17
# A fixed batch gives XNNPACK a static graph: measured on an earlier machine on 2 threads, batch 16
# ran ~8,400 images/s, batch 1 ~4,400, and a dynamic batch ~140 (on the 2-core AVX2 machine of the
# README's performance table: ~1,300-1,500 at batch 16). The runtime feeds it 16 latents at a time.
TFLITE_BATCH = 16


def input_specs(contract, batch):
    """tf.TensorSpecs in the generator's input order (noise, then digit), named as the contract says."""
    return [tf.TensorSpec([batch] + spec["shape"][1:], spec["dtype"], name=spec["name"])
            for role, spec in contract.items()]


def to_onnx(generator, path, contract, metadata):
    """Write an ONNX model with the contract's inputs and output `images` (N, 28, 28, 1), N dynamic,
    its weights in `path` + DATA_SUFFIX.

    tf2onnx's from_keras fails on Keras 3 models, so a tf.function with a signature is converted.
    The contract travels in the model's metadata (key "inputs"), so a bare .onnx file says how to feed it.
    """

    @tf.function(input_signature=input_specs(contract, None))
    def generate(*inputs):
        inputs = list(inputs) if len(inputs) > 1 else inputs[0]
        return {OUTPUT_NAME: generator(inputs, training=False)}  # inference mode: batch norm's moving stats

    model, _ = tf2onnx.convert.from_function(
        generate, input_signature=generate.input_signature, opset=ONNX_OPSET
    )
    for value in (*model.graph.input, *model.graph.output):  # name the dynamic batch axis
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    # ConvTranspose -> Conv + DepthToSpace, batch norm and activation next to the Conv: the runtime's
    # fast path (measured in benchmarks.runtime); parity against Keras is checked as for any export
    model = sink_depth_to_space(rewrite_conv_transposes(model))
    model.producer_name = "digitgen"
    props = {key: str(value) for key, value in metadata.items()}
    props["inputs"] = json.dumps(contract)
    onnx.helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    # The weights in a file beside the graph: onnxruntime maps it instead of parsing and copying
    # them; measured on a bare session here: peak 91 -> 81 MiB, load 60 -> 30 ms.
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location=path.name + DATA_SUFFIX, size_threshold=1024)
    Path(str(path) + DATA_SUFFIX).chmod(0o644)  # onnx creates it private; it ships like the graph


def to_tflite_int8(generator, path, contract, calibration):
    """Write a full-integer int8 TFLite model (int8 weights and activations, float32 noise in and
    images out, the digit stays int32), fixed batch of TFLITE_BATCH.

    `calibration`: {role: array} of inputs like the runtime's: N(0, 1) latents and, for a
    conditional model, every digit equally often, so each digit's activations set the ranges.
    """
    function = tf.function(lambda *inputs: generator(list(inputs) if len(inputs) > 1 else inputs[0],
                                                     training=False))
    concrete = function.get_concrete_function(*input_specs(contract, TFLITE_BATCH))
    with converter_quieted():
        # Without trackable_obj: the converter's newer saved-model path fails on the conditional
        # graph (CONCATENATION "3 != 1" at calibration); this path warns it is deprecated.
        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.representative_dataset = lambda: (
            [batch[role] for role in contract] for batch in batches(calibration, TFLITE_BATCH)
        )
        model = converter.convert()
    path.write_bytes(model)


@contextlib.contextmanager
def converter_quieted():
    """The TFLite converter's known notices off the console: its deprecation line (absl logging),
    its settings line (native stderr), and the warning that the int32 digit input has no
    quantization statistics (it is rightly left unquantized)."""
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)
    try:
        with native_chatter_silenced(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Statistics for quantized inputs were expected")
            yield
    finally:
        absl_logger.setLevel(level)


def batches(arrays, size):
    """Consecutive batches of exactly `size` rows of each array in {role: array}; the last is zero-padded."""
    total = len(next(iter(arrays.values())))
    for start in range(0, total, size):
        batch = {}
        for role, array in arrays.items():
            part = array[start : start + size]
            if len(part) < size:
                part = np.concatenate([part, np.zeros((size - len(part),) + part.shape[1:], part.dtype)])
            batch[role] = part
        yield batch


def calibration_inputs(contract, n, seed):
    """Inputs drawn as the runtime draws them: N(0, 1) noise; digits 0-9 in turn, each equally often."""
    latent_dim = contract[NOISE]["shape"][-1]
    arrays = {NOISE: np.random.default_rng(seed).standard_normal((n, latent_dim), dtype=np.float32)}
    if DIGIT in contract:
        arrays[DIGIT] = (np.arange(n) % contract[DIGIT]["classes"]).astype(contract[DIGIT]["dtype"])
    return arrays
