"""Export side of digitgen: generator.keras -> ONNX and int8 TFLite, with verified parity.

Runs from a checkout; needs the `export` extra, which `python -m export` checks when it starts.
"""
