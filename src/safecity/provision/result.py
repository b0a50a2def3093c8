"""The value every provisioning call returns, one per device. JSON-able; never holds a secret."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
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
