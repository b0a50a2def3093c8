"""``SwitchIntent``: what one access switch of the video private network must be configured as.

Built by a pure function from a resolved host's variables (``inventory.resolve.HostRecord``):
which VLANs, which camera sits on which port with which MAC and GB ID, which uplinks, which
platform servers cameras may reach. Templates turn it into text; nothing here knows a CLI.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from safecity.drivers.cli.mac_table import normalise_mac
from safecity.errors import SafecityError

# Storm-control ceiling on camera ports (packets/s of broadcast and of multicast): a camera
# sends almost none; a looped or infected device is cut off. Overridable per host.
DEFAULT_STORM_PPS = 1500
DEFAULT_STORM_PERCENT = 1.0  # platforms that limit by share of the port's bandwidth (IOS)
DEFAULT_ACL_NUMBER = 3001
DEFAULT_ACL_NAME = "SAFECITY-VIDEO"
DEFAULT_SNMP_GROUP = "safecity-nms"
# GB/T 28181 type digits (ID positions 11-13) of recorders: 111 DVR, 118 NVR. A recorder pulls
# streams from the cameras of its site, so the camera-only ACL would cut its recordings.
RECORDER_TYPES = frozenset({"111", "118"})


class SwitchIntentError(SafecityError):
    """The host's variables cannot describe a switch configuration; names switch and field."""


@dataclass(frozen=True)
class AccessPort:
    port: str
    device: str
    gb_id: str | None
    mac: str | None  # 12 lower-case hex digits
    vlan: int

    @property
    def recorder(self) -> bool:
        return self.gb_id is not None and self.gb_id[10:13] in RECORDER_TYPES


@dataclass(frozen=True)
class Uplink:
    port: str
    to: str


@dataclass(frozen=True)
class PortPlan:
    """One physical port and what it is for; templates walk these in the model's port order."""

    port: str
    role: Literal["access", "uplink", "unused"]
    access: AccessPort | None = None
    uplink: Uplink | None = None


@dataclass(frozen=True)
class SwitchIntent:
    name: str
    platform: str
    hostname: str
    location: str
    mgmt_vlan: int
    camera_vlans: tuple[int, ...]
    mgmt_ip: str | None
    mgmt_netmask: str | None
    mgmt_gateway: str | None
    ntp_servers: tuple[str, ...]
    syslog_servers: tuple[str, ...]
    platform_servers: tuple[str, ...]  # the only destinations cameras may reach
    access_ports: tuple[AccessPort, ...]
    uplinks: tuple[Uplink, ...]
    unused_ports: tuple[str, ...]
    port_order: tuple[PortPlan, ...] = ()
    storm_pps: int = DEFAULT_STORM_PPS
    storm_percent: float = DEFAULT_STORM_PERCENT
    acl_number: int = DEFAULT_ACL_NUMBER
    acl_name: str = DEFAULT_ACL_NAME
    snmp_group: str = DEFAULT_SNMP_GROUP

    @property
    def interfaces(self) -> tuple[PortPlan, ...]:
        """Every physical port in the model's order (how the switch itself lists them)."""
        return self.port_order

    @property
    def vlans(self) -> tuple[int, ...]:
        return tuple(sorted({self.mgmt_vlan, *self.camera_vlans}))

    @property
    def trunk_vlans(self) -> tuple[int, ...]:
        """Uplinks carry the video and management VLANs and nothing else."""
        return self.vlans

    def port_of(self, device: str) -> str | None:
        return next((p.port for p in self.access_ports if p.device == device), None)


def _ipv4(value: Any, switch: str, field: str) -> str:
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError as e:
        raise SwitchIntentError(f"{switch}: {field}: not an IPv4 address: {value!r}") from e


def _ips(values: Any, switch: str, field: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if not isinstance(values, list | tuple):
        raise SwitchIntentError(f"{switch}: {field}: expected a list of addresses")
    return tuple(_ipv4(v, switch, field) for v in values)


def _int(value: Any, switch: str, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SwitchIntentError(f"{switch}: {field}: expected an integer {low}..{high}, "
                                f"got {value!r}")
    return value


def switch_intent_from_vars(name: str, hostvars: Mapping[str, Any]) -> SwitchIntent:
    """The intent for switch ``name`` from its ``safecity_*`` host variables. Pure.

    ``safecity_platform_servers`` (addresses, or ``{name, ip, roles}`` records, of the servers
    cameras may reach) is used when the inventory provides it; otherwise the tier's SIP, NTP
    and syslog servers are.
    """
    def need(key: str) -> Any:
        if hostvars.get(key) is None:
            raise SwitchIntentError(f"{name}: {key}: missing")
        return hostvars[key]

    platform = str(need("safecity_platform"))
    mgmt_vlan = _int(need("safecity_mgmt_vlan"), name, "safecity_mgmt_vlan", 1, 4094)
    ports = [str(p["name"]) for p in need("safecity_ports")]
    known = set(ports)
    if not ports:
        raise SwitchIntentError(f"{name}: safecity_ports: the switch model lists no ports")

    access: list[AccessPort] = []
    taken: dict[str, str] = {}
    for i, raw in enumerate(hostvars.get("safecity_access_ports") or []):
        where = f"safecity_access_ports[{i}]"
        port, device = str(raw.get("port")), str(raw.get("device"))
        if port not in known:
            raise SwitchIntentError(f"{name}: {where}: {device} is cabled to {port}, which the "
                                    f"switch model does not have")
        if port in taken:
            raise SwitchIntentError(f"{name}: {where}: {port} is given to both {taken[port]} "
                                    f"and {device}")
        taken[port] = device
        try:
            mac = normalise_mac(str(raw["mac"])) if raw.get("mac") else None
        except ValueError as e:
            raise SwitchIntentError(f"{name}: {where}: {device}: {e}") from e
        vlan = _int(raw.get("vlan", hostvars.get("safecity_camera_vlan")), name,
                    f"{where}.vlan", 1, 4094)
        gb = raw.get("gb_id")
        access.append(AccessPort(port, device, str(gb) if gb else None, mac, vlan))

    uplinks: list[Uplink] = []
    for i, raw in enumerate(hostvars.get("safecity_uplinks") or []):
        port = str(raw.get("port"))
        if port not in known:
            raise SwitchIntentError(f"{name}: safecity_uplinks[{i}]: the switch model has no "
                                    f"port {port}")
        if port in taken:
            raise SwitchIntentError(f"{name}: safecity_uplinks[{i}]: {port} is also the access "
                                    f"port of {taken[port]}")
        taken[port] = "uplink"
        uplinks.append(Uplink(port, str(raw.get("to") or "uplink")))

    camera_vlans = {p.vlan for p in access}
    if hostvars.get("safecity_camera_vlan") is not None:
        camera_vlans.add(_int(hostvars["safecity_camera_vlan"], name, "safecity_camera_vlan",
                              1, 4094))
    if mgmt_vlan in camera_vlans:
        raise SwitchIntentError(f"{name}: the management VLAN {mgmt_vlan} is also a camera VLAN")

    ntp = _ips(hostvars.get("safecity_ntp_servers"), name, "safecity_ntp_servers")
    syslog = _ips(hostvars.get("safecity_syslog_servers"), name, "safecity_syslog_servers")
    if hostvars.get("safecity_platform_servers") is not None:
        # Addresses, or the inventory's ``{name, ip, roles}`` records of the tier's servers.
        raw_servers = hostvars["safecity_platform_servers"]
        if isinstance(raw_servers, list | tuple):
            raw_servers = [s.get("ip") if isinstance(s, Mapping) else s for s in raw_servers]
        servers = _ips(raw_servers, name, "safecity_platform_servers")
    else:
        sip = hostvars.get("safecity_sip_server_ip")
        servers = (*((_ipv4(sip, name, "safecity_sip_server_ip"),) if sip else ()), *ntp, *syslog)
    servers = tuple(sorted(set(servers), key=ipaddress.IPv4Address))
    if access and not servers:
        raise SwitchIntentError(f"{name}: cameras are cabled but no platform server is known "
                                "(safecity_platform_servers / NTP / syslog): the ACL would "
                                "cut them off completely")

    mgmt_ip = hostvars.get("safecity_ip")
    prefix = hostvars.get("safecity_prefix")
    netmask = (str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)
               if mgmt_ip and prefix is not None else None)
    gateway = hostvars.get("safecity_gateway")
    by_port_access = {p.port: p for p in access}
    by_port_uplink = {u.port: u for u in uplinks}
    order = tuple(
        PortPlan(p, "access", access=by_port_access[p]) if p in by_port_access
        else PortPlan(p, "uplink", uplink=by_port_uplink[p]) if p in by_port_uplink
        else PortPlan(p, "unused")
        for p in ports)
    return SwitchIntent(
        name=name,
        platform=platform,
        hostname=str(hostvars.get("safecity_hostname") or name),
        location=str(hostvars.get("safecity_location") or hostvars.get("safecity_site") or name),
        mgmt_vlan=mgmt_vlan,
        camera_vlans=tuple(sorted(camera_vlans)),
        mgmt_ip=_ipv4(mgmt_ip, name, "safecity_ip") if mgmt_ip else None,
        mgmt_netmask=netmask,
        mgmt_gateway=_ipv4(gateway, name, "safecity_gateway") if gateway else None,
        ntp_servers=ntp,
        syslog_servers=syslog,
        platform_servers=servers,
        access_ports=tuple(sorted(access, key=lambda p: ports.index(p.port))),
        uplinks=tuple(uplinks),
        unused_ports=tuple(p for p in ports if p not in taken),
        port_order=order,
        storm_pps=_int(hostvars.get("safecity_switch_storm_pps", DEFAULT_STORM_PPS), name,
                       "safecity_switch_storm_pps", 64, 1_000_000),
    )
