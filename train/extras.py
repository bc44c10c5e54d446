"""What the training and export commands need installed, checked when a command starts (never at
import): a missing extra is one line naming the pip command, exit 2, not a ModuleNotFoundError
traceback. Then Keras is imported with its backend's start-up chatter dropped."""

import json
import os
from importlib.util import find_spec
from pathlib import Path

from digitgen.cli_support import CommandError

# Keras backend -> (the extra that installs it, the backend's module, a hint for the message)
BACKEND_EXTRAS = {
    "tensorflow": ("train", "tensorflow", " (or '.[export]', which includes it)"),
    "jax": ("jax", "jax", ""),
}
EXPORT_MODULES = ("tf2onnx", "onnx", "ai_edge_litert")


def load_keras(for_export=False):
    """Check the extras the command needs, then import Keras and its backend quietly.

    Export converts TensorFlow graphs (tf2onnx, the TFLite converter), so it runs Keras on
    TensorFlow whatever backend trained the generator (a .keras file loads under either)."""
    if for_export:
        os.environ["KERAS_BACKEND"] = "tensorflow"
    backend = keras_backend_name()
    if backend not in BACKEND_EXTRAS:
        raise CommandError(f"Keras's {backend} backend cannot train these GANs: "
                           f"set KERAS_BACKEND to {' or '.join(BACKEND_EXTRAS)}")
    extra, module, hint = BACKEND_EXTRAS[backend]
    require_extra(extra, ("click", "digitgen", "numpy", "keras", "matplotlib", module), hint)
    if for_export:
        require_extra("export", EXPORT_MODULES)
    import_backend_quietly()


def require_extra(extra, modules, hint=""):
    """CommandError naming the extra to install when one of `modules` is missing."""
    for module in modules:
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise CommandError(f"{module} is not installed: from a checkout of digitgen, "
                               f"pip install -e '.[{extra}]'{hint}")


def import_backend_quietly():
    """Import Keras and its backend with TensorFlow's native start-up lines (absl, CUDA probing)
    dropped."""
    from digitgen.quiet import native_chatter_silenced

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_chatter_silenced():
        import keras  # noqa: F401  (imported for its side: the backend loads here, quietly)


def keras_backend_name():
    """The backend Keras will load, read as Keras reads it (KERAS_BACKEND, else keras.json), without
    importing Keras: that would import the backend, which may be the thing missing."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    try:
        return json.loads((Path(home) / "keras.json").read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        return "tensorflow"
