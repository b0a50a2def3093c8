"""The alarm-host GB/T 28181 plug-in (alarm_http) against the lab's alarm host, over real
sockets; the platform is the lab registrar. Addresses: 127.42.<60..79 by pid>.x."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from safecity.drivers.vendor import Gb28181Settings, VendorEndpoint, gb28181_plugin
from safecity.errors import AuthFailed, DeviceError, DeviceRejected
from safecity.inventory.profiles import load_profiles
from safecity.lab.alarm import AlarmHostSpec, AlarmLab
from safecity.lab.sip import LabRegistrar, RegistrarSpec

HTTP_PORT = 8000
PASSWORD = "Al4rm-install"
SERVER_ID = "34020000002000000001"
DEVICE_ID = "34020000001170000009"
IN_IDS = tuple(f"340200000013400001{i:02d}" for i in range(1, 17))
OUT_IDS = tuple(f"340200000013500001{i:02d}" for i in range(1, 5))
_octet = 60 + os.getpid() % 20
_n = itertools.count(2)
Start = Callable[..., Awaitable[AlarmLab]]


def next_host() -> str:
    return f"127.42.{_octet}.{next(_n) % 250 + 2}"


@pytest.fixture
async def alarm_lab(tmp_path: Path) -> AsyncIterator[Start]:
    labs: list[AlarmLab] = []

    async def start(spec: AlarmHostSpec, address_map: Callable[[str], str] = str) -> AlarmLab:
        lab = await AlarmLab.start([spec], tmp_path / f"s{len(labs)}", address_map)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        await lab.close()


def spec(name: str) -> AlarmHostSpec:
    profile = load_profiles().device("generic_alarm/AH-16")
    assert profile is not None and profile.behaviour is not None
    assert profile.behaviour.gb28181_api == "alarm_http" and not profile.behaviour.has_media
    return AlarmHostSpec(name=name, profile=profile, host=next_host(), serial=f"S-{name}",
                         hostname=name, username="admin", password=PASSWORD,
                         http_port=HTTP_PORT)


def endpoint(s: AlarmHostSpec, password: str = PASSWORD) -> VendorEndpoint:
    return VendorEndpoint(s.name, s.host, HTTP_PORT, "admin", password, timeout=3.0)


def wanted(**kw: object) -> Gb28181Settings:
    values: dict[str, object] = {
        "enabled": True, "server_id": SERVER_ID, "server_domain": "3402000000",
        "server_ip": "10.42.60.2", "server_port": 5060, "device_id": DEVICE_ID,
        "password": "Gb-al4rm-9", "alarm_in_ids": IN_IDS, "alarm_out_ids": OUT_IDS}
    values.update(kw)
    return Gb28181Settings(**values)  # type: ignore[arg-type]


async def test_apply_read_and_the_platform_sees_every_alarm_point(alarm_lab: Start) -> None:
    reg_host = next_host()
    registrar = await LabRegistrar.start(RegistrarSpec(
        name="platform", server_id=SERVER_ID, domain="3402000000", host=reg_host,
        subscribers={DEVICE_ID: "Gb-al4rm-9"}))
    try:
        s = spec("ah-drv")
        lab = await alarm_lab(s, {"10.42.60.2": reg_host}.__getitem__)
        gb = gb28181_plugin("alarm_http", endpoint(s))
        try:
            assert (await gb.read_settings()).enabled is False
            await gb.apply_settings(wanted(), send_password=True)
            read = await gb.read_settings()
        finally:
            await gb.close()
        assert read.comparable() == wanted().comparable() and read.password == ""
        await lab.settle()
        deadline = time.monotonic() + 10
        while not [r for r in registrar.registrations() if r.device_id == DEVICE_ID]:
            assert time.monotonic() < deadline, lab.device_state("ah-drv")["gb28181_agent"]
            await asyncio.sleep(0.05)
        items = await registrar.query_catalog(DEVICE_ID)
        assert sorted(i.device_id for i in items) == sorted(IN_IDS + OUT_IDS)
        await lab.close()
    finally:
        await registrar.close()


async def test_wrong_password_bad_values_and_video_ids(alarm_lab: Start) -> None:
    s = spec("ah-err")
    await alarm_lab(s)
    bad = gb28181_plugin("alarm_http", endpoint(s, "888888"))
    gb = gb28181_plugin("alarm_http", endpoint(s))
    try:
        with pytest.raises(AuthFailed, match=r"^ah-err: read GB/T 28181 settings: credentials "):
            await bad.read_settings()
        with pytest.raises(DeviceRejected, match=r"^ah-err: write GB/T 28181 settings: HTTP 400: "
                                                 r"heartbeat_count: expected an integer in 1\.\.30$"):
            await gb.apply_settings(wanted(heartbeat_count=0), send_password=True)
        with pytest.raises(DeviceError, match=r"^ah-err: write GB/T 28181 settings: an alarm "
                                              r"host has no video channels"):
            await gb.apply_settings(wanted(channel_ids=(DEVICE_ID,)), send_password=True)
        assert (await gb.read_settings()).enabled is False
    finally:
        await bad.close()
        await gb.close()
