"""The nightly check's scale-out and switch parts against the lab (real sockets, separate
processes): uplinks read over one SSH session per switch with the CLI driver (Huawei, H3C,
Cisco dialects), a switch reboot as a "rebooted" event, shards that merge into the same KPIs
as one sweep of the whole, and playbooks/healthcheck.yml end to end (check mode first).
Lab addresses: 127.85.0.0/16 (address offset 51)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from safecity.health.history import open_history
from safecity.health.merge import MergeConfig, health_merge
from safecity.health.probes import ProbeOptions
from safecity.health.run import RunConfig, RunResult, health_run
from safecity.health.sweep import SweepOptions
from safecity.lab.control import lab_down, lab_fault, lab_status, lab_up

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OFFSET = 51
CITIES = ("340100", "340200")
PROVINCE_OWN = "340000 except 340100,340200"
DOWN = {"dsc-sw-01": "XGigabitEthernet0/0/1",        # Huawei VRP
        "xhc-sw-01": "Ten-GigabitEthernet1/0/1",     # H3C Comware
        "jhbj-sw-01": "TenGigabitEthernet1/1/1"}     # Cisco IOS


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("healthcheck") / "example"
    shutil.copytree(REPO / "inventory" / "example", root,
                    ignore=shutil.ignore_patterns(".lab", ".health", "results"))
    (root / "safecity.yml").write_text("plugin: safecity.devices.safecity\ndeployment: .\nlab: true\n")
    lab_up(root, state="provisioned", http_port=28181, rtsp_port=28555, ssh_port=28023,
           address_offset=OFFSET)
    try:
        deadline = time.monotonic() + 30
        while not all(r.get("gb28181") == "registered" for r in lab_status(root)
                      if r["kind"] in ("ipc", "encoder", "nvr")):
            assert time.monotonic() < deadline, "lab devices did not register in time"
            time.sleep(0.2)
        yield root
    finally:
        lab_down(root)


def sweep(root: Path, day: str, db: str, *, regions: list[str] | None = None,
          exclude: list[str] | None = None, out: Path | None = None, vqd: bool = False) -> RunResult:
    # The lab serves no RTSP (covered by the RTSP driver's tests); images only where asked.
    options = SweepOptions(probe=ProbeOptions(rtsp=False, snapshot=vqd), concurrency=64, vqd=vqd,
                           vqd_workers=1)
    return health_run(RunConfig(root, history_url=f"sqlite:///{root / db}", out_dir=out, lab=True,
                                night=day, regions=regions, exclude_regions=exclude, options=options))


def switch(result: RunResult, name: str) -> dict[str, object]:
    return next(r.as_dict() for r in result.report.night.results if r.name == name)


def test_uplinks_and_switch_reboot(lab: Path) -> None:
    lab_fault(lab, "lzc-sw-01", "uptime", str(3 * 86400 + 3600 * 5))
    n1 = sweep(lab, "2025-07-01", "switches.db")
    switches = [r for r in n1.report.night.results if r.kind == "switch"]
    assert len(switches) == 9 and not any(r.faults for r in switches)
    assert all(r.metrics["uplinks_up"] == 1.0 and r.uptime_s is not None for r in switches)
    assert switch(n1, "lzc-sw-01")["uptime_s"] == 3 * 86400 + 5 * 3600

    for name, port in DOWN.items():
        lab_fault(lab, name, "link_down", port)
    lab_fault(lab, "lzc-sw-01", "reboot")
    n2 = sweep(lab, "2025-07-02", "switches.db")
    faults = {(f.device, f.fault): f.evidence for f in n2.report.faults()}
    assert faults == {(name, "uplink_down"): f"uplink down: {port} ({state})"
                      for (name, port), state in zip(DOWN.items(), ("down", "DOWN", "notconnect"), strict=True)}
    events = {(e.kind, e.device, e.fault) for e in n2.report.events}
    assert events == {("new_fault", name, "uplink_down") for name in DOWN} | {("rebooted", "lzc-sw-01", None)}
    reboot = next(e for e in n2.report.events if e.kind == "rebooted")
    assert reboot.before == str(3 * 86400 + 5 * 3600) and reboot.after == "0"

    for name in DOWN:
        lab_fault(lab, name, None)
    n3 = sweep(lab, "2025-07-03", "switches.db")
    assert not n3.report.faults()
    assert {(e.kind, e.device) for e in n3.report.events} == {("recovered", name) for name in DOWN}


def test_shards_merge_into_the_kpis_of_one_whole_sweep(lab: Path, tmp_path: Path) -> None:
    lab_fault(lab, "jhdq-sw-01", "link_down", "TenGigabitEthernet1/1/1")
    lab_fault(lab, "xhnm-cam-003", "offline")
    lab_fault(lab, "ds-plat-01", "down")
    lab_fault(lab, "lzc-cam-002", "black")
    try:
        deadline = time.monotonic() + 10
        while next(r for r in lab_status(lab) if r["name"] == "xhnm-cam-003")["phase"] != "down":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        day = "2025-07-10"
        whole = sweep(lab, day, "whole.db", vqd=True)
        files = [f for f in (
            sweep(lab, day, "shards.db", regions=[c], out=tmp_path / c, vqd=True).files for c in CITIES)
            for f in f if f.suffix == ".json"]
        own = sweep(lab, day, "shards.db", regions=["340000"], exclude=list(CITIES), out=tmp_path / "p", vqd=True)
        assert own.report.night.scope == PROVINCE_OWN
        assert [r.name for r in own.report.night.results] == ["jh-prov-sip-01"]
        files += [f for f in own.files if f.suffix == ".json"]
        merged = health_merge(MergeConfig(files, f"sqlite:///{tmp_path / 'province.db'}",
                                          expected=[*CITIES, PROVINCE_OWN]))
    finally:
        for d in ("jhdq-sw-01", "xhnm-cam-003", "ds-plat-01", "lzc-cam-002"):
            lab_fault(lab, d, None)
    assert merged.report.rollups == whole.report.rollups
    assert {(f.device, f.fault) for f in merged.report.faults()} == {
        (f.device, f.fault) for f in whole.report.faults()} == {
        ("jhdq-sw-01", "uplink_down"), ("xhnm-cam-003", "unreachable"), ("ds-plat-01", "platform_unreachable"),
        ("lzc-cam-002", "vqd_signal_loss")}
    s = merged.report.summary
    assert s is not None and (s.devices, s.online) == (75, 73)


def playbook(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOME": str(root.parent / "ansible-home"),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(root / "safecity.yml"),
         str(REPO / "playbooks" / "healthcheck.yml"), "-e", "healthcheck_lab=true",
         "-e", "healthcheck_night=2025-08-01", "-e", "healthcheck_rtsp=false",
         "--extra-vars", f"@{root / '.lab' / 'vault.yml'}", "--vault-password-file", str(root / ".lab" / "vault-pass"),
         *args],
        capture_output=True, text=True, timeout=400, env=env, cwd=REPO, check=False)


def test_healthcheck_playbook_shards_by_tier_and_merges_at_the_province(lab: Path) -> None:
    history = lab / ".health" / "history.db"
    check = playbook(lab, "--check")
    assert check.returncode == 0, check.stdout[-4000:] + check.stderr[-2000:]
    assert not history.exists()          # check mode: reports, but no history
    merged_report = lab / "results" / "health" / "province" / "health-2025-08-01.json"
    assert merged_report.is_file()

    run = playbook(lab)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "changed=0" in run.stdout and "failed=0" in run.stdout
    assert "75 devices from 3 shards" in run.stdout
    data = json.loads(merged_report.read_text())
    assert data["scope"] == "all" and data["summary"]["devices"] == 75
    assert {r["code"] for r in data["rollups"] if r["level"] == "city"} == set(CITIES)
    store = open_history(f"sqlite:///{history}")
    try:
        assert store.nights("all") == ["2025-08-01"]
        assert store.nights("340100") == store.nights("340200") == store.nights(PROVINCE_OWN) == ["2025-08-01"]
    finally:
        store.close()
    shards = sorted(p.name for p in (lab / "results" / "health" / "shards" / "2025-08-01").iterdir())
    assert shards == ["340100.json", "340200.json"]
