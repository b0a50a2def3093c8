"""The switch host variables the camera-port ACL needs, and the ``kinds`` limit of resolve_hosts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from safecity.inventory.lock_lookup import read_lock_for
from safecity.inventory.resolve import HostRecord, resolve_hosts
from safecity.inventory.scope import load_scoped

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"
DONGSHAN = "regions/luzhou/dongshan.yml"
Edit = Callable[[str, str, str], int]  # the ``edit`` fixture of conftest.py


def _resolve(root: Path, **options: Any) -> dict[str, HostRecord]:
    scoped = load_scoped(root)
    assert scoped.ok, scoped.problems
    assert scoped.deployment is not None and scoped.catalog is not None
    hosts = resolve_hosts(scoped.deployment, read_lock_for(scoped.deployment), scoped.catalog,
                          **options)
    return {h.name: h for h in hosts}


def test_switch_gets_its_tier_servers_sip_address_and_camera_subnet() -> None:
    v = _resolve(EXAMPLE)["dsc-sw-01"].vars
    assert v["safecity_platform_servers"] == [
        {"name": "ds-plat-01", "ip": "10.34.3.2", "roles": ["sip", "ntp", "syslog"]}]
    assert v["safecity_sip_server_ip"] == "10.34.3.2"
    assert v["safecity_camera_subnet"] == "10.34.17.0/24"


def test_a_role_the_tier_lacks_comes_from_the_nearest_tier_above(deployment: Path,
                                                                  edit: Edit) -> None:
    edit(DONGSHAN, "roles: [sip, ntp, syslog]", "roles: [sip]")
    v = _resolve(deployment)["dsc-sw-01"].vars
    assert v["safecity_platform_servers"] == [
        {"name": "ds-plat-01", "ip": "10.34.3.2", "roles": ["sip"]},
        {"name": "lz-plat-01", "ip": "10.34.1.10", "roles": ["sip", "ntp", "syslog", "health"]}]


def test_kinds_limit_resolves_only_those_hosts() -> None:
    hosts = _resolve(EXAMPLE, kinds={"switch"})
    assert len(hosts) == 9
    assert all(h.vars["safecity_kind"] == "switch" for h in hosts.values())


def test_kinds_limit_lets_a_switch_sweep_run_in_lab_mode_beside_unmapped_hosts(
        deployment: Path) -> None:
    """The lab serves no alarm hosts; a switch-only resolve must not trip over them."""
    hosts = _resolve(EXAMPLE)
    address_map = {h.vars["safecity_ip"]: "127.39.200.1" for h in hosts.values()
                   if "switches" in h.groups}
    address_map.update({s["ip"]: "127.39.200.2" for h in hosts.values() if "switches" in h.groups
                        for s in h.vars["safecity_platform_servers"]})
    (deployment / ".lab").mkdir()
    (deployment / ".lab" / "addresses.json").write_text(json.dumps(address_map))
    switches = _resolve(deployment, kinds={"switch"}, address_map=address_map)
    assert {h.vars["ansible_host"] for h in switches.values()} == {"127.39.200.1"}
    assert switches["dsc-sw-01"].vars["safecity_platform_servers"][0]["ip"] == "127.39.200.2"
