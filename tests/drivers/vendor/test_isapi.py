"""Vendor plug-ins over the lab's ISAPI, over real sockets; the registrar is the lab's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
from onvif_driver_support import DAHUA, HIK, HTTP_PORT, host_factory, make_spec

from safecity.drivers.onvif import OnvifClient
from safecity.drivers.vendor import (
    Gb28181Settings,
    VendorEndpoint,
    activation_plugin,
    gb28181_plugin,
)
from safecity.errors import AuthFailed, DeviceRejected
from safecity.lab.onvif import OnvifLab
from safecity.lab.sip import LabRegistrar, RegistrarSpec

LabFactory = Callable[..., Awaitable[OnvifLab]]
next_host = host_factory(100, 60)
STRONG = "Str0ng-Admin"
SERVER_ID = "34020000002000000001"
DEVICE_ID = "34020000001320000035"
CHANNEL_ID = "34020000001310000035"


def _endpoint(name: str, host: str, user: str | None = None, pw: str | None = None) -> VendorEndpoint:
    return VendorEndpoint(name, host, HTTP_PORT, user, pw, timeout=3.0)


async def test_activation_onvif_enable_and_onvif_user(lab_factory: LabFactory) -> None:
    spec = make_spec("hnew", HIK, host=next_host(), factory_new=True, users=())
    lab = await lab_factory(spec)
    act = activation_plugin("isapi", _endpoint("hnew", spec.host), separate_onvif_users=True)
    try:
        assert await act.is_active() is False
        with pytest.raises(DeviceRejected, match=r"^hnew: activate: HTTP 400: .*badPassword"):
            await act.activate("weakpass")
        await act.activate(STRONG)
        assert await act.is_active() is True
        act.set_credentials("admin", "Wrong-pass1")
        assert await act.check_credentials() is False
        act.set_credentials("admin", STRONG)
        assert await act.check_credentials() is True
        assert await act.onvif_enabled() is False
        await act.enable_onvif()
        assert await act.onvif_enabled() is True
        assert await act.ensure_onvif_user("admin", STRONG, "Administrator") is True
        assert await act.ensure_onvif_user("admin", STRONG, "Administrator") is False
        assert [(u.username, u.level) for u in await act.onvif_users()] == [
            ("admin", "Administrator")]
    finally:
        await act.close()
    state = lab.device_state("hnew")
    assert (state["active"], state["onvif_enabled"]) == (True, True)
    assert state["onvif_users"] == [{"username": "admin", "level": "Administrator"}]
    async with OnvifClient("hnew", spec.host, HTTP_PORT, "admin", STRONG,
                           http_auth="digest") as cam:
        assert await cam.get_hostname() == "hnew"


async def test_wrong_vendor_password_is_auth_failed(lab_factory: LabFactory) -> None:
    spec = make_spec("hpw", HIK, host=next_host())
    await lab_factory(spec)
    gb = gb28181_plugin("isapi", _endpoint("hpw", spec.host, "admin", "Wrong-pass1"))
    try:
        with pytest.raises(AuthFailed, match=r"^hpw: read GB/T 28181 settings: "):
            await gb.read_settings()
    finally:
        await gb.close()


async def test_gb28181_settings_make_the_device_register(lab_factory: LabFactory) -> None:
    reg_host = next_host()
    registrar = await LabRegistrar.start(RegistrarSpec(
        name="platform", server_id=SERVER_ID, domain="3402000000", host=reg_host,
        subscribers={DEVICE_ID: "Gb-s3cret1"}))
    try:
        spec = make_spec("hgb", HIK, host=next_host())
        lab = await lab_factory(spec, address_map={"10.35.0.2": reg_host,
                                                   "10.35.1.23": spec.host}.__getitem__)
        gb = gb28181_plugin("isapi", _endpoint("hgb", spec.host, "admin", "Adm1n-pass"))
        want = Gb28181Settings(
            enabled=True, server_id=SERVER_ID, server_domain="3402000000",
            server_ip="10.35.0.2", server_port=5060, device_id=DEVICE_ID,
            password="Gb-s3cret1", expires=3600, heartbeat_s=60, heartbeat_count=3,
            channel_ids=(CHANNEL_ID,))
        try:
            await gb.apply_settings(want, send_password=True)
            read = await gb.read_settings()
        finally:
            await gb.close()
        assert read.comparable() == want.comparable() and read.password == ""
        await lab.settle()
        deadline = time.monotonic() + 10
        while not [r for r in registrar.registrations() if r.device_id == DEVICE_ID]:
            assert time.monotonic() < deadline, lab.device_state("hgb")["gb28181_agent"]
            await asyncio.sleep(0.05)
        items = await registrar.query_catalog(DEVICE_ID)
        assert [i.device_id for i in items] == [CHANNEL_ID]
        await lab.close()  # de-register while the platform still listens
    finally:
        await registrar.close()


async def test_vendor_without_api_says_not_supported(lab_factory: LabFactory) -> None:
    spec = make_spec("dnone", DAHUA, host=next_host())
    await lab_factory(spec)
    gb = gb28181_plugin("none", _endpoint("dnone", spec.host, "admin", "Adm1n-pass"))
    act = activation_plugin("none", _endpoint("dnone", spec.host))
    assert gb.supported is False and act.supported is False
    assert await act.is_active() is True  # nothing to activate
    with pytest.raises(DeviceRejected, match=r"^dnone: GB/T 28181 settings: not supported by "
                                             r"this vendor profile \(behaviour.gb28181_api: none\)"):
        await gb.read_settings()
    with pytest.raises(ValueError, match="no GB/T 28181 plug-in 'sdk'"):
        gb28181_plugin("sdk", _endpoint("dnone", spec.host))
