"""The two inference engines behind one small interface: run(latents, digits=None) -> float images.

Each engine feeds its model as the model's input contract says (digitgen.contract): from the
manifest when there is one, else from the model file itself.
"""

import os
import re
import threading
from pathlib import Path

import numpy as np

from digitgen.contract import DIGIT, NOISE, parse_contract
from digitgen.messages import first_line
from digitgen.session_cache import OptimizedGraph


ONNX_TYPES = {"float32": "tensor(float)", "int32": "tensor(int32)", "int64": "tensor(int64)"}


class ModelError(Exception):
    """A model that cannot be used: missing, corrupt, tampered, or of the wrong shape."""


class BackendMissing(ModelError):
    """The engine for a backend is not installed."""


class Engine:
    """What both engines share: the contract, and turning (latents, digits) into named inputs.
    Each engine says in `graph` how it prepared the model's graph (for `digitgen info`)."""

    def _bind(self, contract, declared):
        """Match the contract to the model's declared inputs {name: shape}; fills input_shape."""
        for role, spec in contract.items():
            if spec["name"] not in declared:
                raise ModelError(f"{self.path}: its contract names input {spec['name']!r}, "
                                 f"the model has {sorted(declared)}")
        if set(declared) != {spec["name"] for spec in contract.values()}:
            raise ModelError(f"{self.path}: inputs {sorted(declared)} do not match its contract")
        self.contract = contract
        self.input_name = contract[NOISE]["name"]
        self.input_shape = list(declared[self.input_name])
        self.conditional = DIGIT in contract
        self.latent_dim = self.input_shape[-1] if len(self.input_shape) == 2 else None
        batch = self.input_shape[0] if self.input_shape else None
        self.batch = batch if isinstance(batch, int) and batch > 0 else None  # None: any batch

    def run(self, latents, digits=None):
        """Float images for the latents (and digits); a fixed-batch model is fed its batch at a
        time, zero rows padding the last (each image depends on its own inputs only)."""
        feed = self._feed(latents, digits)
        n = len(latents)
        if not self.batch or self.batch == n:
            return self._infer(feed)
        padded = -n % self.batch
        if padded:
            feed = {name: np.concatenate([array, np.zeros((padded,) + array.shape[1:], array.dtype)])
                    for name, array in feed.items()}
        parts = [self._infer({name: array[start : start + self.batch] for name, array in feed.items()})
                 for start in range(0, n + padded, self.batch)]
        return np.concatenate(parts)[:n]

    def _feed(self, latents, digits):
        feed = {self.contract[NOISE]["name"]: latents}
        if self.conditional:
            if digits is None:
                raise ValueError("this model is conditional: it needs a digit for every latent")
            spec = self.contract[DIGIT]
            feed[spec["name"]] = np.asarray(digits, dtype=spec["dtype"])
        return feed


class OnnxBackend(Engine):
    """onnxruntime on the CPU. One session, reused; its run() is safe from several threads.

    A model its manifest vouches for runs from its graph optimised for this CPU, cached after the
    first start (digitgen.session_cache); `verification` (digitgen.model_files) is the check of the
    model's files, which a graph must pass before it is cached."""

    name = "onnx"

    def __init__(self, path, threads=None, contract=None, verification=None):
        try:
            import onnxruntime as ort
        except ImportError as error:  # installed but broken (a wheel for another CPU, say)
            raise BackendMissing(f"onnxruntime cannot be imported ({first_line(error)}): "
                                 "reinstall it, or use --backend numpy") from None

        self.path, self.version = path, ort.__version__
        fingerprint = verification.fingerprint if verification is not None else None
        graph = OptimizedGraph.for_model(fingerprint, self.version)
        if graph is None:
            self.graph = "optimised at load (no cache: no manifest, or DIGITGEN_CACHE_DIR=off)"
            self._start(ort, path, threads, contract)
        elif graph.ready() and self._start_cached(ort, graph, threads, contract):
            self.graph = f"optimised for this CPU, from the cache ({graph.folder})"
        elif self._start_and_cache(ort, graph, threads, contract, verification):
            self.graph = f"optimised at load, now cached ({graph.folder})"
        else:
            self.graph = f"optimised at load (the cache could not be written: {graph.folder})"

    def _start_cached(self, ort, graph, threads, contract):
        """Start from the cached graph; False (and the entry gone) when it fails its check."""
        try:
            self._start(ort, graph.model, threads, contract, optimize=False)
            if graph.reproduces(self._check_images()):
                return True
        except Exception:  # a damaged file, whatever onnxruntime makes of it: made again
            pass
        graph.discard()
        return False

    def _start_and_cache(self, ort, graph, threads, contract, verification):
        """Start from the model, optimising it, and cache the optimised graph once the model's files
        are verified; False when it could not be cached."""
        staging = graph.stage()
        try:
            self._start(ort, self.path, threads, contract, save_to=staging)
        except ModelError:
            if staging is None:
                raise
            graph.drop(staging)  # the cache's disk may be what failed: the model alone decides
            self._start(ort, self.path, threads, contract)
            return False
        if staging is None:
            return False
        try:
            verification.wait()  # nothing made from a modified file is cached
            images = self._check_images()
        except ModelError:
            graph.drop(staging)
            raise
        except Exception:  # a model unfit to generate (DigitGenerator says why): nothing cached
            graph.drop(staging)
            return False
        return graph.publish(staging, images)

    def _start(self, ort, path, threads, contract, optimize=True, save_to=None):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0  # 0: onnxruntime's own choice, one per core
        options.inter_op_num_threads = 1
        options.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                            else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
        # Spinning threads burn a core between calls; an embedded generator mostly waits.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if save_to is not None:
            OptimizedGraph.save_with(options, save_to)
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own types for every kind of bad file
            missing = re.search(r'External data path does not exist: "([^"]+)"', str(error))
            if missing:  # a graph copied without its weights file
                raise ModelError(f"{self.path}: its weights file {Path(missing.group(1)).name} is missing: "
                                 "keep it beside the model") from None
            raise ModelError(f"{self.path}: not a loadable ONNX model ({first_line(error)})") from None
        declared = {item.name: item.shape for item in self.session.get_inputs()}
        self._bind(contract or self._own_contract(declared), declared)
        types = {item.name: item.type for item in self.session.get_inputs()}
        for role, spec in self.contract.items():
            expected = ONNX_TYPES[spec["dtype"]]
            if types[spec["name"]] != expected:
                raise ModelError(f"{self.path}: input {spec['name']!r} is {types[spec['name']]}, "
                                 f"its contract says {spec['dtype']}")
        (model_output,) = self.session.get_outputs()
        self.output_name, self.output_shape = model_output.name, model_output.shape

    def _check_images(self):
        """The image of a fixed input, what a cached graph must reproduce: one image, so the check
        costs 2 ms, not 9 for ten (it covers every weight but the other digits' embeddings)."""
        latent = np.random.default_rng(0).standard_normal((1, self.latent_dim), dtype=np.float32)
        return self.run(latent, [0] if self.conditional else None)

    def _own_contract(self, declared):
        """The contract in the model's metadata; a model exported before contracts: its one input."""
        try:
            text = self.session.get_modelmeta().custom_metadata_map.get("inputs")
            if text is None:
                return _single_input_contract(declared)
            return parse_contract(text, self.path)
        except ValueError as error:  # UnicodeDecodeError and JSON errors included
            raise ModelError(f"{self.path}: unreadable input contract in its metadata ({first_line(error)})") from None

    def _infer(self, feed):
        return self.session.run([self.output_name], feed)[0]


class TFLiteBackend(Engine):
    """LiteRT (ai-edge-litert) with XNNPACK. Its interpreter is not thread-safe: calls take a lock."""

    name = "tflite"
    graph = "prepared at load by LiteRT (XNNPACK)"

    def __init__(self, path, threads=None, contract=None, verification=None):
        try:
            from ai_edge_litert.interpreter import Interpreter
            from ai_edge_litert import __version__ as version
        except ImportError:
            raise BackendMissing(
                "--backend tflite needs ai-edge-litert: pip install 'digitgen-mnist[tflite]'"
            ) from None
        from digitgen.quiet import native_chatter_silenced  # TFLite only: the ONNX path does without it

        self.path = path
        try:
            with native_chatter_silenced():  # LiteRT announces its XNNPACK delegate on every load
                self.interpreter = Interpreter(
                    model_path=str(path), num_threads=threads or os.cpu_count() or 1
                )
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as error:
            raise ModelError(f"{path}: not a loadable TFLite model ({first_line(error)})") from None
        details = {_tensor_name(d["name"]): d for d in self.interpreter.get_input_details()}
        declared = {name: d["shape"].tolist() for name, d in details.items()}
        self._bind(contract or _contract_by_dtype(details, path), declared)
        for role, spec in self.contract.items():
            dtype = np.dtype(details[spec["name"]]["dtype"]).name
            if dtype != spec["dtype"]:
                raise ModelError(f"{path}: input {spec['name']!r} is {dtype}, its contract says {spec['dtype']}")
        self.indexes = {name: d["index"] for name, d in details.items()}
        (model_output,) = self.interpreter.get_output_details()
        self.output_index, self.output_name = model_output["index"], model_output["name"]
        self.output_shape = model_output["shape"].tolist()
        self.version = version
        self.lock = threading.Lock()

    def _infer(self, feed):
        with self.lock:
            for name, array in feed.items():
                self.interpreter.set_tensor(self.indexes[name], array)
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self.output_index)


class NumpyBackend(Engine):
    """The exported graph run by numpy alone (digitgen.numpy_graph): for machines that have no
    onnxruntime, such as 32-bit Raspberry Pi OS. Safe from several threads (a run changes nothing
    it holds). Its threads are numpy's BLAS's own (OPENBLAS_NUM_THREADS), not set per model."""

    name = "numpy"
    graph = "run by numpy from the exported graph (generator_numpy.json)"

    def __init__(self, path, threads=None, contract=None, verification=None):
        from digitgen.numpy_graph import GraphError, NumpyGraph

        self.path, self.version = path, np.__version__
        if str(path).lower().endswith(".onnx"):
            raise ModelError(f"{path}: the numpy backend runs an exported model's numpy graph "
                             "(generator_numpy.json): pass the model's folder, or re-export it with python -m export")
        try:
            self.model = NumpyGraph(path)
        except GraphError as error:
            raise ModelError(str(error)) from None
        declared = {name: item["shape"] for name, item in self.model.inputs.items()}
        self._bind(contract or _contract_by_dtype(self.model.inputs, path), declared)
        for role, spec in self.contract.items():
            dtype = self.model.inputs[spec["name"]]["dtype"]
            if dtype != spec["dtype"]:
                raise ModelError(f"{path}: input {spec['name']!r} is {dtype}, its contract says {spec['dtype']}")
        (self.output_name,) = self.model.outputs
        self.output_shape = self.model.output_shapes[self.output_name]

    def _infer(self, feed):
        from digitgen.numpy_graph import GraphError

        try:
            return self.model.run(feed)[self.output_name]
        except (GraphError, ValueError, IndexError, TypeError) as error:  # shapes or types that do not fit
            raise ModelError(f"{self.path}: the numpy backend could not run it ({first_line(error)})") from None


BACKENDS = {"onnx": OnnxBackend, "tflite": TFLiteBackend, "numpy": NumpyBackend}


def default_backend():
    """onnx where onnxruntime is installed, else numpy (32-bit Raspberry Pi OS has no onnxruntime).
    Looked up, not imported: the import stays beside the model's sha256 check, which it overlaps."""
    from importlib.util import find_spec

    try:
        return "onnx" if find_spec("onnxruntime") is not None else "numpy"
    except (ImportError, ValueError):  # a finder that refuses it: as good as absent
        return "numpy"


def _tensor_name(name):
    """TFLite names a concrete function's inputs "serving_default_z:0"; the contract says "z"."""
    name = name.split(":")[0]
    return name.removeprefix("serving_default_")


def _single_input_contract(declared):
    (name, shape), *rest = declared.items()
    if rest:
        raise ModelError("a model with several inputs needs an input contract (its manifest or metadata)")
    return {NOISE: {"name": name, "dtype": "float32", "shape": list(shape)}}


def _contract_by_dtype(details, path):
    """A bare .tflite or numpy graph file carries no contract: its float input is the noise, an
    integer one the digit. details: {name: {"dtype", "shape"}}."""
    contract = {}
    for name, detail in details.items():
        role = NOISE if np.issubdtype(np.dtype(detail["dtype"]), np.floating) else DIGIT
        if role in contract:
            raise ModelError(f"{path}: cannot tell its inputs apart; keep its manifest.json beside it")
        contract[role] = {"name": name, "dtype": np.dtype(detail["dtype"]).name, "shape": list(detail["shape"])}
    if NOISE not in contract:
        raise ModelError(f"{path}: no float noise input")
    return contract

