"""Example-deployment switches as lab switches, and targets/intents to provision them.

Addresses come from 127.36.0.0/16 (this suite's block); the third octet is derived from the pid
and a counter so concurrent runs and tests never share an address.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection

from safecity.drivers.cli import SwitchTarget
from safecity.inventory.lock_lookup import read_lock_for
from safecity.inventory.resolve import HostRecord, resolve_hosts
from safecity.inventory.scope import load_scoped
from safecity.lab.switch import MacEntry, PortSpec, SwitchSpec
from safecity.provision.switch_intent import SwitchIntent, switch_intent_from_vars

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "inventory" / "example"
USERNAME = "admin"
PASSWORD = "Lab-Sw1tch-pw"
SSH_PORT = 22 if os.geteuid() == 0 else 10022
_OCTET = os.getpid() % 200 + 20
_hosts = itertools.count(0)
# One switch of each platform from the example deployment (Dongshan, Xihu, Jinghu).
ONE_PER_PLATFORM = ("dsc-sw-01", "xhc-sw-01", "jhc-sw-01")


def next_host() -> str:
    n = next(_hosts)
    return f"127.36.{(_OCTET + n // 250) % 256}.{n % 250 + 1}"


@cache
def example_switches() -> dict[str, HostRecord]:
    scoped = load_scoped(EXAMPLE)
    assert scoped.ok and scoped.deployment is not None and scoped.catalog is not None
    hosts = resolve_hosts(scoped.deployment, read_lock_for(scoped.deployment), scoped.catalog)
    return {h.name: h for h in hosts if "switches" in h.groups}


def example_intent(name: str) -> SwitchIntent:
    return switch_intent_from_vars(name, example_switches()[name].vars)


def lab_spec(name: str, lab_name: str | None = None, **overrides: Any) -> SwitchSpec:
    """A lab switch with the example switch's ports and its devices' MACs on their ports."""
    hv = example_switches()[name].vars
    uplinks = {u["port"] for u in hv["safecity_uplinks"]}
    values: dict[str, Any] = {
        "name": lab_name or name, "platform": hv["safecity_platform"], "host": next_host(),
        "port": SSH_PORT, "hostname": "FACTORY", "username": USERNAME, "password": PASSWORD,
        "ports": [PortSpec(p["name"], "uplink" if p["name"] in uplinks else "access")
                  for p in hv["safecity_ports"]],
        "mac_table": [MacEntry(a["mac"], a["vlan"], a["port"]) for a in hv["safecity_access_ports"]
                      if a["mac"]],
        "model": hv["safecity_model"].split("/")[-1], "serial": f"SN-{lab_name or name}",
    }
    values.update(overrides)
    return SwitchSpec(**values)


def target_for(spec: SwitchSpec, **overrides: Any) -> SwitchTarget:
    target = SwitchTarget(name=spec.name, platform=spec.platform, host=spec.host,
                          username=spec.username, password=spec.password, port=spec.port,
                          timeout=15.0)
    return replace(target, **overrides)


def unmodified_netmiko(spec: SwitchSpec) -> BaseConnection:
    """A plain ``ConnectHandler`` session (no safecity code) to check what the switch holds."""
    device_type = {"huawei_vrp": "huawei", "hp_comware": "hp_comware",
                   "cisco_ios": "cisco_ios"}[spec.platform]
    conn = ConnectHandler(device_type=device_type, host=spec.host, port=spec.port,
                          username=spec.username, password=spec.password, secret=spec.password,
                          conn_timeout=15, auth_timeout=15, banner_timeout=15)
    if spec.platform == "cisco_ios":
        conn.enable()
    return conn
