"""`python -m train ARGS`, which exits 3 if anything in it imported TensorFlow or tf2onnx:

    KERAS_BACKEND=jax python tests/train_without_tensorflow.py --data mnist.npz --out runs/x

Meant for the JAX backend, where training must need no TensorFlow even where it is installed.
"""

import os
import runpy
import sys

FORBIDDEN = {"tensorflow", "tf2onnx"}

sys.argv = ["python -m train", *sys.argv[1:]]
try:
    runpy.run_module("train", run_name="__main__", alter_sys=True)
finally:
    leaked = sorted(FORBIDDEN & {name.split(".")[0] for name in sys.modules})
    if leaked:
        sys.stderr.write(f"training imported {', '.join(leaked)}\n")
        sys.stderr.flush()
        os._exit(3)
