"""The Dahua-like GB/T 28181 plug-in (configManager.cgi) against the lab's Dahua-like device,
over real sockets; the platform is the lab registrar. Addresses: 127.42.<pid-based>.x."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable

import pytest
from onvif_driver_support import DAHUA, HTTP_PORT, make_spec

from safecity.drivers.vendor import Gb28181Settings, VendorEndpoint, gb28181_plugin
from safecity.errors import AuthFailed, DeviceRejected
from safecity.inventory.profiles import load_profiles
from safecity.lab.onvif import OnvifLab
from safecity.lab.sip import LabRegistrar, RegistrarSpec

LabFactory = Callable[..., Awaitable[OnvifLab]]
SERVER_ID = "34020000002000000001"
DEVICE_ID = "34020000001320000077"
SIP_PASSWORD = "Gb&s3=cret%#1 +x"  # every character a query string could mangle
_octet = 20 + os.getpid() % 100
_n = itertools.count(2)


def next_host() -> str:
    return f"127.42.{_octet}.{next(_n) % 250 + 2}"


def _endpoint(name: str, host: str, user: str = "admin", pw: str = "Adm1n-pass") -> VendorEndpoint:
    return VendorEndpoint(name, host, HTTP_PORT, user, pw, timeout=3.0)


def _settings(**kw: object) -> Gb28181Settings:
    values: dict[str, object] = {
        "enabled": True, "server_id": SERVER_ID, "server_domain": "3402000000",
        "server_ip": "10.42.0.2", "server_port": 5060, "device_id": DEVICE_ID,
        "password": SIP_PASSWORD, "expires": 3600, "heartbeat_s": 60, "heartbeat_count": 3,
        "channel_ids": (DEVICE_ID,)}
    values.update(kw)
    return Gb28181Settings(**values)  # type: ignore[arg-type]


def test_the_dahua_profile_names_the_plugin_by_data() -> None:
    profile = load_profiles().device(DAHUA)
    assert profile is not None and profile.behaviour is not None
    assert profile.behaviour.gb28181_api == "dahua_cgi"


async def test_settings_round_trip_and_the_device_registers(lab_factory: LabFactory) -> None:
    reg_host = next_host()
    registrar = await LabRegistrar.start(RegistrarSpec(
        name="platform", server_id=SERVER_ID, domain="3402000000", host=reg_host,
        subscribers={DEVICE_ID: SIP_PASSWORD}))
    try:
        spec = make_spec("dgb", DAHUA, host=next_host())
        lab = await lab_factory(spec, address_map={"10.42.0.2": reg_host}.__getitem__)
        gb = gb28181_plugin("dahua_cgi", _endpoint("dgb", spec.host))
        try:
            before = await gb.read_settings()
            assert before.enabled is False and before.channel_ids == ()
            want = _settings()
            await gb.apply_settings(want, send_password=True)
            read = await gb.read_settings()
        finally:
            await gb.close()
        assert read.comparable() == want.comparable() and read.password == ""
        await lab.settle()
        deadline = time.monotonic() + 10
        while not [r for r in registrar.registrations() if r.device_id == DEVICE_ID]:
            assert time.monotonic() < deadline, lab.device_state("dgb")["gb28181_agent"]
            await asyncio.sleep(0.05)
        assert [i.device_id for i in await registrar.query_catalog(DEVICE_ID)] == [DEVICE_ID]
        await lab.close()  # de-register while the platform still listens
    finally:
        await registrar.close()


async def test_wrong_account_is_auth_failed(lab_factory: LabFactory) -> None:
    spec = make_spec("dpw", DAHUA, host=next_host())
    await lab_factory(spec)
    gb = gb28181_plugin("dahua_cgi", _endpoint("dpw", spec.host, pw="Wrong-pass1"))
    try:
        with pytest.raises(AuthFailed, match=r"^dpw: read GB/T 28181 settings: credentials refused"):
            await gb.read_settings()
    finally:
        await gb.close()


async def test_a_bad_value_is_rejected_and_nothing_is_stored(lab_factory: LabFactory) -> None:
    spec = make_spec("dbad", DAHUA, host=next_host())
    lab = await lab_factory(spec)
    gb = gb28181_plugin("dahua_cgi", _endpoint("dbad", spec.host))
    try:
        with pytest.raises(DeviceRejected, match=(
                r"^dbad: write GB/T 28181 settings: HTTP 400: Error: RegisterInterval: expected "
                r"an integer in 60\.\.864000$")):
            await gb.apply_settings(_settings(expires=5), send_password=True)
        with pytest.raises(DeviceRejected, match=r"ChannelID\[1\]: index beyond 1 entries"):
            await gb.apply_settings(_settings(channel_ids=(DEVICE_ID, DEVICE_ID)),
                                    send_password=True)
    finally:
        await gb.close()
    assert lab.device_state("dbad")["gb28181"]["enabled"] is False


async def test_an_operator_account_cannot_write(lab_factory: LabFactory) -> None:
    spec = make_spec("dop", DAHUA, host=next_host(),
                     users=(("admin", "Adm1n-pass", "Administrator"),
                            ("op", "Op3rator-pass", "Operator")))
    await lab_factory(spec)
    gb = gb28181_plugin("dahua_cgi", _endpoint("dop", spec.host, "op", "Op3rator-pass"))
    try:
        assert (await gb.read_settings()).enabled is False
        with pytest.raises(DeviceRejected, match=r"^dop: write GB/T 28181 settings: HTTP 403: "
                                                 r"Error: No Authority$"):
            await gb.apply_settings(_settings(), send_password=True)
    finally:
        await gb.close()
