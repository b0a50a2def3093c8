"""load_switch_fleet / provision_switch_fleet: the batch path's inventory side, offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from safecity.errors import SafecityError
from safecity.provision.switch_fleet import (
    lab_ssh_port,
    load_switch_fleet,
    provision_switch_fleet,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"


def test_a_shard_loads_only_its_switches_with_intents() -> None:
    fleet = load_switch_fleet(EXAMPLE, regions=["340102"])
    assert sorted(j.name for j in fleet.jobs) == ["dsc-sw-01", "dscg-sw-01", "dslg-sw-01"]
    job = next(j for j in fleet.jobs if j.name == "dsc-sw-01")
    assert (job.host, job.credentials) == ("10.34.65.2", "vault_switch_admin_password")
    assert job.intent.platform_servers == ("10.34.3.2",)
    assert not fleet.invalid and not fleet.skipped


def test_a_missing_secret_fails_that_switch_without_contacting_it() -> None:
    fleet = load_switch_fleet(EXAMPLE, sites=["xh-centre"])
    report = provision_switch_fleet(fleet, {}, username="admin", check_mode=True)
    assert [(r.device, r.failed, r.error) for r in report.results] == [
        ("xhc-sw-01", True, ("xhc-sw-01: credentials: vault variable "
                             "vault_switch_admin_password is not given"))]
    assert report.summary() == {"switches": 1, "changed": 0, "failed": 1, "ok": 0, "skipped": 0}


def test_a_switch_whose_variables_make_no_intent_is_its_own_failure(tmp_path: Path) -> None:
    root = tmp_path / "dep"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab", "audit", "results"))
    dongshan = root / "regions" / "luzhou" / "dongshan.yml"
    text = dongshan.read_text()
    # ds-centre's cameras on its management VLAN.
    dongshan.write_text(text.replace("camera_vlan: 1002", "camera_vlan: 100", 1))
    fleet = load_switch_fleet(root, regions=["340102"])
    assert [r.error for r in fleet.invalid] == [
        "dsc-sw-01: the management VLAN 100 is also a camera VLAN"]
    assert sorted(j.name for j in fleet.jobs) == ["dscg-sw-01", "dslg-sw-01"]


def test_lab_port_needs_a_running_lab(tmp_path: Path) -> None:
    with pytest.raises(SafecityError, match=r"options.json: cannot read the lab's options"):
        lab_ssh_port(tmp_path)
