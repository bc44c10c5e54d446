"""Every bad input and fault the runtime meets ends in one line (the API: ModelError or ValueError),
a non-zero exit, no traceback, and no partial, changed or temporary file."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner
from onnx import TensorProto

from digitgen import DigitGenerator, ModelError
from digitgen.cli import cli
from digitgen.model_files import bundled_model_dir
from tests.helpers import sigint_as_in_a_terminal
from tests.onnx_models import odd_input_model, tiny_generator


def run_digitgen(*args, cwd):
    return subprocess.run([sys.executable, "-m", "digitgen", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def assert_one_line_failure(result, code, message):
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("out, message", [("/proc/x.png", "cannot write /proc/x.png"),
                                          ("/dev/full", "No space left on device")])
def test_write_failures_are_one_line_and_devices_stay_devices(tmp_path, out, message):
    if out == "/dev/full" and not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    assert_one_line_failure(run_digitgen("--format", "png", "--out", out, cwd=tmp_path), 1, message)
    if out == "/dev/full":
        assert not os.path.isfile("/dev/full")  # still the device, not a file renamed over it


def test_stdout_into_a_full_device_is_one_line(tmp_path):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    with open("/dev/full", "wb") as full:
        result = subprocess.run([sys.executable, "-m", "digitgen", "--out", "-"], stdout=full,
                                stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert_one_line_failure(result, 1, "No space left on device")


def test_a_disk_that_fills_up_during_the_write_keeps_the_old_file(tmp_path, monkeypatch):
    import errno

    out = tmp_path / "digits.png"
    out.write_bytes(b"previous")
    class FullDisk:  # open() as the CLI calls it for its temporary file, on a disk that fills up
        def __init__(self, path, mode):
            self.stream = open(path, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

        def write(self, data):
            self.stream.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("digitgen.atomic.open", FullDisk, raising=False)
    result = CliRunner().invoke(cli, ["--seed", "1", "--out", str(out), "--force"])
    assert result.exit_code == 1 and "No space left on device" in result.output
    assert out.read_bytes() == b"previous" and [p.name for p in tmp_path.iterdir()] == ["digits.png"]


@pytest.mark.parametrize("args, message", [
    (["--n", "10000", "--scale", "32"], "megapixel limit"),
    (["--out", ""], "--out is empty"),
    (["--out", "d.jpg"], "name a .png or .npy file"),
    (["--out", "d.npy", "--format", "png"], "is a .npy name but --format is png"),
    (["--out", "d.png", "--format", "npy"], "is a .png name but --format is npy"),
])
def test_bad_output_options_are_refused_before_any_work(tmp_path, args, message):
    start = time.perf_counter()
    assert_one_line_failure(run_digitgen(*args, cwd=tmp_path), 2, message)
    assert list(tmp_path.iterdir()) == [] and time.perf_counter() - start < 20


def test_the_format_follows_the_suffix(tmp_path):
    assert run_digitgen("--seed", "1", "--n", "3", "--out", "d.npy", cwd=tmp_path).returncode == 0
    assert np.load(tmp_path / "d.npy").shape == (3, 28, 28)
    assert run_digitgen("--seed", "1", "--n", "3", "--out", "d.png", cwd=tmp_path).returncode == 0
    assert (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")


def test_a_fixed_batch_model_is_fed_its_batch(tmp_path):
    fixed = DigitGenerator(model=tiny_generator(tmp_path / "one.onnx", conditional=True, batch=1))
    dynamic = DigitGenerator(model=tiny_generator(tmp_path / "any.onnx", conditional=True))
    assert fixed.engine.batch == 1 and dynamic.engine.batch is None
    np.testing.assert_array_equal(fixed.generate(4, seed=3, digit=2), dynamic.generate(4, seed=3, digit=2))


@pytest.mark.parametrize("make, message", [
    (lambda path: odd_input_model(path, dtype=TensorProto.DOUBLE), r"tensor\(double\)"),
    (lambda path: odd_input_model(path, latent_dim=10**9), "latent size 1000000000 is outside"),
])
def test_models_that_cannot_run_as_asked_are_refused_up_front(tmp_path, make, message):
    path = make(tmp_path / "odd.onnx")
    with pytest.raises(ModelError, match=message):
        DigitGenerator(model=path)
    result = run_digitgen("--model", path, cwd=tmp_path)
    assert_one_line_failure(result, 1, message.replace("\\", ""))
    assert [p.name for p in tmp_path.iterdir()] == ["odd.onnx"]


def test_non_finite_output_is_an_error_not_a_black_image(tmp_path):
    path = tiny_generator(tmp_path / "nan.onnx", conditional=False, nan=True)
    with pytest.raises(ModelError, match="NaN or infinite"):
        DigitGenerator(model=path).generate(2, seed=0)
    assert_one_line_failure(run_digitgen("--model", path, "--out", "d.png", cwd=tmp_path), 1, "NaN")
    assert not (tmp_path / "d.png").exists()


def manifest_with(tmp_path, change):
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("generator.onnx", "generator.onnx.data", "manifest.json"):
        shutil.copy(bundled_model_dir() / name, folder / name)
    manifest = json.loads((folder / "manifest.json").read_text())
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(models=[]), '"models" must be an object'),
    (lambda m: m["models"]["onnx"].pop("size"), "models.onnx.size"),
    (lambda m: m["models"]["onnx"].update(name="../../generator.onnx"), "inside the model's folder"),
    (lambda m: m["models"]["onnx"].update(sha256="not-a-hash"), "64 hexadecimal digits"),
    (lambda m: m["models"]["onnx"]["data"].update(name="/etc/passwd"), "models.onnx.data.name"),
    (lambda m: m["models"]["onnx"].update(data=[]), "models.onnx.data must be an object"),
    (lambda m: m.update(latent_dim="100"), "latent_dim"),
    (lambda m: m.clear(), "latent_dim"),
])
def test_a_bad_manifest_is_a_model_error(tmp_path, change, message):
    folder = manifest_with(tmp_path, change)
    with pytest.raises(ModelError, match=message):
        DigitGenerator(model=folder)
    assert_one_line_failure(run_digitgen("--model", folder, cwd=tmp_path), 1, message)


def test_the_backend_follows_the_model_files_suffix():
    pytest.importorskip("ai_edge_litert")
    int8 = DigitGenerator(model=bundled_model_dir() / "generator_int8.tflite")
    assert int8.backend == "tflite"


def test_api_arguments(tmp_path):
    with pytest.raises(ValueError, match="threads"):
        DigitGenerator(threads=True)
    generator = DigitGenerator()
    digits = generator.generate(4, seed=0)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="cols"):
            generator.grid(digits, cols=bad)


def test_ctrl_c_is_one_line(tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "digitgen", "bench", "--seconds", "60"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               preexec_fn=sigint_as_in_a_terminal)
    process.stdout.readline()  # the benchmark has started
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and stderr == "error: interrupted\n"


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path):
    from digitgen.atomic import atomic_path, write_atomically

    target = tmp_path / "report.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("the disk filled up")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["report.json"]
    write_atomically(target, "new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize("value, low, high, message", [
    (True, 1, None, "n must be a positive integer, got True"),
    (0, 1, None, "n must be a positive integer, got 0"),
    (2.5, 0, None, "n must be a non-negative integer, got 2.5"),
    (10, 0, 9, "n must be an integer from 0 to 9, got 10"),
])
def test_one_integer_check_for_every_surface(value, low, high, message):
    from digitgen.validation import check_integer

    with pytest.raises(ValueError) as error:
        check_integer(value, "n", low, high)
    assert str(error.value) == message


def test_a_long_integer_text_is_refused_before_it_is_converted():
    from digitgen.validation import integer_from_text

    assert integer_from_text("0042", "seed", 0, 100) == 42
    with pytest.raises(ValueError, match=r"got '99999.*\(5,000 characters\)"):
        integer_from_text("9" * 5000, "seed", 0, 2**63 - 1)
