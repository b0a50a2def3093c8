"""The tables a switch prints (MAC table, interface status, version), laid out from dialect data."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence

from safecity.lab.switch.device import SwitchDevice
from safecity.lab.switch.dialect import Table


def format_mac(mac: str, style: str) -> str:
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower().ljust(12, "0")[:12]
    if style == "colon":
        return ":".join(digits[i:i + 2] for i in range(0, 12, 2))
    sep = "-" if style == "hyphen" else "."
    return sep.join(digits[i:i + 4] for i in range(0, 12, 4))


def short_interface(name: str, short: Mapping[str, str]) -> str:
    # Longest type first so "XGigabitEthernet" is not shortened as "GigabitEthernet".
    for full in sorted(short, key=len, reverse=True):
        if name.startswith(full):
            return short[full] + name[len(full):]
    return name


def render_table(table: Table, rows: Sequence[Mapping[str, object]]) -> str:
    if not rows and table.empty:
        return table.empty.rstrip("\n")
    lines = [table.header.rstrip("\n")] if table.header else []
    for row in rows:
        cells = []
        for col in table.columns:
            cell = col.text.format(**row)
            cells.append(cell.rjust(col.width) if col.align == "right" else cell.ljust(col.width))
        lines.append("".join(cells).rstrip())
    if table.footer:
        lines.append(table.footer.format(count=len(rows)).rstrip("\n"))
    return "\n".join(lines)


def mac_table(device: SwitchDevice) -> str:
    show = device.dialect.show
    rows = []
    for entry in device.spec.mac_table:
        # A shut port learns nothing; an access port shows the VLAN it is configured for.
        if device.link_state(entry.interface) != "up":
            continue
        rows.append({
            "mac": format_mac(entry.mac, show.mac_style),
            "vlan": device.access_vlan(entry.interface, entry.vlan),
            "interface": entry.interface,
            "interface_short": short_interface(entry.interface, show.short_interfaces),
        })
    return render_table(show.mac_table, rows)


def interface_status(device: SwitchDevice) -> str:
    show = device.dialect.show
    names = [p.name for p in device.spec.ports]
    if show.include_logical:
        names += device.logical_interfaces()
    rows = []
    for name in names:
        state = device.link_state(name)
        row: dict[str, object] = {
            "interface": name,
            "interface_short": short_interface(name, show.short_interfaces),
            "description": device.description(name),
            "vlan": device.access_vlan(name),
        }
        row.update(show.interface_states.get(state, {}))
        rows.append(row)
    return render_table(show.interfaces, rows)


def version(device: SwitchDevice) -> str:
    up = int(time.time() - device.booted_at)
    return device.dialect.show.version.format(
        hostname=device.hostname, model=device.spec.model or "unknown",
        serial=device.spec.serial or "unknown",
        uptime_weeks=up // 604800, uptime_days=up // 86400 % 7,
        uptime_hours=up // 3600 % 24, uptime_minutes=up // 60 % 60,
    ).rstrip("\n")
