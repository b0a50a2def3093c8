"""Turn a deployment, its plan and the device profiles into per-host records for Ansible.

Pure: no Ansible import, no I/O besides ``read_lab_addresses``. The inventory plugin is a
thin adapter that copies ``HostRecord``s into Ansible's inventory. Everything a role needs
about a host is resolved here once (planned addresses and IDs, tier platform, NTP/syslog
servers), so roles never walk the region tree themselves.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safecity.errors import InventoryError, Problem
from safecity.inventory.loader import (
    Deployment,
    DeviceEntry,
    PlatformEntry,
    RegionNode,
    SiteNode,
    SwitchEntry,
    effective_defaults,
)
from safecity.inventory.models import (
    ALLOCATE,
    KIND_LABELS,
    AlarmHost,
    AlarmPoint,
    Encoder,
    Location,
)
from safecity.inventory.plan import Plan
from safecity.inventory.profiles import ProfileCatalog
from safecity.inventory.validate import edition_for, sip_platform_for

LAB_ADDRESSES = Path(".lab") / "addresses.json"
# Every GB/T 28181 device derives its SIP password from this one vault variable (secrets.py).
GB_PASSWORD_REF = "vault_gb28181_master_key"
_LOOPBACK = ipaddress.IPv4Network("127.0.0.0/8")

# Group of each front-end kind; ``front_end`` holds them all.
KIND_GROUPS: dict[str, str] = {"ipc": "cameras", "encoder": "encoders", "alarm_host": "alarm_hosts",
                               "nvr": "nvrs"}
# Device kinds that REGISTER on a SIP server themselves (channels and alarm points are catalog items).
_ENROLLING_KINDS = frozenset({"ipc", "encoder", "alarm_host", "nvr"})


@dataclass
class HostRecord:
    name: str
    groups: list[str]
    vars: dict[str, Any] = field(default_factory=dict)


def group_name(prefix: str, value: str) -> str:
    """``site_ds_centre`` from ("site", "ds-centre"): Ansible group names are identifiers."""
    return f"{prefix}_{re.sub(r'[^A-Za-z0-9_]', '_', value)}"


def read_lab_addresses(root: Path) -> dict[str, str]:
    """The lab's real → loopback address map; every target must be in 127.0.0.0/8."""
    path = root / LAB_ADDRESSES
    if not path.exists():
        raise InventoryError([Problem(str(path), 0, "", "lab mode is on but the lab address map is missing; "
                                      "start the lab (safecity lab up) or set 'lab: false'", "lab")])
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InventoryError([Problem(str(path), 0, "", f"unreadable lab address map: {e}", "lab")]) from e
    if not isinstance(raw, dict):
        raise InventoryError([Problem(str(path), 0, "", "lab address map must be a JSON object", "lab")])
    out: dict[str, str] = {}
    for real, lab in raw.items():
        try:
            ok = ipaddress.IPv4Address(str(lab)) in _LOOPBACK
        except ValueError:
            ok = False
        if not ok:
            # A lab run must never reach a real network: refuse the whole map.
            raise InventoryError([Problem(str(path), 0, str(real),
                                          f"lab address {lab!r} is not in 127.0.0.0/8", "lab")])
        out[str(real)] = str(lab)
    return out


def _location(value: Location | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.address:
        return value.address
    if value.lat is not None and value.lon is not None:
        return f"{value.lat},{value.lon}"
    return None


def _label(d: DeviceEntry) -> str:
    return f"{KIND_LABELS[d.kind]} {d.name}"


def _gateway(subnet: str, declared: str) -> str:
    # Same default as the planner's reserved addresses: the first host of the subnet.
    return str(ipaddress.IPv4Network(subnet).network_address + 1) if declared == ALLOCATE else declared


def _mac(value: str | None) -> str | None:
    if not value:
        return None
    return ":".join(value[i:i + 2] for i in range(0, 12, 2))


class _Resolver:
    """Per-call caches over one deployment; one pass per host."""

    def __init__(self, deployment: Deployment, plan: Plan, catalog: ProfileCatalog,
                 address_map: Mapping[str, str] | None) -> None:
        self.d = deployment
        self.plan = plan
        self.catalog = catalog
        self.address_map = address_map
        self.problems: list[Problem] = []
        self._role_servers: dict[tuple[int, str], list[str]] = {}
        self._site_net: dict[int, dict[str, Any]] = {}
        self._platform: dict[int, dict[str, Any]] = {}
        self._networks: dict[str, ipaddress.IPv4Network] = {}

    # --- planned values ----------------------------------------------------------------
    def ip(self, name: str, declared: str, subnet: str | None, file: str, line: int, item: str) -> str | None:
        if declared != ALLOCATE:
            return declared
        planned = self.plan.ips.get(name)
        if planned is None:
            self.problems.append(Problem(file, line, item, "ip is 'allocate' but has no planned address; "
                                         "run 'safecity inventory plan --write'", "plan"))
            return None
        if subnet is not None and ipaddress.IPv4Address(planned) not in self.network(subnet):
            self.problems.append(Problem(file, line, item, f"planned ip {planned} is outside {subnet}: plan.lock.json "
                                         "is stale; run 'safecity inventory plan --write'", "plan"))
        return planned

    def gb_id(self, name: str, declared: str | None, centre: str, file: str, line: int, item: str) -> str | None:
        if declared is None:
            return None
        if declared != ALLOCATE:
            return declared
        planned = self.plan.gb_ids.get(name)
        if planned is None:
            self.problems.append(Problem(file, line, item, "gb_id is 'allocate' but has no planned ID; "
                                         "run 'safecity inventory plan --write'", "plan"))
            return None
        if planned[:8] != centre:
            self.problems.append(Problem(file, line, item, f"planned GB ID {planned} does not start with {centre}: "
                                         "plan.lock.json is stale; run 'safecity inventory plan --write'", "plan"))
        return planned

    def network(self, subnet: str) -> ipaddress.IPv4Network:
        net = self._networks.get(subnet)
        if net is None:
            net = self._networks[subnet] = ipaddress.IPv4Network(subnet)
        return net

    def reach(self, ip: str | None) -> str | None:
        """An address as the control node reaches it: the lab's loopback address in lab mode."""
        if ip is None or self.address_map is None:
            return ip
        return self.address_map.get(ip, ip)

    def ansible_host(self, ip: str | None, file: str, line: int, item: str) -> str | None:
        if ip is None or self.address_map is None:
            return ip
        lab = self.address_map.get(ip)
        if lab is None:
            self.problems.append(Problem(file, line, item, f"lab mode: {ip} has no lab address in "
                                         f"{LAB_ADDRESSES}; limit the inventory to what the lab runs", "lab"))
        return lab

    # --- platform lookups ---------------------------------------------------------------
    def platform_ip(self, p: PlatformEntry) -> str | None:
        return self.ip(p.name, p.server.ip, p.region.region.platform_subnet, p.file, p.line_of("ip"),
                       f"platform server {p.name}")

    def platform_gb(self, p: PlatformEntry) -> str | None:
        return self.gb_id(p.name, p.server.gb_id, p.region.centre_code, p.file, p.line_of("gb_id"),
                          f"platform server {p.name}")

    def role_servers(self, region: RegionNode | None, role: str) -> list[str]:
        """IPs of ``role`` servers of the nearest region up from ``region`` that has any."""
        if region is None:
            return []
        key = (id(region), role)
        cached = self._role_servers.get(key)
        if cached is None:
            cached = []
            for node in region.lineage():
                found = [p for p in node.platform_servers if role in p.server.roles]
                if found:
                    cached = [ip for ip in (self.reach(self.platform_ip(p)) for p in found) if ip]
                    break
            self._role_servers[key] = cached
        return cached

    def tier_servers(self, region: RegionNode) -> list[dict[str, Any]]:
        """``{name, ip, roles}`` of the platform servers a region's devices talk to: every server
        of the nearest region up the tree that has any, plus the nearest SIP/NTP/syslog server
        where that tier lacks the role (what a camera-port ACL must let through)."""
        found: list[PlatformEntry] = []
        tier = next((n for n in region.lineage() if n.platform_servers), None)
        if tier is not None:
            found.extend(tier.platform_servers)
        for role in ("sip", "ntp", "syslog"):
            if any(role in p.server.roles for p in found):
                continue
            for node in region.lineage():
                serving = [p for p in node.platform_servers if role in p.server.roles]
                if serving:
                    found.extend(p for p in serving if all(p is not q for q in found))
                    break
        return [{"name": p.name, "ip": self.reach(self.platform_ip(p)), "roles": list(p.server.roles)}
                for p in found]

    def tier_platform(self, region: RegionNode) -> dict[str, Any]:
        """The SIP/NTP/syslog settings every device of ``region`` gets."""
        cached = self._platform.get(id(region))
        if cached is None:
            sip = sip_platform_for(region)
            sip_id = self.platform_gb(sip) if sip else None
            cached = {
                "safecity_sip_server_id": sip_id,
                "safecity_sip_domain": sip_id[:10] if sip_id else None,
                "safecity_sip_server_ip": self.reach(self.platform_ip(sip)) if sip else None,
                "safecity_sip_server_port": sip.server.sip_port if sip else None,
                "safecity_gb_edition": edition_for(self.d, region),
                "safecity_ntp_servers": self.role_servers(region, "ntp"),
                "safecity_syslog_servers": self.role_servers(region, "syslog"),
            }
            self._platform[id(region)] = cached
        return cached

    def site_network(self, s: SiteNode) -> dict[str, Any]:
        cached = self._site_net.get(id(s))
        if cached is None:
            defaults = effective_defaults(self.d, s)
            cached = {
                "camera_gateway": _gateway(s.site.camera_subnet, s.site.camera_gateway),
                "mgmt_gateway": _gateway(s.site.mgmt_subnet, s.site.mgmt_gateway),
                "dns": [ip for ip in (defaults.dns or []) if ip != ALLOCATE],
                "defaults": defaults,
            }
            self._site_net[id(s)] = cached
        return cached

    # --- hosts --------------------------------------------------------------------------
    def _common(self, region: RegionNode, site: SiteNode | None) -> tuple[list[str], dict[str, Any]]:
        groups = [f"tier_{region.region.tier}", *(group_name("region", r.code) for r in region.lineage())]
        if site is not None:
            groups.append(group_name("site", site.name))
        hv: dict[str, Any] = {
            "safecity_region_code": region.code,
            "safecity_region_name": region.region.name,
            "safecity_tier": region.region.tier,
        }
        if site is not None:
            hv["safecity_site"] = site.name
        return groups, hv

    def device(self, e: DeviceEntry) -> HostRecord:
        dev, site = e.device, e.site
        label = _label(e)
        net = self.site_network(site)
        defaults = net["defaults"]
        profile = self.catalog.device(dev.model)
        vendor = profile.vendor if profile else dev.model.split("/", 1)[0]
        groups, hv = self._common(site.region, site)
        kind_group = KIND_GROUPS[e.kind]
        groups += ["front_end", kind_group, group_name("kind", e.kind), group_name("vendor", vendor),
                   group_name("status", dev.status)]
        ip = self.ip(e.name, dev.ip, site.site.camera_subnet, e.file, e.line_of("ip"), label)
        subnet = self.network(site.site.camera_subnet)
        hv.update({
            "ansible_host": self.ansible_host(ip, e.file, e.line, label),
            "safecity_ip": ip,
            "safecity_kind": e.kind,
            "safecity_model": dev.model,
            "safecity_vendor": vendor,
            "safecity_mac": _mac(dev.mac),
            "safecity_gb_id": self.gb_id(e.name, dev.gb_id, site.centre_code, e.file, e.line_of("gb_id"), label),
            "safecity_credentials": dev.credentials or defaults.credentials,
            "safecity_switch": dev.switch,
            "safecity_switch_port": dev.port,
            "safecity_vlan": site.site.camera_vlan,
            "safecity_subnet": str(subnet),
            "safecity_prefix": subnet.prefixlen,
            "safecity_gateway": net["camera_gateway"],
            "safecity_dns": net["dns"],
            "safecity_category": dev.category or defaults.category,
            "safecity_key_place": dev.key_place,
            "safecity_location": _location(dev.location),
            "safecity_status": dev.status,
            "safecity_staging": dev.staging,
        })
        hv.update(self.tier_platform(site.region))
        if isinstance(dev, Encoder):
            hv["safecity_channels"] = [
                {"name": ch.name,
                 "gb_id": self.gb_id(ch.name, ch.gb_id, site.centre_code, e.file, e.line,
                                     f"encoder channel {ch.name}"),
                 "location": _location(ch.location)}
                for ch in dev.channels]
        if isinstance(dev, AlarmHost):
            hv["safecity_alarm_inputs"] = self._points(dev.inputs, site, e, "alarm input")
            hv["safecity_alarm_outputs"] = self._points(dev.outputs, site, e, "alarm output")
        return HostRecord(e.name, groups, hv)

    def _points(self, points: list[AlarmPoint], site: SiteNode, e: DeviceEntry, what: str) -> list[dict[str, Any]]:
        return [{"name": pt.name,
                 "gb_id": self.gb_id(pt.name, pt.gb_id, site.centre_code, e.file, e.line, f"{what} {pt.name}"),
                 "location": _location(pt.location)} for pt in points]

    def switch(self, e: SwitchEntry, cabled: list[DeviceEntry]) -> HostRecord:
        sw, site = e.switch, e.site
        label = f"switch {e.name}"
        net = self.site_network(site)
        model = self.catalog.switch(sw.model)
        platform = model.platform if model else sw.model.split("/", 1)[0]
        vendor = model.vendor if model else platform
        groups, hv = self._common(site.region, site)
        groups += ["switches", group_name("kind", "switch"), group_name("vendor", vendor),
                   group_name("platform", platform), group_name("status", sw.status)]
        ip = self.ip(e.name, sw.ip, site.site.mgmt_subnet, e.file, e.line_of("ip"), label)
        subnet = self.network(site.site.mgmt_subnet)
        hv.update({
            "ansible_host": self.ansible_host(ip, e.file, e.line, label),
            "safecity_ip": ip,
            "safecity_kind": "switch",
            "safecity_model": sw.model,
            "safecity_vendor": vendor,
            "safecity_platform": platform,
            "safecity_mac": _mac(sw.mac),
            "safecity_credentials": sw.credentials or net["defaults"].switch_credentials,
            "safecity_vlan": site.site.mgmt_vlan,
            "safecity_mgmt_vlan": site.site.mgmt_vlan,
            "safecity_camera_vlan": site.site.camera_vlan,
            "safecity_subnet": str(subnet),
            "safecity_prefix": subnet.prefixlen,
            "safecity_gateway": net["mgmt_gateway"],
            "safecity_dns": net["dns"],
            "safecity_location": _location(sw.location),
            "safecity_status": sw.status,
            "safecity_ports": [{"name": n, "role": r} for n, r in (model.port_roles().items() if model else ())],
            "safecity_uplinks": [{"port": u.port, "to": u.to} for u in sw.uplinks],
            "safecity_access_ports": [
                {"port": d.device.port, "device": d.name,
                 "gb_id": self.gb_id(d.name, d.device.gb_id, site.centre_code, d.file, d.line_of("gb_id"), _label(d)),
                 "mac": _mac(d.device.mac), "vlan": site.site.camera_vlan}
                for d in cabled],
        })
        tier = self.tier_platform(site.region)
        hv["safecity_ntp_servers"] = tier["safecity_ntp_servers"]
        hv["safecity_syslog_servers"] = tier["safecity_syslog_servers"]
        hv["safecity_sip_server_ip"] = tier["safecity_sip_server_ip"]
        hv["safecity_camera_subnet"] = site.site.camera_subnet
        hv["safecity_platform_servers"] = self.tier_servers(site.region)
        return HostRecord(e.name, groups, hv)

    def platform_server(self, p: PlatformEntry, sip_devices: list[dict[str, str]],
                        sites: list[SiteNode]) -> HostRecord:
        srv, region = p.server, p.region
        label = f"platform server {p.name}"
        groups, hv = self._common(region, None)
        groups += ["platform_servers", group_name("kind", "platform_server"),
                   *(group_name("platform_role", r) for r in srv.roles)]
        ip = self.platform_ip(p)
        gb = self.platform_gb(p)
        domain_source = gb or self.tier_platform(region)["safecity_sip_server_id"]
        hv.update({
            "ansible_host": self.ansible_host(ip, p.file, p.line, label),
            "safecity_ip": ip,
            "safecity_kind": "platform_server",
            "safecity_platform_roles": list(srv.roles),
            "safecity_gb_id": gb,
            "safecity_sip_domain": domain_source[:10] if domain_source else None,
            "safecity_sip_port": srv.sip_port,
            "safecity_gb_edition": srv.gb_edition or edition_for(self.d, region),
            "safecity_credentials": srv.credentials,
            "safecity_upstream_ntp": self.role_servers(region.parent, "ntp"),
            "safecity_device_subnets": sorted({s.site.camera_subnet for s in sites},
                                              key=lambda n: ipaddress.IPv4Network(n)),
            "safecity_mgmt_subnets": sorted({s.site.mgmt_subnet for s in sites},
                                            key=lambda n: ipaddress.IPv4Network(n)),
            "safecity_sites": [{"name": s.name, "subnets": [s.site.camera_subnet, s.site.mgmt_subnet]}
                               for s in sites],
            "safecity_sip_devices": sip_devices,
        })
        return HostRecord(p.name, groups, hv)


def _in_scope(region: RegionNode, codes: Collection[str] | None) -> bool:
    return codes is None or any(r.code in codes for r in region.lineage())


def resolve_hosts(deployment: Deployment, plan: Plan, catalog: ProfileCatalog, *,
                  regions: Iterable[str] | None = None, sites: Iterable[str] | None = None,
                  address_map: Mapping[str, str] | None = None,
                  kinds: Collection[str] | None = None) -> list[HostRecord]:
    """Every host of the deployment (or of some regions and everything below them, or of some
    sites) with its groups and ``safecity_*`` variables.

    ``regions`` and ``sites`` both narrow: a host must pass each given filter (platform servers
    belong to no site, so a site limit leaves them out). ``address_map`` (the lab's real →
    loopback map) turns on lab mode: ``ansible_host`` becomes the lab address, and a host
    without one is a problem rather than a real address. ``kinds`` keeps only hosts whose
    ``safecity_kind`` is listed (``{"switch"}`` for a switch sweep: no other host is resolved,
    so no other host can be a problem). Raises ``InventoryError`` listing every host whose
    planned values are missing or stale.
    """
    codes = set(regions) if regions is not None else None
    site_names = set(sites) if sites is not None else None
    r = _Resolver(deployment, plan, catalog, address_map)
    hosts: list[HostRecord] = []

    def site_in_scope(s: SiteNode) -> bool:
        return _in_scope(s.region, codes) and (site_names is None or s.name in site_names)

    def wanted(kind: str) -> bool:
        return kinds is None or kind in kinds

    if site_names is None and wanted("platform_server"):
        # Which SIP server each device (and lower platform) enrolls on: one pass.
        enrolled: dict[int, list[dict[str, str]]] = {}
        for d in deployment.devices:
            if d.kind not in _ENROLLING_KINDS or d.device.status == "decommissioned":
                continue
            sip = sip_platform_for(d.site.region)
            if sip is None or not _in_scope(sip.region, codes):
                continue
            gb = r.gb_id(d.name, d.device.gb_id, d.site.centre_code, d.file, d.line_of("gb_id"), _label(d))
            if gb:
                enrolled.setdefault(id(sip), []).append({"id": gb, "password_ref": GB_PASSWORD_REF})
        for p in deployment.platform_servers:
            if "sip" not in p.server.roles or p.region.parent is None:
                continue
            upper = sip_platform_for(p.region.parent)
            gb = r.platform_gb(p)
            if upper is not None and gb and _in_scope(upper.region, codes):
                # A lower platform cascades up: it registers on the upper SIP server too.
                enrolled.setdefault(id(upper), []).append({"id": gb, "password_ref": GB_PASSWORD_REF})
        below: dict[int, list[SiteNode]] = {}
        for s in deployment.sites:
            for node in s.region.lineage():
                below.setdefault(id(node), []).append(s)
        for p in deployment.platform_servers:
            if _in_scope(p.region, codes):
                hosts.append(r.platform_server(p, enrolled.get(id(p), []) if "sip" in p.server.roles else [],
                                               below.get(id(p.region), [])))

    cabled: dict[str, list[DeviceEntry]] = {}
    for d in deployment.devices:
        if d.device.switch is not None and d.device.port is not None:
            cabled.setdefault(d.device.switch, []).append(d)
    if wanted("switch"):
        for sw in deployment.switches:
            if site_in_scope(sw.site):
                hosts.append(r.switch(sw, cabled.get(sw.name, [])))
    for d in deployment.devices:
        if site_in_scope(d.site) and wanted(d.kind):
            hosts.append(r.device(d))
    if r.problems:
        raise InventoryError(sorted(dict.fromkeys(r.problems), key=lambda p: (p.file, p.line)))
    return hosts
