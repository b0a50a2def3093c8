"""Helpers of the ONVIF driver tests: lab device specs on unique loopback addresses in
127.35.0.0/16 (third octet 1..99 here; vendor tests use 100..159, provision tests 160..249)."""

from __future__ import annotations

import itertools
import os
from typing import Any

from safecity.inventory.profiles import DeviceProfile, load_profiles
from safecity.lab.onvif import NetworkSettings, OnvifDeviceSpec

HTTP_PORT = 8000
ADMIN = ("admin", "Adm1n-pass")
GENERIC = "generic/ONVIF-PTZ-2MP"
DAHUA = "dahua/IPC-HFW2431S-S-S2"
HIK = "hikvision/DS-2CD2T47G2-L"
HIK_ENCODER = "hikvision/DS-6704HUHI-K"

_hosts = itertools.count(0)


def host_factory(first_octet: int, octets: int) -> Any:
    base = first_octet + os.getpid() % octets

    def next_host() -> str:
        n = next(_hosts)
        return f"127.35.{base}.{n % 250 + 2}"
    return next_host


next_host = host_factory(1, 99)


def profile(key: str) -> DeviceProfile:
    p = load_profiles().device(key)
    assert p is not None, key
    return p


def make_spec(name: str, key: str = GENERIC, **kw: Any) -> OnvifDeviceSpec:
    values: dict[str, Any] = {
        "name": name, "profile": profile(key), "host": kw.pop("host", None) or next_host(),
        "http_port": HTTP_PORT, "serial": f"SN-{name}", "mac": "00:35:22:33:44:55",
        "hostname": name, "network": NetworkSettings("10.35.1.23", 24, "10.35.1.1"),
        "users": (ADMIN + ("Administrator",),), "reboot_s": 0.2, "network_move_s": 0.1}
    values.update(kw)
    return OnvifDeviceSpec(**values)
