"""The camera probe's uptime read against in-process lab devices over real sockets: the vendor
data's uptime API is read on the probe's keep-alive connection for one request more per camera
(the snapshot's digest challenge answered up front), and not at all where the vendor has none."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from health_lab_support import camera_spec, camera_target
from PIL import Image

from safecity.health.probes import ProbeOptions, probe_camera
from safecity.health.targets import CameraTarget
from safecity.lab.onvif import OnvifDeviceSpec, OnvifLab

PORT = 18456
PASSWORD = "Adm1n-pass"
MODELS = {"hik": "hikvision/DS-2CD2T47G2-L", "dahua": "dahua/IPC-HFW2431S-S-S2",
          "generic": "generic/ONVIF-PTZ-2MP"}
HOSTS = {"hik": "127.90.251.2", "dahua": "127.90.251.3", "generic": "127.90.251.4"}


def _jpeg(channel: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 8), (90, 90, 160)).save(buf, "JPEG")
    return buf.getvalue()


def _spec(name: str) -> OnvifDeviceSpec:
    return camera_spec(name, MODELS[name], HOSTS[name], PORT, PASSWORD, _jpeg, reboot_s=0.2)


def _target(name: str) -> CameraTarget:
    return camera_target(name, MODELS[name], HOSTS[name], PORT, PASSWORD, uptime=True)


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[OnvifLab]:
    lab = await OnvifLab.start([_spec(n) for n in MODELS], tmp_path / "state")
    try:
        yield lab
    finally:
        await lab.close()


async def _requests(lab: OnvifLab, name: str, o: ProbeOptions) -> tuple[int, float | None]:
    before = lab.devices[name].requests
    probe = await probe_camera(_target(name), o)
    assert probe.result.faults == [], probe.result.detail
    return lab.devices[name].requests - before, probe.result.uptime_s


async def test_uptime_costs_one_request_and_only_where_the_vendor_has_an_api(lab: OnvifLab) -> None:
    lab.set_fault("hik", "uptime", "432000")
    lab.set_fault("dahua", "uptime", "7200")
    for name, up in (("hik", 432000), ("dahua", 7200)):
        plain, none = await _requests(lab, name, ProbeOptions(rtsp=False, uptime=False))
        with_uptime, seconds = await _requests(lab, name, ProbeOptions(rtsp=False))
        assert none is None and with_uptime == plain + 1          # the snapshot's challenge reused
        assert seconds is not None and up <= seconds <= up + 5
        # Without a snapshot tonight the uptime GET fetches its own challenge: the snapshot's
        # two requests (401, 200) become the uptime's two.
        no_snap, seconds = await _requests(lab, name, ProbeOptions(rtsp=False, snapshot=False))
        assert no_snap == plain and seconds is not None
    plain, none = await _requests(lab, "generic", ProbeOptions(rtsp=False, uptime=False))
    same, seconds = await _requests(lab, "generic", ProbeOptions(rtsp=False))
    assert (same, seconds, none) == (plain, None, None)


async def test_a_reboot_shows_in_the_uptime(lab: OnvifLab) -> None:
    lab.set_fault("hik", "uptime", "86400")
    _, before = await _requests(lab, "hik", ProbeOptions(rtsp=False))
    lab.set_fault("hik", "reboot")
    await lab.settle()
    _, after = await _requests(lab, "hik", ProbeOptions(rtsp=False))
    assert before is not None and before >= 86400 and after is not None and after <= 5
