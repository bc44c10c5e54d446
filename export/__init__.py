"""Export side of digitgen: generator.keras -> ONNX and int8 TFLite, with verified parity.

Runs from a checkout; needs the `export` extra (without it: one line naming it, exit 2).
"""

import os

# tf2onnx and the TFLite converter read TensorFlow graphs: export runs Keras on TensorFlow, whatever
# backend trained the generator (a .keras file loads under either).
os.environ["KERAS_BACKEND"] = "tensorflow"

from train import require_extra  # noqa: E402

require_extra("export", ("tf2onnx", "onnx", "ai_edge_litert"))
