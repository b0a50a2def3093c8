"""The planners are deterministic and stable: adding a device never renumbers existing ones."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safecity.errors import PlanError
from safecity.inventory import load_valid_deployment
from safecity.inventory.plan import Plan, compute_plan, lock_path, read_lock, write_lock

Edit = Callable[[str, str, str], int]
DONGSHAN = "regions/luzhou/dongshan.yml"
NEW_CAM = ('      - {name: dscg-cam-001,',
           '      - {name: dscg-cam-000, model: hikvision/DS-2CD2T47G2-L, mac: "44:19:b6:00:00:01", '
           'switch: dscg-sw-01, port: GigabitEthernet0/0/20}\n      - {name: dscg-cam-001,')


def plan_of(root: Path, previous: Plan | None = None) -> tuple[Plan, list]:  # type: ignore[type-arg]
    dep, _ = load_valid_deployment(root)
    return compute_plan(dep, previous if previous is not None else read_lock(lock_path(dep)))


def test_committed_lock_matches_the_example(deployment: Path) -> None:
    _plan, changes = plan_of(deployment)
    assert changes == []


def test_plan_is_deterministic_from_scratch(deployment: Path) -> None:
    a, _ = plan_of(deployment, Plan())
    b, _ = plan_of(deployment, Plan())
    assert a.to_json() == b.to_json()
    assert a.ips["dscg-cam-001"] == "10.34.18.2"            # lowest free host after the gateway
    # centre 34010201 (Chengguan), industry 04 (transport hub), type 132 (IPC), network 0, serial 1
    assert a.gb_ids["dscg-cam-001"] == "34010201041320000001"


def test_inserting_a_device_before_others_keeps_their_assignments(deployment: Path, edit: Edit) -> None:
    before, _ = plan_of(deployment)
    edit(DONGSHAN, *NEW_CAM)
    after, changes = plan_of(deployment)
    # .2-.9 cameras, .10 alarm host: the new camera gets .11; serials 1-14 are taken in 34010201.
    assert [str(c) for c in changes] == ["+ ip dscg-cam-000: 10.34.18.11",
                                         "+ gb_id dscg-cam-000: 34010201001320000015"]
    for name, ip in before.ips.items():
        assert after.ips[name] == ip
    for key, gb in before.gb_ids.items():
        assert after.gb_ids[key] == gb


def test_removed_device_releases_its_ip_but_its_serial_is_never_reused(deployment: Path, edit: Edit) -> None:
    dep, _ = load_valid_deployment(deployment)
    before = read_lock(lock_path(dep))
    old_gb = before.gb_ids["dscg-cam-008"]
    edit(DONGSHAN, '      - {name: dscg-cam-008,', '      - {name: dscg-cam-108,')
    after, changes = plan_of(deployment)
    released = [str(c) for c in changes if c.action == "release"]
    assert released == [f"- ip dscg-cam-008: {before.ips['dscg-cam-008']}", f"- gb_id dscg-cam-008: {old_gb}"]
    assert after.gb_ids["dscg-cam-108"] != old_gb
    assert int(after.gb_ids["dscg-cam-108"][14:]) > int(old_gb[14:])


def test_moving_a_device_to_another_site_renumbers_only_it(deployment: Path, edit: Edit) -> None:
    before, _ = plan_of(deployment)
    # Re-cable dslg-cam-007 into the Chengguan site (another centre code and subnet).
    text = (deployment / DONGSHAN).read_text()
    line = next(l for l in text.splitlines() if "{name: dslg-cam-007," in l)
    (deployment / DONGSHAN).write_text(text.replace(line + "\n", ""))
    edit(DONGSHAN, *NEW_CAM)
    edit(DONGSHAN, "{name: dscg-cam-000, model: hikvision/DS-2CD2T47G2-L, mac: \"44:19:b6:00:00:01\"",
         "{name: dslg-cam-007, model: hikvision/DS-2CD2T47G2-L, mac: \"44:19:b6:00:00:01\"")
    after, changes = plan_of(deployment)
    assert {c.key for c in changes} == {"dslg-cam-007"}
    assert after.gb_ids["dslg-cam-007"].startswith("34010201")
    assert after.ips["dslg-cam-007"].startswith("10.34.18.")
    unchanged = {k: v for k, v in before.ips.items() if k != "dslg-cam-007"}
    assert all(after.ips[k] == v for k, v in unchanged.items())


def test_explicit_address_wins_over_a_locked_one(deployment: Path, edit: Edit) -> None:
    before, _ = plan_of(deployment)
    taken = before.ips["dscg-cam-002"]
    edit(DONGSHAN, "{name: dscg-cam-008,", f"{{name: dscg-cam-008, ip: {taken},")
    after, changes = plan_of(deployment)
    assert after.ips["dscg-cam-002"] != taken
    assert "dscg-cam-002" in {c.key for c in changes}


def test_pool_exhaustion_is_a_clear_error(deployment: Path, edit: Edit) -> None:
    edit(DONGSHAN, "    camera_subnet: 10.34.18.0/24", "    camera_subnet: 10.34.18.0/29")
    dep, _ = load_valid_deployment(deployment)
    with pytest.raises(PlanError, match=r"address pool 10.34.18.0/29 is exhausted while planning dscg-cam-006"):
        compute_plan(dep, Plan())


def test_lock_file_round_trip_and_corruption(deployment: Path, tmp_path: Path) -> None:
    plan, _ = plan_of(deployment, Plan())
    path = tmp_path / "plan.lock.json"
    write_lock(path, plan)
    assert read_lock(path).to_json() == plan.to_json()
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(PlanError, match="unreadable plan lock"):
        read_lock(path)


def test_cli_plan_shows_diff_and_writes_only_when_asked(deployment: Path, edit: Edit) -> None:
    edit(DONGSHAN, *NEW_CAM)
    lock = deployment / "plan.lock.json"
    original = lock.read_text()
    cmd = [sys.executable, "-m", "safecity.cli", "inventory", "plan", str(deployment), "--format", "json"]
    dry = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    assert {(c["action"], c["key"]) for c in dry["changes"]} == {("add", "dscg-cam-000")}
    assert lock.read_text() == original
    wet = json.loads(subprocess.run([*cmd, "--write"], capture_output=True, text=True, check=True).stdout)
    assert wet["written"] is True
    assert json.loads(lock.read_text())["ips"]["dscg-cam-000"] == "10.34.18.11"
    again = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
    assert again["changes"] == []
