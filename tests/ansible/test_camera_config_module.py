"""playbooks/provision.yml (role camera_provision → module camera_config) against a lab.

ansible-playbook runs for real, with the inventory plugin in lab mode limited to one site and
the lab's vault; device state is read from the simulator's own persisted state, never through
the code under test. Lab addresses are in 127.37.0.0/16 (address offset 3).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from safecity.lab.control import lab_down, lab_up
from safecity.provision.audit import read_audit
from safecity.provision.batch import ensure_lab_account_secrets
from safecity.provision.camera_plan import CameraPolicy
from safecity.vault import read_vault

REPO = Path(__file__).parents[2]
EXAMPLE = REPO / "inventory" / "example"
BIN = Path(sys.executable).parent
SITE_DEVICES = ["dsc-cam-001", "dsc-cam-002", "dsc-cam-003", "dsc-cam-004", "dsc-cam-005",
                "dsc-cam-006", "dsc-enc-01"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("ansible") / "dep"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab", "audit", "results"))
    (root / "safecity.yml").write_text(
        "plugin: safecity.devices.safecity\ndeployment: .\nsites: [ds-centre]\nlab: true\n")
    lab_up(root, address_offset=3, http_port=18438, rtsp_port=18538, ssh_port=18638, timeout=60)
    ensure_lab_account_secrets(root, CameraPolicy())
    try:
        yield root
    finally:
        lab_down(root)


def playbook(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_HOME": str(root.parent / "ansible-home"), "ANSIBLE_FORCE_COLOR": "0",
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(root / "safecity.yml"),
         str(REPO / "playbooks" / "provision.yml"),
         "--extra-vars", f"@{root / '.lab' / 'vault.yml'}",
         "--vault-password-file", str(root / ".lab" / "vault-pass"),
         "-e", "camera_provision_lab=true", "--forks", "8", "--limit", "cameras:encoders", *args],
        capture_output=True, text=True, timeout=180, env=env, cwd=REPO, check=False)


def recap(output: str) -> dict[str, dict[str, int]]:
    rows = re.findall(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                      output, re.MULTILINE)
    return {h: {"ok": int(o), "changed": int(c), "unreachable": int(u), "failed": int(f)}
            for h, o, c, u, f in rows}


def states(root: Path) -> dict[str, dict[str, Any]]:
    return {name: json.loads((root / ".lab" / "state" / "devices" / f"{name}.json").read_text())
            for name in SITE_DEVICES}


def test_check_mode_then_apply_then_idempotent(lab: Path) -> None:
    secrets = read_vault(lab / ".lab" / "vault.yml", lab / ".lab" / "vault-pass")
    values = [secrets.get(n) for n in secrets.names()]
    before = states(lab)

    check = playbook(lab, "--check", "--diff")
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-2000:]
    r = recap(check.stdout)
    assert sorted(r) == SITE_DEVICES  # cameras and encoders only; the NVR is not in the play
    assert all(v["changed"] == 1 and v["failed"] == 0 for v in r.values()), r
    assert "+hostname: \"dsc-cam-002\"" in check.stdout  # --diff shows the change
    assert "+users.operator: {\"level\": \"Operator\", \"password\": \"********\"}" in check.stdout
    assert states(lab) == before  # check mode touched nothing
    assert not (lab / "audit").exists()

    apply = playbook(lab)
    assert apply.returncode == 0, apply.stdout[-3000:] + apply.stderr[-2000:]
    assert all(v["changed"] == 1 and v["failed"] == 0 for v in recap(apply.stdout).values())
    after = states(lab)
    for name, s in after.items():
        users = {u["username"]: u["level"] for u in (s["onvif_users"] or s["users"])}
        assert users == {"admin": "Administrator", "operator": "Operator", "viewer": "User"}
        assert (s["hostname"], s["discoverable"], s["dns_servers"], s["date_time_type"],
                s["timezone"]) == (name, False, ["10.34.0.5"], "NTP", "CST-8")
        assert s["active"] and s["onvif_enabled"]
    assert sorted(after["dsc-enc-01"]["encoders"]) == [f"{c}:{k}" for c in range(1, 5)
                                                       for k in ("main", "sub")]
    audit = list(read_audit(lab))
    assert {a["device"] for a in audit} == set(SITE_DEVICES)
    for output in (check.stdout, check.stderr, apply.stdout, apply.stderr,
                   json.dumps(audit)):
        assert not [v for v in values if v in output]  # secrets never printed

    again = playbook(lab)
    assert again.returncode == 0, again.stdout[-3000:]
    assert all(v["changed"] == 0 for v in recap(again.stdout).values()), recap(again.stdout)
    assert len(list(read_audit(lab))) == len(audit)


def test_failure_message_names_device_operation_and_reason(lab: Path) -> None:
    run = playbook(lab, "--limit", "dsc-cam-003", "-e", json.dumps(
        {"camera_provision_accounts": [], "safecity_credentials": "vault_nothing_here"}))
    assert run.returncode != 0
    assert ("dsc-cam-003: desired state: admin password: vault variable vault_nothing_here is "
            "not defined") in run.stdout, run.stdout[-2000:]
