"""Staging (``safecity provision --staging``) against a lab of the example deployment whose
jh-daqiao cameras (four Hikvision-like, one Dahua-like) are marked ``staging: true``: they
wait unplugged on their vendor's default address (192.168.1.64 / .108 → 127.209.1.x) until the
lab plugs them into the staging port, one at a time.

Device state is read from the simulator's own persisted state (``.lab/state/devices``), never
through the code under test. Loopback block: address offset 41 (10.34.x.y → 127.75.x.y,
192.168.x.y → 127.209.x.y). The tests run in file order and share one lab.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safecity.lab.control import lab_down, lab_fault, lab_plug, lab_status, lab_up
from safecity.provision.batch import ensure_lab_account_secrets, load_fleet, read_secrets
from safecity.provision.camera_plan import CameraPolicy
from safecity.provision.staging import StagingItem, stage_fleet, staging_fleet

EXAMPLE = Path(__file__).parents[2] / "inventory" / "example"
SAFECITY = Path(sys.executable).parent / "safecity"
JINGHU = "regions/jiangcheng/jinghu.yml"
SITE = "jh-daqiao"
STAGED = [f"jhdq-cam-00{i}" for i in range(1, 6)]
DAHUA = "jhdq-cam-003"
OFFSET = 41


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("staging") / "dep"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab", "audit", "results"))
    region = root / JINGHU
    text = region.read_text(encoding="utf-8")
    for name in STAGED:
        assert f"{{name: {name}, " in text
        text = text.replace(f"{{name: {name}, ", f"{{name: {name}, staging: true, ", 1)
    region.write_text(text, encoding="utf-8")
    lab_up(root, address_offset=OFFSET, http_port=18441, rtsp_port=18541, ssh_port=18641,
           timeout=90)
    ensure_lab_account_secrets(root, CameraPolicy())
    try:
        yield root
    finally:
        lab_down(root)


def states(root: Path) -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text())
            for p in sorted((root / ".lab" / "state" / "devices").glob("*.json"))}


def planned(root: Path) -> dict[str, str]:
    ips = json.loads((root / "plan.lock.json").read_text())["ips"]
    return {n: ips[n] for n in STAGED}


def fingerprint(root: Path) -> str:
    """The inventory and the plan: staging never writes them."""
    h = hashlib.sha256()
    for p in sorted([root / "plan.lock.json", *(root / "regions").rglob("*.yml")]):
        h.update(p.read_bytes())
    return h.hexdigest()


def phases(root: Path) -> dict[str, object]:
    return {r["name"]: r.get("phase") for r in lab_status(root) if r["name"] in STAGED}


def staging(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "220"}
    return subprocess.run([str(SAFECITY), "provision", str(root), "--staging", "--lab", "--site",
                           SITE, "--move-timeout", "3", *args],
                          capture_output=True, text=True, timeout=300, env=env, check=False)


def test_boxes_wait_unplugged_and_check_mode_touches_nothing(lab: Path) -> None:
    assert set(phases(lab).values()) == {"unplugged"}
    before, inventory = states(lab), fingerprint(lab)
    assert {before[n]["address"] for n in STAGED} == {"192.168.1.64", "192.168.1.108"}
    run = staging(lab, "--check", "--results", str(lab / "check.json"))
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((lab / "check.json").read_text())
    assert [r["device"] for r in report["results"]] == STAGED
    want = planned(lab)
    for r in report["results"]:
        assert r["changed"] and not r["failed"]
        assert r["diff"] == [{"setting": "staging", "old": before[r["device"]]["address"],
                              "new": want[r["device"]]}]
    assert states(lab) == before and fingerprint(lab) == inventory
    assert set(phases(lab).values()) == {"unplugged"}


async def test_wrong_box_on_the_staging_port_is_refused_and_not_moved(lab: Path) -> None:
    inventory = fingerprint(lab)
    wrong = "jhdq-cam-004"
    told: list[str] = []

    class WrongBox:  # the integrator grabs the wrong box from the shelf
        async def plug(self, item: StagingItem) -> bool:
            lab_plug(lab, wrong)
            return True

        async def unplug(self, item: StagingItem, reason: str) -> None:
            told.append(reason)
            lab_plug(lab, wrong, plugged=False)

    fleet = staging_fleet(load_fleet(lab, sites=[SITE], lab=True))
    fleet.inputs = [i for i in fleet.inputs if i.name == "jhdq-cam-001"]
    secrets = read_secrets(lab, lab=True, vault=None, vault_password_file=None)
    report = await stage_fleet(fleet, secrets, WrongBox(), check_mode=False, wait_s=10,
                               move_timeout=3)
    [result] = report.results
    assert result.failed and result.error is not None
    assert result.error.startswith("jhdq-cam-001: identity: the device at 192.168.1.64 is MAC ")
    assert "not recorded as moved" in result.error
    assert result.evidence["address"] == "192.168.1.64"
    assert result.evidence["staging"] == {"from": "192.168.1.64", "to": planned(lab)["jhdq-cam-001"],
                                          "confirmed": False}
    assert told and "still on the staging port" in told[0]
    s = states(lab)
    assert s[wrong]["address"] == "192.168.1.64" and s["jhdq-cam-001"]["address"] == "192.168.1.64"
    assert phases(lab)[wrong] == phases(lab)["jhdq-cam-001"] == "unplugged"
    assert fingerprint(lab) == inventory


def test_the_queue_moves_each_box_and_a_lost_move_is_a_clear_failure(lab: Path) -> None:
    inventory = fingerprint(lab)
    lost = "jhdq-cam-002"
    lab_fault(lab, lost, "network_change_lost")
    run = staging(lab, "--results", str(lab / "run1.json"))
    assert run.returncode == 1, run.stdout + run.stderr
    results = {r["device"]: r for r in json.loads((lab / "run1.json").read_text())["results"]}
    assert list(results) == STAGED
    want = planned(lab)
    bad = results.pop(lost)
    assert bad["failed"] and bad["error"].startswith(f"{lost}: network: no answer at the new "
                                                     f"address {want[lost]}")
    assert bad["evidence"]["address"] == "192.168.1.64"
    assert bad["evidence"]["staging"]["confirmed"] is False
    s = states(lab)
    macs = {i.name: i.mac.replace(":", "") for i in load_fleet(lab, sites=[SITE], lab=True).inputs}
    for name, r in results.items():
        assert not r["failed"], r["error"]
        assert r["evidence"]["address"] == want[name]
        origin = "192.168.1.108" if name == DAHUA else "192.168.1.64"
        assert r["evidence"]["staging"] == {"from": origin, "to": want[name], "confirmed": True}
        assert r["evidence"]["identity"]["mac"] == macs[name]
        assert s[name]["address"] == want[name] and s[name]["listen_host"].startswith("127.75.")
    assert "4 moved to their planned address" in run.stdout
    assert fingerprint(lab) == inventory
    assert not [r for r in (lab / "audit").iterdir() if "Vault" in r.read_text()]


def test_rerun_after_the_fault_clears_converges(lab: Path) -> None:
    lab_fault(lab, "jhdq-cam-002", None)  # the box turns up at its new address after all
    again = staging(lab, "--results", str(lab / "run2.json"))
    assert again.returncode == 0, again.stdout + again.stderr
    results = json.loads((lab / "run2.json").read_text())["results"]
    assert [r["device"] for r in results if r["failed"]] == []
    assert all(r["evidence"]["address"] == planned(lab)[r["device"]] for r in results)
    third = staging(lab, "--results", str(lab / "run3.json"))
    assert third.returncode == 0, third.stdout + third.stderr
    assert json.loads((lab / "run3.json").read_text())["summary"]["changed"] == 0
    # Staged devices are ordinary devices now: the normal batch path changes nothing either.
    normal = subprocess.run([str(SAFECITY), "provision", str(lab), "--lab", "--site", SITE,
                             "--results", str(lab / "normal.json")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert normal.returncode == 0, normal.stdout + normal.stderr
    assert json.loads((lab / "normal.json").read_text())["summary"]["changed"] == 0
