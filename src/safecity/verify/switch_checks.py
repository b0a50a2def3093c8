"""Switch-side checks: the switch answers over SSH and its MAC table shows every device on the
port the inventory gives it. One SSH session per switch (netmiko is blocking: a thread each,
bounded by the runner), then a pure per-device comparison.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from safecity.drivers.cli.mac_table import MacTableEntry, normalise_mac, parse_mac_table
from safecity.drivers.cli.session import SwitchSession
from safecity.drivers.reachability import tcp_reachable
from safecity.errors import SafecityError
from safecity.verify.evidence import (
    Check,
    CheckName,
    DeviceVerdict,
    Status,
    blocked,
    failed,
    passed,
)
from safecity.verify.targets import FrontEndTarget, SwitchCheckTarget

C = CheckName


@dataclass
class MacTable:
    switch: str
    entries: list[MacTableEntry]

    def ports_of(self, mac: str) -> list[str]:
        key = normalise_mac(mac)
        return sorted({e.interface for e in self.entries if e.mac == key})


def _read_mac_table(s: SwitchCheckTarget) -> list[MacTableEntry]:
    assert s.target is not None
    with SwitchSession(s.target) as session:
        return parse_mac_table(session.mac_table_text(), session.platform)


async def check_switch(s: SwitchCheckTarget, connect_timeout: float, v: DeviceVerdict
                       ) -> MacTable | None:
    if s.target is None:
        v.add(Check(C.REACHABLE, Status.NOT_VERIFIABLE, detail=s.reason))
        v.add(Check(C.MAC_TABLE, Status.NOT_VERIFIABLE, detail=s.reason))
        return None
    t = s.target
    rtt = await tcp_reachable(t.host, t.port, connect_timeout)
    if rtt is None:
        v.add(failed(C.REACHABLE, {"ssh": t.port}, None, f"{t.host}:{t.port}: no SSH answer"))
        v.add(blocked(C.MAC_TABLE, "switch unreachable"))
        return None
    v.add(passed(C.REACHABLE, {"ssh": t.port}, {"rtt_ms": round(rtt * 1000, 2)}))
    try:
        entries = await asyncio.to_thread(_read_mac_table, s)
    except SafecityError as e:
        v.add(failed(C.MAC_TABLE, {"read": "MAC address table"}, None, str(e)))
        return None
    v.add(passed(C.MAC_TABLE, {"read": "MAC address table"}, {"entries": len(entries)}))
    return MacTable(s.name, entries)


def check_switch_port(t: FrontEndTarget, tables: dict[str, MacTable | None],
                      owners: dict[tuple[str, str], str], v: DeviceVerdict) -> None:
    """``owners`` maps (switch, port) to the device the inventory puts there (to name a swap)."""
    if not t.switch or not t.switch_port or not t.mac:
        v.add(Check(C.SWITCH_PORT, Status.NOT_APPLICABLE, detail="no switch/port/MAC in the inventory"))
        return
    if t.switch not in tables:
        v.add(Check(C.SWITCH_PORT, Status.NOT_VERIFIABLE, detail=f"switch {t.switch} is outside the scope"))
        return
    table = tables[t.switch]
    if table is None:
        v.add(blocked(C.SWITCH_PORT, f"switch {t.switch}: MAC table not read"))
        return
    expected = {"switch": t.switch, "port": t.switch_port, "mac": t.mac}
    ports = table.ports_of(t.mac)
    seen: dict[str, object] = {"switch": t.switch, "ports": ports}
    if t.switch_port in ports:
        v.add(passed(C.SWITCH_PORT, expected, seen))
        return
    if not ports:
        v.add(failed(C.SWITCH_PORT, expected, seen, f"{t.switch} has not learned {t.mac} on any port"))
        return
    other = [owners[(t.switch, p)] for p in ports if (t.switch, p) in owners]
    text = f"seen on {', '.join(ports)}, inventory says {t.switch_port}"
    if other:
        seen["inventory_has_there"] = other
        text += f" (the inventory puts {', '.join(other)} there)"
    v.add(failed(C.SWITCH_PORT, expected, seen, text))


__all__ = ["MacTable", "check_switch", "check_switch_port"]
