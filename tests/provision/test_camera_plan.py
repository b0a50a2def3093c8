"""plan_camera: inventory host variables + policy + profile + vault → desired state and target.

Pure: the example deployment is resolved in memory; no device is contacted."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from safecity.inventory.lock_lookup import read_lock_for
from safecity.inventory.profiles import load_profiles
from safecity.inventory.resolve import resolve_hosts
from safecity.inventory.scope import load_scoped
from safecity.provision.camera_plan import (
    AccountSpec,
    CameraInputs,
    CameraPlanError,
    CameraPolicy,
    merge_stream_overrides,
    plan_camera,
    posix_timezone,
    stream_overrides_of,
)
from safecity.provision.camera_state import StreamSpec

EXAMPLE = Path(__file__).parents[2] / "inventory" / "example"
SECRETS = {"vault_camera_admin_password": "Adm1n-Vault-pw", "vault_camera_operator_password":
           "Oper-Vault-pw1", "vault_camera_viewer_password": "View-Vault-pw1"}


def _hosts(root: Path = EXAMPLE, **kw: Any) -> dict[str, dict[str, Any]]:
    scoped = load_scoped(root, **kw)
    assert scoped.ok and scoped.deployment is not None and scoped.catalog is not None
    hosts = resolve_hosts(scoped.deployment, read_lock_for(scoped.deployment), scoped.catalog, **kw)
    return {h.name: h.vars for h in hosts}


def test_a_camera_gets_its_inventory_values_profile_streams_and_vault_accounts() -> None:
    hv = _hosts(sites=["ds-centre"])["dsc-cam-004"]
    plan = plan_camera(CameraInputs.from_host_vars("dsc-cam-004", hv), load_profiles(), SECRETS,
                       port=8080)
    d, t = plan.desired, plan.target
    assert (d.hostname, d.timezone, d.ntp_servers, d.dns_servers) == (
        "dsc-cam-004", "CST-8", ("10.34.3.2",), ("10.34.0.5",))
    assert (d.network.ip, d.network.prefix, d.network.gateway) == ("10.34.17.5", 24, "10.34.17.1")
    assert [(u.username, u.level, u.password) for u in d.users] == [
        ("admin", "Administrator", "Adm1n-Vault-pw"), ("operator", "Operator", "Oper-Vault-pw1"),
        ("viewer", "User", "View-Vault-pw1")]
    assert d.discoverable is False
    # hikvision/DS-2CD2T47G2-L profile defaults
    assert d.encoders == {"1:main": StreamSpec("H265", "2560x1440", 25, 4096, 50),
                          "1:sub": StreamSpec("H264", "640x360", 15, 512, 30)}
    assert (t.name, t.address, t.host, t.port) == ("dsc-cam-004", "10.34.17.5", "10.34.17.5", 8080)
    assert [c.username for c in t.credentials] == ["admin"]
    assert "Vault" not in repr(plan)  # secrets stay out of reprs


def test_encoder_gets_one_stream_pair_per_inventory_channel() -> None:
    hv = _hosts(sites=["ds-centre"])["dsc-enc-01"]
    plan = plan_camera(CameraInputs.from_host_vars("dsc-enc-01", hv), load_profiles(), SECRETS)
    assert sorted(plan.desired.encoders) == [f"{c}:{k}" for c in range(1, 5) for k in ("main", "sub")]


def test_previous_admin_password_is_tried_during_a_rotation() -> None:
    hv = _hosts(sites=["ds-centre"])["dsc-cam-002"]
    secrets = {**SECRETS, "vault_camera_admin_password_previous": "Old-Adm1n-pw"}
    plan = plan_camera(CameraInputs.from_host_vars("dsc-cam-002", hv), load_profiles(), secrets)
    assert [c.password for c in plan.target.credentials] == ["Adm1n-Vault-pw", "Old-Adm1n-pw"]


@pytest.mark.parametrize(("change", "message"), [
    ({"secrets": {"vault_camera_admin_password": "Adm1n-Vault-pw"}},
     ("dsc-cam-003: desired state: account operator: vault variable "
     "vault_camera_operator_password is not defined")),
    ({"vars": {"safecity_model": "acme/X1"}},
     "dsc-cam-003: desired state: no device profile acme/X1 in "),
    ({"vars": {"safecity_kind": "nvr"}},
     "dsc-cam-003: desired state: kind nvr is not provisioned as a camera/encoder"),
    ({"vars": {"safecity_gateway": "10.99.0.1"}},
     "dsc-cam-003: desired state: gateway 10.99.0.1 is outside 10.34.17.0/24"),
    ({"vars": {"safecity_streams": {"main": {"fps": 99}}}},
     "dsc-cam-003: desired state: stream 1:main: fps 99 outside 1..30 for hikvision/DS-2CD2T47G2-L"),
    ({"vars": {"safecity_streams": {"main": {"colour": "red"}}}},
     "dsc-cam-003: desired state: stream override 1:main: unknown field 'colour'"),
    ({"vars": {"safecity_timezone": "Mars/Olympus"}},
     "dsc-cam-003: desired state: time zone 'Mars/Olympus' is unknown to this system's zoneinfo"),
    ({"policy": CameraPolicy(accounts=(AccountSpec("viewer", "User", "vault_weak"),)),
      "secrets": {**SECRETS, "vault_weak": "short"}},
     "dsc-cam-003: desired state: password of viewer is shorter than 8 characters"),
    ({"vars": {"safecity_prefix": None}},
     "dsc-cam-003: desired state: host variable safecity_prefix is missing"),
])
def test_bad_input_names_the_device_and_the_reason(change: dict[str, Any], message: str) -> None:
    hv = {**_hosts(sites=["ds-centre"])["dsc-cam-003"], **change.get("vars", {})}
    with pytest.raises(CameraPlanError) as e:
        plan_camera(CameraInputs.from_host_vars("dsc-cam-003", hv), load_profiles(),
                    change.get("secrets", SECRETS), change.get("policy", CameraPolicy()))
    assert str(e.value).startswith(message), str(e.value)
    assert "Adm1n-Vault-pw" not in str(e.value)


def test_posix_time_zones() -> None:
    assert posix_timezone("Asia/Shanghai") == "CST-8"
    assert posix_timezone("CST-8") == "CST-8"
    with pytest.raises(ValueError, match="not an IANA name"):
        posix_timezone("../../etc/passwd")


def test_stream_overrides_merge_site_defaults_under_the_device(tmp_path: Path) -> None:
    root = tmp_path / "dep"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".lab", "audit", "results"))
    path = root / "regions" / "luzhou" / "dongshan.yml"
    data = yaml.safe_load(path.read_text())
    site = next(s for s in data["sites"] if s["name"] == "ds-centre")
    site["defaults"] = {"streams": {"main": {"bitrate_kbps": 2048, "fps": 20}}}
    cam = next(c for c in site["cameras"] if c["name"] == "dsc-cam-004")
    cam["streams"] = {"main": {"fps": 12}, "sub": {"codec": "H265"}}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    scoped = load_scoped(root, sites=["ds-centre"])
    assert scoped.ok and scoped.deployment is not None, scoped.problems
    entry = next(d for d in scoped.deployment.devices if d.name == "dsc-cam-004")
    overrides = stream_overrides_of(scoped.deployment, entry)
    assert overrides == {"main": {"bitrate_kbps": 2048, "fps": 12}, "sub": {"codec": "H265"}}
    hv = {**_hosts(root, sites=["ds-centre"])["dsc-cam-004"], "safecity_streams": overrides}
    plan = plan_camera(CameraInputs.from_host_vars("dsc-cam-004", hv), load_profiles(), SECRETS)
    assert plan.desired.encoders["1:main"] == StreamSpec("H265", "2560x1440", 12, 2048, 50)
    assert plan.desired.encoders["1:sub"].codec == "H265"
    assert merge_stream_overrides([None, {"main": None}]) == {}
