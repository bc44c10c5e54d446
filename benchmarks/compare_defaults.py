"""Quick digit-classifier check of run folders: which settings give recognisable digits sooner.

Trains a small MNIST CNN for one epoch (~98-99% test accuracy), then, for each run's
generator.keras, classifies 2,000 samples: the mean top-class confidence, the share of samples
classified with confidence >= 0.9, and the classifier Inception Score (10 = ten clean, balanced
classes). The evaluation issue brings the full metrics; this is the early signal.

    python -m benchmarks.compare_defaults --data ../shared/data/mnist.npz RUN_DIR [RUN_DIR ...]
"""

import argparse
from pathlib import Path

import train  # noqa: F401  (quiets TensorFlow's start-up log)
import keras
import numpy as np

from train.data import load_mnist


def quick_classifier(data):
    x, y = load_mnist(data, "train")
    x_test, y_test = load_mnist(data, "test")
    scale = lambda images: images[..., None].astype("float32") / 127.5 - 1.0  # noqa: E731
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(64, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dropout(0.3), keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(scale(x), y, batch_size=128, epochs=1, verbose=0)
    _, accuracy = model.evaluate(scale(x_test), y_test, verbose=0)
    return model, accuracy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/mnist.npz")
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()

    classifier, accuracy = quick_classifier(args.data)
    print(f"quick classifier: {accuracy:.4f} test accuracy")
    latents = np.random.default_rng(0).standard_normal((args.samples, 100), dtype=np.float32)
    for run in args.runs:
        generator = keras.models.load_model(run / "generator.keras")
        probs = classifier.predict(generator.predict(latents, verbose=0), verbose=0)
        top = probs.max(axis=1)
        marginal = probs.mean(axis=0)
        kl = np.sum(probs * (np.log(probs + 1e-12) - np.log(marginal + 1e-12)), axis=1)
        history = (run / "history.csv").read_text().strip().splitlines()
        print(f"{str(run):32s} epochs {len(history) - 1}: confidence {top.mean():.3f}, "
              f">=0.9 {np.mean(top >= 0.9):.1%}, inception score {np.exp(kl.mean()):.2f}")


if __name__ == "__main__":
    main()
