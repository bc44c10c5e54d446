"""The MNIST digit classifier that judges generated digits: trained once, cached in artifacts/."""

from pathlib import Path

import keras
import numpy as np

from digitgen.atomic import atomic_path
from digitgen.images import to_unit_range
from train.catalog import CLASSIFIER_FILE
from train.console import fit_verbosity
from train.data import load_mnist
from train.models import ModelFileError, load_keras_model

FEATURES_LAYER = "features"  # the penultimate layer: the space the Fréchet distance is measured in
TARGET_ACCURACY = 0.99


class ClassifierError(Exception):
    """A classifier file that is missing or not a digit classifier."""


def build_classifier():
    """Two conv blocks and a 128-wide dense layer: the documents' baseline, deepened to pass 99%."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(10, activation="softmax", dtype="float32", name="probabilities"),
        ],
        name="digit_classifier",
    )


def to_model_input(images):
    """uint8 (N, 28, 28) digits → float32 (N, 28, 28, 1) in [-1, 1], the generator's own range."""
    return to_unit_range(np.asarray(images, np.float32)[..., None])


def train_classifier(data=None, epochs=6, batch_size=128, seed=0, verbose=None):
    """Fit on MNIST's training split; returns the model and its test accuracy."""
    x_train, y_train = load_mnist(data, "train")
    x_test, y_test = load_mnist(data, "test")
    model = fit_classifier(x_train, y_train, epochs, batch_size, seed, verbose)
    return model, accuracy(model, x_test, y_test)


def fit_classifier(x_train, y_train, epochs=6, batch_size=128, seed=0, verbose=None):
    """The classifier fitted on these uint8 digits and labels, with the project's recipe."""
    keras.utils.set_random_seed(seed)
    model = build_classifier()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    schedule = keras.callbacks.LearningRateScheduler(lambda epoch: 1e-3 * 0.6**epoch)
    model.fit(to_model_input(x_train), y_train, batch_size=batch_size, epochs=epochs,
              callbacks=[schedule], verbose=fit_verbosity() if verbose is None else verbose)
    return model


def predict_probabilities(model, images):
    """The classifier's ten probabilities for each uint8 image."""
    return model.predict(to_model_input(images), batch_size=512, verbose=0)


def predict_labels(model, images):
    """The digit 0-9 the classifier sees in each uint8 image."""
    return predict_probabilities(model, images).argmax(axis=1)


def accuracy(model, images, labels):
    return float(np.mean(predict_labels(model, images) == np.asarray(labels)))


def accuracy_from_probabilities(probabilities, labels):
    return float(np.mean(np.asarray(probabilities).argmax(axis=1) == np.asarray(labels)))


def load_classifier(path=CLASSIFIER_FILE):
    path = Path(path)
    if not path.is_file():
        raise ClassifierError(
            f"{path}: no classifier; train it: python -m train.evaluate --train-classifier --data mnist.npz"
        )
    try:
        model = load_keras_model(path)
    except ModelFileError as error:
        raise ClassifierError(str(error)) from None
    if tuple(model.input_shape[1:]) != (28, 28, 1) or model.output_shape[-1] != 10:
        raise ClassifierError(f"{path}: not a digit classifier (input {model.input_shape}, output {model.output_shape})")
    return model


def save_classifier(model, path=CLASSIFIER_FILE):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        model.save(tmp)


class Judge:
    """Class probabilities and penultimate features of uint8 digits, from one classifier pass."""

    def __init__(self, model):
        self.model = model
        self.both = keras.Model(model.inputs[0], [model.get_layer(FEATURES_LAYER).output, model.outputs[0]])

    def __call__(self, images, batch_size=1000):
        features, probabilities = [], []
        for start in range(0, len(images), batch_size):
            batch = to_model_input(images[start : start + batch_size])
            f, p = self.both(batch, training=False)
            features.append(keras.ops.convert_to_numpy(f))
            probabilities.append(keras.ops.convert_to_numpy(p))
        return np.concatenate(features).astype(np.float64), np.concatenate(probabilities).astype(np.float64)
