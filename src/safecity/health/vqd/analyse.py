"""Snapshot quality diagnosis: one JPEG in, metrics and fault codes out.

Faults that make other metrics meaningless suppress them (precedence), so a camera reports the
fault an operator should fix, not a cascade:
- signal_loss / blank  suppress everything else;
- too_dark / too_bright / low_contrast  suppress blur, noise, colour_cast and occlusion
  (scaled-down contrast starves the edge, chroma and per-block statistics);
- blur and noise suppress occlusion (flat or busy blocks are then global, not local);
- scene_change suppresses occlusion (the baseline no longer describes the view).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from safecity.health.vqd import image_metrics as m
from safecity.health.vqd.reduced_decode import ANALYSIS_MIN_SIZE, decode_reduced
from safecity.health.vqd.thresholds import VqdThresholds


class VqdFault(StrEnum):
    SIGNAL_LOSS = "signal_loss"
    BLANK = "blank"
    BLUR = "blur"
    TOO_DARK = "too_dark"
    TOO_BRIGHT = "too_bright"
    LOW_CONTRAST = "low_contrast"
    NOISE = "noise"
    COLOUR_CAST = "colour_cast"
    FROZEN = "frozen"
    OCCLUDED = "occluded"
    SCENE_CHANGE = "scene_change"


@dataclass(frozen=True)
class Thumbnail:
    """64x36 8-bit luma of a snapshot: kept between two snapshots to detect a frozen picture,
    and inside a Baseline for scene-change checks."""

    width: int
    height: int
    data: bytes

    def array(self) -> NDArray[np.uint8]:
        return np.frombuffer(self.data, np.uint8).reshape(self.height, self.width)

    @classmethod
    def of(cls, pixels: NDArray[np.uint8]) -> Thumbnail:
        return cls(int(pixels.shape[1]), int(pixels.shape[0]), pixels.tobytes())


_BASELINE_HEADER = struct.Struct("!4sHHHH")  # magic, thumb w, thumb h, grid cols, grid rows
_BASELINE_MAGIC = b"VQB1"


@dataclass(frozen=True)
class Baseline:
    """What a camera's view looked like when it was accepted: thumbnail + per-block texture
    (luma std, rounded to 8 bits). ``to_bytes`` is ~2.5 KB, fit for a per-camera store."""

    thumbnail: Thumbnail
    block_std: bytes  # BLOCK_GRID rows x cols, uint8

    def block_std_array(self) -> NDArray[np.uint8]:
        cols, rows = m.BLOCK_GRID
        return np.frombuffer(self.block_std, np.uint8).reshape(rows, cols)

    def to_bytes(self) -> bytes:
        cols, rows = m.BLOCK_GRID
        head = _BASELINE_HEADER.pack(_BASELINE_MAGIC, self.thumbnail.width,
                                     self.thumbnail.height, cols, rows)
        return head + self.thumbnail.data + self.block_std

    @classmethod
    def from_bytes(cls, data: bytes) -> Baseline:
        magic, tw, th, cols, rows = _BASELINE_HEADER.unpack_from(data)
        if magic != _BASELINE_MAGIC or (cols, rows) != m.BLOCK_GRID:
            raise ValueError("not a VQD baseline of this version")
        start = _BASELINE_HEADER.size
        thumb = data[start:start + tw * th]
        grid = data[start + tw * th:start + tw * th + cols * rows]
        if len(thumb) != tw * th or len(grid) != cols * rows:
            raise ValueError("truncated VQD baseline")
        return cls(Thumbnail(tw, th, thumb), grid)


@dataclass(frozen=True)
class VqdResult:
    faults: list[VqdFault]
    metrics: dict[str, float]
    thumbnail: Thumbnail  # pass as ``previous`` to the next analyse() of this camera
    source_size: tuple[int, int]
    analysed_size: tuple[int, int]
    suppressed: list[VqdFault] = field(default_factory=list)  # detected but outranked
    # This snapshot as a reference view, ready to store if the camera has no baseline yet
    # (computed from the same decode: a second decode would cost more than the analysis).
    as_baseline: Baseline | None = None

    @property
    def ok(self) -> bool:
        return not self.faults


@dataclass
class _Frame:
    ycc: NDArray[np.uint8]
    luma: NDArray[np.float32]
    thumb: NDArray[np.uint8]
    blocks: NDArray[np.float32]
    source_size: tuple[int, int]


def _prepare(jpeg: bytes) -> _Frame:
    ycc, source_size = decode_reduced(jpeg, ANALYSIS_MIN_SIZE)
    luma_u8 = np.ascontiguousarray(ycc[:, :, 0])
    luma = luma_u8.astype(np.float32)
    return _Frame(ycc, luma, m.thumbnail(luma_u8), m.block_std(luma), source_size)


def make_baseline(jpeg: bytes) -> Baseline:
    """Record a known-good snapshot as the camera's reference view."""
    return _baseline_of(_prepare(jpeg))


def _baseline_of(frame: _Frame) -> Baseline:
    grid = np.clip(np.rint(frame.blocks), 0, 255).astype(np.uint8)
    return Baseline(Thumbnail.of(frame.thumb), grid.tobytes())


def analyse(jpeg: bytes, previous: Thumbnail | None = None, baseline: Baseline | None = None,
            thresholds: VqdThresholds | None = None) -> VqdResult:
    """Diagnose one snapshot. ``previous`` is the thumbnail of a snapshot taken ≥ 10 s earlier
    (freeze check); ``baseline`` the camera's reference view (occlusion, scene change).
    Raises UndecodableImage (a ValueError) if the bytes are not an image."""
    t = thresholds or VqdThresholds()
    frame = _prepare(jpeg)
    metrics: dict[str, float] = {}
    found: set[VqdFault] = set()

    share, dominant_luma = m.dominant_colour(frame.ycc)
    mean, std = m.luma_stats(frame.luma)
    metrics.update(dominant_share=share, dominant_luma=dominant_luma, mean_luma=mean,
                   std_luma=std, blur_ratio=m.blur_ratio(frame.luma, std * std),
                   noise_sigma=m.immerkaer_sigma(frame.luma),
                   colour_cast_k=m.colour_cast_k(frame.ycc))
    if share > t.dominant_colour_share:
        found.add(VqdFault.SIGNAL_LOSS if dominant_luma < t.signal_loss_max_luma
                  else VqdFault.BLANK)
    if mean < t.dark_mean_luma:
        found.add(VqdFault.TOO_DARK)
    if mean > t.bright_mean_luma:
        found.add(VqdFault.TOO_BRIGHT)
    if std < t.low_contrast_std_luma:
        found.add(VqdFault.LOW_CONTRAST)
    if metrics["blur_ratio"] < t.blur_ratio:
        found.add(VqdFault.BLUR)
    if metrics["noise_sigma"] > t.noise_sigma:
        found.add(VqdFault.NOISE)
    if metrics["colour_cast_k"] > t.colour_cast_k:
        found.add(VqdFault.COLOUR_CAST)

    if previous is not None and previous.width == frame.thumb.shape[1] \
            and previous.height == frame.thumb.shape[0]:
        metrics["frame_diff"] = m.mean_abs_diff(frame.thumb, previous.array())
        if metrics["frame_diff"] < t.freeze_mad:
            found.add(VqdFault.FROZEN)

    if baseline is not None:
        base_blocks = baseline.block_std_array()
        textured = base_blocks >= t.occlusion_textured_std
        lost = textured & (frame.blocks < t.occlusion_flat_std)
        metrics["occluded_share"] = float(lost.sum()) / max(int(textured.sum()), 1)
        # Correlate only what is still visible, so an occluder alone is not a scene change.
        visible = ~np.kron(lost, np.ones((4, 4), bool))
        base_thumb = baseline.thumbnail.array()
        if base_thumb.shape == frame.thumb.shape:
            use = visible if visible.mean() >= 0.25 else None
            metrics["scene_correlation"] = m.correlation(frame.thumb, base_thumb, use)
            if metrics["scene_correlation"] < t.scene_correlation:
                found.add(VqdFault.SCENE_CHANGE)
        if metrics["occluded_share"] > t.occlusion_share:
            found.add(VqdFault.OCCLUDED)

    faults, suppressed = _apply_precedence(found)
    return VqdResult(faults=faults, metrics=metrics, thumbnail=Thumbnail.of(frame.thumb),
                     source_size=frame.source_size,
                     analysed_size=(int(frame.ycc.shape[1]), int(frame.ycc.shape[0])),
                     suppressed=suppressed, as_baseline=_baseline_of(frame))


_EXPOSURE = {VqdFault.TOO_DARK, VqdFault.TOO_BRIGHT, VqdFault.LOW_CONTRAST}
_SUPPRESSES: dict[VqdFault, set[VqdFault]] = {
    VqdFault.SIGNAL_LOSS: set(VqdFault) - {VqdFault.SIGNAL_LOSS},
    VqdFault.BLANK: set(VqdFault) - {VqdFault.BLANK},
    **{f: {VqdFault.BLUR, VqdFault.NOISE, VqdFault.COLOUR_CAST, VqdFault.OCCLUDED}
       for f in _EXPOSURE},
    VqdFault.BLUR: {VqdFault.OCCLUDED},
    VqdFault.NOISE: {VqdFault.OCCLUDED},
    VqdFault.SCENE_CHANGE: {VqdFault.OCCLUDED},
}
_ORDER = list(VqdFault)


def _apply_precedence(found: set[VqdFault]) -> tuple[list[VqdFault], list[VqdFault]]:
    hidden: set[VqdFault] = set()
    for fault in found:
        hidden |= _SUPPRESSES.get(fault, set())
    # too_dark/too_bright explain low contrast, not the other way round
    if found & {VqdFault.TOO_DARK, VqdFault.TOO_BRIGHT}:
        hidden.add(VqdFault.LOW_CONTRAST)
    if found & {VqdFault.SIGNAL_LOSS, VqdFault.BLANK}:
        hidden -= {VqdFault.SIGNAL_LOSS, VqdFault.BLANK} & found
    kept = [f for f in _ORDER if f in found and f not in hidden]
    return kept, [f for f in _ORDER if f in found and f in hidden]
