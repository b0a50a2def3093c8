"""The Ansible inventory plugin, through the real ansible-inventory / ansible commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventory" / "example"
BIN = Path(sys.executable).parent


def _run(tool: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "SAFECITY_"))}
    base["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    base.update(env or {})
    return subprocess.run([str(BIN / tool), *args], cwd=REPO, env=base, capture_output=True, text=True,
                          timeout=120, check=False)


def _plain(value: Any) -> Any:
    """ansible-inventory marks values it will never template as {"__ansible_unsafe": v}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _list(source: Path | None = None, env: dict[str, str] | None = None) -> dict[str, Any]:
    args = ["--list"] if source is None else ["-i", str(source), "--list"]
    proc = _run("ansible-inventory", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return dict(_plain(json.loads(proc.stdout)))


def _hosts(inv: dict[str, Any]) -> set[str]:
    return set(inv["_meta"]["hostvars"])


@pytest.fixture(scope="module")
def inventory() -> dict[str, Any]:
    return _list()  # ansible.cfg's default inventory: inventory/example/safecity.yml


@pytest.fixture
def example_copy(tmp_path: Path) -> Path:
    root = tmp_path / "inventory" / "example"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab"))
    return root


def test_groups(inventory: dict[str, Any]) -> None:
    assert len(_hosts(inventory)) == 78
    assert set(inventory["platform_servers"]["hosts"]) == {
        "jh-prov-sip-01", "jh-prov-ops-01", "lz-plat-01", "ds-plat-01", "xh-plat-01", "jc-plat-01"}
    assert "dsc-cam-001" in inventory["cameras"]["hosts"]
    assert "dsc-enc-01" in inventory["encoders"]["hosts"]
    assert "dscg-alarm-01" in inventory["alarm_hosts"]["hosts"]
    assert "dsc-nvr-01" in inventory["nvrs"]["hosts"]
    assert len(inventory["front_end"]["hosts"]) == 63
    assert len(inventory["switches"]["hosts"]) == 9
    for group in ("tier_province", "tier_city", "tier_county", "region_340000", "region_340102",
                  "site_ds_centre", "kind_ipc", "vendor_hikvision", "platform_huawei_vrp",
                  "platform_hp_comware", "platform_cisco_ios", "platform_role_sip", "platform_role_ntp"):
        assert inventory[group]["hosts"], group
    assert "dsc-cam-001" in inventory["region_340100"]["hosts"]       # ancestor region
    assert set(inventory["tier_province"]["hosts"]) == {"jh-prov-sip-01", "jh-prov-ops-01"}


def test_hostvars(inventory: dict[str, Any]) -> None:
    hv = inventory["_meta"]["hostvars"]
    cam = hv["dsc-cam-001"]
    assert cam["ansible_host"] == "10.34.17.2"
    assert cam["ansible_connection"] == "local"                         # group_vars/front_end.yml
    assert cam["ansible_python_interpreter"] == "{{ ansible_playbook_python }}"
    assert cam["safecity_kind"] == "ipc"
    assert cam["safecity_credentials"] == "vault_camera_admin_password"
    assert cam["safecity_sip_server_ip"] == hv["ds-plat-01"]["ansible_host"]
    assert cam["safecity_sip_domain"] == "3401020000"
    assert hv["dsc-sw-01"]["ansible_connection"] == "local"
    assert hv["dsc-sw-01"]["safecity_platform"] == "huawei_vrp"
    plat = hv["lz-plat-01"]
    assert plat["ansible_connection"] == "ssh"
    assert plat["ansible_host"] == "10.34.1.10"
    assert plat["safecity_upstream_ntp"] == ["10.34.0.11"]
    assert plat["safecity_sip_devices"][0]["password_ref"] == "vault_gb28181_master_key"


def test_limit_by_region_group_selects_a_whole_city() -> None:
    proc = _run("ansible", "all", "--list-hosts", "--limit", "region_340100")
    assert proc.returncode == 0, proc.stderr
    listed = {line.strip() for line in proc.stdout.splitlines()[1:] if line.strip()}
    assert {"lz-plat-01", "lzc-cam-001", "dsc-cam-001", "xhnm-alarm-01"} <= listed
    assert not {"jc-plat-01", "jhc-cam-001", "jh-prov-sip-01"} & listed


def test_regions_option_reduces_hosts(inventory: dict[str, Any]) -> None:
    county = _list(env={"SAFECITY_INVENTORY_REGIONS": "340102"})
    assert _hosts(county) == set(inventory["region_340102"]["hosts"])
    assert len(_hosts(county)) == 28
    assert "jc-plat-01" not in _hosts(county)


def test_sites_option_in_the_config_file(example_copy: Path) -> None:
    config = example_copy / "safecity.yml"
    config.write_text("plugin: safecity.devices.safecity\ndeployment: .\nsites: [jh-daqiao, ds-longgang]\n")
    inv = _list(config)
    assert _hosts(inv) == {"jhdq-sw-01", *(f"jhdq-cam-00{i}" for i in range(1, 6)),
                           "dslg-sw-01", *(f"dslg-cam-00{i}" for i in range(1, 8))}


def test_invalid_inventory_fails_with_file_line(example_copy: Path) -> None:
    path = example_copy / "regions/luzhou/dongshan.yml"
    text = path.read_text()
    path.write_text(text.replace('mac: "44:19:b6:17:44:94"', 'mac: "44:19:b6:17:44"'))
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if '"44:19:b6:17:44"' in t)
    proc = _run("ansible-inventory", "-i", str(example_copy / "safecity.yml"), "--list")
    assert proc.returncode != 0
    assert (f"inventory/example/regions/luzhou/dongshan.yml:{line}: camera dsc-cam-004: "
            "mac 44:19:b6:17:44 is not a MAC address") in proc.stderr


def test_lab_mode(example_copy: Path) -> None:
    config = example_copy / "safecity.yml"
    config.write_text("plugin: safecity.devices.safecity\ndeployment: .\nsites: [jh-daqiao]\nlab: true\n")
    proc = _run("ansible-inventory", "-i", str(config), "--list")
    assert proc.returncode != 0
    assert "lab address map is missing" in proc.stderr
    real = ["10.34.72.2", *(f"10.34.24.{i}" for i in range(2, 7))]
    mapping = {ip: f"127.20.9.{i}" for i, ip in enumerate(real, 1)}
    (example_copy / ".lab").mkdir()
    (example_copy / ".lab/addresses.json").write_text(json.dumps(mapping))
    hv = _list(config)["_meta"]["hostvars"]
    assert hv["jhdq-sw-01"]["ansible_host"] == "127.20.9.1"
    assert hv["jhdq-cam-001"]["ansible_host"] == mapping["10.34.24.2"]
    assert hv["jhdq-cam-001"]["safecity_ip"] == "10.34.24.2"
