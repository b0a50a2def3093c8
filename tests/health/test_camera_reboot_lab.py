"""Camera "rebooted" events end to end against the lab (worker processes, real sockets): two
nights of Dongshan's devices; cameras rebooted in between (Hikvision-like over ISAPI, Dahua-like
over magicBox.cgi) show "rebooted" in night 2's events, un-rebooted ones and a generic ONVIF
camera (no uptime API) do not. Lab addresses: 127.90.0.0/16 (address offset 56)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from safecity.health.models import DeviceResult
from safecity.health.probes import ProbeOptions
from safecity.health.run import RunConfig, RunResult, health_run
from safecity.health.sweep import SweepOptions
from safecity.lab.control import lab_down, lab_fault, lab_status, lab_up

REPO = Path(__file__).resolve().parents[2]
OFFSET = 56
REGION = "340102"                       # Dongshan District and its sites
GENERIC = "dsc-cam-006"                 # a Dahua camera in the example, made a generic ONVIF one here
REBOOTED = ("dsc-cam-001", "dsc-cam-002", "dsc-enc-01")   # Hikvision, Dahua, Hikvision encoder
NOT_REBOOTED = ("dsc-cam-003", "dscg-cam-005")              # Hikvision, Dahua: up five days


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("camreboot") / "example"
    shutil.copytree(REPO / "inventory" / "example", root,
                    ignore=shutil.ignore_patterns(".lab", ".health", "results"))
    county = root / "regions" / "luzhou" / "dongshan.yml"
    text = county.read_text()
    before = f"{{name: {GENERIC}, model: dahua/IPC-HFW2431S-S-S2"
    assert before in text
    county.write_text(text.replace(before, f"{{name: {GENERIC}, model: generic/ONVIF-PTZ-2MP"))
    lab_up(root, state="provisioned", http_port=28256, rtsp_port=28556, ssh_port=28024,
           address_offset=OFFSET)
    try:
        wait_until(root, lambda rows: all(r["phase"] == "up" for r in rows.values()
                                          if r["kind"] in ("ipc", "encoder", "nvr")))
        yield root
    finally:
        lab_down(root)


def wait_until(root: Path, ready: Callable[[dict[str, dict[str, Any]]], bool],
               timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready({r["name"]: r for r in lab_status(root)}):
        assert time.monotonic() < deadline, "lab did not reach the expected state in time"
        time.sleep(0.2)


def night(root: Path, day: str) -> RunResult:
    # Snapshots fetched (the uptime GET reuses their challenge) but not analysed; no RTSP in the lab.
    options = SweepOptions(probe=ProbeOptions(rtsp=False), concurrency=32, vqd=False)
    return health_run(RunConfig(root, history_url=f"sqlite:///{root / 'reboot.db'}", lab=True,
                                night=day, regions=[REGION], options=options))


def result(run: RunResult, name: str) -> DeviceResult:
    return next(r for r in run.report.night.results if r.name == name)


def test_rebooted_cameras_between_two_nights(lab: Path) -> None:
    for name in (*REBOOTED, *NOT_REBOOTED):
        lab_fault(lab, name, "uptime", str(5 * 86400))
    n1 = night(lab, "2025-08-01")
    cameras = [r for r in n1.report.night.results if r.kind in ("ipc", "encoder", "nvr")
               and r.status != "skipped"]
    assert cameras and all(r.uptime_s is not None for r in cameras if r.name != GENERIC)
    assert result(n1, GENERIC).uptime_s is None                  # ONVIF has no uptime
    assert all((result(n1, n).uptime_s or 0) >= 5 * 86400 for n in (*REBOOTED, *NOT_REBOOTED))
    assert not [e for e in n1.report.events if e.kind == "rebooted"]

    for name in (*REBOOTED, GENERIC):
        lab_fault(lab, name, "reboot")
    wait_until(lab, lambda rows: all(rows[n]["phase"] == "rebooting" for n in (*REBOOTED, GENERIC)), 10)
    wait_until(lab, lambda rows: all(rows[n]["phase"] == "up" for n in (*REBOOTED, GENERIC)))
    n2 = night(lab, "2025-08-02")
    rebooted = {e.device: e for e in n2.report.events if e.kind == "rebooted"}
    # The generic camera rebooted too, but nothing can tell: no event rather than a guessed one.
    # Every other camera's uptime is the time since `lab up`, longer than the time between the
    # two nights (whole seconds compared by their upper bound): no event either.
    assert set(rebooted) == set(REBOOTED)
    for name, event in rebooted.items():
        assert event.before is not None and float(event.before) >= 5 * 86400
        assert event.after is not None and float(event.after) < 60, name
    for name in NOT_REBOOTED:
        assert (result(n2, name).uptime_s or 0) >= 5 * 86400
