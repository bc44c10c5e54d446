"""Property-based: whatever arguments or model bytes are thrown at the runtime, it answers with
digits or with one line (the API: ModelError or ValueError), never a traceback or a stray file."""

import os
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from digitgen import DigitGenerator, ModelError
from digitgen.cli import cli
from digitgen.cli_support import run_command
from tests.onnx_models import tiny_generator

OPTIONS = ["--seed", "--n", "--digit", "--out", "--format", "--cols", "--scale", "--backend", "--threads",
           "--model", "info", "bench", "--seconds"]
VALUES = ["0", "1", "7", "9", "10", "-1", "16", "10000", "10001", "2.5", "x", "", "-", "png", "npy", "onnx",
          "tflite", "d.png", "d.npy", "d.jpg", "no/such/dir/d.png", "missing.onnx", "0.1", "1e9", "--"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run_isolated(args):
    """Run the CLI as `digitgen` does (run_command), in a fresh folder; return (exit code, stderr, files)."""
    runner = CliRunner()
    with runner.isolated_filesystem():
        result = runner.invoke(_Main(), args, catch_exceptions=True)
        files = sorted(os.listdir("."))
    return result, files


class _Main:
    """A click-like command whose main() goes through run_command, the CLI's one error path."""

    name = "digitgen"

    def main(self, args=None, prog_name=None, **kwargs):
        run_command(cli, expected_errors=(ValueError,), args=args, prog_name="digitgen")


@SETTINGS
@given(st.lists(st.sampled_from(OPTIONS + VALUES), max_size=6))
def test_any_argument_list_ends_in_digits_or_one_line(args):
    if "bench" in args:  # a benchmark runs for seconds by design; its options are checked like the rest
        args = [a for a in args if a != "bench"]
    result, files = run_isolated(args)
    assert result.exit_code in (0, 1, 2), (args, result.output, result.exception)
    assert isinstance(result.exception, SystemExit) or result.exception is None, (args, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code:
        assert result.output.count("error: ") == 1, (args, result.output)
        assert files == [], (args, files)  # nothing written on failure
    assert not any(name.endswith(".tmp") for name in files), (args, files)


@SETTINGS
@given(data=st.data())
def test_corrupted_model_bytes_give_digits_or_a_model_error(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("corrupt")
    original = Path(tiny_generator(folder / "tiny.onnx", conditional=data.draw(st.booleans()))).read_bytes()
    corrupted = bytearray(original)
    for _ in range(data.draw(st.integers(1, 20))):
        position = data.draw(st.integers(0, len(corrupted) - 1))
        corrupted[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(corrupted)))
    path = folder / "tiny.onnx"
    path.write_bytes(bytes(corrupted[:cut] if data.draw(st.booleans()) else corrupted))
    try:
        generator = DigitGenerator(model=path)
        images = generator.generate(3, seed=0)
    except ModelError as error:
        assert str(error).count("\n") == 0
        return
    assert images.shape == (3, 28, 28) and images.dtype == np.uint8


@SETTINGS
@given(n=st.one_of(st.integers(-5, 300), st.floats(), st.text(max_size=3), st.booleans(), st.none()),
       seed=st.one_of(st.integers(-5, 2**70), st.floats(), st.text(max_size=3), st.none()),
       digit=st.one_of(st.integers(-3, 12), st.lists(st.integers(-1, 10), max_size=4), st.text(max_size=2),
                       st.none(), st.floats()))
def test_api_arguments_give_digits_or_a_value_error(n, seed, digit):
    generator = _generator()
    try:
        images, labels = generator.generate_labeled(n, seed, digit)
    except ValueError as error:
        assert str(error).count("\n") == 0
        return
    assert images.shape == (n, 28, 28) and (labels is None or labels.shape == (n,))


_CACHE = {}


def _generator():
    if "generator" not in _CACHE:
        _CACHE["generator"] = DigitGenerator()
    return _CACHE["generator"]
