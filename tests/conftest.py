"""Tiny MNIST-shaped data made on the spot: the tests never need ../shared or a download."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def optimized_graph_cache(tmp_path_factory):
    """The runtime caches optimised graphs in the user's cache folder: the tests (and the commands
    they start, which inherit the environment) use a folder of their own."""
    folder = tmp_path_factory.mktemp("digitgen-cache")
    saved = os.environ.get("DIGITGEN_CACHE_DIR")
    os.environ["DIGITGEN_CACHE_DIR"] = str(folder)
    yield folder
    if saved is None:
        del os.environ["DIGITGEN_CACHE_DIR"]
    else:
        os.environ["DIGITGEN_CACHE_DIR"] = saved


def checkout_env():
    """The environment for `python -m train|export` run from another folder: the checkout on the path,
    as for a user who runs them from a checkout (they are not installed, only `digitgen` is)."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def fake_digits(count, seed=0):
    """uint8 (count, 28, 28) images of bright bars whose position encodes the label, and labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    images = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
    for image, label in zip(images, labels):
        image[4 + 2 * label : 7 + 2 * label, 4:24] = 255
    return images, labels


@pytest.fixture
def mnist_npz(tmp_path):
    """A Keras-layout mnist.npz with 256 training and 64 test images."""
    x_train, y_train = fake_digits(256, seed=1)
    x_test, y_test = fake_digits(64, seed=2)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path


def write_idx(path, array, compress=False):
    """Write an array in the original MNIST IDX format (uint8 data, big-endian header)."""
    magic = 0x00000800 | array.ndim
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as stream:
        stream.write(header + array.astype(np.uint8).tobytes())
    return path
