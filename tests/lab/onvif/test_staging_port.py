"""Staging boxes: factory-new devices that share their vendor's default address wait unplugged;
``plug`` puts one on the staging port, a second one on the same address is refused, and a box
that has moved off the default address stays where it went. Checked over real sockets with
the ISAPI anonymous activation status and deviceInfo (aiohttp, not the code under test)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from onvif_lab_support import NS, isapi, make_spec, next_host

from safecity.errors import LabError
from safecity.lab.onvif import NetworkSettings, OnvifLab

HIK = "hikvision/DS-2CD2T47G2-L"
LabFactory = Callable[..., Awaitable[OnvifLab]]


async def _answers(host: str) -> bool:
    try:
        status, _ = await isapi("GET", f"http://{host}:8000/SDK/activateStatus")
    except OSError:
        return False
    return status == 200


async def test_one_box_at_a_time_on_the_staging_address(lab_factory: LabFactory) -> None:
    staging_host = next_host()
    specs = [make_spec(f"box-{i}", HIK, host=staging_host, staging=True, factory_new=True,
                       users=(), mac=f"44:19:b6:00:00:0{i}",
                       network=NetworkSettings("192.168.1.64", 24, "192.168.1.1"))
             for i in (1, 2)]
    lab = await lab_factory(*specs)
    assert [lab.device_state(s.name)["phase"] for s in specs] == ["unplugged", "unplugged"]
    assert not await _answers(staging_host)

    await lab.plug("box-1")
    assert await _answers(staging_host)
    with pytest.raises(LabError, match="box-2: the staging port is taken: box-1 answers on "
                                       "192.168.1.64"):
        await lab.plug("box-2")
    lab.clear_faults("box-1")  # clearing faults never plugs or unplugs a box
    await lab.settle()
    assert lab.device_state("box-2")["phase"] == "unplugged"

    await lab.unplug("box-1")
    assert not await _answers(staging_host)
    await lab.plug("box-2")
    status, _ = await isapi("GET", f"http://{staging_host}:8000/SDK/activateStatus")
    assert status == 200 and lab.device_state("box-2")["phase"] == "up"


async def test_a_box_that_moved_is_no_longer_on_the_staging_port(
        lab_factory: LabFactory) -> None:
    staging_host = next_host()
    spec = make_spec("box-m", HIK, host=staging_host, staging=True,
                     network=NetworkSettings("192.168.1.64", 24, "192.168.1.1"))
    lab = await lab_factory(spec)
    await lab.plug("box-m")
    dev = lab.devices["box-m"]
    dev.state.address = "10.35.9.9"  # what SetNetworkInterfaces records before the move
    with pytest.raises(LabError, match="box-m: not on the staging port"):
        await lab.unplug("box-m")
    with pytest.raises(LabError, match="box-m: not a staging device waiting"):
        await lab.plug("box-m")
    status, doc = await isapi("GET", f"http://{staging_host}:8000/ISAPI/System/deviceInfo",
                              "admin", "Adm1n-pass")
    assert status == 200 and doc is not None
    assert doc.findtext("hik:macAddress", namespaces=NS) == spec.mac
