"""The value every provisioning call returns, one per device. JSON-able; never holds a secret."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

MASK = "********"
JsonValue = Any  # str | int | float | bool | None | list | dict of those


@dataclass(frozen=True)
class Change:
    """One setting that differs: ``old`` is what the device has, ``new`` what it gets.

    Password values are always ``MASK`` (or ``None`` for an absent account)."""

    setting: str
    old: JsonValue
    new: JsonValue

    def __str__(self) -> str:
        return f"{self.setting}: {self.old!r} -> {self.new!r}"


@dataclass
class Result:
    device: str
    changed: bool = False
    diff: list[Change] = field(default_factory=list)
    failed: bool = False
    error: str | None = None
    evidence: dict[str, JsonValue] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, JsonValue]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


@dataclass
class BatchReport:
    """What one batch run (provision, enroll) did: one Result per device, the skipped ones
    with their reason, and the JSON results file written from it."""

    results: list[Result]
    seconds: float
    check_mode: bool
    started: datetime
    skipped: dict[str, str] = field(default_factory=dict)   # device -> why it was left out

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.failed]

    @property
    def changed(self) -> list[Result]:
        return [r for r in self.results if r.changed]

    def summary(self) -> dict[str, int]:
        return {"devices": len(self.results), "changed": len(self.changed),
                "failed": len(self.failed), "ok": len(self.results) - len(self.failed),
                "skipped": len(self.skipped)}

    def to_dict(self, **extra: object) -> dict[str, object]:
        return {"started": self.started.isoformat(timespec="seconds"),
                "seconds": round(self.seconds, 3), "check_mode": self.check_mode, **extra,
                "summary": self.summary(), "skipped": self.skipped,
                "results": [r.to_dict() for r in self.results]}

    def write_json(self, path: Path, **extra: object) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(**extra), indent=1, default=str) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)
