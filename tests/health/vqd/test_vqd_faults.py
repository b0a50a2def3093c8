"""Video quality diagnosis against the lab's snapshot generator: each faulty variant is
detected as exactly its fault, at the main-stream sizes and at the sub stream's 320x180 (decoded
at full size); normal images pass."""

from __future__ import annotations

import dataclasses

import pytest

from safecity.health.vqd import (
    Baseline,
    UndecodableImage,
    VqdFault,
    VqdThresholds,
    analyse,
    make_baseline,
)
from safecity.lab.media import SNAPSHOT_FAULTS, render_snapshot

# Main stream (1080p, the lab's 640x360 stand-in) and the lab's sub-stream picture, which the
# nightly check analyses at its own size.
SIZES = [(1920, 1080), (640, 360), (320, 180)]
ANALYSED = {(1920, 1080): (480, 270), (640, 360): (320, 180), (320, 180): (320, 180)}  # 1/4, 1/2, 1/1
EXPECTED = {
    "black": VqdFault.SIGNAL_LOSS, "blank": VqdFault.BLANK, "blurred": VqdFault.BLUR,
    "dark": VqdFault.TOO_DARK, "bright": VqdFault.TOO_BRIGHT,
    "low_contrast": VqdFault.LOW_CONTRAST, "colour_cast": VqdFault.COLOUR_CAST,
    "noisy": VqdFault.NOISE, "frozen": VqdFault.FROZEN, "occluded": VqdFault.OCCLUDED,
    "scene_change": VqdFault.SCENE_CHANGE,
}
SEED = 6


def check(seed: int, size: tuple[int, int], fault: str | None, frame: int = 3) -> list[VqdFault]:
    """Baseline from a healthy frame, previous snapshot one frame earlier, as the sweep does."""
    baseline = make_baseline(render_snapshot(seed, *size, None, 0))
    # A frozen camera repeats the picture it sent last (the lab's SnapshotSource does so).
    previous = analyse(render_snapshot(seed, *size, fault, frame if fault == "frozen" else frame - 1)).thumbnail
    result = analyse(render_snapshot(seed, *size, fault, frame), previous, baseline)
    assert result.source_size == size
    assert result.analysed_size == ANALYSED[size]
    return result.faults


def test_every_generator_fault_has_an_expectation() -> None:
    assert set(EXPECTED) == set(SNAPSHOT_FAULTS)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_fault_detected_exactly(fault: str, size: tuple[int, int]) -> None:
    assert check(SEED, size, fault) == [EXPECTED[fault]]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 17, 42])
def test_normal_images_pass(seed: int, size: tuple[int, int]) -> None:
    assert check(seed, size, None) == []


def test_signal_loss_outranks_what_it_causes() -> None:
    result = analyse(render_snapshot(SEED, 640, 360, "black", 0))
    assert result.faults == [VqdFault.SIGNAL_LOSS]
    assert VqdFault.TOO_DARK in result.suppressed and VqdFault.LOW_CONTRAST in result.suppressed


def test_thresholds_are_overridable() -> None:
    jpeg = render_snapshot(SEED, 640, 360, None, 1)
    assert analyse(jpeg).ok
    strict = dataclasses.replace(VqdThresholds(), low_contrast_std_luma=90.0)
    assert analyse(jpeg, thresholds=strict).faults == [VqdFault.LOW_CONTRAST]
    dark = analyse(render_snapshot(SEED, 640, 360, "dark", 1))
    lenient = VqdThresholds(dark_mean_luma=5.0, low_contrast_std_luma=5.0)
    assert dark.faults == [VqdFault.TOO_DARK]
    assert analyse(render_snapshot(SEED, 640, 360, "dark", 1), thresholds=lenient).ok


def test_frozen_needs_the_previous_thumbnail() -> None:
    jpeg = render_snapshot(SEED, 640, 360, "frozen", 4)
    assert analyse(jpeg).faults == []  # nothing to compare with
    assert analyse(jpeg, previous=analyse(jpeg).thumbnail).faults == [VqdFault.FROZEN]


def test_baseline_is_compact_and_round_trips() -> None:
    baseline = make_baseline(render_snapshot(SEED, 1920, 1080, None, 0))
    data = baseline.to_bytes()
    assert len(data) < 3000
    assert Baseline.from_bytes(data) == baseline
    with pytest.raises(ValueError):
        Baseline.from_bytes(b"XXXX" + data[4:])


def test_metrics_are_reported() -> None:
    result = analyse(render_snapshot(SEED, 640, 360, None, 1))
    for key in ("dominant_share", "mean_luma", "std_luma", "blur_ratio", "noise_sigma",
                "colour_cast_k"):
        assert key in result.metrics


def test_png_snapshot_is_analysed_too() -> None:
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.open(io.BytesIO(render_snapshot(SEED, 640, 360, None, 1))).save(out, "PNG")
    result = analyse(out.getvalue())
    assert result.ok and result.analysed_size == (320, 180)


def test_undecodable_bytes() -> None:
    with pytest.raises(UndecodableImage):
        analyse(b"<html>401 Unauthorized</html>")
