"""Video-quality thresholds (DOMAIN.md §5), calibrated for the reduced decode scale
(~320–480 px wide: 1/4 of 1080p, 1/2 of 640x360). Override per deployment or per camera."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VqdThresholds:
    # signal loss / blank: share of pixels close to the dominant colour
    dominant_colour_share: float = 0.90
    # dominant colour darker than this (luma) means signal loss, else a blank screen
    signal_loss_max_luma: float = 40.0
    # blur: var(Laplacian) / var(luma) below this
    blur_ratio: float = 0.02
    dark_mean_luma: float = 40.0
    bright_mean_luma: float = 215.0
    low_contrast_std_luma: float = 25.0
    # snow: Immerkær noise sigma above this
    noise_sigma: float = 10.0
    # colour cast: Lab K = D / M above this
    colour_cast_k: float = 1.5
    # freeze: mean absolute difference of two thumbnails (8-bit luma) below this
    freeze_mad: float = 0.1
    # occlusion: share of blocks textured in the baseline that are now flat, above this
    occlusion_share: float = 0.30
    # a block counts as textured if its luma std >= this, flat if < occlusion_flat_std
    occlusion_textured_std: float = 6.0
    occlusion_flat_std: float = 2.0
    # scene change: correlation of the thumbnail with the baseline's, below this
    scene_correlation: float = 0.5
