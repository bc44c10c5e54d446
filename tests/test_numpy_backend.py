"""The numpy backend: the exported graph run by numpy alone draws what onnxruntime draws, refuses
what it cannot run, and is the default where onnxruntime cannot be imported."""

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from digitgen import DigitGenerator, ModelError
from digitgen.cli import cli
from digitgen.model_files import bundled_model_dir
from digitgen.numpy_graph import GraphError, NumpyGraph
from export.numpy_graph import write_numpy_graph
from export.parity import numpy_checks
from digitgen.images import to_uint8
from tests.onnx_models import tiny_generator
from tests.helpers import TRAINING_SIDE, run_cli

NUMPY_FILES = ("generator.onnx", "generator.onnx.data", "generator_numpy.json", "manifest.json")


@pytest.fixture
def numpy_model(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    for name in NUMPY_FILES:
        shutil.copy(bundled_model_dir() / name, folder / name)
    return folder


def test_the_seed_42_png_is_byte_identical_to_onnxruntimes(tmp_path):
    for backend in ("onnx", "numpy"):
        result = CliRunner().invoke(cli, ["--seed", "42", "--n", "16", "--backend", backend,
                                          "--out", str(tmp_path / f"{backend}.png")])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "numpy.png").read_bytes() == (tmp_path / "onnx.png").read_bytes()


def test_thousands_of_digits_are_at_most_one_grey_level_apart_on_few_pixels():
    onnx_images, labels = DigitGenerator(backend="onnx").generate_labeled(1000, seed=3)
    numpy_images, numpy_labels = DigitGenerator(backend="numpy").generate_labeled(1000, seed=3)
    assert np.array_equal(labels, numpy_labels)
    levels = np.abs(onnx_images.astype(int) - numpy_images.astype(int))
    assert levels.max() <= 1 and np.mean(levels > 0) < 1e-4


def test_its_parity_gate_fails_on_a_model_that_draws_otherwise():
    rng = np.random.default_rng(0)
    reference = np.tanh(rng.normal(0, 2, (50, 28, 28, 1))).astype(np.float32)
    assert all(check.passed for check in numpy_checks(reference, reference + 1e-7, to_uint8))
    failed = [check.metric for check in numpy_checks(reference, reference + 0.01, to_uint8) if not check.passed]
    assert failed == ["max_abs_vs_onnx", "max_grey_levels_vs_onnx", "pixels_differing_vs_onnx"]


def test_a_graph_from_any_onnx_model_runs_as_onnxruntime_runs_it(tmp_path):
    for conditional in (True, False):
        onnx_file = tiny_generator(tmp_path / f"tiny{conditional}.onnx", conditional=conditional)
        write_numpy_graph(onnx_file, tmp_path / f"tiny{conditional}.json")  # weights inline: no data file
        expected = DigitGenerator(model=onnx_file).generate(20, seed=1, digit=7 if conditional else None)
        drawn = DigitGenerator(model=tmp_path / f"tiny{conditional}.json").generate(
            20, seed=1, digit=7 if conditional else None)
        assert np.abs(expected.astype(int) - drawn.astype(int)).max() <= 1


def test_an_operator_it_does_not_know_is_refused_in_one_line_at_load(numpy_model, tmp_path):
    spec = json.loads((numpy_model / "generator_numpy.json").read_text())
    spec["nodes"][-2]["op"] = "Softplus"
    alone = tmp_path / "alone"  # no manifest: in the model's folder its sha256 would refuse it first
    alone.mkdir()
    shutil.copy(numpy_model / "generator.onnx.data", alone)
    graph_file = alone / "generator_numpy.json"
    graph_file.write_text(json.dumps(spec))
    with pytest.raises(GraphError, match="cannot run operator.*Softplus"):
        NumpyGraph(graph_file)
    with pytest.raises(ModelError, match="Softplus"):
        DigitGenerator(model=graph_file)
    result = run_cli("--model", str(graph_file), "--out", str(tmp_path / "x.png"))
    stderr = result.stderr.decode().strip()
    assert result.returncode == 1 and len(stderr.splitlines()) == 1 and "Softplus" in stderr, stderr
    assert not (tmp_path / "x.png").exists()


def test_a_modified_weights_file_is_refused(numpy_model):
    weights = numpy_model / "generator.onnx.data"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 does not match"):
        DigitGenerator(model=numpy_model, backend="numpy")


def test_an_onnx_file_or_threads_are_refused_with_the_fix(numpy_model):
    with pytest.raises(ModelError, match="numpy graph"):
        DigitGenerator(model=numpy_model / "generator.onnx", backend="numpy")
    with pytest.raises(ValueError, match="OPENBLAS_NUM_THREADS"):
        DigitGenerator(backend="numpy", threads=2)


def test_without_onnxruntime_the_default_is_numpy_and_stderr_stays_empty(tmp_path):
    result = run_cli("--seed", "42", "--n", "16", "--out", str(tmp_path / "digits.png"),
                     blocked=TRAINING_SIDE + ("onnxruntime",))
    assert result.returncode == 0 and result.stderr == b"", result.stderr
    assert b"numpy" in result.stdout
    reference = tmp_path / "reference.png"
    assert CliRunner().invoke(cli, ["--seed", "42", "--n", "16", "--out", str(reference)]).exit_code == 0
    assert (tmp_path / "digits.png").read_bytes() == reference.read_bytes()


class ThirtyTwoBitNumpy:
    """numpy as 32-bit ARM (Raspberry Pi OS armhf) has it: np.intp is int32, and take() refuses int64
    indices ("Cannot cast array data from dtype('int64') to dtype('int32') according to the rule
    'safe'", found under qemu-arm)."""

    intp = np.int32

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def take(data, indices, axis=None):
        if np.asarray(indices).dtype != np.int32:
            raise TypeError("Cannot cast array data from dtype('int64') to dtype('int32') according to the rule 'safe'")
        return np.take(data, indices, axis=axis)


def test_the_numpy_backend_indexes_with_the_platforms_integer(monkeypatch):
    expected = DigitGenerator(backend="numpy").generate(8, seed=5, digit=3)
    monkeypatch.setattr("digitgen.numpy_graph.np", ThirtyTwoBitNumpy())
    assert np.array_equal(DigitGenerator(backend="numpy").generate(8, seed=5, digit=3), expected)
