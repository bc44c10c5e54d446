"""The two things Keras's own callbacks do not do: sample grids, and images per second."""

import time
from pathlib import Path

import keras
import numpy as np

from runtime.images import make_grid, to_uint8


class SampleGrid(keras.callbacks.Callback):
    """After each epoch, a PNG grid of digits from the same fixed noise, so grids show progress."""

    def __init__(self, generator, noise, out_dir):
        super().__init__()
        self.generator = generator
        self.noise = noise
        self.out_dir = Path(out_dir)

    def on_epoch_end(self, epoch, logs=None):
        self.out_dir.mkdir(parents=True, exist_ok=True)
        images = self.generator(self.noise, training=False)
        path = self.out_dir / f"epoch_{epoch + 1:04d}.png"
        tmp = path.with_name(path.name + ".tmp")
        make_grid(to_uint8(keras.ops.convert_to_numpy(images))).save(tmp, format="PNG")
        tmp.replace(path)


def fixed_noise(count, latent_dim, seed=1234):
    """The grid noise, drawn by numpy as the runtime draws its noise: N(0, 1) float32."""
    return np.random.default_rng(seed).standard_normal((count, latent_dim), dtype=np.float32)


class Throughput(keras.callbacks.Callback):
    """Adds images_per_s to the logs: shown by the progress bar, saved in the CSV history."""

    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = batch_size

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None:
            elapsed = time.perf_counter() - self.start
            logs["images_per_s"] = (batch + 1) * self.batch_size / max(elapsed, 1e-9)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            elapsed = time.perf_counter() - self.start
            logs["epoch_seconds"] = elapsed
            logs["images_per_s"] = self.params["steps"] * self.batch_size / max(elapsed, 1e-9)
