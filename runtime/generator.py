"""DigitGenerator: seeds in, handwritten digits out, through onnxruntime or LiteRT."""

import numbers

import numpy as np

from runtime.backends import BACKENDS, ModelError
from runtime.images import make_grid, to_uint8
from runtime import model_files

CHUNK = 256  # latents per inference call: bounded memory for any n, and full batches for speed
IMAGE_SHAPE = (28, 28, 1)


class DigitGenerator:
    """Generates MNIST-style digits from a seed; one inference session, reused; thread-safe.

    The noise is drawn by numpy's default_rng(seed), never by a backend, so a seed gives the
    same latents on every platform and backend.
    """

    def __init__(self, model=None, backend="onnx", threads=None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}: choose from {', '.join(BACKENDS)}")
        if threads is not None and (not isinstance(threads, numbers.Integral) or threads < 1):
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        self.model_path, self.manifest = model_files.resolve(model, backend)
        self.engine = BACKENDS[backend](self.model_path, threads)
        self.backend = backend
        self.latent_dim = self._check_shapes()

    def generate(self, n, seed=None):
        """n digits as uint8 (n, 28, 28), 0 black, 255 white; the same seed, the same digits."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        rng = np.random.default_rng(seed)
        digits = np.empty((n, 28, 28), dtype=np.uint8)
        for start in range(0, n, CHUNK):
            count = min(CHUNK, n - start)
            # Drawn chunk by chunk, the latents are the same as one draw of n: chunking is invisible.
            latents = rng.standard_normal((count, self.latent_dim), dtype=np.float32)
            digits[start : start + count] = to_uint8(self.engine.run(latents))
        return digits

    def grid(self, images, cols=None, scale=1):
        """The digits as one grayscale PIL image, `cols` a row (default: a square)."""
        return make_grid(images, cols=cols, scale=scale)

    def _check_shapes(self):
        """The latent size; a model that does not map (N, latent) noise to (N, 28, 28, 1) is refused."""
        input_shape, output_shape = self.engine.input_shape, self.engine.output_shape
        if len(input_shape) != 2 or not isinstance(input_shape[1], int) or tuple(output_shape[1:]) != IMAGE_SHAPE:
            raise ModelError(
                f"{self.model_path}: not a digit generator (input {input_shape}, output {output_shape}; "
                "expected (N, latent) -> (N, 28, 28, 1))"
            )
        if self.manifest is not None and self.manifest["latent_dim"] != input_shape[1]:
            raise ModelError(f"{self.model_path}: latent size {input_shape[1]} differs from its manifest's")
        return input_shape[1]
