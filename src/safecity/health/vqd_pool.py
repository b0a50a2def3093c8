"""Video-quality diagnosis off the event loop: batches of snapshots analysed in worker processes.

The sweep's event loop must keep ~1,000 probes moving; decoding and analysing a JPEG is pure CPU
(~2–5 ms), so it runs in a process pool, a batch per call to keep pickling overhead per image low.
Thumbnails and baselines travel as bytes (``pack_thumbnail`` / ``Baseline.to_bytes``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from safecity.health.vqd import (
    Baseline,
    Thumbnail,
    UndecodableImage,
    VqdThresholds,
    analyse,
)

_THUMB_HEAD = struct.Struct("!HH")


def pack_thumbnail(t: Thumbnail) -> bytes:
    return _THUMB_HEAD.pack(t.width, t.height) + t.data


def unpack_thumbnail(data: bytes | None) -> Thumbnail | None:
    if not data or len(data) < _THUMB_HEAD.size:
        return None
    w, h = _THUMB_HEAD.unpack_from(data)
    body = data[_THUMB_HEAD.size:]
    return Thumbnail(w, h, body) if len(body) == w * h else None


@dataclass
class VqdJob:
    device: str
    jpeg: bytes
    previous: bytes | None          # packed thumbnail of the previous night
    baseline: bytes | None          # Baseline.to_bytes()
    full: bytes | None = None       # the main stream's picture (rotation night): single-frame checks


@dataclass
class VqdOutcome:
    device: str
    faults: list[str] = field(default_factory=list)      # "vqd_<code>"
    metrics: dict[str, float] = field(default_factory=dict)
    thumbnail: bytes | None = None
    new_baseline: bytes | None = None    # set when the camera had none and looks healthy
    error: str | None = None
    full_checked: bool = False          # a main picture came with the job (rotation night)
    full_faults: list[str] = field(default_factory=list)   # found in the full-size picture only
    full_error: str | None = None


def analyse_batch(jobs: list[VqdJob], thresholds: VqdThresholds | None) -> list[VqdOutcome]:
    """Runs in a worker process."""
    out: list[VqdOutcome] = []
    for job in jobs:
        try:
            baseline = Baseline.from_bytes(job.baseline) if job.baseline else None
        except ValueError:
            baseline = None      # an old-format baseline is re-recorded below
        try:
            res = analyse(job.jpeg, unpack_thumbnail(job.previous), baseline, thresholds)
        except UndecodableImage as e:
            out.append(VqdOutcome(job.device, error=str(e)))
            continue
        o = VqdOutcome(job.device, [f"vqd_{f.value}" for f in res.faults],
                       {k: round(v, 4) for k, v in res.metrics.items()}, pack_thumbnail(res.thumbnail))
        if baseline is None and res.ok and res.as_baseline is not None:
            # First healthy sight of a camera: accept its view as the reference (re-baseline
            # with `safecity health run --rebaseline` after a planned move).
            o.new_baseline = res.as_baseline.to_bytes()
        if job.full is not None:
            _full_size_check(job.full, o, thresholds)
        out.append(o)
    return out


def _full_size_check(jpeg: bytes, o: VqdOutcome, thresholds: VqdThresholds | None) -> None:
    """The main stream's picture on its own (no freeze or baseline comparison: the camera's
    memory is kept from the nightly picture): what the smaller picture did not show."""
    o.full_checked = True
    try:
        res = analyse(jpeg, None, None, thresholds)
    except UndecodableImage as e:
        o.full_error = str(e)
        return
    o.full_faults = [code for code in (f"vqd_{f.value}" for f in res.faults) if code not in o.faults]
    o.metrics.update({f"full_{k}": round(res.metrics[k], 4) for k in ("blur_ratio", "noise_sigma")})
