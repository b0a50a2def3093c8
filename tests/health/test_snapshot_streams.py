"""Which picture the nightly video-quality check analyses, against in-process lab devices over
real sockets: the sub stream's where the vendor data names one (Hikvision-like, Dahua-like), the
main one where it does not (generic ONVIF) or when asked; on the camera's rotation night the main
picture as well, on the same keep-alive connection for one request more, checked at full size.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from health_lab_support import camera_spec, camera_target
from PIL import Image

from safecity.health.probes import ProbeOptions, probe_camera
from safecity.health.targets import CameraTarget
from safecity.health.vqd_pool import VqdJob, analyse_batch
from safecity.lab.media import render_snapshot
from safecity.lab.onvif import OnvifDeviceSpec, OnvifLab
from safecity.lab.topology import LabSnapshot

PORT = 18457
PASSWORD = "Adm1n-pass"
MODELS = {"hik": "hikvision/DS-2CD2T47G2-L", "dahua": "dahua/IPC-HFW2431S-S-S2",
          "generic": "generic/ONVIF-PTZ-2MP"}
HOSTS = {"hik": "127.90.252.2", "dahua": "127.90.252.3", "generic": "127.90.252.4"}
MAIN, SUB = (640, 360), (320, 180)
QUIET = ProbeOptions(rtsp=False, uptime=False, default_credentials=False)


def _spec(name: str, seed: int) -> OnvifDeviceSpec:
    return camera_spec(name, MODELS[name], HOSTS[name], PORT, PASSWORD, LabSnapshot(seed, MAIN, 1, sub_size=SUB))


def _target(name: str) -> CameraTarget:
    return camera_target(name, MODELS[name], HOSTS[name], PORT, PASSWORD, sub_snapshot=True)


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[OnvifLab]:
    lab = await OnvifLab.start([_spec(n, i) for i, n in enumerate(MODELS)], tmp_path / "state")
    try:
        yield lab
    finally:
        await lab.close()


def size(jpeg: bytes | None) -> tuple[int, int] | None:
    return None if jpeg is None else Image.open(io.BytesIO(jpeg)).size


async def test_nightly_picture_is_the_sub_streams_where_the_vendor_has_one(lab: OnvifLab) -> None:
    for name, nightly in (("hik", SUB), ("dahua", SUB), ("generic", MAIN)):
        probe = await probe_camera(_target(name), QUIET, full_checks=False)
        assert probe.result.faults == [], probe.result.detail
        assert (size(probe.jpeg), probe.full_jpeg) == (nightly, None), name
        main_only = await probe_camera(_target(name), ProbeOptions(rtsp=False, uptime=False, default_credentials=False,
                                                                   snapshot_stream="main"), full_checks=True)
        assert (size(main_only.jpeg), main_only.full_jpeg) == (MAIN, None), name


async def test_rotation_night_adds_the_main_picture_for_one_request_more(lab: OnvifLab) -> None:
    for name in ("hik", "dahua"):
        before = lab.devices[name].requests
        plain = await probe_camera(_target(name), QUIET, full_checks=False)
        middle = lab.devices[name].requests
        full = await probe_camera(_target(name), QUIET, full_checks=True)
        after = lab.devices[name].requests
        assert plain.result.faults == full.result.faults == []
        assert (size(full.jpeg), size(full.full_jpeg)) == (SUB, MAIN), name
        # The main picture reuses the sub picture's digest challenge (no 401 of its own).
        assert after - middle == middle - before + 1, name
    generic = await probe_camera(_target("generic"), QUIET, full_checks=True)
    assert (size(generic.jpeg), generic.full_jpeg) == (MAIN, None)   # its nightly picture is full-size


async def test_a_main_stream_that_fails_is_a_rotating_snapshot_fault(lab: OnvifLab) -> None:
    target = _target("hik")
    target.snapshot_path = "/ISAPI/Streaming/channels/999/picture"    # answers 404
    probe = await probe_camera(target, QUIET, full_checks=True)
    assert probe.result.faults == ["snapshot_failed"]
    assert probe.result.detail["snapshot_failed"].startswith("main stream picture (full-size check)")
    assert probe.rotation_findings == ["snapshot_failed"] and size(probe.jpeg) == SUB


def test_full_size_check_reports_what_the_sub_picture_did_not_show() -> None:
    sharp_sub = render_snapshot(5, *SUB, None, 1)
    blurred_main = render_snapshot(5, *MAIN, "blurred", 1)
    healthy_main = render_snapshot(5, *MAIN, None, 1)
    dark_sub, dark_main = render_snapshot(5, *SUB, "dark", 2), render_snapshot(5, *MAIN, "dark", 2)
    out = analyse_batch([VqdJob("a", sharp_sub, None, None, blurred_main),
                         VqdJob("b", sharp_sub, None, None, healthy_main),
                         VqdJob("c", dark_sub, None, None, dark_main),
                         VqdJob("d", sharp_sub, None, None, b"not a jpeg")], None)
    assert [(o.faults, o.full_faults) for o in out[:3]] == [([], ["vqd_blur"]), ([], []), (["vqd_too_dark"], [])]
    assert out[0].new_baseline is not None      # the memory comes from the nightly picture
    assert "full_blur_ratio" in out[0].metrics and out[3].full_error and out[3].faults == []
    assert [o.full_checked for o in out] == [True] * 4
