"""Per-image quality metrics on a reduced-scale YCbCr array (DOMAIN.md §5), numpy-vectorised.

Each function takes the luma plane (float32) or the YCbCr array and returns one number or a
small array; analyse.py turns them into fault codes.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from PIL import Image

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]

THUMB_SIZE = (64, 36)  # width, height; 16x9 blocks of 4x4 thumbnail pixels
BLOCK_GRID = (16, 9)  # columns, rows


def luma_stats(luma: F32) -> tuple[float, float]:
    return float(luma.mean()), float(luma.std())


def blur_ratio(luma: F32, var: float | None = None) -> float:
    """var(Laplacian) / var(luma): sharp images have much more edge energy than variance.
    ``var``: the luma variance when the caller has it already (one pass less)."""
    lap = (4.0 * luma[1:-1, 1:-1] - luma[:-2, 1:-1] - luma[2:, 1:-1]
           - luma[1:-1, :-2] - luma[1:-1, 2:])
    var = float(luma.var()) if var is None else var
    return float(lap.var()) / var if var > 1e-6 else 0.0


def immerkaer_sigma(luma: F32) -> float:
    """Immerkær (1996) noise estimate: the 3x3 kernel [1 -2 1; -2 4 -2; 1 -2 1] is the outer
    product of two second differences, so it is two cheap slicing passes."""
    dx = luma[:, :-2] - 2.0 * luma[:, 1:-1] + luma[:, 2:]
    dxy = dx[:-2] - 2.0 * dx[1:-1] + dx[2:]
    h, w = int(luma.shape[0]), int(luma.shape[1])
    total = float(np.abs(dxy).sum())
    return total * math.sqrt(math.pi / 2.0) / (6.0 * (w - 2) * (h - 2))


def _colour_sample(ycc: U8) -> U8:
    """~5-8k pixels on a regular grid: colour statistics need no more, and they are the
    costliest metrics per pixel."""
    h, w = ycc.shape[:2]
    step = max(1, int(math.sqrt(h * w / 5000)))
    return ycc[::step, ::step].reshape(-1, 3)


def dominant_colour(ycc: U8) -> tuple[float, float]:
    """(share of pixels within ±6 of the most common colour, that colour's luma).

    Binned at 8 levels per channel to find the mode; the tolerance reaches past the bin
    edges so a solid colour plus JPEG ringing still counts as one colour, while a dim or
    flat-but-textured picture does not.
    """
    sample = _colour_sample(ycc)
    bins = (sample >> 3).astype(np.int32)
    index = (bins[:, 0] << 10) | (bins[:, 1] << 5) | bins[:, 2]
    mode = int(np.bincount(index, minlength=32768).argmax())
    centre = np.array([(mode >> 10) * 8 + 4, ((mode >> 5) & 31) * 8 + 4, (mode & 31) * 8 + 4],
                      np.int16)
    close = np.abs(sample.astype(np.int16) - centre) <= 6
    return float(close.all(axis=1).mean()), float(centre[0])


# sRGB 8-bit -> linear light, as a lookup table
_SRGB_TO_LINEAR = np.where(
    np.arange(256) / 255.0 <= 0.04045,
    np.arange(256) / 255.0 / 12.92,
    ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4,
).astype(np.float32)
_RGB_TO_XYZ_D65 = np.array([[0.4124, 0.3576, 0.1805],
                            [0.2126, 0.7152, 0.0722],
                            [0.0193, 0.1192, 0.9505]], np.float32)
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883], np.float32)


def _lab_f(t: F32) -> F32:
    result: F32 = np.where(t > 0.008856, np.cbrt(t), 7.787 * t + 16.0 / 116.0)
    return result


def colour_cast_k(ycc: U8) -> float:
    """K = D / M in CIE Lab: D = distance of the mean (a, b) from neutral, M = mean spread of
    a and b around it. A cast moves the whole image's chroma one way with little spread."""
    sample = _colour_sample(ycc).astype(np.float32)
    y, cb, cr = sample[:, 0], sample[:, 1] - 128.0, sample[:, 2] - 128.0
    # Channel by channel, no matmul: a (n, 3) @ (3, 3) product goes through BLAS, whose
    # thread start-up costs more than the arithmetic at this size.
    r = _SRGB_TO_LINEAR[np.clip(y + 1.402 * cr, 0, 255).astype(np.uint8)]
    g = _SRGB_TO_LINEAR[np.clip(y - 0.344136 * cb - 0.714136 * cr, 0, 255).astype(np.uint8)]
    bl = _SRGB_TO_LINEAR[np.clip(y + 1.772 * cb, 0, 255).astype(np.uint8)]
    m = _RGB_TO_XYZ_D65
    fx, fy, fz = (_lab_f((m[i, 0] * r + m[i, 1] * g + m[i, 2] * bl) / _WHITE_D65[i])
                  for i in range(3))
    a = 500.0 * (fx - fy)
    b = 200.0 * (fy - fz)
    da, db = float(a.mean()), float(b.mean())
    ma, mb = float(np.abs(a - da).mean()), float(np.abs(b - db).mean())
    # Floor the spread: a flat frame has none, and K would be infinite (blank screens are
    # reported as blank, not as a cast).
    return math.hypot(da, db) / max(math.hypot(ma, mb), 1.0)


def thumbnail(luma_u8: U8) -> U8:
    """THUMB_SIZE luma by block averaging over the central crop that divides evenly."""
    tw, th = THUMB_SIZE
    result: U8 = np.asarray(_box_reduce(Image.fromarray(luma_u8, "L"), th, tw))
    return result


def block_std(luma: F32) -> F32:
    """Luma std of each block in a BLOCK_GRID over the image, shape (rows, cols)."""
    cols, rows = BLOCK_GRID
    mean = np.asarray(_box_reduce(Image.fromarray(luma, "F"), rows, cols), np.float32)
    mean_sq = np.asarray(_box_reduce(Image.fromarray(luma * luma, "F"), rows, cols), np.float32)
    result: F32 = np.sqrt(np.maximum(mean_sq - mean * mean, 0.0))
    return result


def _box_reduce(image: Image.Image, rows: int, cols: int) -> Image.Image:
    """Block means over the central crop that divides evenly into rows x cols blocks, so that
    thumbnail pixels and occlusion blocks cover (nearly) the same area: 4x4 thumbnail pixels a
    block. Pillow's box reduction runs in C; the numpy equivalent (a strided reshape-mean) cost
    4-6x more per snapshot."""
    w, h = image.size
    bh, bw = h // rows, w // cols
    if bh < 1 or bw < 1:
        raise ValueError(f"image {w}x{h} smaller than the {cols}x{rows} analysis grid")
    y0, x0 = (h - bh * rows) // 2, (w - bw * cols) // 2
    return image.reduce((bw, bh), box=(x0, y0, x0 + bw * cols, y0 + bh * rows))


def mean_abs_diff(a: U8, b: U8) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def correlation(a: U8, b: U8, mask: NDArray[np.bool_] | None = None) -> float:
    """Pearson correlation of two thumbnails, optionally over the masked pixels only."""
    x = a.astype(np.float32)
    y = b.astype(np.float32)
    if mask is not None:
        x, y = x[mask], y[mask]
    x = x - x.mean()
    y = y - y.mean()
    denom = math.sqrt(float((x * x).sum()) * float((y * y).sum()))
    # Two flat images carry no evidence of a changed scene.
    return float((x * y).sum()) / denom if denom > 1e-6 else 1.0
