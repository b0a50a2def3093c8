"""Settings written in quick succession: the device's SIP agent ends on the LATEST settings, once,
with its SIP port bound (gb_bridge serialises and coalesces its re-configurations)."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Awaitable, Callable

from onvif_lab_support import ADMIN, HTTP_PORT, isapi, make_spec

from safecity.lab.onvif import Gb28181Settings, OnvifLab
from safecity.lab.sip import LabRegistrar, RegistrarSpec

LabFactory = Callable[..., Awaitable[OnvifLab]]
HIK = "hikvision/DS-2CD2T47G2-L"
SERVER_ID = "34020000002000000001"
DEVICE_ID = "34020000001320000043"
GOOD = "Gb-g00d-pass"
_octet = 230 + os.getpid() % 20
_n = itertools.count(2)


def next_host() -> str:
    return f"127.42.{_octet}.{next(_n) % 250 + 2}"


def sip_block(password: str) -> str:
    return ('<SIPServerList xmlns="http://www.hikvision.com/ver20/XMLSchema"><SIPServer><id>1</id>'
            f"<GB28181><password>{password}</password></GB28181></SIPServer></SIPServerList>")


async def test_back_to_back_writes_end_registered_with_the_last_password(
        lab_factory: LabFactory) -> None:
    reg_host = next_host()
    registrar = await LabRegistrar.start(RegistrarSpec(
        name="platform", server_id=SERVER_ID, domain="3402000000", host=reg_host,
        subscribers={DEVICE_ID: GOOD}))
    try:
        spec = make_spec("race", HIK, host=next_host(), gb28181=Gb28181Settings(
            enabled=True, registrar="10.42.0.7", server_id=SERVER_ID, server_domain="3402000000",
            device_id=DEVICE_ID, password="Wr0ng-first", channel_ids=(DEVICE_ID,)))
        lab = await lab_factory(spec, address_map={"10.42.0.7": reg_host}.__getitem__)
        url = f"http://{spec.host}:{HTTP_PORT}/ISAPI/System/Network/SIP"
        # What an operator's tool or a plug-in does: several saves in a row, the last one right.
        for password in ("Wr0ng-second", "Wr0ng-third", GOOD):
            status, _ = await isapi("PUT", url, *ADMIN, body=sip_block(password))
            assert status == 200
        await lab.settle()
        deadline = time.monotonic() + 10
        while lab.device_state("race")["gb28181_agent"] != "registered":
            assert time.monotonic() < deadline, lab.device_state("race")["gb28181_agent"]
            await asyncio.sleep(0.05)
        assert [r.device_id for r in registrar.registrations()] == [DEVICE_ID]
        await asyncio.sleep(0.3)  # nothing stale may arrive later and undo it
        assert lab.device_state("race")["gb28181_agent"] == "registered"
        await lab.close()
    finally:
        await registrar.close()
