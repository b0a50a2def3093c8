"""The one report model every renderer reads (JSON is its canonical serialisation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from safecity.health.kpi import find_rollup
from safecity.health.models import DeviceResult, Event, Night, Rollup, fault_label

SCHEMA = "safecity.health/1"


@dataclass(frozen=True)
class FaultRow:
    device: str
    kind: str
    site: str | None
    region_code: str
    fault: str
    label: str
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        return {"device": self.device, "kind": self.kind, "site": self.site, "region_code": self.region_code,
                "fault": self.fault, "label": self.label, "evidence": self.evidence}


@dataclass
class HealthReport:
    night: Night
    rollups: list[Rollup]
    events: list[Event]
    trend: list[tuple[str, Rollup]] = field(default_factory=list)

    @property
    def summary(self) -> Rollup | None:
        return find_rollup(self.rollups, "all", "all")

    def faults(self) -> list[FaultRow]:
        rows = [FaultRow(r.name, r.kind, r.site, r.region_code, f, fault_label(f), self._evidence(r, f))
                for r in self.night.results for f in r.faults]
        return sorted(rows, key=lambda x: (x.region_code, x.site or "", x.device, x.fault))

    def _evidence(self, r: DeviceResult, fault: str) -> str:
        """The probe's evidence; a rotating check's finding carried from an earlier night says when."""
        text = r.detail.get(fault, "")
        found = r.rotating.get(fault)
        if found and found != self.night.night:
            text = f"{text} (found {found}; checked again on the device's rotation night)".lstrip()
        return text

    def worst_sites(self, limit: int = 10) -> list[Rollup]:
        sites = [r for r in self.rollups if r.level == "site" and r.kind == "*" and r.faulty]
        return sorted(sites, key=lambda r: (-r.faulty / max(r.devices, 1), -r.faulty, r.code))[:limit]

    def tiers(self) -> list[Rollup]:
        order = {"province": 0, "city": 1, "county": 2, "site": 3}
        rows = [r for r in self.rollups if r.kind == "*" and r.level in order]
        return sorted(rows, key=lambda r: (order[r.level], r.code))

    def as_dict(self) -> dict[str, Any]:
        n = self.night
        s = self.summary
        return {
            "schema": SCHEMA, "night": n.night, "deployment": n.deployment, "scope": n.scope,
            "started_at": n.started_at, "finished_at": n.finished_at, "seconds": round(n.seconds, 3),
            "summary": s.as_dict() if s else None,
            "faults": [f.as_dict() for f in self.faults()],
            "events": [e.as_dict() for e in self.events],
            "rollups": [r.as_dict() for r in self.rollups],
            "worst_sites": [r.as_dict() for r in self.worst_sites()],
            "trend": [{"night": night, **r.as_dict()} for night, r in self.trend],
            "regions": [{"code": r.code, "name": r.name, "tier": r.tier, "parent": r.parent} for r in n.regions],
            "devices": [r.as_dict() for r in n.results],
        }


def build_report(night: Night, rollups: Sequence[Rollup], events: Sequence[Event],
                 trend: Sequence[tuple[str, Rollup]] = ()) -> HealthReport:
    return HealthReport(night, list(rollups), list(events), list(trend))
