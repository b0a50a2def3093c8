"""Decode a snapshot at reduced scale, straight to YCbCr.

libjpeg can scale by 1/2, 1/4 or 1/8 while decoding (Pillow's ``draft``), which is most of the
speed-up; asking for YCbCr skips the colour conversion, and Y is the luma every metric needs.
"""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

# Decoded images are at least this big: 1920x1080 -> 480x270 (1/4), 640x360 -> 320x180 (1/2).
ANALYSIS_MIN_SIZE = (320, 180)


class UndecodableImage(ValueError):
    """The bytes are not an image Pillow can decode."""


def decode_reduced(data: bytes, min_size: tuple[int, int] = ANALYSIS_MIN_SIZE
                   ) -> tuple[NDArray[np.uint8], tuple[int, int]]:
    """Return (HxWx3 uint8 YCbCr array at reduced scale, original (width, height))."""
    try:
        opened = Image.open(io.BytesIO(data))
        original = opened.size
        image: Image.Image = opened
        if opened.format == "JPEG":
            opened.draft("YCbCr", min_size)
        else:  # PNG and friends: no decode-time scaling, reduce after
            factor = max(1, min(original[0] // min_size[0], original[1] // min_size[1]))
            image = image.convert("RGB")
            if factor > 1:
                image = image.reduce(factor)
        if image.mode != "YCbCr":
            image = image.convert("YCbCr")
        pixels = np.asarray(image)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise UndecodableImage(f"cannot decode snapshot ({len(data)} bytes): {e}") from e
    return pixels, original
