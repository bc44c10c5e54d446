"""What a user installs: one import package `digitgen` (plus metadata), nothing that imports the
training side, and a command line that keeps quiet and names the extra a missing piece needs."""

import os
import subprocess
import sys
import zipfile

import pytest

from tests.helpers import ROOT, TRAINING_SIDE


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True)
    (path,) = out.glob("*.whl")
    return path


def test_the_wheel_installs_one_package_digitgen_with_its_model(wheel):
    assert wheel.name.startswith("digitgen_mnist-")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"digitgen"}
    assert {"digitgen/model/generator.onnx", "digitgen/model/generator.onnx.data", "digitgen/model/generator_int8.tflite",
            "digitgen/model/generator_numpy.json", "digitgen/model/manifest.json", "digitgen/model/MODEL_CARD.md",
            "digitgen/cli.py"} <= set(names)
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)  # MIT, as the metadata says
    archive = zipfile.ZipFile(wheel)
    for name in names:
        if name.endswith(".py"):
            source = archive.read(name).decode()
            assert not any(f"import {m}" in source or f"from {m}" in source for m in TRAINING_SIDE), name
    metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert "Name: digitgen-mnist" in metadata and "License-Expression: MIT" in metadata
    assert "License-File: LICENSE" in metadata
    entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "digitgen = digitgen.cli:main" in entry_points


def test_32_bit_arm_is_not_asked_for_onnxruntime_and_debians_packages_are_enough(wheel):
    from packaging.requirements import Requirement

    archive = zipfile.ZipFile(wheel)
    metadata = archive.read(next(n for n in archive.namelist() if n.endswith("METADATA"))).decode()
    required = [Requirement(line.split(":", 1)[1]) for line in metadata.splitlines()
                if line.startswith("Requires-Dist:") and "extra ==" not in line]
    for machine, wants_onnxruntime in (("armv7l", False), ("armv6l", False), ("aarch64", True), ("x86_64", True)):
        environment = {"platform_machine": machine}
        names = {r.name for r in required if r.marker is None or r.marker.evaluate(environment)}
        assert ("onnxruntime" in names) == wants_onnxruntime, machine
    # Debian bookworm armhf: python3-numpy 1.24.2, python3-pil 9.4.0, python3-click 8.1.3
    bookworm = {"numpy": "1.24.2", "pillow": "9.4.0", "click": "8.1.3"}
    for requirement in required:
        if requirement.name in bookworm:
            assert requirement.specifier.contains(bookworm[requirement.name]), requirement


def test_a_users_runtime_py_does_not_shadow_digitgen(tmp_path):
    (tmp_path / "runtime.py").write_text("raise ImportError('the user\\'s own runtime.py')\n")
    (tmp_path / "train.py").write_text("raise ImportError('the user\\'s own train.py')\n")
    result = subprocess.run([sys.executable, "-c", "from digitgen import DigitGenerator, ModelError\n"
                             "print(DigitGenerator().generate(2, seed=0).shape)"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(2, 28, 28)"


def test_a_successful_tflite_run_writes_nothing_to_stderr(tmp_path):
    pytest.importorskip("ai_edge_litert")
    result = subprocess.run([sys.executable, "-m", "digitgen", "--backend", "tflite", "--seed", "1",
                             "--out", str(tmp_path / "d.png")], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "" and (tmp_path / "d.png").is_file()


@pytest.mark.tensorflow  # blocks one of the training side's packages at a time: the others must be there
@pytest.mark.parametrize("command, missing, extra", [
    (["-m", "train", "--data", "mnist.npz"], "tensorflow", "train"),
    (["-m", "train.evaluate", "--generator", "g.keras"], "keras", "train"),
    (["-m", "export"], "tf2onnx", "export"),
])
def test_training_or_export_without_their_extra_is_one_line_naming_it(tmp_path, command, missing, extra):
    blocker = (f"import importlib.abc, sys, runpy\n"
               f"class Blocker(importlib.abc.MetaPathFinder):\n"
               f"    def find_spec(self, name, path=None, target=None):\n"
               f"        if name.split('.')[0] == {missing!r}: raise ImportError(name)\n"
               f"sys.meta_path.insert(0, Blocker())\n"
               f"sys.argv = ['python', *{command[2:]!r}]\n"
               f"runpy.run_module({command[1]!r}, run_name='__main__', alter_sys=True)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"pip install -e '.[{extra}]'" in result.stderr, result.stderr
    assert missing in result.stderr


@pytest.mark.parametrize("module", ["train", "train.evaluate", "train.finetune", "export"])
def test_help_is_quick_and_loads_no_tensorflow(module):
    code = (f"import sys, runpy; sys.argv = ['x', '--help']\n"
            f"try:\n    runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
            f"except SystemExit: pass\n"
            f"assert 'tensorflow' not in sys.modules, 'imported tensorflow'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "Usage:" in result.stdout
    if module != "export":  # its example names no data file
        assert "mnist.npz" in result.stdout
