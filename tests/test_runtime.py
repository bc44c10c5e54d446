import hashlib
import io
import json
import shutil
import threading

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from digitgen import DigitGenerator, ModelError
from digitgen.cli import cli
from digitgen.model_files import bundled_model_dir
from tests.helpers import TRAINING_SIDE, run_cli, run_python

# seed 42, 16 digits, default grid: the PNG's sha256 for the bundled model (by its weights' sha256);
# re-pinned for digitgen's own PNG encoder, whose pixels are those of the Pillow-written f50c604f…
PINNED_PNG = {
    # the 12-epoch cdcgan (lr 2e-4, beta1 0.5, batch 128, EMA 0.999, float32), shipped before
    "5451576db112487226f53650417cabbca5784c6f44d0784344758545046cb8ab":
        "355b4d325d65b4e0b29bdc4100e1e2fa35711d8804b9785ce7dffc8ce5fdf87d",
    # the shipped model: cdcgan-proj, 12 epochs of full MNIST (lr 2e-4, beta1 0.5, batch 64, EMA 0.999)
    "234c79aa6e4af51fff2abf4b4f2435ff55311e271dd4110e47e288faf322c06b":
        "558ffbb7c9288e7374989242cf6b21571843ba8efd65b831e99724ef1eabfb89",
}


def test_runtime_and_cli_work_where_tensorflow_cannot_be_imported(tmp_path):
    result = run_python(
        "import digitgen\n"
        "digits = digitgen.DigitGenerator().generate(4, seed=1)\n"
        "assert digits.shape == (4, 28, 28)\n"
        "from digitgen.cli import cli\n"
        "import sys; assert not {'tensorflow', 'keras', 'tf2onnx'} & set(sys.modules), sys.modules\n"
        "import tensorflow  # the blocker itself must work, or this test proves nothing\n"
    )
    assert b"blocked in this test: tensorflow" in result.stderr, result.stderr
    assert result.stderr.count(b"Traceback") == 1  # only the deliberate import at the end failed
    result = run_cli("--seed", "42", "--n", "16", "--out", str(tmp_path / "d.png"))
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "d.png").size == (122, 122)


def test_same_seed_same_digits_and_chunking_is_invisible():
    generator = DigitGenerator()
    first, labels = generator.generate_labeled(16, seed=42)
    assert first.dtype == np.uint8 and first.shape == (16, 28, 28)
    np.testing.assert_array_equal(generator.generate(16, seed=42), first)
    assert not np.array_equal(generator.generate(16, seed=43), first)
    np.testing.assert_array_equal(generator.generate(300, seed=42)[:16], first)  # 300: two chunks
    np.testing.assert_array_equal(generator.generate_labeled(300, seed=42)[1][:16], labels)
    latents = np.random.default_rng(42).standard_normal((16, generator.latent_dim), dtype=np.float32)
    expected = np.clip(np.rint((generator.engine.run(latents, labels)[..., 0] + 1) * 127.5), 0, 255)
    np.testing.assert_array_equal(first, expected.astype(np.uint8))


def test_a_digit_is_repeatable_and_each_digit_differs():
    generator = DigitGenerator()
    assert generator.conditional and generator.engine.contract["digit"]["name"] == "digit"
    sevens, labels = generator.generate_labeled(8, seed=1, digit=7)
    assert labels.tolist() == [7] * 8
    np.testing.assert_array_equal(generator.generate(8, seed=1, digit=7), sevens)
    others = {d: generator.generate(8, seed=1, digit=d) for d in range(10)}
    assert all(not np.array_equal(others[a], others[b]) for a in range(10) for b in range(a))
    mixed, mixed_labels = generator.generate_labeled(10, seed=1, digit=list(range(10)))
    np.testing.assert_array_equal(mixed[7], others[7][7])  # same noise row, same digit: same image
    drawn = generator.generate_labeled(2000, seed=5)[1]
    assert set(np.unique(drawn)) == set(range(10))  # without a digit, the seed draws a mix


@pytest.mark.parametrize("bad", [10, -1, 2.5, "7", [1, 2], True])
def test_generate_refuses_a_bad_digit(bad):
    with pytest.raises(ValueError, match="digit"):
        DigitGenerator().generate(3, seed=0, digit=bad)


def test_contract_comes_from_the_model_and_an_unconditional_model_cannot_take_a_digit(tmp_path):
    from tests.onnx_models import tiny_generator

    conditional = DigitGenerator(model=tiny_generator(tmp_path / "c.onnx", conditional=True))
    assert conditional.conditional and conditional.latent_dim == 8
    # the tiny model's digit table makes digit d bright in band d: the digit fed is the one asked for
    images = conditional.generate(10, seed=0, digit=list(range(10))).reshape(10, 784).astype(float)
    band = np.arange(784) // 79
    assert [int(np.argmax([row[band == d].mean() for d in range(10)])) for row in images] == list(range(10))

    plain = DigitGenerator(model=tiny_generator(tmp_path / "u.onnx", conditional=False, contract_in_metadata=False))
    assert not plain.conditional and plain.generate_labeled(3, seed=0)[1] is None
    with pytest.raises(ValueError, match="unconditional"):
        plain.generate(3, seed=0, digit=4)
    result = run_cli("--model", str(tmp_path / "u.onnx"), "--digit", "4", "--out", str(tmp_path / "x.png"))
    stderr = result.stderr.decode()
    assert result.returncode == 2 and len(stderr.strip().splitlines()) == 1 and "unconditional" in stderr
    assert not (tmp_path / "x.png").exists()


def test_seed_42_png_is_pinned_for_the_bundled_model(tmp_path):
    manifest = json.loads((bundled_model_dir() / "manifest.json").read_text())
    model_sha = manifest["models"]["onnx"]["data"]["sha256"]  # the weights; the graph names them
    hashes = set()
    for attempt in range(2):
        out = tmp_path / f"{attempt}.png"
        assert CliRunner().invoke(cli, ["--seed", "42", "--n", "16", "--out", str(out)]).exit_code == 0
        hashes.add(hashlib.sha256(out.read_bytes()).hexdigest())
    assert len(hashes) == 1  # byte-identical run after run
    assert model_sha in PINNED_PNG, f"pin the new bundled model: {model_sha!r}: {hashes.pop()!r}"
    assert hashes == {PINNED_PNG[model_sha]}


def test_generate_is_safe_from_several_threads():
    generator = DigitGenerator()
    expected = {seed: generator.generate(40, seed) for seed in range(6)}
    results = {}

    def work(seed):
        results[seed] = generator.generate(40, seed)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in range(6):
        np.testing.assert_array_equal(results[seed], expected[seed])


def test_tflite_backend_gives_close_digits():
    pytest.importorskip("ai_edge_litert")
    float_digits = DigitGenerator().generate(40, seed=3).astype(np.int16)
    int8_digits = DigitGenerator(backend="tflite", threads=2).generate(40, seed=3).astype(np.int16)
    assert int8_digits.shape == (40, 28, 28)  # 40 is not a multiple of the model's batch of 16
    assert np.abs(int8_digits - float_digits).mean() < 3


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True])
def test_generate_refuses_a_bad_count(bad):
    with pytest.raises(ValueError, match="n must be"):
        DigitGenerator().generate(bad, seed=1)


def test_generate_refuses_a_bad_seed_and_backend():
    with pytest.raises(ValueError, match="seed must be"):
        DigitGenerator().generate(4, seed=-5)
    with pytest.raises(ValueError, match="unknown backend"):
        DigitGenerator(backend="torch")


@pytest.fixture
def model_copy(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("generator.onnx", "generator.onnx.data", "generator_int8.tflite", "manifest.json"):
        shutil.copy(bundled_model_dir() / name, folder / name)
    return folder


def test_tampered_or_truncated_model_is_refused(model_copy):
    onnx_file = model_copy / "generator.onnx"
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_file.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 does not match"):
        DigitGenerator(model=model_copy)
    with pytest.raises(ModelError, match="sha256 does not match"):
        DigitGenerator(model=onnx_file)  # the manifest beside a given file is honoured too
    onnx_file.write_bytes(bytes(data[:1000]))
    with pytest.raises(ModelError, match="truncated or replaced"):
        DigitGenerator(model=model_copy)
    shutil.copy(bundled_model_dir() / "generator.onnx", onnx_file)
    weights = model_copy / "generator.onnx.data"  # the weights beside the graph are checked as well
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="generator.onnx.data: sha256 does not match"):
        DigitGenerator(model=model_copy)


def test_model_without_manifest_is_checked_by_shape(model_copy, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    alone = tmp_path / "alone.onnx"  # its weights file beside it, as the graph names it
    shutil.copy(model_copy / "generator.onnx", alone)
    shutil.copy(model_copy / "generator.onnx.data", tmp_path / "generator.onnx.data")
    assert DigitGenerator(model=alone).generate(2, seed=0).shape == (2, 28, 28)

    graph = helper.make_graph(
        [helper.make_node("Identity", ["z"], ["images"])], "not-a-generator",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 100])],
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", 100])],
    )
    onnx.save(helper.make_model(graph), tmp_path / "identity.onnx")
    with pytest.raises(ModelError, match="not a digit generator"):
        DigitGenerator(model=tmp_path / "identity.onnx")
    (tmp_path / "garbage.onnx").write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        DigitGenerator(model=tmp_path / "garbage.onnx")


def test_cli_default_writes_digits_png_and_prints_its_path(tmp_path):
    result = run_cli("--seed", "42", "--n", "16", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("digits.png")
    assert Image.open(tmp_path / "digits.png").size == (122, 122)
    assert [p.name for p in tmp_path.iterdir()] == ["digits.png"]  # no temporary file left


def test_cli_stdout_npy_cols_and_scale(tmp_path):
    png = run_cli("--seed", "1", "--n", "6", "--cols", "3", "--scale", "2", "--out", "-")
    assert png.returncode == 0
    assert Image.open(io.BytesIO(png.stdout)).size == (2 * (3 * 30 + 2), 2 * (2 * 30 + 2))
    result = CliRunner().invoke(cli, ["--seed", "1", "--n", "6", "--format", "npy",
                                      "--out", str(tmp_path / "d.npy")])
    assert result.exit_code == 0
    digits = np.load(tmp_path / "d.npy")
    assert digits.dtype == np.uint8 and digits.shape == (6, 28, 28)
    np.testing.assert_array_equal(digits, DigitGenerator().generate(6, seed=1))


@pytest.mark.parametrize("args, code, message", [
    (["--n", "0"], 2, "--n"),
    (["--n", "ten"], 2, "--n"),
    (["--n", "10001"], 2, "--n"),
    (["--seed", "-3"], 2, "--seed"),
    (["--backend", "cuda"], 2, "--backend"),
    (["--model", "missing.onnx"], 2, "missing.onnx"),
    (["--out", "no/such/folder/d.png"], 2, "does not exist"),
    (["--digit", "10"], 2, "--digit"),
    (["--digit", "-1"], 2, "--digit"),
    (["--digit", "x"], 2, "--digit"),
])
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, args, code, message):
    result = run_cli(*args, cwd=tmp_path)
    stderr = result.stderr.decode()
    assert result.returncode == code
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("error: ") and message in stderr
    assert list(tmp_path.iterdir()) == []


def test_cli_tampered_model_exits_1_and_keeps_the_old_output(model_copy, tmp_path):
    (model_copy / "generator.onnx").write_bytes(b"tampered")
    out = tmp_path / "digits.png"
    out.write_bytes(b"previous")
    result = run_cli("--model", str(model_copy), "--out", str(out), "--force")
    assert result.returncode == 1 and b"truncated or replaced" in result.stderr
    assert b"Traceback" not in result.stderr and out.read_bytes() == b"previous"


def test_cli_tflite_without_litert_says_how_to_install(tmp_path):
    result = run_cli("--backend", "tflite", blocked=TRAINING_SIDE + ("ai_edge_litert",), cwd=tmp_path)
    assert result.returncode == 1
    assert b"pip install 'digitgen-mnist[tflite]'" in result.stderr and b"Traceback" not in result.stderr


def test_cli_info_bench_help_and_version():
    runner = CliRunner()
    info = runner.invoke(cli, ["info"])
    assert info.exit_code == 0 and "sha256 verified" in info.output and "tf2onnx" in info.output
    assert "model card" in info.output and "label accuracy" in info.output and "fid floor" in info.output
    bench = runner.invoke(cli, ["--backend", "onnx", "bench", "--seconds", "0.1"])
    assert bench.exit_code == 0 and "batch  256" in bench.output and "images/s" in bench.output
    assert "Examples" in runner.invoke(cli, ["--help"]).output
    assert runner.invoke(cli, ["--version"]).output.startswith("digitgen, version")
