"""The lab's synthetic snapshots: deterministic, alive (frames differ), and each fault real."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from safecity.lab.media import SNAPSHOT_FAULTS, SnapshotSource, render_snapshot


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.int16)


@pytest.mark.parametrize("size", [(1920, 1080), (640, 360), (352, 288)])
def test_jpeg_of_requested_size(size: tuple[int, int]) -> None:
    image = Image.open(io.BytesIO(render_snapshot(11, *size, None, 0)))
    assert image.format == "JPEG" and image.size == size


def test_same_seed_same_bytes_different_seed_different_scene() -> None:
    assert render_snapshot(3, 640, 360, None, 5) == render_snapshot(3, 640, 360, None, 5)
    a, b = decode(render_snapshot(3, 640, 360, None, 5)), decode(render_snapshot(4, 640, 360, None, 5))
    assert np.abs(a - b).mean() > 10


def test_consecutive_frames_differ_slightly_frozen_frames_are_identical() -> None:
    f1, f2 = render_snapshot(5, 640, 360, None, 1), render_snapshot(5, 640, 360, None, 2)
    assert f1 != f2
    assert 0.05 < np.abs(decode(f1) - decode(f2)).mean() < 10
    # A frozen picture is an ordinary frame; SnapshotSource keeps serving the same one.
    assert render_snapshot(5, 640, 360, "frozen", 3) == render_snapshot(5, 640, 360, None, 3)


def test_faults_change_the_picture() -> None:
    normal = decode(render_snapshot(8, 640, 360, None, 1))
    for fault in SNAPSHOT_FAULTS:
        if fault == "frozen":
            continue
        assert np.abs(decode(render_snapshot(8, 640, 360, fault, 1)) - normal).mean() > 2, fault
    assert decode(render_snapshot(8, 640, 360, "black", 0)).max() < 8


def test_unknown_fault_and_tiny_size_rejected() -> None:
    with pytest.raises(ValueError, match="unknown snapshot fault"):
        render_snapshot(1, 640, 360, "melted", 0)
    with pytest.raises(ValueError, match="too small"):
        render_snapshot(1, 8, 8, None, 0)


def test_snapshot_source_counts_frames_and_switches_faults() -> None:
    source = SnapshotSource(seed=21, width=640, height=360)
    first, second = source.jpeg(), source.jpeg()
    assert first != second and source.frame == 2
    source.set_fault("frozen")
    # Frozen on the last picture it sent, however many frames later it is asked again.
    assert source.jpeg() == second and source.jpeg() == second and source.cached_jpeg() == second
    source.set_fault(None)
    source.set_size(320, 180)
    assert Image.open(io.BytesIO(source.jpeg())).size == (320, 180)
    with pytest.raises(ValueError):
        source.set_fault("nope")


def test_each_stream_freezes_on_the_last_picture_it_sent() -> None:
    """Main and sub stream are separate encoder outputs: a visit fetching both sees one moment,
    and a frozen camera repeats, on each stream, what that stream sent last."""
    source = SnapshotSource(seed=22, width=640, height=360)
    sub = (320, 180)
    source.jpeg(sub)
    sub_1, main_1 = source.jpeg(sub), source.jpeg()          # one visit: the sub picture, then the main
    assert source.frames == {(640, 360): 1, sub: 2} and source.frame == 1
    assert render_snapshot(22, 320, 180, None, 1) == sub_1 and render_snapshot(22, 640, 360, None, 0) == main_1
    source.set_fault("frozen")
    assert source.jpeg(sub) == sub_1 and source.jpeg() == main_1 and source.cached_jpeg(sub) == sub_1
