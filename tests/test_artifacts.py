"""The files in artifacts/ belong together: the runtime's bundled model is the exported shipped
generator, its parity report passed, and its evaluation report covers the same model."""

import json
from pathlib import Path

import numpy as np

from export.export import load_generator
from export.manifest import sha256
from runtime.backends import OnnxBackend

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_manifest_describes_the_files_beside_it():
    manifest = json.loads((ARTIFACTS / "manifest.json").read_text())
    assert manifest["source"]["sha256"] == sha256(ARTIFACTS / manifest["source"]["name"])
    for entry in manifest["models"].values():
        assert entry["sha256"] == sha256(ARTIFACTS / entry["name"]), entry["name"]
    parity = json.loads((ARTIFACTS / "parity.json").read_text())
    assert manifest["parity"]["passed"] and parity["passed"]
    # Only the int8 label-agreement gate may have been waived (--no-label-gate); every other gate held.
    waived = {(check["model"], check["metric"]) for check in parity["checks"] if not check["gated"]}
    assert waived <= {("onnx", "label_agreement"), ("tflite_int8", "label_agreement")}
    assert all(check["met"] for check in parity["checks"] if check["gated"])


def test_bundled_onnx_is_the_shipped_keras_generator():
    latents = np.random.default_rng(5).standard_normal((8, 100), dtype=np.float32)
    expected = load_generator(ARTIFACTS / "generator.keras").predict(latents, verbose=0)
    produced = OnnxBackend(ARTIFACTS / "generator.onnx").run(latents)
    np.testing.assert_allclose(produced, expected, atol=1e-5)


def test_evaluation_report_is_about_the_shipped_generators():
    report = json.loads((ARTIFACTS / "evaluation.json").read_text())
    judged = {Path(entry["file"]).name: entry["sha256"] for entry in report["generators"]}
    for name in ("generator.keras", "generator_int8.tflite"):
        assert judged.get(name) == sha256(ARTIFACTS / name), f"evaluation.json is not about artifacts/{name}"
    assert report["classifier"]["test_accuracy"] >= 0.99
