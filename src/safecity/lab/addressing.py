"""Map a deployment's real addresses to loopback ones, so the lab never leaves 127.0.0.0/8.

``10.34.18.5`` becomes ``127.34.18.5`` (the first octet swapped for 127); when two real
addresses would land on the same loopback address, or on 127.0.x.x (where local services
live), the later one gets the next free address of 127.250.0.0/15 instead. The mapping is
written to ``<deployment>/.lab/addresses.json`` so Ansible (the inventory plugin's ``lab: true``)
and every tool reach the same device.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from pathlib import Path

from safecity.errors import LabError
from safecity.netguard import is_loopback

_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")
_FALLBACK = ipaddress.IPv4Network("127.250.0.0/15")


class AddressMap:
    def __init__(self, mapping: dict[str, str] | None = None, offset: int = 0) -> None:
        # ``offset`` shifts the second octet (10.34.x.y → 127.(34+offset).x.y) so two labs of the
        # same deployment (a developer's and a test run's) can be up at the same time.
        self.offset = offset
        self._to_lab: dict[str, str] = dict(mapping or {})
        self._to_real: dict[str, str] = {v: k for k, v in self._to_lab.items()}
        self._next_fallback = int(_FALLBACK.network_address) + 1

    @classmethod
    def build(cls, real_addresses: Iterable[str]) -> AddressMap:
        amap = cls()
        for ip in real_addresses:
            amap.add(ip)
        return amap

    def add(self, real: str) -> str:
        if real in self._to_lab:
            return self._to_lab[real]
        addr = ipaddress.IPv4Address(real)
        if addr in _LOOPBACK:
            candidate = real
        else:
            o = addr.packed
            candidate = f"127.{(o[1] + self.offset) % 250}.{o[2]}.{o[3]}"
        c = ipaddress.IPv4Address(candidate)
        if (candidate in self._to_real or c in ipaddress.IPv4Network("127.0.0.0/16")
                or c in _FALLBACK or o_last(c) in (0, 255)):
            candidate = self._fallback()
        self._to_lab[real] = candidate
        self._to_real[candidate] = real
        return candidate

    def _fallback(self) -> str:
        while self._next_fallback < int(_FALLBACK.broadcast_address):
            cand = str(ipaddress.IPv4Address(self._next_fallback))
            self._next_fallback += 1
            if cand not in self._to_real and not cand.endswith((".0", ".255")):
                return cand
        raise LabError("lab address space 127.250.0.0/15 is exhausted")

    def lab(self, real: str) -> str:
        """The loopback address of a real one (added on first use: a device may move)."""
        return self._to_lab.get(real) or self.add(real)

    def real(self, lab: str) -> str | None:
        return self._to_real.get(lab)

    def items(self) -> list[tuple[str, str]]:
        return sorted(self._to_lab.items())

    def to_json(self) -> str:
        return json.dumps(dict(self.items()), indent=1) + "\n"

    def save(self, path: Path) -> None:
        """``addresses.json`` is a flat {real: loopback} map (what Ansible reads); the offset
        sits beside it so addresses added later (a device moved) follow the same rule."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json(), encoding="utf-8")
        path.with_suffix(".offset").write_text(f"{self.offset}\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> AddressMap:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            off = path.with_suffix(".offset")
            return cls(dict(raw), int(off.read_text()) if off.exists() else 0)
        except (OSError, json.JSONDecodeError, ValueError, TypeError) as e:
            raise LabError(f"{path}: cannot read the lab address map ({e}); is the lab up?") from e


def o_last(addr: ipaddress.IPv4Address) -> int:
    return addr.packed[3]


def require_loopback(host: str, what: str) -> None:
    """Last line of defence for the network rule: every simulator binds 127/8 only."""
    if not is_loopback(host):
        raise LabError(f"{what}: the lab only binds loopback addresses (127/8), not {host}")
