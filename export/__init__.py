"""Export side of digitgen: generator.keras -> ONNX and int8 TFLite, with verified parity.

Runs from a checkout; needs the `export` extra (without it: one line naming it, exit 2).
"""

from train import require_extra

require_extra("export", ("tf2onnx", "onnx", "ai_edge_litert"))
