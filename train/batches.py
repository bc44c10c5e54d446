"""Training batches as numpy arrays, for Keras backends without tf.data (JAX: no TensorFlow at all)."""

import keras
import numpy as np

from digitgen.images import to_unit_range


class ShuffledBatches(keras.utils.PyDataset):
    """The batches as numpy arrays, for backends without tf.data (JAX: no TensorFlow at all).

    A PyDataset rather than arrays given to fit(): fit() would hold the whole set as float32
    (4x the uint8) and could not make epochs longer or shorter than a pass; rather than grain: one
    dependency fewer, and the per-batch work (an index and a scaling) is tiny next to a step.
    Batch k of epoch e is batch e * steps + k of an endless stream of passes, each pass a
    permutation drawn from (seed, pass number): with start_epoch as an on_epoch_begin callback,
    a resumed run sees the batches an uninterrupted one would.
    """

    def __init__(self, images, labels, batch_size, seed=None, steps=None):
        super().__init__()
        self.images, self.labels = images, labels.astype(np.int32)
        self.batch_size, self.seed = batch_size, seed
        self.batches_per_pass = len(images) // batch_size
        self.steps = steps or self.batches_per_pass
        self.epoch, self._order = 0, (None, None)

    def __len__(self):
        return self.steps

    def __getitem__(self, index):
        position = self.epoch * self.steps + index
        order = self._permutation(position // self.batches_per_pass)
        start = (position % self.batches_per_pass) * self.batch_size
        chosen = order[start:start + self.batch_size]
        return to_unit_range(self.images[chosen][..., None].astype(np.float32)), self.labels[chosen]

    def start_epoch(self, epoch, logs=None):
        self.epoch = epoch

    def _permutation(self, number):
        if self._order[0] != number:
            rng = np.random.default_rng(None if self.seed is None else [self.seed, number])
            self._order = (number, rng.permutation(len(self.images)))
        return self._order[1]
