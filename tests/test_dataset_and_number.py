"""Labeled synthetic datasets and numbers written in one hand, on a tiny conditional ONNX model."""

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from digitgen import DigitGenerator
from digitgen.cli import cli
from digitgen.dataset import balanced_labels, seed_of_test_split, write_dataset
from tests.onnx_models import tiny_generator


@pytest.fixture
def conditional_model(tmp_path):
    return tiny_generator(tmp_path / "tiny.onnx", conditional=True)


def test_dataset_is_the_mnist_layout_balanced_and_reproducible(tmp_path, conditional_model):
    runner = CliRunner()
    for name in ("a.npz", "b.npz"):
        result = runner.invoke(cli, ["dataset", "--model", str(conditional_model), "--n", "1003",
                                     "--seed", "5", "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as archive:
        assert sorted(archive.files) == ["x_test", "x_train", "y_test", "y_train"]
        images, labels = archive["x_train"], archive["y_train"]
        test_images, test_labels = archive["x_test"], archive["y_test"]
    assert images.shape == (1003, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (1003,) and labels.dtype == np.uint8
    assert set(np.bincount(labels, minlength=10)) <= {100, 101}  # balanced within one
    assert test_images.shape == (167, 28, 28) and set(np.bincount(test_labels, minlength=10)) <= {16, 17}
    # each image is the digit its label names: the model's API gives the same image for that label
    generator = DigitGenerator(model=conditional_model)
    np.testing.assert_array_equal(images, generator.generate(1003, seed=5, digit=labels))
    np.testing.assert_array_equal(test_images, generator.generate(167, seed=seed_of_test_split(5), digit=test_labels))
    assert not np.array_equal(test_images[:10], images[:10])  # noise of its own, not the training digits

    from train.data import load_mnist  # python -m train --data and python -m train.evaluate --data read it

    np.testing.assert_array_equal(load_mnist(tmp_path / "a.npz", "train")[1], labels)
    np.testing.assert_array_equal(load_mnist(tmp_path / "a.npz", "test")[1], test_labels)


def test_dataset_without_a_test_split(tmp_path, conditional_model):
    out = tmp_path / "d.npz"
    result = CliRunner().invoke(cli, ["dataset", "--model", str(conditional_model), "--n", "20", "--test-n", "0",
                                      "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(np.load(out).files) == ["x_train", "y_train"]


def test_dataset_of_chosen_digits_refuses_to_overwrite_without_force(tmp_path, conditional_model):
    out = tmp_path / "d.npz"
    args = ["dataset", "--model", str(conditional_model), "--n", "30", "--out", str(out), "--digit", "3",
            "--digit", "8"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    assert set(np.load(out)["y_train"]) == {3, 8}
    before = out.read_bytes()
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "--force" in result.output and out.read_bytes() == before
    assert CliRunner().invoke(cli, args + ["--force", "--seed", "9"]).exit_code == 0
    assert out.read_bytes() != before


def test_an_interrupted_dataset_leaves_nothing(tmp_path, conditional_model):
    def interrupt(count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(DigitGenerator(model=conditional_model), tmp_path / "d.npz", 2000, seed=1,
                      progress=interrupt)
    assert list(tmp_path.iterdir()) == [conditional_model]


def test_balanced_labels():
    labels = balanced_labels(25, [1, 2], seed=0)
    assert sorted(np.bincount(labels)[[1, 2]]) == [12, 13]
    np.testing.assert_array_equal(labels, balanced_labels(25, [2, 1, 1], seed=0))


def test_a_number_is_written_in_one_hand(tmp_path, conditional_model):
    generator = DigitGenerator(model=conditional_model)
    number = generator.number("2027", seed=4)
    assert number.shape == (4, 28, 28)
    np.testing.assert_array_equal(number[0], number[2])  # the same noise: the two 2s are one 2
    np.testing.assert_array_equal(number[0], generator.generate(1, seed=4, digit=2)[0])
    assert not np.array_equal(number[1], number[3])
    result = CliRunner().invoke(cli, ["--model", str(conditional_model), "--number", "2027", "--seed", "4",
                                      "--out", str(tmp_path / "n.png")])
    assert result.exit_code == 0 and "the number 2027" in result.output
    from PIL import Image

    assert Image.open(tmp_path / "n.png").size == (4 * 30 + 2, 32)


@pytest.mark.parametrize("args, message", [
    (["--number", "20x6"], "--number: a number is a string of the digits 0-9"),
    (["--number", "-1"], "--number: a number is a string of the digits 0-9"),
    (["--number", "12", "--digit", "3"], "do not go together"),
    (["--number", "12", "--out", "n.npy"], "one PNG"),
    (["dataset", "--n", "5", "--out", "d.txt"], "an .npz file"),
])
def test_bad_number_or_dataset_arguments_are_one_line(tmp_path, conditional_model, args, message):
    result = subprocess.run([sys.executable, "-m", "digitgen", *args, "--model", str(conditional_model)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.onnx"]


def test_an_unconditional_model_cannot_label_a_dataset(tmp_path):
    plain = tiny_generator(tmp_path / "plain.onnx", conditional=False)
    result = CliRunner().invoke(cli, ["dataset", "--model", str(plain), "--n", "5", "--out", str(tmp_path / "d.npz")])
    assert result.exit_code == 1 and not (tmp_path / "d.npz").exists()
