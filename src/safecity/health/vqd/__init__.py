"""Video quality diagnosis on camera snapshots (DOMAIN.md §5)."""

from safecity.health.vqd.analyse import (
    Baseline,
    Thumbnail,
    VqdFault,
    VqdResult,
    analyse,
    make_baseline,
)
from safecity.health.vqd.reduced_decode import UndecodableImage
from safecity.health.vqd.thresholds import VqdThresholds

__all__ = ["Baseline", "Thumbnail", "UndecodableImage", "VqdFault", "VqdResult",
           "VqdThresholds", "analyse", "make_baseline"]
