"""platform.yml files: every platform loads, broken data is an error naming the file, and the
text helpers (config normalisation, MACs, interface names) follow the data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from safecity.drivers.cli.config_text import normalise_config_text
from safecity.drivers.cli.connection_class import connection_class, stock_class
from safecity.drivers.cli.mac_table import expand_interface, format_mac, normalise_mac
from safecity.drivers.cli.platform import PlatformDataError, load_platform, switch_templates_root


@pytest.mark.parametrize("platform,device_type,hier", [
    ("huawei_vrp", "huawei", "HUAWEI_VRP"), ("hp_comware", "hp_comware", "HP_COMWARE5"),
    ("cisco_ios", "cisco_ios", "CISCO_IOS")])
def test_every_platform_loads(platform: str, device_type: str, hier: str) -> None:
    spec = load_platform(platform)
    assert (spec.netmiko.device_type, spec.hier_config.platform) == (device_type, hier)
    assert spec.error_pattern and spec.save.command
    fixed = connection_class(spec)
    assert issubclass(fixed, stock_class(spec)) and fixed is not stock_class(spec)
    assert connection_class(spec, stock=True) is stock_class(spec)


def test_comware_always_verifies_commands() -> None:
    assert load_platform("hp_comware").netmiko.options["global_cmd_verify"] is True


def test_huawei_config_check_uses_the_prompt_pattern() -> None:
    assert load_platform("huawei_vrp").netmiko.config_check_pattern == r"[\]>]\s*$"


def test_a_broken_platform_file_is_an_error_naming_it(tmp_path: Path) -> None:
    shutil.copytree(switch_templates_root() / "cisco_ios", tmp_path / "cisco_ios")
    path = tmp_path / "cisco_ios" / "platform.yml"
    path.write_text(path.read_text().replace("error_pattern: '^% (Invalid", "error_pattern: '^% ((Invalid"))
    with pytest.raises(PlatformDataError, match=rf"^{path}: .*bad regular expression"):
        load_platform("cisco_ios", tmp_path)


def test_comware_sections_are_dedented_and_separators_dropped() -> None:
    text = "#\n version 7.1.070\n#\n sysname A\n ntp-service enable\n#\ninterface GE1\n port link-mode bridge\n#\nreturn\n"
    assert normalise_config_text(text, load_platform("hp_comware")) == \
        "sysname A\nntp-service enable\ninterface GE1\n port link-mode bridge\n"


def test_cisco_banner_lines_are_dropped() -> None:
    text = "Building configuration...\n\nCurrent configuration : 99 bytes\n!\nversion 15.2\nhostname X\n!\nend\n"
    assert normalise_config_text(text, load_platform("cisco_ios")) == "hostname X\n"


def test_macs_and_interface_names() -> None:
    assert normalise_mac("44:19:B6:2E:D9:1E") == normalise_mac("4419.b62e.d91e") == "4419b62ed91e"
    assert format_mac("44-19-b6-2e-d9-1e", "hyphen") == "4419-b62e-d91e"
    assert format_mac("44-19-b6-2e-d9-1e", "dot") == "4419.b62e.d91e"
    with pytest.raises(ValueError, match="not a MAC address"):
        normalise_mac("44:19:b6")
    assert expand_interface("GE0/0/1", load_platform("huawei_vrp")) == "GigabitEthernet0/0/1"
    assert expand_interface("XGE1/0/1", load_platform("hp_comware")) == "Ten-GigabitEthernet1/0/1"
    assert expand_interface("Gi1/0/7", load_platform("cisco_ios")) == "GigabitEthernet1/0/7"
