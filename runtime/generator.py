"""DigitGenerator: seeds in, handwritten digits out, through onnxruntime, LiteRT or numpy."""

import numbers
import os

import numpy as np

from digitgen.backends import BACKENDS, ModelError, default_backend
from digitgen.contract import DIGITS
from digitgen.images import make_grid, to_uint8
from digitgen.model_files import backend_for_file, resolve
from digitgen.validation import check_integer, check_number

CHUNK = 256  # latents per inference call: bounded memory for any n, and full batches for speed
IMAGE_SHAPE = (28, 28, 1)
MAX_LATENT = 4096  # a sane bound (the shipped model has 100): a chunk of noise stays under 4 MiB


class DigitGenerator:
    """Generates MNIST-style digits from a seed; one inference session, reused; thread-safe.

    The noise and, for a conditional model, the digits not asked for are drawn by numpy from the
    seed, never by a backend, so a seed gives the same digits on every platform and backend.
    """

    def __init__(self, model=None, backend=None, threads=None):
        """model: None (the bundled model), a folder with manifest.json, or an .onnx/.tflite file;
        backend: "onnx", "tflite" or "numpy", by default the model file's suffix's, else onnx where
        onnxruntime is installed and numpy where it is not; threads: inference threads (onnx and
        tflite; the numpy backend refuses it: numpy's BLAS sets its own).
        Raises ModelError for a model that cannot be used, ValueError for bad arguments."""
        backend = backend or backend_for(model)
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: choose from {', '.join(BACKENDS)}")
        if threads is not None:
            check_integer(threads, "threads", low=1)
        if threads is not None and backend == "numpy":
            raise ValueError("threads do not apply to the numpy backend: numpy's BLAS sets its own "
                             "(OPENBLAS_NUM_THREADS)")
        self.model_path, self.manifest, contract, verification = resolve(model, backend)
        try:
            self.engine = BACKENDS[backend](self.model_path, threads, contract, verification)
        finally:  # a modified file is refused, whatever its engine made of it
            verification.wait()
        self.backend = backend
        self.latent_dim = self._check_shapes()

    @property
    def conditional(self):
        """True when the model draws the digit it is asked for."""
        return self.engine.conditional

    def generate(self, n, seed=None, digit=None):
        """n digits as uint8 (n, 28, 28), 0 black, 255 white; the same seed, the same digits.

        digit: an int 0-9 for n of that digit, a sequence of n ints for those digits, or None for
        digits drawn from the seed. Only a conditional model takes it.
        """
        return self.generate_labeled(n, seed, digit)[0]

    def generate_labeled(self, n, seed=None, digit=None):
        """(images uint8 (n, 28, 28), labels uint8 (n,)): the digits and which digit each was asked
        to be; labels is None for an unconditional model, which cannot be asked."""
        check_integer(n, "n", low=1)
        images = np.empty((n, 28, 28), dtype=np.uint8)
        labels = []
        start = 0
        for chunk_images, chunk_labels in self.labeled_chunks(n, seed, digit):
            images[start : start + len(chunk_images)] = chunk_images
            start += len(chunk_images)
            labels.append(chunk_labels)
        return images, None if labels[0] is None else np.concatenate(labels)

    def labeled_chunks(self, n, seed=None, digit=None, chunk=CHUNK):
        """The same digits and labels as generate_labeled, as (images, labels) chunks of `chunk`:
        any n in bounded memory (labeled datasets at scale)."""
        check_integer(n, "n", low=1)
        check_integer(chunk, "chunk", low=1)
        _check_seed(seed)
        seeds = np.random.SeedSequence(seed)
        # Two independent streams from one seed: the noise is the same whether or not digits are
        # drawn, and both are the same however n is split into chunks.
        noise_rng, digit_rng = np.random.default_rng(seeds), np.random.default_rng(seeds.spawn(1)[0])
        labels = self._labels(n, digit, digit_rng)
        for start in range(0, n, chunk):
            count = min(chunk, n - start)
            latents = noise_rng.standard_normal((count, self.latent_dim), dtype=np.float32)
            digits = None if labels is None else labels[start : start + count]
            yield self._run(latents, digits), digits

    def number(self, digits, seed=None):
        """A number in one hand: uint8 (len(digits), 28, 28), one noise vector shared by every digit,
        so the style stays the same across the number. digits: a string of 0-9 ("2026")."""
        if not self.conditional:
            raise ValueError(f"{self.model_path}: this model is unconditional: it cannot write a chosen number")
        check_number(digits)
        _check_seed(seed)
        # the seed's first noise vector, as generate(1, seed) draws it: --number 7 is --n 1 --digit 7
        latent = np.random.default_rng(seed).standard_normal((1, self.latent_dim), dtype=np.float32)
        asked = np.array([int(c) for c in digits], dtype=np.uint8)
        return self._run(np.repeat(latent, len(asked), axis=0), asked)

    def _run(self, latents, digits):
        output = self.engine.run(latents, digits)
        if not np.all(np.isfinite(output)):
            raise ModelError(f"{self.model_path}: the model produced NaN or infinite values")
        return to_uint8(output)

    def grid(self, images, cols=None, scale=1):
        """The digits as one grayscale PIL image, `cols` a row (default: a square)."""
        return make_grid(images, cols=cols, scale=scale)

    def _labels(self, n, digit, rng):
        if not self.conditional:
            if digit is not None:
                raise ValueError(f"{self.model_path}: this model is unconditional: it cannot be asked for a digit")
            return None
        if digit is None:
            return rng.integers(0, DIGITS, n, dtype=np.uint8)
        if isinstance(digit, numbers.Integral) and not isinstance(digit, bool):
            return np.full(n, _check_digit(digit), dtype=np.uint8)
        if isinstance(digit, (str, bytes)):
            raise ValueError(f"digit must be an integer 0-9 or a sequence of them, got {digit!r}")
        try:
            digits = [_check_digit(d) for d in digit]
        except TypeError:
            raise ValueError(f"digit must be an integer 0-9 or a sequence of them, got {digit!r}") from None
        if len(digits) != n:
            raise ValueError(f"{len(digits)} digits given for n = {n}")
        return np.asarray(digits, dtype=np.uint8)

    def _check_shapes(self):
        """The latent size; a model that does not map (N, latent) noise to (N, 28, 28, 1) is refused."""
        input_shape, output_shape = self.engine.input_shape, self.engine.output_shape
        if len(input_shape) != 2 or not isinstance(input_shape[1], int) or tuple(output_shape[1:]) != IMAGE_SHAPE:
            raise ModelError(
                f"{self.model_path}: not a digit generator (input {input_shape}, output {output_shape}; "
                "expected (N, latent) -> (N, 28, 28, 1))"
            )
        if not 1 <= input_shape[1] <= MAX_LATENT:
            raise ModelError(f"{self.model_path}: latent size {input_shape[1]} is outside 1-{MAX_LATENT}")
        if self.manifest is not None and self.manifest["latent_dim"] != input_shape[1]:
            raise ModelError(f"{self.model_path}: latent size {input_shape[1]} differs from its manifest's")
        return input_shape[1]


def backend_for(model):
    """The backend a model gets when none is asked: its file's suffix's, else onnx where
    onnxruntime is installed and numpy where it is not."""
    return (backend_for_file(model) if model is not None else None) or default_backend()


def random_seed():
    """A fresh seed for a request without one (reported back, so it can be repeated). os.urandom,
    not the secrets module: that one imports hmac, base64 and random for this one number."""
    return int.from_bytes(os.urandom(4), "big") >> 1


def _check_seed(seed):
    if seed is not None:
        check_integer(seed, "seed")


def _check_digit(digit):
    if isinstance(digit, bool) or not isinstance(digit, numbers.Integral):
        raise ValueError(f"digit must be an integer 0-9, got {digit!r}")
    return check_integer(digit, "digit", 0, DIGITS - 1)
