"""The acceptance report: every verdict with its evidence, totals, the enrollment rate, and
roll-ups per site and per region (county / city). JSON is the record; the HTML is rendered from
the same ``to_dict()``.

Rates (DOMAIN.md §6): enrollment rate = enrolling devices registered on their tier platform ÷
enrolling devices verifiable here; devices that cannot be checked from here (e.g. ones the lab
does not simulate) are counted and shown beside the rate, never counted as a pass. The
inventory-based rate (÷ every enrolling device in scope) is given too.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safecity.verify.evidence import CheckName, DeviceVerdict, Status

FRONT_END = frozenset({"ipc", "encoder", "alarm_host"})


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


@dataclass
class Rollup:
    key: str                # site name or region code
    title: str
    devices: int = 0        # front-end devices
    verifiable: int = 0
    verified: int = 0
    failed: int = 0
    blocked: int = 0
    not_verifiable: int = 0
    enrolled: int = 0       # registered check passed

    @property
    def enrollment_rate(self) -> float | None:
        return _rate(self.enrolled, self.verifiable)

    @property
    def verified_rate(self) -> float | None:
        return _rate(self.verified, self.verifiable)

    def add(self, v: DeviceVerdict) -> None:
        self.devices += 1
        status = v.status
        if status is Status.NOT_VERIFIABLE:
            self.not_verifiable += 1
            return
        self.verifiable += 1
        self.verified += status is Status.PASS
        self.failed += status is Status.FAIL
        self.blocked += status is Status.BLOCKED
        reg = v.check(CheckName.REGISTERED)
        self.enrolled += reg is not None and reg.status is Status.PASS

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "devices": self.devices,
                "verifiable": self.verifiable, "verified": self.verified, "failed": self.failed,
                "blocked": self.blocked, "not_verifiable": self.not_verifiable,
                "enrolled": self.enrolled, "enrollment_rate": self.enrollment_rate,
                "verified_rate": self.verified_rate}


@dataclass
class AcceptanceReport:
    deployment: str
    title: str
    scope: str
    lab: bool
    started: str
    seconds: float
    verdicts: list[DeviceVerdict]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def front_end(self) -> list[DeviceVerdict]:
        return [v for v in self.verdicts if v.kind in FRONT_END]

    @property
    def failures(self) -> list[tuple[str, str, str]]:
        """(device, check, detail) of every failed check, of every device, switch and platform."""
        return [(v.device, str(c.name), c.detail) for v in self.verdicts for c in v.failed_checks]

    def totals(self) -> Rollup:
        total = Rollup("all", "all")
        for v in self.front_end:
            total.add(v)
        return total

    def _rollups(self, key: str) -> list[Rollup]:
        out: dict[str, Rollup] = {}
        for v in self.front_end:
            k, title = (v.site or "-", v.site or "-") if key == "site" else \
                (v.region_code, f"{v.region_name} ({v.region_code})")
            out.setdefault(k, Rollup(k, title)).add(v)
        return [out[k] for k in sorted(out)]

    def by_site(self) -> list[Rollup]:
        return self._rollups("site")

    def by_region(self) -> list[Rollup]:
        return self._rollups("region")

    @property
    def passed(self) -> bool:
        """Acceptance passes when no check failed and nothing verifiable was left unchecked."""
        return all(v.status in (Status.PASS, Status.NOT_VERIFIABLE) for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        t = self.totals()
        statuses: dict[str, int] = {}
        for v in self.verdicts:
            statuses[str(v.status)] = statuses.get(str(v.status), 0) + 1
        return {
            "deployment": self.deployment, "title": self.title, "scope": self.scope,
            "lab": self.lab, "started": self.started, "seconds": round(self.seconds, 3),
            "passed": self.passed,
            "totals": {**t.to_dict(), "all_hosts": len(self.verdicts), "by_status": statuses,
                       "enrollment_rate_of_inventory": _rate(t.enrolled, t.devices)},
            "failures": [{"device": d, "check": c, "detail": x} for d, c, x in self.failures],
            "sites": [r.to_dict() for r in self.by_site()],
            "regions": [r.to_dict() for r in self.by_region()],
            "devices": [v.to_dict() for v in self.verdicts],
            "skipped": self.skipped,
        }


def render_json(report: AcceptanceReport) -> str:
    return json.dumps(report.to_dict(), indent=1, ensure_ascii=False, default=str) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_reports(report: AcceptanceReport, out_dir: Path, formats: Iterable[str] = ("html", "json")
                  ) -> list[Path]:
    from safecity.verify.report_html import render_html

    stamp = report.started.replace(":", "").replace("-", "")[:15]
    files: list[Path] = []
    for fmt in formats:
        if fmt == "json":
            text = render_json(report)
        elif fmt == "html":
            text = render_html(report)
        else:
            raise ValueError(f"unknown report format {fmt!r} (known: html, json)")
        path = out_dir / f"acceptance-{stamp}.{fmt}"
        write_atomic(path, text)
        files.append(path)
    return files


__all__ = ["AcceptanceReport", "Rollup", "render_json", "write_reports"]
