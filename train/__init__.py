"""Training side of digitgen: the GANs on MNIST. Runs from a checkout; needs the `train` extra.

Without the extra, `python -m train` (and train.evaluate, train.finetune) end in one line naming
it, exit 2, instead of a ModuleNotFoundError traceback.
"""

import os
import sys
from importlib.util import find_spec

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


def import_tensorflow_quietly():
    """Import TensorFlow with its native start-up lines (absl, CUDA probing) dropped."""
    from digitgen.quiet import native_chatter_silenced

    with native_chatter_silenced():
        import tensorflow  # noqa: F401


require_extra("train", ("click", "digitgen", "numpy", "tensorflow", "keras", "matplotlib"),
              hint=" (or '.[export]', which includes it)")
