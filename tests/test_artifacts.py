"""The files in artifacts/ belong together: the runtime's bundled model is the exported shipped
generator, its parity report passed, and its evaluation report covers the same model."""

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.tensorflow
pytest.importorskip("tensorflow", reason="needs the training side: pip install -e '.[dev]'")

from digitgen.backends import OnnxBackend  # noqa: E402
from export.export import load_generator  # noqa: E402
from export.manifest import sha256  # noqa: E402
from tests.helpers import ARTIFACTS  # noqa: E402



def test_manifest_describes_the_files_beside_it():
    manifest = json.loads((ARTIFACTS / "manifest.json").read_text())
    assert manifest["source"]["sha256"] == sha256(ARTIFACTS / manifest["source"]["name"])
    for entry in manifest["models"].values():
        assert entry["sha256"] == sha256(ARTIFACTS / entry["name"]), entry["name"]
    parity = json.loads((ARTIFACTS / "parity.json").read_text())
    assert manifest["parity"]["passed"] and parity["passed"]
    # The shipped model was exported with every gate on (int8 label agreement included) and met them all.
    assert parity["label_classifier"] and all(check["gated"] and check["met"] for check in parity["checks"])
    read_back = parity["asked_digit_read_back"]
    assert manifest["conditional"] and read_back["keras"]["overall"] >= 0.95  # what ships (target: 0.99)
    assert abs(read_back["tflite_int8"]["overall"] - read_back["keras"]["overall"]) <= 0.01


def test_bundled_onnx_is_the_shipped_keras_generator():
    latents = np.random.default_rng(5).standard_normal((10, 100), dtype=np.float32)
    digits = np.arange(10, dtype=np.int32)
    expected = load_generator(ARTIFACTS / "generator.keras").predict([latents, digits], verbose=0)
    produced = OnnxBackend(ARTIFACTS / "generator.onnx").run(latents, digits)
    np.testing.assert_allclose(produced, expected, atol=1e-5)


def test_the_bundled_model_draws_the_digit_asked_for():
    """The runtime's --digit, judged by the project's classifier: each asked digit is read back."""
    from digitgen import DigitGenerator
    from train.classifier import load_classifier, predict_labels

    generator = DigitGenerator()
    classifier = load_classifier(ARTIFACTS / "classifier.keras")
    for digit in range(10):  # the shipped model reads back 94.6-100% per digit on 2048 samples
        read = predict_labels(classifier, generator.generate(100, seed=digit, digit=digit))
        assert np.mean(read == digit) >= 0.85, (digit, np.bincount(read, minlength=10))


def test_evaluation_report_is_about_the_shipped_generators():
    report = json.loads((ARTIFACTS / "evaluation.json").read_text())
    judged = {Path(entry["file"]).name: entry["sha256"] for entry in report["generators"]}
    for name in ("generator.keras", "generator_int8.tflite"):
        assert judged.get(name) == sha256(ARTIFACTS / name), f"evaluation.json is not about artifacts/{name}"
    assert report["classifier"]["test_accuracy"] >= 0.99
    assert report["generators"][0]["label_accuracy"] >= 0.95
    cas = report["classification_accuracy_score"]  # the README's figures come from here
    assert cas["n"] == 60_000 and cas["test_images"] == 10_000
    assert 0.85 <= cas["synthetic_test_accuracy"] < cas["real_test_accuracy"]
    assert (ARTIFACTS / "cas_synthetic.png").is_file() and (ARTIFACTS / "cas_real.png").is_file()


def test_the_model_card_states_what_the_evaluation_measured():
    import pytest

    from digitgen.model_files import read_model_card

    card = read_model_card(ARTIFACTS)
    evaluation = json.loads((ARTIFACTS / "evaluation.json").read_text())
    manifest = json.loads((ARTIFACTS / "manifest.json").read_text())
    shipped = evaluation["generators"][0]
    assert card["source_sha256"] == manifest["source"]["sha256"] == shipped["sha256"]  # the card's model is the one shipped
    for key in ("fid", "inception_score", "label_accuracy"):
        assert float(card[key]) == pytest.approx(shipped[key], abs=1e-4), key
    assert float(card["fid_floor"]) == pytest.approx(evaluation["floor"]["fid"], abs=1e-4)
    cas = evaluation["classification_accuracy_score"]
    assert float(card["cas_synthetic"]) == pytest.approx(cas["synthetic_test_accuracy"], abs=1e-4)
    assert float(card["cas_real"]) == pytest.approx(cas["real_test_accuracy"], abs=1e-4)
