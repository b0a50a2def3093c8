"""Shared by the health check's lab tests: a copy of the example deployment with its lab up; one
in-process lab camera of a catalogue model and the sweep's target for it."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from safecity.health.targets import CameraTarget
from safecity.inventory.profiles import load_profiles
from safecity.lab.control import lab_down, lab_up
from safecity.lab.onvif import NetworkSettings, OnvifDeviceSpec
from safecity.lab.onvif.spec import SnapshotProvider, UserLevel

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"


@contextlib.contextmanager
def example_lab(dest: Path, *, http_port: int, rtsp_port: int, ssh_port: int, offset: int) -> Iterator[Path]:
    """``inventory/example`` copied to ``dest`` (no lab state, no history), its lab up in the
    provisioned state on the test's own loopback block (``offset``) and ports; down afterwards."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".lab", ".health"))
    lab_up(dest, state="provisioned", http_port=http_port, rtsp_port=rtsp_port, ssh_port=ssh_port,
           address_offset=offset)
    try:
        yield dest
    finally:
        lab_down(dest)



def camera_spec(name: str, model: str, host: str, port: int, password: str, snapshot: SnapshotProvider,
                reboot_s: float = 3.0) -> OnvifDeviceSpec:
    """An active lab camera of catalogue ``model`` with one admin account (device and ONVIF)."""
    profile = load_profiles().device(model)
    assert profile is not None
    admin: tuple[tuple[str, str, UserLevel], ...] = (("admin", password, "Administrator"),)
    return OnvifDeviceSpec(name=name, profile=profile, host=host, serial=f"SN-{name}", mac="00:11:22:33:44:56",
                           hostname=name, http_port=port, network=NetworkSettings("10.34.1.23", 24, "10.34.1.1"),
                           users=admin, onvif_users=admin, onvif_enabled=True, snapshot=snapshot,
                           reboot_s=reboot_s)


def camera_target(name: str, model: str, host: str, port: int, password: str, *, uptime: bool = False,
                  sub_snapshot: bool = False) -> CameraTarget:
    """The sweep's target for ``camera_spec``'s camera: the vendor's paths from its vendor data;
    the uptime API and the sub stream's picture only when asked for (and the vendor has them)."""
    profile = load_profiles().device(model)
    assert profile is not None and profile.behaviour is not None
    b = profile.behaviour
    api = b.uptime if uptime else None
    sub = b.snapshot_sub_path if sub_snapshot else None
    return CameraTarget(name, "ipc", host, "340102", "ds-centre", port, 554, b.snapshot_path.format(channel=1),
                        b.rtsp.sub_path.format(channel=1), "admin", password,
                        uptime_path=api.path if api else None, uptime_pattern=api.compiled() if api else None,
                        snapshot_sub_path=sub.format(channel=1) if sub else None)
