"""Generator output to pixels, and pixels to one grid image: shared by training and the runtime."""

import math

import numpy as np
from PIL import Image


def to_uint8(images):
    """Float images in [-1, 1], shape (N, 28, 28[, 1]) -> uint8 (N, 28, 28), 0 black, 255 white."""
    images = np.asarray(images, dtype=np.float32).reshape(len(images), 28, 28)
    return np.clip(np.rint((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def make_grid(images, cols=None, scale=1, padding=2):
    """uint8 (N, H, W) -> one grayscale PIL image of the N digits, `cols` a row, on black."""
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected uint8 images of shape (N, H, W) with N > 0, got {images.shape}")
    n, height, width = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.zeros(
        (rows * (height + padding) + padding, cols * (width + padding) + padding), dtype=np.uint8
    )
    for index, image in enumerate(images):
        top = padding + (index // cols) * (height + padding)
        left = padding + (index % cols) * (width + padding)
        canvas[top : top + height, left : left + width] = image
    grid = Image.fromarray(canvas, mode="L")
    if scale != 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    return grid
