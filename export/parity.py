"""How far the exported models are from Keras on the same latents, and whether that is close enough."""

import dataclasses

import numpy as np

from train.gates import (MIN_LABEL_AGREEMENT, NUMPY_MAX_GREY_LEVELS, NUMPY_MAX_PIXELS_DIFFERING, ONNX_MAX_ABS,
                         TFLITE_MIN_PSNR_DB, meets)
from train.metrics import label_accuracy

VALUE_RANGE = (-1.0, 1.0)
PEAK_TO_PEAK = VALUE_RANGE[1] - VALUE_RANGE[0]


@dataclasses.dataclass
class Check:
    """One figure, and where it has one, its threshold and verdict.

    A figure without a threshold is reported only; one whose gate was waived (gated False) keeps
    its threshold, so the report still says whether it was met, but cannot fail the export.
    """

    model: str
    metric: str
    value: float
    threshold: float | None = None
    rule: str | None = None  # "<=" or ">="
    gated: bool = True

    @property
    def met(self):
        return True if self.threshold is None else meets(self.value, self.threshold, self.rule)

    @property
    def passed(self):
        return self.met or not self.gated


def error_figures(reference, candidate):
    """Max, mean and p99 abs error, PSNR over the [-1, 1] range, and cosine similarity."""
    reference = np.asarray(reference, np.float64).ravel()
    candidate = np.asarray(candidate, np.float64).ravel()
    abs_error = np.abs(candidate - reference)
    mse = float(np.mean(abs_error**2))
    psnr = float("inf") if mse == 0 else 10 * np.log10(PEAK_TO_PEAK**2 / mse)
    norms = np.linalg.norm(reference) * np.linalg.norm(candidate)
    cosine = float(reference @ candidate / norms) if norms else float("nan")
    return {
        "max_abs": float(abs_error.max()),
        "mean_abs": float(abs_error.mean()),
        "p99_abs": float(np.percentile(abs_error, 99)),
        "psnr_db": psnr,
        "cosine": cosine,
    }


def onnx_checks(keras_images, onnx_images):
    figures = error_figures(keras_images, onnx_images)
    return [
        Check("onnx", "max_abs", figures["max_abs"], ONNX_MAX_ABS, "<="),
        *(Check("onnx", name, figures[name]) for name in ("mean_abs", "p99_abs", "psnr_db", "cosine")),
    ]


def tflite_checks(keras_images, tflite_images):
    figures = error_figures(keras_images, tflite_images)
    return [
        *(Check("tflite_int8", name, figures[name]) for name in ("max_abs", "mean_abs", "p99_abs")),
        Check("tflite_int8", "psnr_db", figures["psnr_db"], TFLITE_MIN_PSNR_DB, ">="),
        Check("tflite_int8", "cosine", figures["cosine"]),
    ]


def numpy_checks(onnx_images, numpy_images, to_uint8):
    """The numpy backend against onnxruntime: the floats within ONNX_MAX_ABS, and the shipped
    uint8 pixels at most one grey level apart (a value at a rounding boundary), on few pixels."""
    figures = error_figures(onnx_images, numpy_images)
    levels = np.abs(to_uint8(onnx_images).astype(np.int16) - to_uint8(numpy_images).astype(np.int16))
    return [
        Check("numpy", "max_abs_vs_onnx", figures["max_abs"], ONNX_MAX_ABS, "<="),
        Check("numpy", "max_grey_levels_vs_onnx", float(levels.max()), NUMPY_MAX_GREY_LEVELS, "<="),
        Check("numpy", "pixels_differing_vs_onnx", float(np.mean(levels > 0)), NUMPY_MAX_PIXELS_DIFFERING, "<="),
    ]


def label_checks(model, reference_probabilities, probabilities, gated=True):
    """How often the classifier names a converted model's digit as it names the Keras digit.

    Gated overall; also reported among digits the classifier reads with >= 0.9 confidence, since
    a flip on a digit it cannot decide (a 3 that is half a 5) says little about the conversion.
    """
    reference_labels, labels = reference_probabilities.argmax(axis=1), probabilities.argmax(axis=1)
    confident = reference_probabilities.max(axis=1) >= 0.9
    agreement = float(np.mean(reference_labels == labels))
    checks = [
        Check(model, "label_agreement", agreement, MIN_LABEL_AGREEMENT, ">=", gated),
        Check(model, "confident_share", float(np.mean(confident))),
    ]
    if confident.any():
        same = reference_labels[confident] == labels[confident]
        checks.append(Check(model, "label_agreement_confident", float(np.mean(same))))
    return checks


def report(checks, n_latents, seed):
    """parity.json's content: every figure, each threshold, each verdict, and the overall one."""
    return {
        "latents": {"count": n_latents, "distribution": "N(0, 1)", "numpy_default_rng_seed": seed},
        "passed": all(check.passed for check in checks),
        "checks": [
            {**dataclasses.asdict(check), "met": check.met, "passed": check.passed} for check in checks
        ],
    }


def table(checks):
    """The checks as a short console table, Polygraphy-style: model, metric, value, gate, verdict."""
    lines = [f"{'model':12s} {'metric':26s} {'value':>12s}  {'gate':>12s}  result"]
    for check in checks:
        gate = f"{check.rule} {check.threshold:g}" if check.threshold is not None else ""
        verdict = ("PASS" if check.met else "FAIL") if check.threshold is not None else ""
        verdict += "" if check.gated else " (not gated)"
        lines.append(f"{check.model:12s} {check.metric:26s} {check.value:12.6g}  {gate:>12s}  {verdict}")
    return "\n".join(lines)


def read_back(probabilities, asked):
    """For each digit, the share of the images asked to show it that the classifier reads as it."""
    figures = label_accuracy(probabilities, asked)
    return {"overall": figures["label_accuracy"], "per_digit": figures["label_accuracy_per_digit"]}


def digit_table(per_digit):
    """The asked digit read back, per model and digit, as a console table."""
    lines = [f"{'asked digit read back':22s}" + "".join(f"{d:>7d}" for d in range(10)) + "    all"]
    for model, figures in per_digit.items():
        lines.append(f"{model:22s}" + "".join(f"{share:7.3f}" for share in figures["per_digit"])
                     + f"{figures['overall']:7.3f}")
    return "\n".join(lines)
