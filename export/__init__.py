"""Export side of digitgen: generator.keras -> ONNX and int8 TFLite, with verified parity."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off the console
