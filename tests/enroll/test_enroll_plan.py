"""Desired GB/T 28181 settings from the example inventory: pure, no device."""

from __future__ import annotations

from pathlib import Path

import pytest

from safecity.enroll.targets import EnrollPlanError, desired_gb_settings
from safecity.inventory import load_valid_deployment
from safecity.inventory.lock_lookup import read_lock_for
from safecity.inventory.resolve import resolve_hosts
from safecity.inventory.secrets import derive_device_sip_password

EXAMPLE = Path(__file__).resolve().parents[2] / "inventory" / "example"


@pytest.fixture(scope="module")
def hosts() -> dict[str, dict[str, object]]:
    deployment, catalog = load_valid_deployment(EXAMPLE)
    return {h.name: h.vars for h in resolve_hosts(deployment, read_lock_for(deployment), catalog)}


def test_encoder_channels_get_their_own_ids(hosts: dict[str, dict[str, object]]) -> None:
    hv = hosts["dsc-enc-01"]
    s = desired_gb_settings("dsc-enc-01", hv, "master")
    channels = [c["gb_id"] for c in hv["safecity_channels"]]  # type: ignore[attr-defined]
    assert list(s.channel_ids) == channels and len(channels) == 4
    assert s.device_id == hv["safecity_gb_id"] and s.device_id not in channels
    assert s.server_id == "34010200002000000001" and s.server_domain == "3401020000"
    assert s.server_ip == hv["safecity_sip_server_ip"] and s.server_ip.startswith("10.")
    assert s.password == derive_device_sip_password("master", s.device_id)


def test_alarm_host_inputs_and_outputs(hosts: dict[str, dict[str, object]]) -> None:
    s = desired_gb_settings("dscg-alarm-01", hosts["dscg-alarm-01"], "master")
    assert s.channel_ids == () and len(s.alarm_in_ids) == 4 and len(s.alarm_out_ids) == 1
    assert all(i[10:13] == "134" for i in s.alarm_in_ids)
    assert s.alarm_out_ids[0][10:13] == "135"


def test_camera_is_its_own_channel(hosts: dict[str, dict[str, object]]) -> None:
    s = desired_gb_settings("dsc-cam-001", hosts["dsc-cam-001"], "master")
    assert s.channel_ids == (s.device_id,) and s.enabled


def test_missing_master_key_names_the_device(hosts: dict[str, dict[str, object]]) -> None:
    with pytest.raises(EnrollPlanError) as e:
        desired_gb_settings("dsc-cam-001", hosts["dsc-cam-001"], "")
    assert str(e.value) == "dsc-cam-001: enroll plan: vault variable vault_gb28181_master_key is not defined"


def test_missing_channel_id_names_the_channel(hosts: dict[str, dict[str, object]]) -> None:
    hv = dict(hosts["dsc-enc-01"])
    hv["safecity_channels"] = [{"name": "dsc-enc-01-ch1", "gb_id": None}]
    with pytest.raises(EnrollPlanError, match=r"dsc-enc-01: enroll plan: encoder channel dsc-enc-01-ch1 has no"):
        desired_gb_settings("dsc-enc-01", hv, "master")
