"""Interface states and uptime out of a switch's show output, by the platform's patterns.

Read-only parsing of text a ``SwitchSession`` returned; which command, which row pattern and which
state values mean "up" are ``platform.yml`` data (``interface_status``, ``version``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from safecity.drivers.cli.mac_table import expand_interface
from safecity.drivers.cli.platform import PlatformSpec

_SECONDS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


@dataclass(frozen=True)
class InterfaceState:
    interface: str  # full name (abbreviations expanded)
    state: str  # as the switch prints it (``up``, ``*down``, ``DOWN``, ``notconnect``, …)
    up: bool


@dataclass(frozen=True)
class Uptime:
    seconds: int  # lower bound: what the switch printed
    resolution: int  # the printed value's granularity (60: "… 3 minutes")


def parse_interface_status(text: str, spec: PlatformSpec) -> dict[str, InterfaceState]:
    """Full interface name → its state; interfaces the table does not list are absent."""
    settings = spec.interface_status
    if settings is None:
        return {}
    row = re.compile(settings.row)
    up = frozenset(settings.up)
    out: dict[str, InterfaceState] = {}
    for line in text.replace("\r", "").split("\n"):
        m = row.match(line)
        if m:
            name = expand_interface(m.group("interface"), spec)
            out[name] = InterfaceState(name, m.group("state"), m.group("state") in up)
    return out


def parse_uptime(text: str, spec: PlatformSpec) -> Uptime | None:
    """How long the switch has been up, from its version output (None if not printed)."""
    if spec.version is None:
        return None
    m = re.search(spec.version.uptime, text)
    if m is None:
        return None
    found = {k: int(v) for k, v in m.groupdict().items() if v is not None and k in _SECONDS}
    if not found:
        return None
    return Uptime(sum(_SECONDS[k] * v for k, v in found.items()), min(_SECONDS[k] for k in found))
