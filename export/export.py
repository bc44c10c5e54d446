"""One export: convert, check parity, write manifest and report, and only then replace the old files."""

import json
import shutil
import tempfile
from pathlib import Path

from export import parity
from export.convert import DATA_SUFFIX, TFLITE_BATCH, calibration_inputs, to_onnx, to_tflite_int8
from export.manifest import MANIFEST_FILE, build_manifest, file_entry, tool_versions
from export.numpy_graph import write_numpy_graph
from digitgen.backends import NumpyBackend, OnnxBackend, TFLiteBackend
from digitgen.contract import DIGIT, NOISE, make_contract
from digitgen.images import to_uint8
from train.classifier import ClassifierError, load_classifier as load_keras_classifier, predict_probabilities
from train.models import ModelFileError, is_conditional, latent_size, load_generator as load_keras_generator

ONNX_FILE = "generator.onnx"
ONNX_DATA_FILE = ONNX_FILE + DATA_SUFFIX
TFLITE_FILE = "generator_int8.tflite"
NUMPY_FILE = "generator_numpy.json"  # the ONNX graph for the numpy backend; its weights: ONNX_DATA_FILE
PARITY_FILE = "parity.json"
PARITY_SEED = 2024  # parity latents: numpy default_rng, as the runtime draws them
CALIBRATION_SEED = 7


class ExportError(Exception):
    """A generator that cannot be exported (missing, corrupt, not a generator)."""


def load_generator(path):
    try:
        return load_keras_generator(path)
    except ModelFileError as error:
        raise ExportError(str(error)) from None


def load_classifier(path):
    try:
        return load_keras_classifier(path)
    except ClassifierError as error:
        raise ExportError(str(error)) from None


def export(generator_path, out_dir, n_latents=2048, n_calibration=512, echo=print, classifier_path=None,
           label_gate=True):
    """Export into out_dir; returns the parity report. On a failed gate nothing in out_dir changes.

    With a classifier, the exported models must also get the same digit labels as Keras (with
    label_gate False, the agreement is only reported); without one (quick exports, tests) the
    labels are not compared and parity.json says so.
    """
    generator_path, out_dir = Path(generator_path), Path(out_dir)
    generator = load_generator(generator_path)
    classifier = load_classifier(classifier_path) if classifier_path else None
    latent_dim, conditional = latent_size(generator), is_conditional(generator)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".export-") as staging:
        staging = Path(staging)
        echo(f"converting {generator_path.name} to ONNX (tf2onnx) and its numpy graph")
        convert(generator, staging, n_calibration, echo)
        echo(f"checking parity on {n_latents:,} latents: Keras, ONNX, numpy, int8 TFLite"
             + (", and the classifier's labels" if classifier else ""))
        checks, per_digit = check_parity(generator, staging, n_latents, classifier, label_gate)
        report = parity.report(checks, n_latents, PARITY_SEED)
        report["label_classifier"] = str(classifier_path) if classifier else None
        if per_digit:
            report["asked_digit_read_back"] = per_digit
        echo(parity.table(checks))
        if per_digit:
            echo(parity.digit_table(per_digit))
        if not report["passed"]:
            return report
        (staging / PARITY_FILE).write_text(json.dumps(report, indent=2) + "\n")
        write_manifest(staging, generator_path, latent_dim, conditional)
        for name in (ONNX_DATA_FILE, ONNX_FILE, NUMPY_FILE, TFLITE_FILE, PARITY_FILE, MANIFEST_FILE):  # manifest last
            shutil.move(staging / name, out_dir / name)
    return report


def convert(generator, staging, n_calibration, echo):
    """generator.onnx (and its weights), the numpy graph, and the int8 TFLite model, into staging."""
    latent_dim, conditional = latent_size(generator), is_conditional(generator)
    metadata = {"latent_dim": latent_dim, "conditional": conditional, "value_range": list(parity.VALUE_RANGE),
                **{f"version_{tool}": version for tool, version in tool_versions().items()}}
    to_onnx(generator, staging / ONNX_FILE, make_contract(latent_dim, conditional), metadata)
    write_numpy_graph(staging / ONNX_FILE, staging / NUMPY_FILE)
    echo(f"converting to int8 TFLite, calibrated on {n_calibration:,} inputs")
    to_tflite_int8(generator, staging / TFLITE_FILE, make_contract(latent_dim, conditional, TFLITE_BATCH),
                   calibration_inputs(make_contract(latent_dim, conditional), n_calibration, CALIBRATION_SEED))


def write_manifest(staging, generator_path, latent_dim, conditional):
    """manifest.json: each exported file with its input contract, output shape, size and sha256."""
    models = {
        "onnx": (staging / ONNX_FILE, make_contract(latent_dim, conditional), ["N", 28, 28, 1],
                 {"data": file_entry(staging / ONNX_DATA_FILE)}),
        "tflite": (staging / TFLITE_FILE, make_contract(latent_dim, conditional, TFLITE_BATCH),
                   [TFLITE_BATCH, 28, 28, 1],
                   {"quantization": "full int8 (weights and activations)", "batch": TFLITE_BATCH}),
        "numpy": (staging / NUMPY_FILE, make_contract(latent_dim, conditional), ["N", 28, 28, 1],
                  {"data": file_entry(staging / ONNX_DATA_FILE)}),
    }
    manifest = build_manifest(generator_path, models, latent_dim, conditional, parity.VALUE_RANGE)
    manifest["parity"] = {"file": PARITY_FILE, "passed": True}
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n")


def check_parity(generator, model_dir, n_latents, classifier=None, label_gate=True):
    """The parity checks on the same inputs through Keras, ONNX and int8 TFLite (the numpy backend
    against onnxruntime, which it stands in for), and for a
    conditional generator, each model's per-digit share of digits read back as asked."""
    conditional = is_conditional(generator)
    inputs = calibration_inputs(make_contract(latent_size(generator), conditional), n_latents, PARITY_SEED)
    latents, digits = inputs[NOISE], inputs.get(DIGIT)
    reference = generator.predict([latents, digits] if conditional else latents, batch_size=256, verbose=0)
    onnx_images = OnnxBackend(model_dir / ONNX_FILE).run(latents, digits)
    tflite_images = TFLiteBackend(model_dir / TFLITE_FILE).run(latents, digits)
    numpy_images = NumpyBackend(model_dir / NUMPY_FILE).run(latents, digits)
    checks = (parity.onnx_checks(reference, onnx_images) + parity.tflite_checks(reference, tflite_images)
              + parity.numpy_checks(onnx_images, numpy_images, to_uint8))
    per_digit = None
    if classifier is not None:
        # The digits as shipped, uint8 pixels (the runtime's output), as the classifier sees them.
        keras_p, onnx_p, tflite_p = (predict_probabilities(classifier, to_uint8(images))
                                     for images in (reference, onnx_images, tflite_images))
        checks += parity.label_checks("onnx", keras_p, onnx_p, label_gate)
        checks += parity.label_checks("tflite_int8", keras_p, tflite_p, label_gate)
        if conditional:
            per_digit = {model: parity.read_back(probabilities, digits) for model, probabilities
                         in (("keras", keras_p), ("onnx", onnx_p), ("tflite_int8", tflite_p))}
    return checks, per_digit
