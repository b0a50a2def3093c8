"""The configuration model: vendor text loads and prints back unchanged, specs seed it."""

from __future__ import annotations

from pathlib import Path

import pytest
from switch_lab_support import FLAVORS, HUAWEI, make_spec

from safecity.lab.switch.config_tree import (
    parse_canonical,
    parse_vendor_text,
    render_vendor,
    to_canonical,
)
from safecity.lab.switch.device import SwitchDevice, factory_config_text
from safecity.lab.switch.dialect import load_dialect


@pytest.mark.parametrize("platform", sorted(FLAVORS))
def test_display_output_loads_back_to_the_same_configuration(platform: str,
                                                              tmp_path: Path) -> None:
    dialect = load_dialect(platform)
    device = SwitchDevice(make_spec(FLAVORS[platform], "m1"), dialect, tmp_path / "m1.json")
    shown = device.running_text()
    reloaded = parse_vendor_text(shown, dialect.render)
    assert to_canonical(reloaded) == to_canonical(device.running)
    assert render_vendor(reloaded, dialect.render, device.block_keywords) == shown
    assert parse_canonical(to_canonical(reloaded)) == reloaded


def test_factory_config_has_every_port_and_the_hostname() -> None:
    spec = make_spec(HUAWEI, "m2")
    text = factory_config_text(spec, load_dialect("huawei_vrp"))
    assert "sysname M2" in text
    assert all(f"interface {p.name}" in text for p in spec.ports)
    assert spec.password not in text


async def test_initial_config_seeds_the_switch_and_state_file_wins(start_lab,
                                                                  tmp_path: Path) -> None:
    initial = ("!Software Version V200R019C10SPC500\n#\nsysname CUSTOM-7\n#\n"
               "interface GigabitEthernet0/0/1\n description uplink-to-ring\n#\nreturn\n")
    spec = make_spec(HUAWEI, "seed1", initial_config=initial)
    lab = await start_lab([spec])
    assert lab.status()[0]["hostname"] == "CUSTOM-7"
    assert " description uplink-to-ring" in lab.running_config("seed1")
    assert (tmp_path / "state" / "switch-seed1.json").exists()
    await lab.close()
    # Once a state file exists it is the switch's memory; the spec only seeded it.
    changed = make_spec(HUAWEI, "seed1", host=spec.host, initial_config="#\nsysname OTHER\n#\n")
    lab = await start_lab([changed])
    assert lab.status()[0]["hostname"] == "CUSTOM-7"
