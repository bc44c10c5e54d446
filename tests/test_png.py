"""digitgen's own PNG writer: Pillow must read back exactly the pixels written, whatever they are."""

import io
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from digitgen.images import encode_png, make_grid, png_bytes


def read_png(data):
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@settings(max_examples=60, deadline=None)
@given(pixels=arrays(np.uint8, st.tuples(st.integers(1, 70), st.integers(1, 70))), block_rows=st.integers(1, 80))
def test_pillow_reads_back_the_pixels_written(pixels, block_rows):
    image = read_png(encode_png(pixels, block_rows=block_rows))
    assert image.format == "PNG" and image.mode == "L"
    assert np.array_equal(np.asarray(image), pixels)


@pytest.mark.parametrize("n, cols, scale", [(1, None, 1), (16, None, 1), (7, 3, 2), (30, 10, 3)])
def test_the_png_holds_the_grid_pillow_draws(n, cols, scale):
    digits = np.random.default_rng(n).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    assert np.array_equal(np.asarray(read_png(png_bytes(digits, cols=cols, scale=scale))),
                          np.asarray(make_grid(digits, cols=cols, scale=scale)))


def test_a_damaged_png_is_refused_by_its_reader():
    """The read-back above can fail: a flipped bit in the pixel data breaks its checksum."""
    data = bytearray(encode_png(np.arange(64, dtype=np.uint8).reshape(8, 8)))
    data[data.index(b"IDAT") + 6] ^= 1
    with pytest.raises((OSError, SyntaxError, zlib.error)):
        read_png(bytes(data))
