"""The switch's MAC address table, parsed by the platform's row pattern."""

from __future__ import annotations

import re
from dataclasses import dataclass

from safecity.drivers.cli.platform import PlatformSpec

_HEX = re.compile(r"[^0-9a-f]")
_IFNAME = re.compile(r"([A-Za-z][A-Za-z-]*?)(\d[\d/.:]*)")


@dataclass(frozen=True)
class MacTableEntry:
    mac: str  # 12 lower-case hex digits, no separators
    vlan: int
    interface: str  # full interface name (abbreviations expanded)


def normalise_mac(mac: str) -> str:
    """``44:19:B6:2E:D9:1E`` / ``4419-b62e-d91e`` / ``4419.b62e.d91e`` → ``4419b62ed91e``."""
    digits = _HEX.sub("", mac.lower())
    if len(digits) != 12:
        raise ValueError(f"not a MAC address: {mac!r}")
    return digits


def format_mac(mac: str, notation: str) -> str:
    """A MAC in the platform's notation (``hyphen``: 4419-b62e-d91e, ``dot``: 4419.b62e.d91e)."""
    d = normalise_mac(mac)
    if notation == "hyphen":
        return f"{d[0:4]}-{d[4:8]}-{d[8:12]}"
    if notation == "dot":
        return f"{d[0:4]}.{d[4:8]}.{d[8:12]}"
    return ":".join(d[i:i + 2] for i in range(0, 12, 2))


def expand_interface(name: str, spec: PlatformSpec) -> str:
    """``GE0/0/1`` → ``GigabitEthernet0/0/1`` by the platform's abbreviation table."""
    m = _IFNAME.fullmatch(name)
    if not m:
        return name
    full = spec.interface_abbreviations.get(m.group(1))
    return f"{full}{m.group(2)}" if full else name


def parse_mac_table(text: str, spec: PlatformSpec) -> list[MacTableEntry]:
    row = re.compile(spec.mac_table.row)
    entries: list[MacTableEntry] = []
    for line in text.replace("\r", "").split("\n"):
        m = row.match(line)
        if m:
            entries.append(MacTableEntry(normalise_mac(m.group("mac")), int(m.group("vlan")),
                                         expand_interface(m.group("interface"), spec)))
    return entries
