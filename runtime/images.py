"""Pixels to and from the networks' [-1, 1] range, and pixels to one grid image: shared by
training, export and the runtime."""

import io
import math
import struct
import zlib

import numpy as np

from digitgen.validation import check_integer

PIXEL_HALF_RANGE = 127.5  # uint8 0-255 <-> [-1, 1]: x / 127.5 - 1 (the design guide's scaling)


def to_uint8(images):
    """Float images in [-1, 1], shape (N, 28, 28[, 1]) -> uint8 (N, 28, 28), 0 black, 255 white."""
    images = np.asarray(images, dtype=np.float32).reshape(len(images), 28, 28)
    return np.clip(np.rint((images + 1.0) * PIXEL_HALF_RANGE), 0, 255).astype(np.uint8)


def to_unit_range(pixels):
    """Pixels 0-255, already float (a numpy array or a framework's tensor), -> [-1, 1]: what the
    networks take and the inverse of to_uint8. Callers cast and add the channel axis themselves,
    each in its own framework."""
    return pixels / PIXEL_HALF_RANGE - 1.0


# 64 megapixels: the canvas and its PNG encoding stay within about 200 MB, which a 1 GB Raspberry Pi
# holds (a 100 x 100 grid of digits fits up to scale 21).
MAX_GRID_PIXELS = 64_000_000
MAX_N = 10_000  # digits in one request of the CLI or the server: a 100x100 grid
MAX_SCALE = 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def grid_layout(n, cols=None, scale=1, height=28, width=28, padding=2):
    """(cols, rows) of a grid of n digits; ValueError for bad arguments or a grid over the pixel limit,
    so a caller can refuse before generating anything."""
    for name, value in (("cols", cols), ("scale", scale)):
        if value is not None:
            check_integer(value, name, low=1)
    cols = min(cols or math.ceil(math.sqrt(n)), n)
    rows = math.ceil(n / cols)
    grid_height = (rows * (height + padding) + padding) * scale
    grid_width = (cols * (width + padding) + padding) * scale
    if grid_width * grid_height > MAX_GRID_PIXELS:
        raise ValueError(f"a grid of {grid_width} x {grid_height} pixels is over the "
                         f"{MAX_GRID_PIXELS // 1_000_000} megapixel limit: fewer digits or a smaller scale")
    return cols, rows


def grid_canvas(images, cols=None, scale=1, padding=2):
    """uint8 (N, H, W) -> uint8 (rows, cols) pixels of the N digits, `cols` a row, on black."""
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 3 or len(images) == 0:
        raise ValueError(f"expected uint8 images of shape (N, H, W) with N > 0, got {images.shape}")
    n, height, width = images.shape
    cols, rows = grid_layout(n, cols, scale, height, width, padding)
    canvas = np.zeros(
        (rows * (height + padding) + padding, cols * (width + padding) + padding), dtype=np.uint8
    )
    for index, image in enumerate(images):
        top = padding + (index // cols) * (height + padding)
        left = padding + (index % cols) * (width + padding)
        canvas[top : top + height, left : left + width] = image
    if scale != 1:  # nearest neighbour: each pixel a scale x scale block
        canvas = np.repeat(np.repeat(canvas, scale, axis=0), scale, axis=1)
    return canvas


def make_grid(images, cols=None, scale=1, padding=2):
    """uint8 (N, H, W) -> one grayscale PIL image of the N digits, `cols` a row, on black.
    Pillow is imported here, not at start-up: the CLI and the server write PNGs without it."""
    from PIL import Image

    return Image.fromarray(grid_canvas(images, cols, scale, padding), mode="L")


def png_bytes(images, cols=None, scale=1):
    """The digits' grid as PNG bytes: what `digitgen` writes and `digitgen serve` answers, byte for byte."""
    return encode_png(grid_canvas(images, cols=cols, scale=scale))


def encode_png(pixels, block_rows=1024):
    """uint8 (H, W) -> an 8-bit grayscale PNG (RFC 2083: IHDR, one IDAT, IEND), deflated by zlib a
    block of rows at a time.

    Written out rather than saved with Pillow: its PNG plugin imports logging, decimal, fractions
    and the palette modules, 10 ms and 1.3 MiB of every start of `digitgen`, for what is a header,
    zlib and checksums here (the tests read it back with Pillow). Rows are left unfiltered: on
    digit grids that compresses as well as Pillow's per-row filter choice (3.9 kB for 16 digits,
    Pillow 4.0 kB; 2.34 MB for 10,000 both) in less time; only --scale grids come out larger
    (up to 1.3x).
    """
    height, width = pixels.shape
    compressor = zlib.compressobj(6)
    deflated = []
    for top in range(0, height, block_rows):
        block = pixels[top : top + block_rows]
        rows = np.zeros((len(block), width + 1), np.uint8)  # column 0: each row's filter type, 0 (none)
        rows[:, 1:] = block
        deflated.append(compressor.compress(rows.tobytes()))
    deflated.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8 bits, grayscale, no interlace
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(deflated)) + _chunk(b"IEND", b"")


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def npy_bytes(array):
    """An array as .npy bytes."""
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()
