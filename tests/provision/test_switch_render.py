"""Rendered switch configurations of the example deployment against reviewed golden files, and
the intent's validation messages.

Regenerate after a reviewed template change with ``SAFECITY_UPDATE_GOLDEN=1`` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from switch_lab_fixtures import example_switches

from safecity.drivers.cli.config_text import parse_config
from safecity.drivers.cli.platform import PlatformDataError, load_platform
from safecity.provision.switch_diff import plan_switch_change
from safecity.provision.switch_intent import SwitchIntentError, switch_intent_from_vars
from safecity.provision.switch_render import render_switch_config

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden" / "switches"
SWITCHES = sorted(example_switches())


def test_the_example_has_nine_switches_of_three_platforms() -> None:
    platforms = {example_switches()[n].vars["safecity_platform"] for n in SWITCHES}
    assert len(SWITCHES) == 9 and platforms == {"huawei_vrp", "hp_comware", "cisco_ios"}


@pytest.mark.parametrize("name", SWITCHES)
def test_rendered_config_matches_the_reviewed_golden_file(name: str) -> None:
    rendered = render_switch_config(switch_intent_from_vars(name, example_switches()[name].vars))
    golden = GOLDEN / f"{name}.cfg"
    if os.environ.get("SAFECITY_UPDATE_GOLDEN") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SWITCHES)
def test_a_rendered_config_needs_nothing_against_itself(name: str) -> None:
    """Templates parse cleanly with the platform's rules: rendered vs rendered is no change."""
    intent = switch_intent_from_vars(name, example_switches()[name].vars)
    text = render_switch_config(intent)
    spec = load_platform(intent.platform)
    assert plan_switch_change(text, text, spec).commands == []
    parsed = parse_config(text, spec)
    assert len([c for c in parsed.children if c.text.startswith("interface ")]) >= 28


def _vars(**changes: Any) -> dict[str, Any]:
    hv = dict(example_switches()["dsc-sw-01"].vars)
    hv.update(changes)
    return hv


def test_intent_rejects_a_port_the_model_does_not_have() -> None:
    hv = _vars()
    hv["safecity_access_ports"] = [{**hv["safecity_access_ports"][0], "port": "GigabitEthernet0/0/99"}]
    with pytest.raises(SwitchIntentError) as e:
        switch_intent_from_vars("dsc-sw-01", hv)
    assert str(e.value) == ("dsc-sw-01: safecity_access_ports[0]: dsc-cam-001 is cabled to "
                            "GigabitEthernet0/0/99, which the switch model does not have")


def test_intent_rejects_two_devices_on_one_port() -> None:
    hv = _vars()
    first, second = hv["safecity_access_ports"][:2]
    hv["safecity_access_ports"] = [first, {**second, "port": first["port"]}]
    with pytest.raises(SwitchIntentError, match=r"^dsc-sw-01: safecity_access_ports\[1\]: "
                       r"GigabitEthernet0/0/1 is given to both dsc-cam-001 and dsc-cam-002$"):
        switch_intent_from_vars("dsc-sw-01", hv)


def test_intent_rejects_an_uplink_that_is_a_camera_port() -> None:
    hv = _vars(safecity_uplinks=[{"port": "GigabitEthernet0/0/1", "to": "core"}])
    with pytest.raises(SwitchIntentError, match="uplinks.*also the access port of dsc-cam-001"):
        switch_intent_from_vars("dsc-sw-01", hv)


def test_intent_needs_a_platform_server_for_the_acl() -> None:
    hv = _vars(safecity_ntp_servers=[], safecity_syslog_servers=[], safecity_platform_servers=[])
    with pytest.raises(SwitchIntentError, match="no platform server is known"):
        switch_intent_from_vars("dsc-sw-01", hv)


def test_intent_prefers_explicit_platform_servers() -> None:
    intent = switch_intent_from_vars("dsc-sw-01", _vars(
        safecity_platform_servers=["10.34.3.3", "10.34.3.2"]))
    assert intent.platform_servers == ("10.34.3.2", "10.34.3.3")
    assert "rule 10 permit ip destination 10.34.3.3 0" in render_switch_config(intent)


def test_intent_takes_the_inventorys_platform_server_records() -> None:
    intent = switch_intent_from_vars("dsc-sw-01", _vars(safecity_platform_servers=[
        {"name": "ds-plat-01", "ip": "10.34.3.2", "roles": ["sip"]},
        {"name": "lz-plat-01", "ip": "10.34.1.10", "roles": ["health"]}]))
    assert intent.platform_servers == ("10.34.1.10", "10.34.3.2")


def test_management_vlan_must_differ_from_the_camera_vlan() -> None:
    with pytest.raises(SwitchIntentError, match="management VLAN 1002 is also a camera VLAN"):
        switch_intent_from_vars("dsc-sw-01", _vars(safecity_mgmt_vlan=1002))


def test_unknown_platform_names_the_file() -> None:
    with pytest.raises(PlatformDataError, match=r"platform\.yml: unknown switch platform 'ruijie_os'"):
        load_platform("ruijie_os")
