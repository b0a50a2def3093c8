"""Helpers of the CLI driver tests: lab switches on 127.36.0.0/16 (third octet 230..249)."""

from __future__ import annotations

import itertools
import os
from typing import Any

from safecity.drivers.cli import SwitchTarget
from safecity.lab.switch import MacEntry, PortSpec, SwitchSpec

USERNAME = "netops"
PASSWORD = "Cli-Driver-pw1"
SSH_PORT = 22 if os.geteuid() == 0 else 10022
_OCTET = 230 + os.getpid() % 20
_hosts = itertools.count(1)
PREFIX = {"huawei_vrp": ("GigabitEthernet0/0/", "XGigabitEthernet0/0/"),
          "hp_comware": ("GigabitEthernet1/0/", "Ten-GigabitEthernet1/0/"),
          "cisco_ios": ("GigabitEthernet1/0/", "TenGigabitEthernet1/1/")}


def spec_for(platform: str, name: str, **overrides: Any) -> SwitchSpec:
    access, uplink = PREFIX[platform]
    values: dict[str, Any] = {
        "name": name, "platform": platform, "host": f"127.36.{_OCTET}.{next(_hosts) % 250 + 1}",
        "port": SSH_PORT, "hostname": name.upper(), "username": USERNAME, "password": PASSWORD,
        "ports": [PortSpec(f"{access}{i}") for i in range(1, 9)] + [PortSpec(f"{uplink}1", "uplink")],
        "mac_table": [MacEntry("44:19:b6:2e:d9:1e", 1002, f"{access}1"),
                      MacEntry("3c:ef:8c:3f:72:1f", 1002, f"{access}2")],
    }
    values.update(overrides)
    return SwitchSpec(**values)


def target_for(spec: SwitchSpec, **overrides: Any) -> SwitchTarget:
    values: dict[str, Any] = {"name": spec.name, "platform": spec.platform, "host": spec.host,
                              "port": spec.port, "username": spec.username,
                              "password": spec.password, "timeout": 10.0}
    values.update(overrides)
    return SwitchTarget(**values)
