"""Evaluation end to end on tiny data, with the classifier that ships in artifacts/."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow", reason="needs the training side: pip install -e '.[dev]'")

from tests.helpers import CLASSIFIER, ROOT, SHIPPED_KERAS as SHIPPED, checkout_env  # noqa: E402
from train import evaluation  # noqa: E402
from train.classifier import load_classifier  # noqa: E402
from train.discriminator_probe import finetune, write_report  # noqa: E402
from train.metrics import confusion_matrix  # noqa: E402
from train.models import build_discriminator  # noqa: E402
from train.report import read_history  # noqa: E402
from train.train import train  # noqa: E402


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(CLASSIFIER)


def test_a_generator_agrees_with_itself_and_its_int8_model_nearly(classifier, mnist_npz):
    report, samples = evaluation.evaluate([SHIPPED, SHIPPED, ROOT / "artifacts" / "generator_int8.tflite"],
                                          classifier, data=mnist_npz, n=300)
    reference, same, int8 = report["generators"]
    assert report["floor"]["fid"] >= 0 and 0 <= report["classifier"]["test_accuracy"] <= 1
    assert same["gates"]["label_agreement"]["value"] == 1.0
    assert same["gates"]["fid_vs_reference"]["value"] == pytest.approx(1.0)
    assert int8["gates"]["label_agreement"]["value"] > 0.9  # int8 is close to float, not equal
    assert sum(reference["digit_shares"]) == pytest.approx(1.0, abs=1e-5)  # each share rounded to 6 places
    images, probabilities = samples[str(SHIPPED)]
    assert images.shape == (300, 28, 28) and images.dtype == np.uint8 and probabilities.shape == (300, 10)


def test_gates_fail_on_a_one_digit_generator():
    floor = {"fid": 1.0}
    figures = {"fid": 2.0, "inception_score": 1.0, "digit_shares": [1.0] + [0.0] * 9}
    gates = evaluation.gates(figures, floor)
    assert gates["fid_vs_floor"]["passed"] is True
    assert gates["inception_score"]["passed"] is False and gates["digit_shares"]["passed"] is False
    labels = np.arange(100) % 10
    flipped = labels.copy()
    flipped[:2] = (flipped[:2] + 1) % 10
    compared = evaluation.comparison_gates({"fid": 1.0}, {"fid": 1.2}, labels, flipped)
    assert compared["fid_vs_reference"]["passed"] is False  # 20% worse than the float model
    assert compared["label_agreement"]["value"] == 0.98 and compared["label_agreement"]["passed"] is False


def test_label_accuracy_reads_back_the_asked_digit_and_gates_it():
    from train.metrics import label_accuracy

    asked = np.arange(100) % 10
    probabilities = np.eye(10)[asked]
    probabilities[:3] = np.eye(10)[(asked[:3] + 1) % 10]  # digits 0, 1, 2 once each read wrong
    figures = label_accuracy(probabilities, asked)
    assert figures["label_accuracy"] == pytest.approx(0.97)
    assert figures["label_accuracy_per_digit"][:4] == [0.9, 0.9, 0.9, 1.0]
    gate = evaluation.gates({"fid": 1.0, "inception_score": 9.9, "digit_shares": [0.1] * 10, **figures},
                            {"fid": 1.0})["label_accuracy"]
    assert gate["threshold"] == 0.99 and gate["passed"] is False


def test_cli_writes_report_and_figure(tmp_path, mnist_npz):
    result = subprocess.run(
        [sys.executable, "-m", "train.evaluate", "--generator", str(ROOT / "artifacts" / "generator.onnx"),
         "--data", str(mnist_npz), "--n", "200", "--out", str(tmp_path), "--classifier", str(CLASSIFIER)],
        capture_output=True, text=True, cwd=tmp_path, env=checkout_env(),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "evaluation.json").read_text())
    assert report["samples"]["count"] == 200 and len(report["generators"]) == 1
    assert set(report["generators"][0]["gates"]) == {"fid_vs_floor", "inception_score", "digit_shares", "label_accuracy"}
    assert (tmp_path / "evaluation.png").stat().st_size > 10_000
    assert "inception_score" in result.stdout
    # 200 samples: figures reported, gates not judged (small-sample FID would mislead), stages shown
    assert report["judged"] is False and report["passed"] is None and report["generators"][0]["passed"] is None
    assert "warning: 200 samples" in result.stdout and "PASS" not in result.stdout and "FAIL" not in result.stdout
    assert "generator.onnx: generating and judging 200 digits" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--generator", "missing.onnx"], "missing.onnx: no such file"),
    (["--generator", "model.txt"], "expected a .keras, .onnx, .tflite generator"),
    (["--generator", "missing.onnx", "--classifier", "nope.keras"], "no classifier"),
    ([], "at least one --generator"),
    (["--generator", "missing.onnx", "--n", "500", "--strict"], "--strict judges the gates, which need --n 10000"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, mnist_npz, args, message):
    if "--classifier" not in args:
        args = args + ["--classifier", str(CLASSIFIER)]
    result = subprocess.run([sys.executable, "-m", "train.evaluate", "--data", str(mnist_npz), *args],
                            capture_output=True, text=True, cwd=tmp_path, env=checkout_env())
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last and "Traceback" not in result.stderr
    assert not (tmp_path / "evaluation.json").exists()


def test_eval_every_records_quality_per_epoch_also_after_resume(tmp_path, mnist_npz, monkeypatch):
    from train.config import TrainConfig

    monkeypatch.chdir(ROOT)  # the classifier's default path is relative to the repository root
    out = tmp_path / "run"
    config = TrainConfig(data=str(mnist_npz), epochs=2, batch_size=64, limit=128, grid_size=4,
                         eval_every=1, eval_samples=64)
    train(config, out, verbose=0)
    quality = read_history(out / "quality.csv")
    assert quality["epoch"] == [1.0, 2.0]
    assert all(0 <= value <= 1 for value in quality["label_accuracy"])  # cdcgan, the default: digits asked
    assert all(value > 0 for value in quality["fid"]) and all(1 <= v <= 10 for v in quality["inception_score"])
    assert (out / "quality.png").is_file()
    # A resumed run keeps recording quality without being told again.
    train(TrainConfig(data=str(mnist_npz), epochs=3), out, resume=True, verbose=0)
    assert read_history(out / "quality.csv")["epoch"] == [1.0, 2.0, 3.0]


def test_discriminator_finetune_reports_both_classifiers(tmp_path, mnist_npz, classifier):
    import keras

    keras.utils.set_random_seed(0)
    report, matrices = finetune(build_discriminator(), classifier, data=mnist_npz, epochs=2, verbose=0)
    assert matrices["discriminator"].sum() == matrices["baseline"].sum() == 64  # the tiny test split
    assert report["discriminator"]["trainable_parameters"] == 7 * 7 * 128 * 10 + 10  # the head only
    write_report(report, matrices, tmp_path / "out")
    assert {p.name for p in (tmp_path / "out").iterdir()} == {
        "finetune.json", "confusion_discriminator.png", "confusion_baseline.png"}


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = confusion_matrix([0, 0, 1, 9], [0, 1, 1, 9])
    assert matrix[0, 0] == 1 and matrix[0, 1] == 1 and matrix[1, 1] == 1 and matrix[9, 9] == 1
    assert matrix.sum() == 4


def bar_sampler(shift):
    """A 'generator' drawing tests.conftest.fake_digits' bar for digit + shift: shift 0 is a perfect
    conditional generator of that data, shift 1 one that draws every digit as the next one."""
    def sample(latents, digits):
        images = np.full((len(latents), 28, 28, 1), -1.0, np.float32)
        for image, digit in zip(images, (np.asarray(digits) + shift) % 10):
            image[4 + 2 * digit : 7 + 2 * digit, 4:24] = 1.0
        return images
    return sample


def test_classification_accuracy_score_follows_the_labels(mnist_npz):
    good, matrices = evaluation.classification_accuracy_score(bar_sampler(0), 8, 256, mnist_npz, epochs=10)
    wrong, _ = evaluation.classification_accuracy_score(bar_sampler(1), 8, 256, mnist_npz, epochs=10)
    assert matrices["synthetic"].sum() == matrices["real"].sum() == good["test_images"] == 64
    assert good["synthetic_test_accuracy"] >= 0.75
    assert wrong["synthetic_test_accuracy"] <= 0.2  # labels that lie teach the wrong digits
    assert 0 <= good["real_test_accuracy"] <= 1 and good["gap"] == pytest.approx(
        good["real_test_accuracy"] - good["synthetic_test_accuracy"])


def test_cas_refuses_an_unconditional_generator_before_evaluating(tmp_path, mnist_npz):
    from tests.onnx_models import tiny_generator

    plain = tiny_generator(tmp_path / "plain.onnx", conditional=False)
    result = subprocess.run([sys.executable, "-m", "train.evaluate", "--generator", str(plain), "--data", str(mnist_npz),
                             "--n", "20", "--cas", "20", "--classifier", str(tmp_path / "none.keras"),
                             "--out", str(tmp_path)],
                            capture_output=True, text=True, cwd=tmp_path, env=checkout_env())
    # refused before the evaluation even loads its classifier (here missing): not minutes later
    assert result.returncode == 2 and "is unconditional: its digits have no labels" in result.stderr
    assert not (tmp_path / "evaluation.json").exists()
