"""The camera probe's uptime read against in-process lab devices over real sockets: the vendor
data's uptime API is read on the probe's keep-alive connection for one request more per camera
(the snapshot's digest challenge answered up front), and not at all where the vendor has none."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from safecity.health.probes import ProbeOptions, probe_camera
from safecity.health.targets import CameraTarget
from safecity.inventory.profiles import load_profiles
from safecity.lab.onvif import NetworkSettings, OnvifDeviceSpec, OnvifLab
from safecity.lab.onvif.spec import UserLevel

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
    profile = load_profiles().device(MODELS[name])
    assert profile is not None
    admin: tuple[tuple[str, str, UserLevel], ...] = (("admin", PASSWORD, "Administrator"),)
    return OnvifDeviceSpec(name=name, profile=profile, host=HOSTS[name], serial=f"SN-{name}",
                           mac="00:11:22:33:44:56", hostname=name, http_port=PORT,
                           network=NetworkSettings("10.34.1.23", 24, "10.34.1.1"),
                           users=admin, onvif_users=admin, onvif_enabled=True, snapshot=_jpeg,
                           reboot_s=0.2)


def _target(name: str) -> CameraTarget:
    b = load_profiles().device(MODELS[name]).behaviour  # type: ignore[union-attr]
    assert b is not None
    return CameraTarget(name, "ipc", HOSTS[name], "340102", "ds-centre", PORT, 554,
                        b.snapshot_path.format(channel=1), b.rtsp.sub_path.format(channel=1),
                        "admin", PASSWORD, uptime_path=b.uptime.path if b.uptime else None,
                        uptime_pattern=b.uptime.compiled() if b.uptime else None)


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
