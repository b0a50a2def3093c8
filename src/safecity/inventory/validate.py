"""Cross-file validation: every rule runs, every problem is reported with file:line and item.

Nothing here talks to a device. ``validate`` returns problems; callers decide to stop.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, NamedTuple

from safecity.errors import Problem
from safecity.inventory.gbid import (
    TYPE_BY_KIND, TYPE_BY_PLATFORM_ROLE, TYPE_NAMES, allowed_network_digits,
)
from safecity.inventory.loader import (
    Deployment, DeviceEntry, PlatformEntry, RegionNode, SiteNode, SwitchEntry, effective_defaults,
    paused_gc,
)
from safecity.inventory.models import ALLOCATE, KIND_LABELS, AlarmHost, Encoder
from safecity.inventory.profiles import ProfileCatalog, SwitchModel

# Kinds a staging workflow onboards (the ONVIF-provisioned ones).
STAGED_KINDS = frozenset({"ipc", "encoder"})

# A dotted quad exactly as ``ipaddress.IPv4Address`` accepts it (no leading zeros).
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD_RE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


class Where(NamedTuple):
    # A tuple, not a dataclass: one is made per device and rule, 10^6 of them at province scale.
    file: str
    line: int
    item: str


def ip_to_int(ip: str) -> int:
    """``int(IPv4Address(ip))``, ~10x faster for well-formed addresses; same ValueError otherwise."""
    if _DOTTED_QUAD_RE.fullmatch(ip):
        return int.from_bytes(socket.inet_aton(ip), "big")
    return int(ipaddress.IPv4Address(ip))


class _Subnets:
    """Parsed subnets by their text: (network int, broadcast int, prefix length, network)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[int, int, int, ipaddress.IPv4Network]] = {}

    def get(self, subnet: str) -> tuple[int, int, int, ipaddress.IPv4Network]:
        info = self._cache.get(subnet)
        if info is None:
            net = ipaddress.IPv4Network(subnet)
            info = (int(net.network_address), int(net.broadcast_address), net.prefixlen, net)
            self._cache[subnet] = info
        return info


def port_roles_of(model: SwitchModel, cache: dict[str, dict[str, str]]) -> dict[str, str]:
    """``model.port_roles()``, computed once per model rather than once per device."""
    roles = cache.get(model.key)
    if roles is None:
        roles = cache[model.key] = model.port_roles()
    return roles


def sip_platform_for(region: RegionNode) -> PlatformEntry | None:
    """The tier platform a region's devices enroll on: nearest SIP server up the tree."""
    for node in region.lineage():
        for p in node.platform_servers:
            if "sip" in p.server.roles:
                return p
    return None


def edition_for(deployment: Deployment, region: RegionNode) -> int:
    platform = sip_platform_for(region)
    if platform is not None and platform.server.gb_edition:
        return platform.server.gb_edition
    return deployment.header.gb_edition


def network_for(deployment: Deployment, site: SiteNode) -> str:
    if site.site.network:
        return site.site.network
    d = effective_defaults(deployment, site)
    return d.network or deployment.header.network


def _label(entry: DeviceEntry) -> str:
    return f"{KIND_LABELS[entry.device.kind]} {entry.device.name}"  # type: ignore[attr-defined]


def iter_gb_items(deployment: Deployment) -> Iterator[tuple[str, str, str, SiteNode | None, Where]]:
    """(item key, gb_id or 'allocate', gb kind, site, where) for everything that carries an ID."""
    for d in deployment.devices:
        where = Where(d.file, d.line_of("gb_id"), _label(d))
        yield d.name, d.device.gb_id, d.kind, d.site, where
        if isinstance(d.device, Encoder):
            for ch in d.device.channels:
                yield ch.name, ch.gb_id, "encoder_channel", d.site, Where(d.file, d.line, f"encoder channel {ch.name}")
        if isinstance(d.device, AlarmHost):
            for pt in d.device.inputs:
                yield pt.name, pt.gb_id, "alarm_input", d.site, Where(d.file, d.line, f"alarm input {pt.name}")
            for pt in d.device.outputs:
                yield pt.name, pt.gb_id, "alarm_output", d.site, Where(d.file, d.line, f"alarm output {pt.name}")


def validate(deployment: Deployment, catalog: ProfileCatalog) -> list[Problem]:
    """Every cross-file rule; problems in rule order (callers sort by place)."""
    with paused_gc():
        return _validate(deployment, catalog)


def _validate(deployment: Deployment, catalog: ProfileCatalog) -> list[Problem]:
    problems: list[Problem] = []
    add = problems.append

    def dup_check(what: str, seen: dict[Any, Where], value: Any, where: Where, rule: str = "duplicate") -> None:
        first = seen.setdefault(value, where)
        if first is not where:
            add(Problem(where.file, where.line, where.item,
                        f"{what} {value} is already used by {first.item} ({first.file}:{first.line})", rule))

    subnets = _Subnets()
    roles_cache: dict[str, dict[str, str]] = {}
    labels = [_label(d) for d in deployment.devices]
    gb_items = list(iter_gb_items(deployment))      # walked twice below: names, then GB IDs

    # --- names, everywhere -------------------------------------------------------------
    names: dict[str, Where] = {}
    for s in deployment.sites:
        dup_check("name", names, s.name, Where(s.file, s.line, f"site {s.name}"))
        for kp in s.site.key_places:
            dup_check("name", names, kp.name, Where(s.file, s.line, f"key place {kp.name}"))
    for p in deployment.platform_servers:
        dup_check("name", names, p.name, Where(p.file, p.line, f"platform server {p.name}"))
    for sw in deployment.switches:
        dup_check("name", names, sw.name, Where(sw.file, sw.line, f"switch {sw.name}"))
    for key, _gb, _kind, _site, where in gb_items:
        dup_check("name", names, key, Where(where.file, where.line, where.item))

    # --- subnets don't overlap ------------------------------------------------------
    nets: list[tuple[ipaddress.IPv4Network, Where]] = []
    for s in deployment.sites:
        for attr in ("camera_subnet", "mgmt_subnet"):
            nets.append((ipaddress.IPv4Network(getattr(s.site, attr)), Where(s.file, s.line, f"site {s.name}")))
    for r in deployment.regions.values():
        if r.region.platform_subnet:
            nets.append((ipaddress.IPv4Network(r.region.platform_subnet), Where(r.file, r.line, f"region {r.code}")))
    nets.sort(key=lambda t: (int(t[0].network_address), -t[0].prefixlen))
    for (a, wa), (b, wb) in zip(nets, nets[1:]):
        if a.overlaps(b):
            add(Problem(wb.file, wb.line, wb.item, f"subnet {b} overlaps {a} of {wa.item} ({wa.file}:{wa.line})", "subnet"))

    # --- addresses: explicit IPs unique and inside their pool ------------------------------
    ips: dict[str, Where] = {}
    macs: dict[str, Where] = {}
    for s in deployment.sites:
        for attr in ("camera_gateway", "mgmt_gateway"):
            gw = getattr(s.site, attr)
            if gw != ALLOCATE:
                net = ipaddress.IPv4Network(getattr(s.site, attr.replace("gateway", "subnet")))
                if ipaddress.IPv4Address(gw) not in net:
                    add(Problem(s.file, s.line, f"site {s.name}", f"{attr} {gw} is outside {net}", "subnet"))

    def check_ip(ip: str, subnet: str | None, where: Where, reserved: set[str]) -> None:
        if ip == ALLOCATE:
            return
        dup_check("ip", ips, ip, where)
        if subnet is None:
            return
        first, last, prefixlen, net = subnets.get(subnet)
        addr = ip_to_int(ip)
        if not first <= addr <= last:
            add(Problem(where.file, where.line, where.item, f"ip {ip} is outside the subnet {net}", "subnet"))
        elif prefixlen < 31 and addr in (first, last):
            add(Problem(where.file, where.line, where.item,
                        f"ip {ip} is the {'network' if addr == first else 'broadcast'} address of {net}", "subnet"))
        elif ip in reserved:
            add(Problem(where.file, where.line, where.item, f"ip {ip} is reserved (gateway or reserved list)", "subnet"))

    site_reserved: dict[int, tuple[set[str], set[str]]] = {}
    for s in deployment.sites:
        site_reserved[id(s)] = (reserved_addresses(s, "camera"), reserved_addresses(s, "mgmt"))
    for p in deployment.platform_servers:
        check_ip(p.server.ip, p.region.region.platform_subnet, Where(p.file, p.line_of("ip"), f"platform server {p.name}"), set())
    for sw in deployment.switches:
        check_ip(sw.switch.ip, sw.site.site.mgmt_subnet, Where(sw.file, sw.line_of("ip"), f"switch {sw.name}"),
                 site_reserved[id(sw.site)][1])
        if sw.switch.mac:
            dup_check("mac", macs, sw.switch.mac, Where(sw.file, sw.line_of("mac"), f"switch {sw.name}"))
    for d, label in zip(deployment.devices, labels):
        check_ip(d.device.ip, d.site.site.camera_subnet, Where(d.file, d.line_of("ip"), label),
                 site_reserved[id(d.site)][0])
        dup_check("mac", macs, d.device.mac, Where(d.file, d.line_of("mac"), label))

    # --- models, ports, credentials, capacities --------------------------------------------
    switches_by_name: dict[str, SwitchEntry] = {sw.name: sw for sw in deployment.switches}
    port_users: dict[tuple[str, str], Where] = {}
    for sw in deployment.switches:
        model = catalog.switch(sw.switch.model)
        where = Where(sw.file, sw.line_of("model"), f"switch {sw.name}")
        if model is None:
            add(Problem(where.file, where.line, where.item,
                        f"unknown switch model '{sw.switch.model}' (no device_templates/switches/<platform>/models/<model>.yml)",
                        "profile"))
            continue
        roles = port_roles_of(model, roles_cache)
        for up in sw.switch.uplinks:
            if up.port not in roles:
                add(Problem(sw.file, sw.line, f"switch {sw.name}",
                            f"uplink port {up.port} does not exist on {sw.switch.model}", "port"))
            else:
                dup_check("port", port_users, f"{sw.name}:{up.port}", Where(sw.file, sw.line, f"switch {sw.name} uplink"), "port")
        if not (sw.switch.credentials or effective_defaults(deployment, sw.site).switch_credentials):
            add(Problem(sw.file, sw.line, f"switch {sw.name}",
                        "no credentials: set 'credentials: vault_<name>' here or 'switch_credentials' in defaults", "secret"))
    for d, label in zip(deployment.devices, labels):
        profile = catalog.device(d.device.model)
        if profile is None:
            add(Problem(d.file, d.line_of("model"), label,
                        f"unknown model profile '{d.device.model}' (expected device_templates/<family>/<vendor>/<model>.yml)",
                        "profile"))
        elif profile.kind != d.kind:
            add(Problem(d.file, d.line_of("model"), label,
                        f"model {d.device.model} is a {KIND_LABELS[profile.kind]}, not a {KIND_LABELS[d.kind]}", "profile"))
        else:
            if isinstance(d.device, Encoder) and len(d.device.channels) > profile.channels:
                add(Problem(d.file, d.line_of("channels"), label,
                            f"{len(d.device.channels)} channels but model {profile.model} has only {profile.channels}",
                            "capacity"))
            if isinstance(d.device, AlarmHost):
                for what, have, cap in (("inputs", len(d.device.inputs), profile.alarm_inputs),
                                        ("outputs", len(d.device.outputs), profile.alarm_outputs)):
                    if have > cap:
                        add(Problem(d.file, d.line_of(what), label,
                                    f"{have} alarm {what} but model {profile.model} has only {cap}", "capacity"))
        if d.device.staging and d.kind not in STAGED_KINDS:
            add(Problem(d.file, d.line_of("staging"), label,
                        f"staging: true applies to cameras and encoders, not a {KIND_LABELS[d.kind]}",
                        "staging"))
        if (d.device.switch is None) != (d.device.port is None):
            add(Problem(d.file, d.line, label, "give both 'switch' and 'port' (or neither)", "port"))
        elif d.device.switch is not None and d.device.port is not None:
            sw_entry = switches_by_name.get(d.device.switch)
            if sw_entry is None:
                add(Problem(d.file, d.line_of("switch"), label, f"switch {d.device.switch} is not in the inventory", "port"))
            else:
                model = catalog.switch(sw_entry.switch.model)
                if model is not None:
                    role = port_roles_of(model, roles_cache).get(d.device.port)
                    if role is None:
                        add(Problem(d.file, d.line_of("port"), label,
                                    f"port {d.device.port} does not exist on switch {sw_entry.name} ({sw_entry.switch.model})",
                                    "port"))
                    elif role != "access":
                        add(Problem(d.file, d.line_of("port"), label,
                                    f"port {d.device.port} on switch {sw_entry.name} is an uplink, not an access port", "port"))
                    else:
                        dup_check("port", port_users, f"{sw_entry.name}:{d.device.port}",
                                  Where(d.file, d.line_of("port"), label), "port")
                if sw_entry.site is not d.site:
                    add(Problem(d.file, d.line_of("switch"), label,
                                f"switch {sw_entry.name} is in site {sw_entry.site.name}, not {d.site.name}", "port"))
        if not (d.device.credentials or effective_defaults(deployment, d.site).credentials):
            add(Problem(d.file, d.line, label,
                        "no credentials: set 'credentials: vault_<name>' here or in the site/region defaults", "secret"))
        if d.device.key_place and d.device.key_place not in {k.name for k in d.site.site.key_places}:
            add(Problem(d.file, d.line_of("key_place"), label,
                        f"key place {d.device.key_place} is not declared in site {d.site.name}", "schema"))

    # --- GB/T 28181 IDs ------------------------------------------------------------------
    gb_seen: dict[str, Where] = {}
    site_digits: dict[int, tuple[int, str, tuple[str, ...]]] = {}
    for _key, gb, kind, site, where in gb_items:
        if gb == ALLOCATE or site is None:
            continue
        dup_check("GB ID", gb_seen, gb, where)
        centre = site.centre_code
        if gb[:8] != centre:
            add(Problem(where.file, where.line, where.item,
                        f"GB ID {gb}: centre code {gb[:8]} does not match site {site.name} ({centre})", "gb_id"))
        allowed = TYPE_BY_KIND[kind]
        if gb[10:13] not in allowed:
            add(Problem(where.file, where.line, where.item,
                        f"GB ID {gb}: type {gb[10:13]} ({TYPE_NAMES.get(gb[10:13], 'unknown')}) is not valid for a "
                        f"{kind.replace('_', ' ')} (expected {'/'.join(allowed)})", "gb_id"))
        cached = site_digits.get(id(site))
        if cached is None:
            edition = edition_for(deployment, site.region)
            network = network_for(deployment, site)
            cached = site_digits[id(site)] = (edition, network, allowed_network_digits(edition, network))
        edition, network, digits = cached
        if gb[13] not in digits:
            add(Problem(where.file, where.line, where.item,
                        f"GB ID {gb}: network digit {gb[13]} is not valid on the {network.replace('_', ' ')} network "
                        f"under GB/T 28181-{edition} (allowed: {', '.join(digits) or 'none'})", "gb_id"))
    for p in deployment.platform_servers:
        server_gb = p.server.gb_id
        where = Where(p.file, p.line_of("gb_id"), f"platform server {p.name}")
        if "sip" in p.server.roles and not server_gb:
            add(Problem(where.file, where.line, where.item, "a SIP platform server needs its 20-digit gb_id", "gb_id"))
        if not server_gb or server_gb == ALLOCATE:
            continue
        dup_check("GB ID", gb_seen, server_gb, where)
        if server_gb[:8] != p.region.centre_code:
            add(Problem(where.file, where.line, where.item,
                        f"GB ID {server_gb}: centre code {server_gb[:8]} does not match region {p.region.code} ({p.region.centre_code})",
                        "gb_id"))
        allowed_types = {TYPE_BY_PLATFORM_ROLE[r] for r in p.server.roles if r in TYPE_BY_PLATFORM_ROLE}
        if allowed_types and server_gb[10:13] not in allowed_types:
            add(Problem(where.file, where.line, where.item,
                        f"GB ID {server_gb}: type {server_gb[10:13]} does not match roles {', '.join(p.server.roles)} "
                        f"(expected {'/'.join(sorted(allowed_types))})", "gb_id"))
        edition = p.server.gb_edition or deployment.header.gb_edition
        if server_gb[13] not in allowed_network_digits(edition, deployment.header.network):
            add(Problem(where.file, where.line, where.item,
                        f"GB ID {server_gb}: network digit {server_gb[13]} is not valid under GB/T 28181-{edition} on the "
                        f"{deployment.header.network.replace('_', ' ')} network", "gb_id"))

    # --- every site has a tier platform to enroll on -------------------------------------
    missing: dict[str, list[SiteNode]] = defaultdict(list)
    for s in deployment.sites:
        if sip_platform_for(s.region) is None:
            missing[s.region.code].append(s)
    for code, sites in missing.items():
        r = deployment.regions[code]
        add(Problem(r.file, r.line, f"region {code}",
                    f"no SIP platform server in this region or above it for sites {', '.join(x.name for x in sites[:5])}",
                    "topology"))
    return problems


def reserved_addresses(site: SiteNode, pool: str) -> set[str]:
    """Gateway (default: first host) and explicitly reserved addresses of a site pool."""
    net = ipaddress.IPv4Network(getattr(site.site, f"{pool}_subnet"))
    gw = getattr(site.site, f"{pool}_gateway")
    gateway = str(net.network_address + 1) if gw == ALLOCATE else gw
    return {gateway, *(r for r in site.site.reserved if r != ALLOCATE)}
