"""What one simulated switch is at lab start: identity, where it listens, login, ports, cabling.

The spec is immutable input. The switch's *current* configuration lives in ``device.SwitchDevice``
and is persisted in the lab's state directory; the spec only seeds it the first time a switch
starts with a given state directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Platform = Literal["huawei_vrp", "hp_comware", "cisco_ios"]
PLATFORMS: tuple[Platform, ...] = ("huawei_vrp", "hp_comware", "cisco_ios")

PortRole = Literal["access", "uplink"]


@dataclass(frozen=True)
class PortSpec:
    """One physical port, by its full interface name (``GigabitEthernet0/0/1``)."""

    name: str
    role: PortRole = "access"


@dataclass(frozen=True)
class MacEntry:
    """A lab device cabled to a port: what the switch has learned on that port."""

    mac: str  # any common notation; normalised when displayed
    vlan: int
    interface: str  # full interface name, one of the spec's ports


@dataclass(frozen=True)
class SwitchSpec:
    """One simulated switch.

    ``name`` identifies the switch in the lab API (``set_fault(name, ...)``); ``hostname`` is what
    its prompt shows until the configuration changes it. ``initial_config`` is running-config text
    in the platform's own syntax (as ``display current-configuration`` prints it); empty means a
    factory-default configuration built from the platform's dialect data. ``enable_secret`` is the
    Cisco ``enable`` password (``None``: the login password).
    """

    name: str
    platform: Platform
    host: str
    hostname: str
    username: str
    password: str
    port: int = 22
    ports: tuple[PortSpec, ...] = ()
    initial_config: str = ""
    mac_table: tuple[MacEntry, ...] = ()
    legacy_ssh_only: bool = False
    serial: str = ""
    model: str = ""
    enable_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Lists are accepted for convenience; stored as tuples so the spec stays hashable/frozen.
        object.__setattr__(self, "ports", tuple(self.ports))
        object.__setattr__(self, "mac_table", tuple(self.mac_table))

    def __repr__(self) -> str:
        # Never show the password (specs end up in logs and test failure output).
        return (f"SwitchSpec(name={self.name!r}, platform={self.platform!r}, "
                f"host={self.host!r}, port={self.port})")
