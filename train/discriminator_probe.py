"""The documents' experiment: is a trained discriminator a good digit classifier?

Its conv layers are frozen and a new Dense(10) head is trained on MNIST labels; its test
accuracy and confusion matrix are set beside the baseline classifier's.
"""

import json
from pathlib import Path

import keras
import numpy as np

from digitgen.atomic import write_atomically
from train.classifier import predict_labels, to_model_input
from train.console import fit_verbosity
from train.data import load_mnist
from train.metrics import confusion_matrix
from train.models import as_float32
from train.quality_plots import plot_confusion


def discriminator_classifier(discriminator):
    """The discriminator's layers up to its logit, frozen, under a new trainable Dense(10) head."""
    discriminator = as_float32(discriminator)
    body = [layer for layer in discriminator.layers if layer.name != "logit"]
    for layer in body:
        layer.trainable = False
    return keras.Sequential(
        [keras.Input(discriminator.input_shape[1:]), *body,
         keras.layers.Dense(10, activation="softmax", name="digit_head")],
        name="discriminator_classifier",
    )


def finetune(discriminator, baseline, data=None, epochs=3, seed=0, verbose=None):
    """Train the head; return the report and both confusion matrices on the test set."""
    keras.utils.set_random_seed(seed)
    x_train, y_train = load_mnist(data, "train")
    x_test, y_test = load_mnist(data, "test")
    model = discriminator_classifier(discriminator)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(to_model_input(x_train), y_train, batch_size=128, epochs=epochs,
              verbose=fit_verbosity() if verbose is None else verbose)
    matrices = {
        "discriminator": confusion_matrix(y_test, predict_labels(model, x_test)),
        "baseline": confusion_matrix(y_test, predict_labels(baseline, x_test)),
    }
    report = {
        name: {"test_accuracy": float(np.trace(m) / m.sum()), "errors": int(m.sum() - np.trace(m))}
        for name, m in matrices.items()
    }
    report["discriminator"].update(epochs=epochs, trainable_parameters=int(
        sum(np.prod(w.shape) for w in model.trainable_weights)))
    return report, matrices


def write_report(report, matrices, out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    titles = {"discriminator": "Fine-tuned discriminator (frozen convs + Dense(10))",
              "baseline": "Baseline CNN classifier"}
    for name, matrix in matrices.items():
        accuracy = report[name]["test_accuracy"]
        plot_confusion(matrix, f"{titles[name]}\ntest accuracy {accuracy:.2%}", out_dir / f"confusion_{name}.png")
    write_atomically(out_dir / "finetune.json",
                     json.dumps({**report, "confusion": {k: m.tolist() for k, m in matrices.items()}}, indent=2) + "\n")
