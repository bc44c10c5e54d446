"""How good are the generated digits? Classifier-based figures, each beside the real-data floor.

The same latents go through every generator evaluated together, so a float and an int8 model
can be compared image by image (label agreement) as well as set by set.
"""

import json
from pathlib import Path

import numpy as np

from digitgen.atomic import write_atomically
from digitgen.backends import BACKENDS, ModelError
from digitgen.images import to_uint8
from digitgen.model_files import file_sha256
from train import metrics
from train.classifier import Judge, accuracy_from_probabilities, fit_classifier, predict_labels
from train.data import load_mnist
from train.gates import (DIGIT_SHARE_RANGE, FID_FLOOR_FACTOR, INT8_FID_TOLERANCE, MIN_INCEPTION_SCORE,
                         MIN_JUDGED_SAMPLES, MIN_LABEL_ACCURACY, MIN_LABEL_AGREEMENT, gate)
from train.models import ModelFileError, is_conditional, latent_size, load_generator

SAMPLE_SEED = 31337  # latents: numpy default_rng, as the runtime draws them
CAS_SEED = 4242  # the synthetic training set of the Classification Accuracy Score
FLOOR_SEED = 0  # which training images stand in for a perfect generator
DIGITS = 10
GENERATOR_SUFFIXES = (".keras", ".onnx", ".tflite")


class EvaluationError(Exception):
    """A generator that cannot be evaluated (missing, corrupt, of an unknown kind)."""


class Evaluator:
    """The classifier and the real test set, judged once; then any number of sample sets."""

    def __init__(self, classifier, test_images, test_labels):
        self.judge = Judge(classifier)
        self.test_features, test_probabilities = self.judge(test_images)
        self.test_accuracy = accuracy_from_probabilities(test_probabilities, test_labels)

    def figures(self, images, asked=None):
        """Quality figures of uint8 digits against the test set, and the classifier's probabilities.

        With the digits asked for (a conditional generator), also how often each is read back.
        """
        features, probabilities = self.judge(images)
        figures = metrics.quality_figures(self.test_features, features, probabilities)
        if asked is not None:
            figures.update(metrics.label_accuracy(probabilities, asked))
        return figures, probabilities

    def floor(self, train_images, n):
        """The figures a perfect generator would get: n real training digits against the test set."""
        pick = np.random.default_rng(FLOOR_SEED).choice(len(train_images), min(n, len(train_images)), replace=False)
        figures, _ = self.figures(train_images[np.sort(pick)])
        return figures


def keras_sampler(generator):
    """(latents, digits) -> float images for a Keras generator, its latent size, and whether it is
    conditional."""
    conditional = is_conditional(generator)

    def sampler(latents, digits):
        inputs = [latents, digits] if conditional else latents
        return generator.predict(inputs, batch_size=500, verbose=0)

    return sampler, latent_size(generator), conditional


def load_sampler(path):
    """(latents, digits) -> float images in [-1, 1] for a .keras, .onnx or .tflite generator, its
    latent size, and whether it takes a digit."""
    path = Path(path)
    if path.suffix not in GENERATOR_SUFFIXES:
        raise EvaluationError(f"{path}: expected a {', '.join(GENERATOR_SUFFIXES)} generator")
    if path.suffix == ".keras":
        try:
            return keras_sampler(load_generator(path))
        except ModelFileError as error:
            raise EvaluationError(str(error)) from None

    if not path.is_file():
        raise EvaluationError(f"{path}: no such file")
    try:
        engine = BACKENDS[path.suffix[1:]](path)
    except ModelError as error:
        raise EvaluationError(str(error)) from None
    return engine.run, engine.latent_dim, engine.conditional


def asked_digits(n):
    """The digits a conditional generator is asked for: 0-9 in turn, so each is exactly 10%."""
    return (np.arange(n) % DIGITS).astype(np.int32)


def generate(sampler, latent_dim, n, seed=SAMPLE_SEED, chunk=1000, conditional=False):
    """n uint8 digits from the sampler on default_rng(seed) latents, the runtime's way, and the
    digits asked for (None for an unconditional sampler)."""
    rng = np.random.default_rng(seed)
    asked = asked_digits(n) if conditional else None
    images = np.empty((n, 28, 28), np.uint8)
    for start in range(0, n, chunk):
        count = min(chunk, n - start)
        latents = rng.standard_normal((count, latent_dim), dtype=np.float32)
        digits = asked[start : start + count] if conditional else None
        images[start : start + count] = to_uint8(sampler(latents, digits))
    return images, asked


def gates(figures, floor):
    """The shipped model's quality gates, each with its figure and verdict."""
    low, high = DIGIT_SHARE_RANGE
    shares = figures["digit_shares"]
    verdicts = {
        "fid_vs_floor": gate(figures["fid"] / floor["fid"], FID_FLOOR_FACTOR, "<="),
        "inception_score": gate(figures["inception_score"], MIN_INCEPTION_SCORE, ">="),
        "digit_shares": {"value": [min(shares), max(shares)], "threshold": [low, high],
                         "passed": bool(low <= min(shares) and max(shares) <= high)},
    }
    if "label_accuracy" in figures:
        verdicts["label_accuracy"] = gate(figures["label_accuracy"], MIN_LABEL_ACCURACY, ">=")
    return verdicts


def comparison_gates(reference, figures, reference_labels, labels):
    """A converted model against its float original: FID within 10%, labels agreeing on 99%."""
    return {
        "fid_vs_reference": gate(figures["fid"] / reference["fid"], 1 + INT8_FID_TOLERANCE, "<="),
        "label_agreement": gate(float(np.mean(reference_labels == labels)), MIN_LABEL_AGREEMENT, ">="),
    }


def evaluate(generator_paths, classifier, data=None, n=10000, seed=SAMPLE_SEED, echo=print):
    """The report for one or more generators (the first is the reference), and their samples.
    Below MIN_JUDGED_SAMPLES the figures are reported and the gates not judged (passed: None)."""
    samplers = [(Path(path), *load_sampler(path)) for path in generator_paths]
    echo("judging MNIST's test set with the classifier")
    test_images, test_labels = load_mnist(data, "test")
    train_images, _ = load_mnist(data, "train")
    evaluator = Evaluator(classifier, test_images, test_labels)
    echo(f"the real floor: {min(n, len(train_images)):,} training digits against the test set")
    floor = evaluator.floor(train_images, n)
    judged = n >= MIN_JUDGED_SAMPLES
    report = {
        "samples": {"count": n, "latents": "N(0, 1)", "numpy_default_rng_seed": seed,
                    "digits": "conditional generators: 0-9 in turn, n/10 of each"},
        "classifier": {"test_accuracy": evaluator.test_accuracy, "test_images": len(test_images)},
        "floor": {"what": f"{min(n, len(train_images))} real training digits vs the test set", **floor},
        "generators": [],
    }
    samples, reference = {}, None
    for path, sampler, latent_dim, conditional in samplers:
        echo(f"{path.name}: generating and judging {n:,} digits")
        images, asked = generate(sampler, latent_dim, n, seed, conditional=conditional)
        figures, probabilities = evaluator.figures(images, asked)
        labels = probabilities.argmax(axis=1)
        entry = {"file": str(path), "sha256": file_sha256(path), **figures,
                 "fid_vs_floor": figures["fid"] / floor["fid"], "gates": gates(figures, floor)}
        if reference is None:
            reference = (figures, labels)
        else:
            entry["gates"].update(comparison_gates(reference[0], figures, reference[1], labels))
        entry["passed"] = all(gate["passed"] for gate in entry["gates"].values()) if judged else None
        report["generators"].append(entry)
        samples[str(path)] = (images, probabilities)
    report["judged"] = judged
    report["passed"] = all(entry["passed"] for entry in report["generators"]) if judged else None
    return report, samples


def classification_accuracy_score(sampler, latent_dim, n, data=None, epochs=6, seed=CAS_SEED, verbose=0,
                                  echo=print):
    """Classification Accuracy Score (Ravuri & Vinyals 2019): the project's classifier trained on n
    generated digits (labels: the digits asked for, balanced) and tested on the real test set,
    beside the same classifier trained on the first n real training digits. Returns the figures
    and both confusion matrices (rows: the true digit)."""
    echo(f"classification accuracy score: the classifier trained on {n:,} generated digits, then on {n:,} real ones")
    synthetic_images, synthetic_labels = generate(sampler, latent_dim, n, seed, conditional=True)
    real_images, real_labels = load_mnist(data, "train", n)
    test_images, test_labels = load_mnist(data, "test")
    figures, matrices = {"n": n, "epochs": epochs, "test_images": len(test_images)}, {}
    for name, images, labels in (("synthetic", synthetic_images, synthetic_labels),
                                 ("real", real_images, real_labels)):
        model = fit_classifier(images, labels, epochs, seed=seed, verbose=verbose)
        matrices[name] = metrics.confusion_matrix(test_labels, predict_labels(model, test_images))
        figures[f"{name}_test_accuracy"] = float(np.trace(matrices[name]) / len(test_images))
    figures["gap"] = figures["real_test_accuracy"] - figures["synthetic_test_accuracy"]
    return figures, matrices


def write_json(report, path):
    write_atomically(path, json.dumps(report, indent=2) + "\n")


def summary(report):
    """The report as a console table: each figure for the floor and each generator."""
    columns = [("real floor", report["floor"])] + [(Path(g["file"]).name, g) for g in report["generators"]]
    lines = [] if report.get("judged", True) else [
        f"warning: {report['samples']['count']:,} samples: under {MIN_JUDGED_SAMPLES:,}, FID and Inception Score "
        "are biased (the floor's most) and the gates are not judged; use --n 10000"]
    lines += [f"classifier test accuracy: {report['classifier']['test_accuracy']:.4f}",
             f"{'':18s}" + "".join(f"{name[:22]:>24s}" for name, _ in columns)]
    for key in ("fid", "inception_score", "label_accuracy", "mean_confidence", "precision", "recall"):
        lines.append(f"{key:18s}" + "".join(
            f"{figures[key]:24.4f}" if key in figures else f"{'':24s}" for _, figures in columns))
    lines.append(f"{'digit share range':18s}" + "".join(
        f"{min(f['digit_shares']):11.3f} – {max(f['digit_shares']):.3f}  " for _, f in columns))
    for entry in report["generators"]:
        for name, judged in entry["gates"].items():
            verdict = ("PASS" if judged["passed"] else "FAIL") if report.get("judged", True) else "not judged"
            lines.append(f"{Path(entry['file']).name}: {name} {_show(judged['value'])} "
                         f"(gate {judged.get('rule', 'in')} {_show(judged['threshold'])}) {verdict}")
    if "classification_accuracy_score" in report:
        cas = report["classification_accuracy_score"]
        lines.append(f"classification accuracy score: trained on {cas['n']} synthetic digits "
                     f"{cas['synthetic_test_accuracy']:.4f}, on {cas['n']} real ones {cas['real_test_accuracy']:.4f}")
    return "\n".join(lines)


def _show(value):
    return f"[{', '.join(f'{v:.4g}' for v in value)}]" if isinstance(value, (list, tuple)) else f"{value:.4g}"
