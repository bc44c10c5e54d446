"""Training side of digitgen: the GANs on MNIST. Runs from a checkout; needs the `train` extra
(Keras on TensorFlow) or, for Keras's JAX backend (KERAS_BACKEND=jax), the `jax` extra.

Without its extra, `python -m train` (and train.evaluate, train.finetune) end in one line naming
it, exit 2, instead of a ModuleNotFoundError traceback.
"""

import json
import os
import sys
from importlib.util import find_spec
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off the console


def require_extra(extra, modules, hint=""):
    """Exit 2 with one line naming the extra to install when one of `modules` is missing."""
    for module in modules:
        try:
            found = find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            sys.stderr.write(f"error: {module} is not installed: from a checkout of digitgen, "
                             f"pip install -e '.[{extra}]'{hint}\n")
            sys.exit(2)


def import_backend_quietly():
    """Import Keras and its backend with TensorFlow's native start-up lines (absl, CUDA probing)
    dropped."""
    from digitgen.quiet import native_chatter_silenced

    with native_chatter_silenced():
        import keras  # noqa: F401


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


# Keras backend -> (the extra that installs it, the backend's module, a hint for the message)
BACKEND_EXTRAS = {
    "tensorflow": ("train", "tensorflow", " (or '.[export]', which includes it)"),
    "jax": ("jax", "jax", ""),
}

if keras_backend_name() not in BACKEND_EXTRAS:
    sys.stderr.write(f"error: Keras's {keras_backend_name()} backend cannot train these GANs: "
                     f"set KERAS_BACKEND to {' or '.join(BACKEND_EXTRAS)}\n")
    sys.exit(2)
_extra, _module, _hint = BACKEND_EXTRAS[keras_backend_name()]
require_extra(_extra, ("click", "digitgen", "numpy", "keras", "matplotlib", _module), hint=_hint)
