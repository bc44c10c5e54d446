"""MNIST from Keras's download, a local mnist.npz, or the original IDX files; the training batches
(a tf.data pipeline on TensorFlow, a keras.utils.PyDataset on any other backend)."""

import gzip
import re
import zipfile
from pathlib import Path

import numpy as np

from digitgen.images import to_unit_range
from digitgen.messages import first_line

IMAGE_SIDE = 28
IDX_NAME = re.compile(r"^(train|t10k)-(images|labels)[.-]idx([13])-ubyte(\.gz)?$")
IDX_MAGIC = {"images": 0x00000803, "labels": 0x00000801}
NPZ_SPLITS = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}
IDX_SPLITS = {"train": "train", "test": "t10k"}


class DataError(Exception):
    """A data file that is missing or malformed; the message names the file and the fault."""


def load_mnist(path=None, split="train", limit=None):
    """Return (images uint8 (N, 28, 28), labels uint8 (N,)) of one split, the first `limit` only."""
    if path is None:
        images, labels = _download(split)
    else:
        path = Path(path)
        if not path.exists():
            raise DataError(f"{path}: no such file or folder")
        if path.is_file() and path.suffix == ".npz":
            images, labels = _load_npz(path, split)
        else:
            images, labels = _load_idx(path, split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def make_dataset(images, labels, batch_size, seed=None, images_per_epoch=None):
    """uint8 images and labels -> (shuffled batches of (float32 (B, 28, 28, 1) in [-1, 1], int32 (B,)),
    steps per epoch, or None for one pass).

    Scaling happens per batch, so only the uint8 array is held in memory. Full batches only: every
    step has one shape (one trace) and batch norm never sees a sliver. The labels travel with every
    batch; an unconditional GAN ignores them. With images_per_epoch, an epoch is that many images
    of a stream that reshuffles at every pass.
    """
    import keras  # here, not at import: loading MNIST needs no Keras

    from train.batches import ShuffledBatches  # a keras.utils.PyDataset

    steps = max(1, images_per_epoch // batch_size) if images_per_epoch else None
    if keras.backend.backend() == "tensorflow":
        return _tf_dataset(images, labels, batch_size, seed, repeat=steps is not None), steps
    return ShuffledBatches(images, labels, batch_size, seed, steps), None


def _tf_dataset(images, labels, batch_size, seed, repeat):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels.astype("int32")))
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=True)
    dataset = dataset.map(
        lambda batch, digits: (to_unit_range(tf.cast(batch, tf.float32)[..., None]), digits),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return (dataset.repeat() if repeat else dataset).prefetch(tf.data.AUTOTUNE)


def _download(split):
    import keras

    try:
        train, test = keras.datasets.mnist.load_data()
    except Exception as error:  # no network, a proxy, a broken cache: all end the same way
        raise DataError(
            f"could not download MNIST ({type(error).__name__}: {first_line(error, default='no message')}); "
            "pass --data with a local mnist.npz"
        ) from None
    return train if split == "train" else test


def _load_npz(path, split):
    images_key, labels_key = NPZ_SPLITS[split]
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in (images_key, labels_key) if key not in archive.files]
            if missing:
                raise DataError(f"{path}: no {missing[0]!r} array (it holds {sorted(archive.files)})")
            images, labels = archive[images_key], archive[labels_key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from None
    _check_images(path, images_key, images)
    if labels.shape != (len(images),):
        raise DataError(f"{path}: {labels_key} has shape {labels.shape}, expected ({len(images)},)")
    return images, labels.astype(np.uint8)


def _check_images(path, name, images):
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE) or len(images) == 0:
        raise DataError(f"{path}: {name} has shape {images.shape}, expected (N, 28, 28) with N > 0")
    if images.dtype != np.uint8:
        raise DataError(f"{path}: {name} has dtype {images.dtype}, expected uint8 pixels 0-255")


def _load_idx(path, split):
    images_file, labels_file = _find_idx_pair(path, split)
    images = _read_idx(images_file, "images")
    labels = _read_idx(labels_file, "labels")
    if len(labels) != len(images):
        raise DataError(f"{labels_file}: {len(labels)} labels for {len(images)} images")
    return images, labels


def _find_idx_pair(path, split):
    """Locate an IDX images file and its labels file, from either file or their folder."""
    if path.is_dir():
        folder, prefix = path, IDX_SPLITS[split]
    else:
        match = IDX_NAME.match(path.name)
        if not match:
            raise DataError(
                f"{path}: not a MNIST file (expected mnist.npz or train-images-idx3-ubyte[.gz])"
            )
        folder, prefix = path.parent, match.group(1) if split == "train" else IDX_SPLITS[split]
    found = {}
    for kind, dims in (("images", 3), ("labels", 1)):
        candidates = [
            folder / f"{prefix}-{kind}{sep}idx{dims}-ubyte{gz}" for sep in "-." for gz in ("", ".gz")
        ]
        existing = [candidate for candidate in candidates if candidate.is_file()]
        if not existing:
            raise DataError(f"{folder}: no {candidates[0].name}[.gz] found")
        found[kind] = existing[0]
    return found["images"], found["labels"]


def _read_idx(path, kind):
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: unreadable ({error})") from None
    expected_magic = IDX_MAGIC[kind]
    if len(raw) < 4 or int.from_bytes(raw[:4], "big") != expected_magic:
        raise DataError(f"{path}: not an IDX {kind} file (bad magic number)")
    n_dims = raw[3]
    header = 4 + 4 * n_dims
    if len(raw) < header:
        raise DataError(f"{path}: truncated header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    size = int(np.prod(shape))
    if len(raw) - header < size:
        raise DataError(f"{path}: truncated: header says shape {shape}, file holds {len(raw) - header} of {size} bytes")
    array = np.frombuffer(raw, dtype=np.uint8, count=size, offset=header).reshape(shape)
    if kind == "images":
        _check_images(path, "images", array)
    return array
