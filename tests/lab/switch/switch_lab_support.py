"""Helpers of the switch-lab tests: per-platform facts, spec builders, netmiko sessions.

Addresses come from 127.31.0.0/16 (this suite's block); the third octet is derived from the pid
so two concurrent runs do not collide.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from typing import Any

import paramiko
from hier_config import Platform, get_hconfig
from hier_config.root import HConfig
from netmiko import ConnectHandler
from netmiko.base_connection import BaseConnection

from safecity.lab.switch import MacEntry, PortSpec, SwitchSpec

USERNAME = "admin"
PASSWORD = "Lab-Passw0rd"
PORT = 22 if os.geteuid() == 0 else 10022
_OCTET = os.getpid() % 120 + 1
_hosts = itertools.count(0)


def next_host() -> str:
    n = next(_hosts)
    return f"127.31.{(_OCTET + n // 250) % 256}.{n % 250 + 1}"


@dataclass(frozen=True)
class Flavor:
    """What a test needs to know about one platform (the simulator reads its own data)."""

    platform: str
    device_type: str
    port_prefix: str
    uplink_prefix: str
    show_run: str
    show_mac: str
    show_interfaces: str
    show_version: str
    unknown_error: str
    error_pattern: str
    mac_text: str  # 00:11:22:33:44:55 as the platform prints it
    hier: Platform
    access_lines: tuple[str, ...]  # the block an access port gets (under "interface X")
    brief_prefix: str  # port names in the interface status table
    up_word: str
    down_word: str
    admin_down_word: str
    negation: str
    edge_line: str  # an interface line to add and negate
    ntp_line: str  # a global line to add and negate

    def port(self, i: int) -> str:
        return f"{self.port_prefix}{i}"


HUAWEI = Flavor(
    platform="huawei_vrp", device_type="huawei", port_prefix="GigabitEthernet0/0/",
    uplink_prefix="XGigabitEthernet0/0/", show_run="display current-configuration",
    show_mac="display mac-address", show_interfaces="display interface brief",
    show_version="display version",
    unknown_error="Error: Unrecognized command found at '^' position.",
    error_pattern=r"^Error:", mac_text="0011-2233-4455", hier=Platform.HUAWEI_VRP,
    access_lines=("description cam-0001", "port link-type access", "port default vlan 10"),
    brief_prefix="GigabitEthernet0/0/", up_word="up", down_word="down", admin_down_word="*down",
    negation="undo", edge_line="stp edged-port enable", ntp_line="ntp-service unicast-server 10.9.0.1",
)
COMWARE = Flavor(
    platform="hp_comware", device_type="hp_comware", port_prefix="GigabitEthernet1/0/",
    uplink_prefix="Ten-GigabitEthernet1/0/", show_run="display current-configuration",
    show_mac="display mac-address", show_interfaces="display interface brief",
    show_version="display version",
    unknown_error=" % Unrecognized command found at '^' position.",
    error_pattern=r"^\s*% ", mac_text="0011-2233-4455", hier=Platform.HP_COMWARE5,
    access_lines=("description cam-0001", "port link-type access", "port access vlan 10"),
    brief_prefix="GE1/0/", up_word="UP", down_word="DOWN", admin_down_word="ADM",
    negation="undo", edge_line="stp edged-port", ntp_line="ntp-service unicast-server 10.9.0.1",
)
CISCO = Flavor(
    platform="cisco_ios", device_type="cisco_ios", port_prefix="GigabitEthernet1/0/",
    uplink_prefix="TenGigabitEthernet1/1/", show_run="show running-config",
    show_mac="show mac address-table", show_interfaces="show interfaces status",
    show_version="show version", unknown_error="% Invalid input detected at '^' marker.",
    error_pattern=r"^% (Invalid|Incomplete)", mac_text="0011.2233.4455",
    hier=Platform.CISCO_IOS,
    access_lines=("description cam-0001", "switchport mode access", "switchport access vlan 10"),
    brief_prefix="Gi1/0/", up_word="connected", down_word="notconnect", admin_down_word="disabled",
    negation="no", edge_line="spanning-tree portfast", ntp_line="ntp server 10.9.0.1",
)
FLAVORS = {f.platform: f for f in (HUAWEI, COMWARE, CISCO)}
# Stock netmiko's Huawei driver waits 2 s of silence per config-mode check; the fast platforms
# carry most scenarios and Huawei gets its own end-to-end test with the stock driver.
FAST = (COMWARE, CISCO)


def make_spec(flavor: Flavor, name: str, **overrides: Any) -> SwitchSpec:
    values: dict[str, Any] = {
        "name": name, "platform": flavor.platform, "host": next_host(), "port": PORT,
        "hostname": name.upper(), "username": USERNAME, "password": PASSWORD,
        "ports": [PortSpec(flavor.port(i)) for i in range(1, 9)]
                 + [PortSpec(f"{flavor.uplink_prefix}1", "uplink")],
        "mac_table": [MacEntry("00:11:22:33:44:55", 10, flavor.port(1)),
                      MacEntry("00-11-22-33-44-66", 10, flavor.port(2))],
        "model": "LAB-24P", "serial": f"SN-{name}",
    }
    values.update(overrides)
    return SwitchSpec(**values)


def connect(spec: SwitchSpec, **overrides: Any) -> BaseConnection:
    """An unmodified netmiko session; Cisco is taken to enable mode like any playbook would."""
    flavor = FLAVORS[spec.platform]
    params: dict[str, Any] = {
        "device_type": flavor.device_type, "host": spec.host, "port": spec.port,
        "username": spec.username, "password": spec.password, "secret": spec.password,
        "fast_cli": True, "conn_timeout": 10, "auth_timeout": 10, "banner_timeout": 10,
    }
    if flavor is COMWARE:
        params["global_cmd_verify"] = True  # DOMAIN.md §4: Comware desyncs without it
    params.update(overrides)
    conn = ConnectHandler(**params)
    if flavor is CISCO:
        conn.enable()
    return conn


def show(conn: BaseConnection, command: str) -> str:
    out = conn.send_command(command)
    assert isinstance(out, str)
    return out


def parse_running(flavor: Flavor, text: str) -> HConfig:
    """hier_config over ``display current-configuration`` the way a driver has to feed it.

    Stock HUAWEI_VRP / CISCO_IOS drop the separators and banners themselves. Comware output has
    to be normalised first (HP_COMWARE5 has no rules): drop ``#`` and ``return``, and undo the
    one-space indent Comware gives global commands inside a ``#`` section.
    """
    lines = [ln for ln in text.splitlines() if ln.strip() not in ("return",)]
    if flavor is COMWARE:
        normal: list[str] = []
        dedent = 0
        first_in_section = True
        for ln in lines:
            if ln.strip() == "#":
                first_in_section = True
                continue
            if first_in_section:
                dedent = len(ln) - len(ln.lstrip(" "))
                first_in_section = False
            normal.append(ln[dedent:] if ln.startswith(" " * dedent) else ln)
        lines = normal
    return get_hconfig(flavor.hier, "\n".join(lines))


def intended_with_access_port(flavor: Flavor, running: HConfig, port: str) -> HConfig:
    """What a template would ask for: the running config plus one camera access port."""
    intended = running.deep_copy()
    block = intended.get_child(equals=f"interface {port}")
    assert block is not None
    for line in flavor.access_lines:
        block.add_child(line)
    return intended


def remediation_lines(running: HConfig, intended: HConfig) -> list[str]:
    return [c.cisco_style_text() for c in running.config_to_get_to(intended).all_children_sorted()]


def interface_row(table: str, flavor: Flavor, i: int) -> str:
    name = f"{flavor.brief_prefix}{i}"
    rows = [ln for ln in table.splitlines() if ln.split()[:1] == [name]]
    assert len(rows) == 1, f"no single row for {name} in:\n{table}"
    return rows[0]


def block(config: HConfig, text: str) -> list[str]:
    child = config.get_child(equals=text)
    assert child is not None, f"{text!r} not in the parsed configuration"
    return [c.text for c in child.children]


class RawShell:
    """A bare paramiko interactive shell, for what netmiko never does (paging, garbage)."""

    def __init__(self, spec: SwitchSpec) -> None:
        self.client = paramiko.SSHClient()
        self.client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        self.client.connect(spec.host, spec.port, spec.username, spec.password, timeout=10,
                            banner_timeout=10, auth_timeout=10, look_for_keys=False,
                            allow_agent=False)
        self.chan = self.client.invoke_shell(width=200, height=100)
        self.chan.settimeout(0.2)

    def read_until(self, marker: str, timeout: float = 10.0) -> str:
        data = b""
        deadline = time.monotonic() + timeout
        while marker.encode() not in data:
            if time.monotonic() > deadline:
                raise AssertionError(f"{marker!r} not seen; got {data[-400:]!r}")
            try:
                chunk = self.chan.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise EOFError(f"channel closed before {marker!r}; got {data[-400:]!r}")
            data += chunk
        return data.decode("utf-8", "replace")

    def wait_closed(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.chan.recv(65536) == b"":
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
        return False

    def close(self) -> None:
        self.client.close()
