"""KPI roll-ups of one night (DOMAIN.md §6): site (station) → county → city → province → all.

- online rate     = reachable ÷ checked devices
- intact rate     = video devices reachable with no video or image fault ÷ video devices
- time-sync rate  = devices with |offset| < tolerance ÷ devices whose clock was read
- enrollment rate = front-end devices registered on their tier platform ÷ those whose platform
  answered (a platform outage makes enrollment unknown, not zero; the outage is its own fault)
Skipped devices (planned, no probe for the kind) are not scheduled and count nowhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from safecity.health.models import (
    VIDEO_FAULTS,
    VIDEO_KINDS,
    DeviceResult,
    Night,
    RegionInfo,
    Rollup,
)


@dataclass
class _Acc:
    devices: int = 0
    online: int = 0
    intact: int = 0
    video: int = 0
    time_checked: int = 0
    time_ok: int = 0
    enrollable: int = 0
    registered: int = 0
    faulty: int = 0

    def add(self, r: DeviceResult) -> None:
        self.devices += 1
        self.online += bool(r.reachable)
        self.faulty += bool(r.faults)
        if r.kind in VIDEO_KINDS:
            self.video += 1
            broken = any(f in VIDEO_FAULTS or f.startswith("vqd_") for f in r.faults)
            self.intact += bool(r.reachable) and not broken
        if r.clock_offset_s is not None:
            self.time_checked += 1
            self.time_ok += "clock_skew" not in r.faults
        if r.registered is not None:
            self.enrollable += 1
            self.registered += r.registered


def is_intact(r: DeviceResult) -> bool:
    return bool(r.reachable) and not any(f in VIDEO_FAULTS or f.startswith("vqd_") for f in r.faults)


def scopes_of(r: DeviceResult, regions: dict[str, RegionInfo]) -> Iterable[tuple[str, str, str]]:
    """(level, code, name) of every scope a result rolls up into."""
    if r.site:
        yield "site", r.site, r.site
    code: str | None = r.region_code
    seen: set[str] = set()
    while code is not None and code not in seen:
        seen.add(code)
        info = regions.get(code)
        if info is None:
            yield "region", code, code
            break
        yield info.tier, code, info.name
        code = info.parent
    yield "all", "all", "all"


def compute_rollups(night: Night) -> list[Rollup]:
    regions = {r.code: r for r in night.regions}
    acc: dict[tuple[str, str, str, str], _Acc] = defaultdict(_Acc)
    for r in night.results:
        if r.status == "skipped":
            continue
        for level, code, name in scopes_of(r, regions):
            acc[(level, code, name, "*")].add(r)
            acc[(level, code, name, r.kind)].add(r)
    return [Rollup(level, code, name, kind, a.devices, a.online, a.intact, a.video, a.time_checked,
                   a.time_ok, a.enrollable, a.registered, a.faulty)
            for (level, code, name, kind), a in sorted(acc.items())]


def find_rollup(rollups: Iterable[Rollup], level: str, code: str, kind: str = "*") -> Rollup | None:
    for r in rollups:
        if r.level == level and r.code == code and r.kind == kind:
            return r
    return None
