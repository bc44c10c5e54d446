"""What several test files share, in one place: the checkout's paths, tiny MNIST-shaped data made
on the spot (the tests never need ../shared or a download), and ways to run the runtime with the
training side made unimportable, or as a server process."""

import contextlib
import gzip
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CLASSIFIER = ARTIFACTS / "classifier.keras"
SHIPPED_KERAS = ARTIFACTS / "generator.keras"
TRAINING_SIDE = ("tensorflow", "keras", "tf2onnx", "tf_keras")
BLOCKER = """
import importlib.abc, sys
class Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError("blocked in this test: " + name, name=name)
sys.meta_path.insert(0, Blocker())
"""


def importable(module):
    """Whether `module` imports here (a blocked or missing one does not)."""
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def checkout_env():
    """The environment for `python -m train|export` run from another folder: the checkout on the path,
    as for a user who runs them from a checkout (they are not installed, only `digitgen` is)."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run_python(code, blocked=TRAINING_SIDE, cwd=ROOT, timeout=None):
    """python -c CODE in a child where the `blocked` packages cannot be imported."""
    script = BLOCKER.format(blocked=set(blocked)) + code
    return subprocess.run([sys.executable, "-c", script], capture_output=True, cwd=cwd, env=checkout_env(),
                          timeout=timeout)


def run_cli(*args, blocked=TRAINING_SIDE, cwd=ROOT):
    """`digitgen ARGS` in a child where the training side cannot be imported."""
    code = f"import sys; sys.argv = ['digitgen', *{list(args)!r}]\nfrom digitgen.cli import main\nmain()"
    return run_python(code, blocked, cwd)


def fake_digits(count, seed=0):
    """uint8 (count, 28, 28) images of bright bars whose position encodes the label, and labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels):
        image[4 + 2 * label : 7 + 2 * label, 4:24] = 255
    return images, labels


def write_idx(path, array, compress=False):
    """Write an array in the original MNIST IDX format (uint8 data, big-endian header)."""
    magic = 0x00000800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())
    return path


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def server(*options, preexec_fn=None):
    """A `digitgen serve` process on a free port: yields (port, process); its log is process.stdout."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "digitgen", "serve", "--port", str(port), "--no-access-log",
                                *options], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=preexec_fn)
    try:
        deadline = time.time() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise RuntimeError(f"the server did not start: {process.stdout.read()}")
                time.sleep(0.1)
        yield port, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def sigint_as_in_a_terminal():
    """preexec_fn for a child that is sent Ctrl-C: a test run started in the background
    (`pytest &`) hands its children an ignored SIGINT, which the commands rightly keep ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
