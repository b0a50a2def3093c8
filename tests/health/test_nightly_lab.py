"""The nightly health check end to end against the lab (separate worker processes, real sockets):
a clean night records baselines; a night with injected faults reports exactly those faults; the
next night shows the right recovered and new events; history, roll-ups and every report format
hold up."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from health_lab_support import example_lab

from safecity.health.history import open_history
from safecity.health.kpi import find_rollup
from safecity.health.probes import ProbeOptions
from safecity.health.run import RunConfig, RunResult, health_report, health_run
from safecity.health.sweep import SweepOptions
from safecity.lab.control import lab_fault, lab_status

OFFSET = 4          # 10.34.x.y → 127.38.x.y: this test's own loopback block


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with example_lab(tmp_path_factory.mktemp("health") / "example", http_port=28080, rtsp_port=28554,
                     ssh_port=28022, offset=OFFSET) as root:
        wait_until(root, lambda rows: all(r.get("gb28181") == "registered" for r in rows.values()
                                          if r["kind"] in ("ipc", "encoder", "nvr")))
        yield root


def wait_until(root: Path, ready: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        rows = {r["name"]: r for r in lab_status(root)}
        if ready(rows):  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError("lab did not reach the expected state in time")
        time.sleep(0.2)


def night(root: Path, day: str, out: Path) -> RunResult:
    # The lab serves no RTSP; the RTSP probe is covered by the RTSP driver's own tests.
    options = SweepOptions(probe=ProbeOptions(rtsp=False), concurrency=64, vqd_workers=2)
    return health_run(RunConfig(root, history_url=f"sqlite:///{root / 'h.db'}", out_dir=out, lab=True,
                                night=day, options=options))


def fault_set(result: RunResult) -> set[tuple[str, str]]:
    return {(f.device, f.fault) for f in result.report.faults()}


NIGHT1_FAULTS = {
    ("jhc-cam-001", "unreachable"),
    ("jhbj-cam-002", "vqd_signal_loss"),
    ("dsc-cam-001", "clock_skew"),
    ("xhc-cam-001", "auth_failed"),
    ("dscg-cam-001", "auth_failed"),          # someone reset it to the factory password...
    ("dscg-cam-001", "default_credentials"),  # ...which is a security finding of its own
    ("ds-plat-01", "platform_unreachable"),
    ("dslg-sw-01", "switch_unreachable"),
    # Frozen is judged against the previous night's picture: the lab's frozen camera repeats
    # the last frame it served, the one the clean night saw.
    ("jhc-cam-002", "vqd_frozen"),
}
NIGHT2_FAULTS = {
    ("xhnm-cam-002", "vqd_blur"),
    ("dslg-cam-002", "vqd_occluded"),      # both judged against the clean night's baseline
    ("lzc-cam-002", "vqd_scene_change"),
}


def test_three_nights(lab: Path, tmp_path: Path) -> None:
    clean = night(lab, "2025-06-01", tmp_path / "n0")
    assert fault_set(clean) == set()
    summary = clean.report.summary
    assert summary is not None and summary.devices == 75 and summary.online == 75
    assert summary.enrollment_rate == 1.0 and summary.intact_rate == 1.0

    lab_fault(lab, "jhc-cam-001", "offline")
    lab_fault(lab, "jhbj-cam-002", "black")
    lab_fault(lab, "dsc-cam-001", "clock_skew", "30")
    lab_fault(lab, "xhc-cam-001", "wrong_credentials")
    lab_fault(lab, "dscg-cam-001", "wrong_credentials", "admin")
    lab_fault(lab, "ds-plat-01", "down")
    lab_fault(lab, "dslg-sw-01", "offline")
    lab_fault(lab, "jhc-cam-002", "frozen")
    wait_until(lab, lambda rows: rows["jhc-cam-001"]["phase"] == "down")
    n1 = night(lab, "2025-06-02", tmp_path / "n1")
    assert fault_set(n1) == NIGHT1_FAULTS
    n1_events = {(e.kind, e.device, e.fault) for e in n1.report.events}
    assert n1_events == {("new_fault", d, f) for d, f in NIGHT1_FAULTS}
    skew = next(r for r in n1.report.night.results if r.name == "dsc-cam-001")
    assert skew.clock_offset_s is not None and 28.5 < skew.clock_offset_s < 31.5

    # Roll-ups: 75 devices, one offline camera and one offline switch; Dongshan's platform is down
    # so its devices' enrollment is unknown rather than failed.
    s1 = n1.report.summary
    assert s1 is not None
    assert (s1.devices, s1.online, s1.faulty) == (75, 72, 8)
    assert (s1.video_devices, s1.intact) == (61, 56)     # offline, black, frozen, two refused logins
    assert s1.time_checked == 60 and s1.time_ok == 59    # the offline camera's clock is unknown
    dongshan = find_rollup(n1.report.rollups, "county", "340102")
    assert dongshan is not None and dongshan.enrollable == 0 and dongshan.enrollment_rate is None

    for device in ("jhc-cam-001", "jhbj-cam-002", "dsc-cam-001", "xhc-cam-001", "dscg-cam-001",
                   "ds-plat-01", "dslg-sw-01"):
        lab_fault(lab, device, None)
    lab_fault(lab, "jhc-cam-002", None)
    lab_fault(lab, "xhnm-cam-002", "blurred")
    lab_fault(lab, "lzc-cam-002", "scene_change")
    lab_fault(lab, "dslg-cam-002", "occluded")
    wait_until(lab, lambda rows: rows["jhc-cam-001"]["phase"] == "up"
               and rows["jhc-cam-001"].get("gb28181") == "registered")
    n2 = night(lab, "2025-06-03", tmp_path / "n2")
    assert fault_set(n2) == NIGHT2_FAULTS
    n2_events = {(e.kind, e.device, e.fault) for e in n2.report.events}
    assert n2_events == ({("recovered", d, f) for d, f in NIGHT1_FAULTS}
                         | {("new_fault", d, f) for d, f in NIGHT2_FAULTS})

    # History: three nights, trend and events read back the same from the store.
    store = open_history(f"sqlite:///{lab / 'h.db'}")
    try:
        assert store.nights() == ["2025-06-01", "2025-06-02", "2025-06-03"]
        trend = store.trend("all", "all")
        assert [n for n, _ in trend] == store.nights()
        assert [r.online for _, r in trend] == [75, 72, 75]
        assert {(e.kind, e.device, e.fault) for e in store.events("2025-06-03")} == n2_events
        back = store.load_night("2025-06-02")
        assert back is not None and {(r.name, f) for r in back.results for f in r.faults} == NIGHT1_FAULTS
    finally:
        store.close()

    # Reports: every format parses and says the same thing.
    files = {p.name: p for p in health_report(lab, tmp_path / "again", history_url=f"sqlite:///{lab / 'h.db'}",
                                              night="2025-06-02")}
    data = json.loads(files["health-2025-06-02.json"].read_text())
    assert {(f["device"], f["fault"]) for f in data["faults"]} == NIGHT1_FAULTS
    assert data["summary"]["online"] == 72 and len(data["devices"]) == len(n1.report.night.results)
    junit = ET.parse(files["health-2025-06-02.junit.xml"]).getroot()
    failed = {c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None}
    assert failed == {d for d, _ in NIGHT1_FAULTS}
    assert junit.get("failures") == str(len(failed))
    prom = files["safecity_health.prom"].read_text()
    assert 'safecity_health_online_rate{level="all",region="all",name="all"} 0.96' in prom
    assert 'safecity_health_faults{fault="auth_failed"} 2' in prom
    html = files["health-2025-06-02.html"].read_text()
    assert "<svg" in html   # charts inline; nothing loaded from elsewhere
    assert not any(tag in html for tag in ("<script", "<link", " src=", "@import"))
    assert all(d in html for d, _ in NIGHT1_FAULTS)
