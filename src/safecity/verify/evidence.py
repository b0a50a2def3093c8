"""The evidence model of acceptance: one ``Check`` per (device, check), what was seen against what
was expected and when, rolled up into a ``DeviceVerdict`` per device.

A check is never silently skipped: it passes, fails, is *blocked* (a check it depends on failed,
so this one could not be run — the report points at the root cause instead of repeating it),
is *not verifiable* here (e.g. a device the lab does not simulate), or does
not apply to the device (``n/a``). Only ``pass`` and ``n/a`` count towards a verified device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    BLOCKED = "blocked"
    NOT_VERIFIABLE = "not_verifiable"
    NOT_APPLICABLE = "n/a"


class CheckName(StrEnum):
    """Every check verification runs, in report column order."""

    REACHABLE = "reachable"
    ONVIF_AUTH = "onvif_auth"
    FACTORY_CREDENTIALS = "factory_credentials"
    CLOCK = "clock"
    SETTINGS = "settings"
    RTSP = "rtsp"
    SNAPSHOT = "snapshot"
    IMAGE = "image"
    SWITCH_PORT = "switch_port"
    REGISTERED = "registered"
    CATALOG = "catalog"
    PLATFORM_RPC = "platform_rpc"
    MAC_TABLE = "mac_table"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Check:
    name: CheckName
    status: Status
    expected: Any = None        # JSON-able; never a secret
    seen: Any = None            # JSON-able; never a secret
    detail: str = ""
    at: str = field(default_factory=now_iso)

    def to_dict(self) -> dict[str, Any]:
        return {"name": str(self.name), "status": str(self.status), "expected": self.expected,
                "seen": self.seen, "detail": self.detail, "at": self.at}


def passed(name: CheckName, expected: Any = None, seen: Any = None, detail: str = "") -> Check:
    return Check(name, Status.PASS, expected, seen, detail)


def failed(name: CheckName, expected: Any = None, seen: Any = None, detail: str = "") -> Check:
    return Check(name, Status.FAIL, expected, seen, detail)


def blocked(name: CheckName, by: str) -> Check:
    return Check(name, Status.BLOCKED, detail=f"not run: {by}")


@dataclass
class DeviceVerdict:
    """Every check of one device (or switch, or platform server)."""

    device: str
    kind: str
    region_code: str
    region_name: str
    county: str              # county (or city/province) the device belongs to, for roll-ups
    site: str | None
    checks: list[Check] = field(default_factory=list)
    note: str = ""           # why a device is not verifiable, or out of scope

    def add(self, check: Check) -> Check:
        self.checks = [c for c in self.checks if c.name != check.name] + [check]
        return check

    def check(self, name: CheckName) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def status(self) -> Status:
        """fail if any check failed; not_verifiable if any could not be verified here; blocked
        if any was blocked (a root cause elsewhere, e.g. the platform); else pass."""
        states = {c.status for c in self.checks}
        for s in (Status.FAIL, Status.NOT_VERIFIABLE, Status.BLOCKED):
            if s in states:
                return s
        return Status.PASS if self.checks else Status.NOT_VERIFIABLE

    @property
    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAIL]

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.device, "kind": self.kind, "region_code": self.region_code,
                "region_name": self.region_name, "county": self.county, "site": self.site,
                "status": str(self.status), "note": self.note,
                "checks": [c.to_dict() for c in self.checks]}


__all__ = ["Check", "CheckName", "DeviceVerdict", "Status", "blocked", "failed", "now_iso",
           "passed"]
