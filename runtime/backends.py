"""The two inference engines behind one small interface: run(latents) -> float images."""

import os
import threading

import numpy as np


class ModelError(Exception):
    """A model that cannot be used: missing, corrupt, tampered, or of the wrong shape."""


class BackendMissing(ModelError):
    """The engine for a backend is not installed."""


class OnnxBackend:
    """onnxruntime on the CPU. One session, reused; its run() is safe from several threads."""

    name = "onnx"

    def __init__(self, path, threads=None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0: onnxruntime's own choice, one per core
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn a core between calls; an embedded generator mostly waits.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own types for every kind of bad file
            raise ModelError(f"{path}: not a loadable ONNX model ({_first_line(error)})") from None
        (model_input,), (model_output,) = self.session.get_inputs(), self.session.get_outputs()
        self.input_name, self.output_name = model_input.name, model_output.name
        self.input_shape, self.output_shape = model_input.shape, model_output.shape
        self.version = ort.__version__

    def run(self, latents):
        return self.session.run([self.output_name], {self.input_name: latents})[0]


class TFLiteBackend:
    """LiteRT (ai-edge-litert) with XNNPACK. Its interpreter is not thread-safe: calls take a lock."""

    name = "tflite"

    def __init__(self, path, threads=None):
        try:
            from ai_edge_litert.interpreter import Interpreter
            from ai_edge_litert import __version__ as version
        except ImportError:
            raise BackendMissing(
                "--backend tflite needs ai-edge-litert: pip install 'digitgen[tflite]'"
            ) from None
        try:
            self.interpreter = Interpreter(
                model_path=str(path), num_threads=threads or os.cpu_count() or 1
            )
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"{path}: not a loadable TFLite model ({_first_line(error)})") from None
        (model_input,) = self.interpreter.get_input_details()
        (model_output,) = self.interpreter.get_output_details()
        self.input_index, self.output_index = model_input["index"], model_output["index"]
        self.input_name, self.output_name = model_input["name"], model_output["name"]
        self.input_shape = model_input["shape"].tolist()
        self.output_shape = model_output["shape"].tolist()
        self.batch = self.input_shape[0]  # the model is exported with a fixed batch
        self.version = version
        self.lock = threading.Lock()

    def run(self, latents):
        n = len(latents)
        padded = -n % self.batch
        if padded:  # each image depends on its own latent only, so zero rows change nothing else
            latents = np.concatenate([latents, np.zeros((padded, latents.shape[1]), latents.dtype)])
        outputs = []
        with self.lock:
            for start in range(0, len(latents), self.batch):
                self.interpreter.set_tensor(self.input_index, latents[start : start + self.batch])
                self.interpreter.invoke()
                outputs.append(self.interpreter.get_tensor(self.output_index))
        return np.concatenate(outputs)[:n]


BACKENDS = {"onnx": OnnxBackend, "tflite": TFLiteBackend}


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
