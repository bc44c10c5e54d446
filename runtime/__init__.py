"""digitgen's runtime: generate digits from an exported model with onnxruntime (or LiteRT).

Imports only numpy, pillow, click and onnxruntime (ai-edge-litert for the tflite backend):
never TensorFlow, so it runs on a Raspberry Pi.
"""

__version__ = "0.2.0"

from digitgen.backends import ModelError  # noqa: E402
from digitgen.generator import DigitGenerator  # noqa: E402

__all__ = ["DigitGenerator", "ModelError", "__version__"]
