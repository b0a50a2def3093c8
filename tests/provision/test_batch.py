"""The batch path (``safecity provision``) against a lab of a copy of the example deployment.

Device state is checked in the lab's own persisted state (``.lab/state/devices/*.json``,
written by the simulator), never through the code under test. Lab addresses are in
127.37.0.0/16 (address offset 3).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safecity.lab.control import lab_down, lab_fault, lab_up
from safecity.provision import batch
from safecity.provision.audit import AuditLog, mask_secrets, read_audit
from safecity.provision.batch import (
    ensure_lab_account_secrets,
    load_fleet,
    plan_all,
    provision_fleet,
    provision_many,
)
from safecity.provision.camera_plan import CameraPolicy
from safecity.provision.result import MASK, Change, Result
from safecity.vault import read_vault

EXAMPLE = Path(__file__).parents[2] / "inventory" / "example"
SAFECITY = Path(sys.executable).parent / "safecity"
DONGSHAN = "340102"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("batch") / "dep"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab", "audit", "results"))
    lab_up(root, address_offset=3, http_port=18437, rtsp_port=18537, ssh_port=18637, timeout=60)
    ensure_lab_account_secrets(root, CameraPolicy())
    try:
        yield root
    finally:
        lab_down(root)


def device_states(root: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text())
            for p in sorted((root / ".lab" / "state" / "devices").glob("*.json"))}


def secret_values(root: Path) -> list[str]:
    s = read_vault(root / ".lab" / "vault.yml", root / ".lab" / "vault-pass")
    return [s.get(n) for n in s.names()]


def provision(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([str(SAFECITY), "provision", str(root), "--lab", *args],
                          capture_output=True, text=True, timeout=120, env=env, check=False)


def test_check_then_apply_then_nothing_left(lab: Path) -> None:
    before = device_states(lab)
    check = provision(lab, "--region", DONGSHAN, "--check", "--results", str(lab / "check.json"))
    assert check.returncode == 0, check.stdout + check.stderr
    report = json.loads((lab / "check.json").read_text())
    devices = [r["device"] for r in report["results"]]
    assert len(devices) == 22 and all(d.startswith(("dsc-", "dscg-", "dslg-")) for d in devices)
    assert report["summary"]["changed"] == 22 and report["check_mode"] is True
    after_check = device_states(lab)
    assert {n: s for n, s in after_check.items() if n in devices} == \
        {n: s for n, s in before.items() if n in devices}  # check mode touched nothing
    assert not (lab / "audit").exists()

    applied = provision(lab, "--region", DONGSHAN, "--results", str(lab / "apply.json"))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "22 device(s): 22 changed, 0 failed" in applied.stdout
    states = device_states(lab)
    for name in devices:
        s = states[name]
        users = {u["username"] for u in (s["onvif_users"] or s["users"])}
        assert (s["hostname"], s["discoverable"], s["date_time_type"]) == (name, False, "NTP")
        assert s["dns_servers"] == ["10.34.0.5"] and s["ntp_servers"] == ["127.37.3.2"]
        assert users == {"admin", "operator", "viewer"}, name
        assert s["address"] == before[name]["address"]
    audit = list(read_audit(lab))
    assert {r["device"] for r in audit} == set(devices)
    assert {r["outcome"] for r in audit} == {"applied"} and {r["who"] for r in audit} == {
        os.environ.get("SUDO_USER") or os.environ.get("USER") or audit[0]["who"]}
    assert {"hostname", "users.operator", "discoverable"} <= {r["setting"] for r in audit}
    written = (applied.stdout + applied.stderr + (lab / "apply.json").read_text()
               + "".join(p.read_text() for p in (lab / "audit").iterdir()))
    assert not [v for v in secret_values(lab) if v in written]

    again = provision(lab, "--region", DONGSHAN, "--results", str(lab / "again.json"))
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads((lab / "again.json").read_text())["summary"]["changed"] == 0
    assert len(list(read_audit(lab))) == len(audit)  # nothing applied, nothing logged


def test_one_failing_device_fails_the_run_but_not_the_others(lab: Path) -> None:
    lab_fault(lab, "xhc-cam-001", "reject", "SetHostname")
    try:
        run = provision(lab, "--site", "xh-centre", "--results", str(lab / "xh.json"))
    finally:
        lab_fault(lab, "xhc-cam-001", None)
    assert run.returncode == 1
    results = {r["device"]: r for r in json.loads((lab / "xh.json").read_text())["results"]}
    bad = results.pop("xhc-cam-001")
    assert bad["failed"] and bad["error"].startswith("xhc-cam-001: SetHostname: ")
    assert results and not [n for n, r in results.items() if r["failed"]]
    assert "FAILED" in run.stdout
    # What may have gone through before the failure is logged as uncertain.
    assert {r["outcome"] for r in read_audit(lab) if r["device"] == "xhc-cam-001"} == {"uncertain"}
    rerun = provision(lab, "--site", "xh-centre", "--results", str(lab / "xh2.json"))
    assert rerun.returncode == 0, rerun.stdout


async def test_concurrency_is_bounded(lab: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fleet = load_fleet(lab, sites=["jh-centre", "jh-binjiang"], lab=True)
    secrets = _vault(lab)
    plans, unplanned = plan_all(fleet, secrets)
    assert not unplanned and len(plans) >= 8
    real = batch.apply_camera_state
    in_flight, peak = 0, 0

    async def counting(*args: Any, **kw: Any) -> Result:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await real(*args, **kw)
        finally:
            in_flight -= 1

    monkeypatch.setattr(batch, "apply_camera_state", counting)
    seen: list[str] = []
    results = await provision_many(plans, check_mode=True, concurrency=3,
                                   resolve_address=fleet.resolve_address,
                                   on_result=lambda r: seen.append(r.device))
    assert peak == 3
    assert [r.device for r in results] == [p.target.name for p in plans]  # input order
    assert sorted(seen) == sorted(r.device for r in results)
    assert not [r.error for r in results if r.failed]


async def test_devices_that_cannot_be_planned_fail_alone(lab: Path) -> None:
    fleet = load_fleet(lab, sites=["lz-city-centre"], lab=True)
    secrets = {k: v for k, v in _vault(lab).items() if k != "vault_camera_viewer_password"}
    report = await provision_fleet(fleet, secrets, check_mode=True)
    assert report.results and all(r.failed for r in report.results)
    assert {r.error for r in report.results} == {
        f"{r.device}: desired state: account viewer: vault variable vault_camera_viewer_password "
        f"is not defined" for r in report.results}


def test_audit_masks_secret_values_and_appends_whole_lines(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, user="tester", run="r1")
    result = Result("cam-1", changed=True, diff=[
        Change("gb28181.password", "old-secret", "new-secret"),
        Change("users.ops", None, {"level": "User", "password": "leak"}),
        Change("hostname", "a", "b")])

    async def writers() -> None:
        await asyncio.gather(*(asyncio.to_thread(log.append, [result]) for _ in range(20)))

    asyncio.run(writers())
    records = list(read_audit(tmp_path))
    assert len(records) == 60
    assert {(r["setting"], json.dumps(r["new"])) for r in records} == {
        ("gb28181.password", json.dumps(MASK)), ("users.ops", json.dumps({"level": "User",
                                                                          "password": MASK})),
        ("hostname", '"b"')}
    assert mask_secrets({"users": [{"token": "x", "name": "t"}]}) == {
        "users": [{"token": MASK, "name": "t"}]}
    assert log.append([Result("cam-2", changed=False, diff=[Change("x", 1, 2)])]) == 0


def _vault(root: Path) -> dict[str, str]:
    s = read_vault(root / ".lab" / "vault.yml", root / ".lab" / "vault-pass")
    return {n: s.get(n) for n in s.names()}
