"""The two conversions: Keras generator -> ONNX (tf2onnx) and -> full-integer int8 TFLite."""

import numpy as np
import onnx
import tensorflow as tf
import tf2onnx

INPUT_NAME = "z"
OUTPUT_NAME = "images"
ONNX_OPSET = 17
# A fixed batch gives XNNPACK a static graph: measured here on 2 threads, batch 16 ran ~8,400
# images/s, batch 1 ~4,400, and a dynamic batch ~140. The runtime feeds it 16 latents at a time.
TFLITE_BATCH = 16


def to_onnx(generator, path, metadata):
    """Write an ONNX model with input `z` (N, latent) and output `images` (N, 28, 28, 1), N dynamic.

    tf2onnx's from_keras fails on Keras 3 models, so a tf.function with a signature is converted.
    """
    latent_dim = generator.input_shape[-1]

    @tf.function(input_signature=[tf.TensorSpec((None, latent_dim), tf.float32, name=INPUT_NAME)])
    def generate(z):
        return {OUTPUT_NAME: generator(z, training=False)}  # inference mode: batch norm's moving stats

    model, _ = tf2onnx.convert.from_function(
        generate, input_signature=generate.input_signature, opset=ONNX_OPSET
    )
    for value in (model.graph.input[0], model.graph.output[0]):  # name the dynamic batch axis
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    model.producer_name = "digitgen"
    onnx.helper.set_model_props(model, {key: str(value) for key, value in metadata.items()})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def to_tflite_int8(generator, path, calibration_latents):
    """Write a full-integer int8 TFLite model (int8 weights and activations, float32 in and out).

    Calibrated on N(0, 1) latents like the ones the runtime draws; fixed batch of TFLITE_BATCH.
    """
    latent_dim = generator.input_shape[-1]
    function = tf.function(lambda z: generator(z, training=False))
    concrete = function.get_concrete_function(
        tf.TensorSpec((TFLITE_BATCH, latent_dim), tf.float32, name=INPUT_NAME)
    )
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.representative_dataset = lambda: (
        [batch] for batch in batches(calibration_latents, TFLITE_BATCH)
    )
    path.write_bytes(converter.convert())


def batches(latents, size):
    """Consecutive batches of exactly `size` rows; the last one is padded with zeros."""
    for start in range(0, len(latents), size):
        batch = latents[start : start + size]
        if len(batch) < size:
            batch = np.concatenate([batch, np.zeros((size - len(batch),) + batch.shape[1:], batch.dtype)])
        yield batch
