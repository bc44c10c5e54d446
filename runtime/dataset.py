"""Labeled synthetic datasets in the Keras mnist.npz layout, written in chunks, atomically.

The .npz is an uncompressed zip of .npy members: x_train uint8 (N, 28, 28) and y_train uint8 (N,),
and, when a test split is asked for, x_test and y_test. Images are streamed into the archive chunk
by chunk, so peak memory is the model plus one chunk plus the label arrays, whatever N is. The
archive is built in a temporary file beside the target and renamed into place only when complete:
a failure or Ctrl-C leaves nothing.
"""

import zipfile
from pathlib import Path

import numpy as np

from digitgen.atomic import atomic_path
from digitgen.contract import DIGITS

CHUNK = 256  # digits per inference call and write: the runtime's own chunk, activations stay small
TEST_SPLIT_TAG = 0x7E57  # mixed into the seed of the test split: its noise is not the training split's


def balanced_labels(n, digits=None, seed=None):
    """n labels, each digit of `digits` (default 0-9) equally often (within one), in an order drawn
    from the seed: a labeled dataset's digit mix, reproducible from the seed."""
    digits = list(range(DIGITS)) if not digits else [int(d) for d in digits]
    if not all(0 <= d < DIGITS for d in digits):
        raise ValueError(f"digits must be 0-9, got {digits}")
    labels = np.resize(np.asarray(sorted(set(digits)), dtype=np.uint8), n)
    # a stream of its own, so the noise of a seed is the noise generate() draws for it
    np.random.default_rng([0xDA7A, seed if seed is not None else 0]).shuffle(labels)
    return labels


def seed_of_test_split(seed):
    """The seed of the test split: derived from the dataset's seed, independent of its training split."""
    return int(np.random.SeedSequence([TEST_SPLIT_TAG, seed]).generate_state(1)[0])


def write_dataset(generator, path, n, seed, digits=None, force=False, progress=None, test_n=0):
    """Write n labeled digits (x_train, y_train) and test_n more (x_test, y_test, from a seed of
    their own) to `path` (.npz); returns the training labels. progress(count) is called after each
    chunk. FileExistsError unless force; OSError as the file system raises it."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists: add --force to replace it")
    splits = [("train", n, seed)] + ([("test", test_n, seed_of_test_split(seed))] if test_n else [])
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "x", zipfile.ZIP_STORED) as archive:
        labels = {split[0]: _write_split(archive, generator, *split, digits, progress) for split in splits}
    return labels["train"]


def _write_split(archive, generator, split, n, seed, digits, progress):
    """x_<split> streamed chunk by chunk, then y_<split>; returns the labels."""
    labels = balanced_labels(n, digits, seed)
    with archive.open(f"x_{split}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_1_0(member, {"descr": "|u1", "fortran_order": False, "shape": (n, 28, 28)})
        for images, _ in generator.labeled_chunks(n, seed, labels, chunk=CHUNK):
            member.write(np.ascontiguousarray(images).tobytes())
            if progress:
                progress(len(images))
    with archive.open(f"y_{split}.npy", "w") as member:
        np.lib.format.write_array(member, labels)
    return labels
