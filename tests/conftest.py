"""Fixtures, and the `tensorflow` marker's rule: its tests skip where TensorFlow cannot be imported
(a runtime-only install), so `python -m pytest -m "not tensorflow"` is the runtime's own suite.
Shared helpers live in tests/helpers.py."""

import os

import numpy as np
import pytest

from tests.helpers import fake_digits, importable


def pytest_collection_modifyitems(config, items):
    marked = [item for item in items if "tensorflow" in item.keywords]
    if marked and not importable("tensorflow"):
        skip = pytest.mark.skip(reason="needs TensorFlow, the training side: pip install -e '.[dev]'")
        for item in marked:
            item.add_marker(skip)


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


@pytest.fixture
def mnist_npz(tmp_path):
    """A Keras-layout mnist.npz with 256 training and 64 test images."""
    x_train, y_train = fake_digits(256, seed=1)
    x_test, y_test = fake_digits(64, seed=2)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return path
