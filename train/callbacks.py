"""What Keras's own callbacks do not do: sample grids, images per second, sample quality."""

import csv
import time
from pathlib import Path

import keras
import numpy as np

from digitgen.atomic import atomic_path
from digitgen.images import make_grid, to_uint8
from train.evaluation import generate, keras_sampler
from train.interrupts import interrupts_deferred
from train.models import DIGITS, is_conditional


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, a PNG grid of digits from the same fixed inputs, so grids show progress."""

    def __init__(self, generator, inputs, cols, out_dir):
        super().__init__()
        self.generator = generator
        self.inputs = inputs
        self.out_dir = Path(out_dir)
        self.cols = cols

    def on_epoch_end(self, epoch, logs=None):
        self.out_dir.mkdir(parents=True, exist_ok=True)
        images = self.generator(self.inputs, training=False)
        with atomic_path(self.out_dir / f"epoch_{epoch + 1:04d}.png") as tmp:
            make_grid(to_uint8(keras.ops.convert_to_numpy(images)), cols=self.cols).save(tmp, format="PNG")


def fixed_noise(count, latent_dim, seed=1234):
    """The grid noise, drawn by numpy as the runtime draws its noise: N(0, 1) float32."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim), dtype=np.float32)


def grid_inputs(generator, grid_size, latent_dim):
    """The fixed inputs of the sample grid, and its columns.

    A conditional grid has one column per digit 0-9 and one noise vector per row, so a row is one
    hand writing every digit; an unconditional one is grid_size digits in a square.
    """
    if not is_conditional(generator):
        return fixed_noise(grid_size, latent_dim), None
    rows = max(1, grid_size // DIGITS)
    noise = np.repeat(fixed_noise(rows, latent_dim), DIGITS, axis=0)
    digits = np.tile(np.arange(DIGITS, dtype=np.int32), rows)
    return [noise, digits], DIGITS


class Throughput(keras.callbacks.Callback):
    """Adds images_per_s to the logs: shown by the progress bar, saved in the CSV history."""

    def __init__(self, images_per_step):
        super().__init__()
        self.images_per_step = images_per_step

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None:
            elapsed = time.perf_counter() - self.start
            logs["images_per_s"] = (batch + 1) * self.images_per_step / max(elapsed, 1e-9)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            elapsed = time.perf_counter() - self.start
            logs["epoch_seconds"] = elapsed
            logs["images_per_s"] = self.params["steps"] * self.images_per_step / max(elapsed, 1e-9)


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the first epoch that ends past `hours` of training time (the epochs'
    own seconds, from Throughput, so evaluations do not count), `spent_seconds` already used."""

    def __init__(self, hours, spent_seconds=0.0):
        super().__init__()
        self.budget, self.spent = hours * 3600, spent_seconds

    def on_epoch_end(self, epoch, logs=None):
        self.spent += (logs or {}).get("epoch_seconds", 0.0)
        if self.spent >= self.budget:
            print(f"\nthe budget of {self.budget / 3600:g} h is spent ({self.spent / 3600:.3f} h): stopping")
            self.model.stop_training = True


class HistoryLog(keras.callbacks.CSVLogger):
    """Keras's CSVLogger with the epochs numbered from 1, as the sample grids, quality.csv and
    every message number them, and without the empty val_ columns it adds when a run has no
    validation data."""

    def on_epoch_end(self, epoch, logs=None):
        if self.keys is None:
            self.keys = sorted(logs or {})  # set first: CSVLogger would add "val_" + each key
        super().on_epoch_end(epoch + 1, logs)


class QualityLog(keras.callbacks.Callback):
    """Every `every` epochs, the evaluation figures of n fresh samples, one row of quality.csv.

    A file of its own: Keras's CSVLogger fixes its columns at the first epoch, and a run
    resumed with --eval-every would not match the columns it started with.
    """

    COLUMNS = ["epoch", "fid", "inception_score", "label_accuracy", "mean_confidence", "precision",
               "recall", "min_digit_share", "max_digit_share", "floor_fid", "floor_inception_score"]

    def __init__(self, generator, evaluator, floor, every, n, csv_path):
        super().__init__()
        self.generator, self.evaluator, self.floor = generator, evaluator, floor
        self.every, self.n, self.csv_path = every, n, Path(csv_path)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        sampler, latent_dim, conditional = keras_sampler(self.generator)
        figures, _ = self.evaluator.figures(*generate(sampler, latent_dim, self.n, conditional=conditional))
        row = {key: figures.get(key) for key in self.COLUMNS[1:7]}
        row.update(epoch=epoch + 1, min_digit_share=min(figures["digit_shares"]),
                   max_digit_share=max(figures["digit_shares"]), floor_fid=self.floor["fid"],
                   floor_inception_score=self.floor["inception_score"])
        new_file = not self.csv_path.is_file()
        with open(self.csv_path, "a", newline="") as stream:
            writer = csv.DictWriter(stream, self.COLUMNS)
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        accuracy = f", label accuracy {figures['label_accuracy']:.4f}" if "label_accuracy" in figures else ""
        print(f"\nepoch {epoch + 1}: FID {figures['fid']:.3f} (floor {self.floor['fid']:.3f}), "
              f"IS {figures['inception_score']:.3f}{accuracy}")


class InterruptSafeBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore whose checkpoint a Ctrl-C cannot tear: an interrupt that arrives while the
    weights and the epoch counter are being written waits until both are on disk.

    Keras writes the weights file in place and then the counter; an interrupt in between left a
    half-written file that the next --resume could not load (it only falls back on OSError).
    """

    def _save_model(self):
        with interrupts_deferred():
            super()._save_model()
