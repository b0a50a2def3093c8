"""The lab's vendor uptime pages over real sockets (third-party digest client): Hikvision-like
ISAPI ``/ISAPI/System/status`` ``deviceUpTime`` and Dahua-like ``magicBox.cgi?action=getUpTime``;
the ``reboot`` and ``uptime`` actions, SystemReboot, and what does not reset uptime."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from onvif import ONVIFCamera
from onvif_lab_support import ADMIN, HTTP_PORT, NS, isapi, make_spec, within
from yarl import URL

from safecity.errors import LabError
from safecity.lab.onvif import OnvifLab

LabFactory = Callable[..., Awaitable[OnvifLab]]
HIK = "hikvision/DS-2CD2T47G2-L"
DAHUA = "dahua/IPC-HFW2431S-S-S2"


async def hik_uptime(host: str) -> int:
    status, doc = await isapi("GET", f"http://{host}:{HTTP_PORT}/ISAPI/System/status", *ADMIN)
    assert status == 200 and doc is not None
    assert doc.findtext("hik:currentDeviceTime", namespaces=NS)
    return int(doc.findtext("hik:deviceUpTime", namespaces=NS) or "-1")


async def cgi(host: str, path_query: str, auth: bool = True) -> tuple[int, str]:
    mw = (aiohttp.DigestAuthMiddleware(*ADMIN),) if auth else ()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10), middlewares=mw) as s, \
            s.get(URL(f"http://{host}:{HTTP_PORT}{path_query}", encoded=True)) as r:
        return r.status, await r.text()


async def test_isapi_status_reports_uptime_reset_by_reboot_only(lab_factory: LabFactory) -> None:
    spec = make_spec("hik-up", HIK)
    lab = await lab_factory(spec)
    url = f"http://{spec.host}:{HTTP_PORT}/ISAPI/System/status"
    assert (await isapi("GET", url))[0] == 401            # digest, like every other ISAPI page
    assert 0 <= await hik_uptime(spec.host) <= 5

    lab.set_fault("hik-up", "uptime", str(5 * 86400))
    assert 5 * 86400 <= await hik_uptime(spec.host) <= 5 * 86400 + 5
    # Offline and back (a cable, not a power cut) keeps the uptime.
    lab.set_fault("hik-up", "offline")
    await lab.settle()
    lab.clear_faults("hik-up")
    await lab.settle()
    assert await hik_uptime(spec.host) >= 5 * 86400

    lab.set_fault("hik-up", "reboot")
    assert lab.device_state("hik-up")["faults"] == {}     # an action, not a lasting fault
    await lab.settle()
    assert lab.device_state("hik-up")["phase"] == "up"
    assert await hik_uptime(spec.host) <= 5


async def dahua_uptime(host: str) -> int:
    status, text = await cgi(host, "/cgi-bin/magicBox.cgi?action=getUpTime")
    assert status == 200 and text.startswith("up=")
    return int(text.strip().removeprefix("up="))


async def test_system_reboot_resets_uptime(lab_factory: LabFactory) -> None:
    spec = make_spec("dh-sr", DAHUA)        # the web admin is its ONVIF user too
    lab = await lab_factory(spec)
    lab.set_fault("dh-sr", "uptime", "3600")
    assert await dahua_uptime(spec.host) >= 3600
    cam = ONVIFCamera(spec.host, HTTP_PORT, *ADMIN)
    try:
        dm = await cam.create_devicemgmt_service()
        await within(dm.SystemReboot())
    finally:
        await cam.close()
    await asyncio.sleep(0.1)
    await lab.settle()
    assert await dahua_uptime(spec.host) <= 5


async def test_dahua_magicbox_uptime_and_pages_answer_only_their_own_actions(
        lab_factory: LabFactory) -> None:
    spec = make_spec("dh-up", DAHUA)
    lab = await lab_factory(spec)
    lab.set_fault("dh-up", "uptime", "7200")
    assert 7200 <= await dahua_uptime(spec.host) <= 7205
    assert (await cgi(spec.host, "/cgi-bin/magicBox.cgi?action=getUpTime", auth=False))[0] == 401
    assert (await cgi(spec.host, "/cgi-bin/configManager.cgi?action=getUpTime"))[0] == 400
    assert (await cgi(spec.host, "/cgi-bin/magicBox.cgi?action=getConfig&name=SIPServer"))[0] == 400
    lab.set_fault("dh-up", "reboot")
    await lab.settle()
    assert await dahua_uptime(spec.host) <= 5


async def test_generic_profile_has_no_uptime_page(lab_factory: LabFactory) -> None:
    spec = make_spec("gen-up")
    await lab_factory(spec)
    assert (await cgi(spec.host, "/cgi-bin/magicBox.cgi?action=getUpTime"))[0] == 404
    assert (await cgi(spec.host, "/ISAPI/System/status"))[0] == 404


async def test_bad_actions_are_refused(lab_factory: LabFactory) -> None:
    spec = make_spec("bad-act", HIK)
    lab = await lab_factory(spec)
    with pytest.raises(LabError, match=r"bad-act: set_fault uptime: value must be seconds "
                                       r"\(0\.\.10 years\), got 'soon'"):
        lab.set_fault("bad-act", "uptime", "soon")
    lab.set_fault("bad-act", "offline")
    await lab.settle()
    with pytest.raises(LabError, match="bad-act: reboot: the device is down, not up"):
        lab.set_fault("bad-act", "reboot")
