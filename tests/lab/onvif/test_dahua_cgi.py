"""The lab's Dahua-like configManager.cgi (GB/T 28181 page) over real sockets, driven by aiohttp's
own digest client; the device registers with a LabRegistrar. Addresses: 127.42.<pid-based>.x."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import aiohttp
from onvif_lab_support import ADMIN, HTTP_PORT, make_spec
from yarl import URL

from safecity.lab.onvif import OnvifLab
from safecity.lab.sip import LabRegistrar, RegistrarSpec

LabFactory = Callable[..., Awaitable[OnvifLab]]
DAHUA = "dahua/IPC-HFW2431S-S-S2"
SERVER_ID = "34020000002000000001"
DEVICE_ID = "34020000001320000042"
_octet = 130 + os.getpid() % 100
_n = itertools.count(2)


def next_host() -> str:
    return f"127.42.{_octet}.{next(_n) % 250 + 2}"


async def cgi(host: str, query: str, auth: tuple[str, str] | None = ADMIN
              ) -> tuple[int, str, str]:
    mw = (aiohttp.DigestAuthMiddleware(*auth),) if auth else ()
    url = URL(f"http://{host}:{HTTP_PORT}/cgi-bin/configManager.cgi?{query}", encoded=True)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10), middlewares=mw) as s, \
            s.get(url) as r:
        return r.status, await r.text(), r.headers.get("WWW-Authenticate", "")


def set_query(password: str, reg_ip: str = "10.42.0.9") -> str:
    pairs = [("Enable", "true"), ("SIPServerID", SERVER_ID), ("SIPServerIP", reg_ip),
             ("SIPServerPort", "5060"), ("SIPDomain", "3402000000"), ("DeviceID", DEVICE_ID),
             ("RegisterPassword", password), ("RegisterInterval", "3600"),
             ("KeepAliveInterval", "60"), ("ChannelID[0]", DEVICE_ID)]
    return "action=setConfig&" + "&".join(f"{quote('SIPServer.' + k, safe='')}={quote(v, safe='')}"
                                          for k, v in pairs)


async def test_get_config_lists_the_page_as_table_lines(lab_factory: LabFactory) -> None:
    spec = make_spec("dget", DAHUA, host=next_host())
    await lab_factory(spec)
    status, text, _ = await cgi(spec.host, "action=getConfig&name=SIPServer")
    assert status == 200
    lines = text.splitlines()
    assert "table.SIPServer.Enable=false" in lines
    assert "table.SIPServer.SIPServerPort=5060" in lines
    assert not any("RegisterPassword" in ln for ln in lines)  # write-only


async def test_anonymous_is_challenged_and_unknown_pages_are_errors(lab_factory: LabFactory) -> None:
    spec = make_spec("dauth", DAHUA, host=next_host())
    await lab_factory(spec)
    status, _, challenge = await cgi(spec.host, "action=getConfig&name=SIPServer", auth=None)
    assert status == 401 and challenge.startswith("Digest ")
    status, text, _ = await cgi(spec.host, "action=getConfig&name=Encode")
    assert (status, text.splitlines()) == (400, ["Error", "unknown config name 'Encode'"])
    status, text, _ = await cgi(spec.host, "action=setConfig&SIPServer.Bogus=1")
    assert (status, text.splitlines()) == (400, ["Error", "unknown item 'SIPServer.Bogus'"])


async def test_only_dahua_cgi_profiles_serve_the_page(lab_factory: LabFactory) -> None:
    spec = make_spec("hik", "hikvision/DS-2CD2T47G2-L", host=next_host())
    await lab_factory(spec)
    status, _, _ = await cgi(spec.host, "action=getConfig&name=SIPServer")
    assert status == 404


async def test_set_config_makes_the_device_register(lab_factory: LabFactory) -> None:
    reg_host = next_host()
    registrar = await LabRegistrar.start(RegistrarSpec(
        name="platform", server_id=SERVER_ID, domain="3402000000", host=reg_host,
        subscribers={DEVICE_ID: "Gb-s3cret&1"}))
    try:
        spec = make_spec("dset", DAHUA, host=next_host())
        lab = await lab_factory(spec, address_map={"10.42.0.9": reg_host}.__getitem__)
        status, text, _ = await cgi(spec.host, set_query("Gb-s3cret&1"))
        assert (status, text.strip()) == (200, "OK")
        gb = lab.device_state("dset")["gb28181"]
        assert (gb["enabled"], gb["registrar"], gb["channel_ids"], gb["password_set"]) == (
            True, "10.42.0.9", (DEVICE_ID,), True)
        await lab.settle()
        deadline = time.monotonic() + 10
        while not [r for r in registrar.registrations() if r.device_id == DEVICE_ID]:
            assert time.monotonic() < deadline, lab.device_state("dset")["gb28181_agent"]
            await asyncio.sleep(0.05)
        assert lab.device_state("dset")["gb28181_agent"] == "registered"
        await lab.close()
    finally:
        await registrar.close()
