"""A guard for labs and test runs: with SAFECITY_LOOPBACK_ONLY set, no driver dials off loopback.

Real deployments use 10/8, 172.16/12 and 192.168/16 addresses; the lab maps them to 127/8. A
mistake in lab mode (an inventory not in lab mode, a stale address) would otherwise send
packets to the real addresses from a developer's or CI's machine. The test and demo commands
set the variable; every driver calls ``check_target`` before it opens a connection.
"""

from __future__ import annotations

import ipaddress
import os

from safecity.errors import DeviceUnreachable

ENV = "SAFECITY_LOOPBACK_ONLY"


def loopback_only() -> bool:
    return os.environ.get(ENV, "") not in ("", "0", "false", "no")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_target(device: str, operation: str, host: str) -> None:
    """Raise DeviceUnreachable for a non-loopback target while SAFECITY_LOOPBACK_ONLY is set."""
    if loopback_only() and not is_loopback(host):
        raise DeviceUnreachable(device, operation,
                                f"refusing to contact non-loopback address {host} ({ENV} is set)")
