"""Export side of digitgen: generator.keras -> ONNX and int8 TFLite, with verified parity."""
