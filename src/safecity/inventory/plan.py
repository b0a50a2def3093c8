"""Deterministic, stable planning of addresses and GB/T 28181 IDs, persisted like a lockfile.

Rules that keep a running network stable:
- an assignment in ``plan.lock.json`` is kept as long as it is still valid (inside the
  device's pool, not taken explicitly by someone else, ID prefix still right for its site);
- new devices get the lowest free address of their pool, in file order;
- GB serials grow per centre code and are never reused, even after a device is removed
  (the high-water mark stays in the lock), because platforms keep history by ID.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from safecity.errors import PlanError
from safecity.inventory.gbid import (
    INDUSTRY_BY_CATEGORY, TYPE_BY_KIND, TYPE_BY_PLATFORM_ROLE, allowed_network_digits,
    default_network_digit,
)
from safecity.inventory.loader import Deployment, SiteNode, effective_defaults, paused_gc
from safecity.inventory.models import ALLOCATE, AlarmHost, Encoder
from safecity.inventory.validate import (
    edition_for, ip_to_int, iter_gb_items, network_for, reserved_addresses,
)

LOCK_NAME = "plan.lock.json"
LOCK_VERSION = 1


@dataclass
class Plan:
    ips: dict[str, str] = field(default_factory=dict)
    gb_ids: dict[str, str] = field(default_factory=dict)
    serials: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {"version": LOCK_VERSION, "ips": dict(sorted(self.ips.items())),
                "gb_ids": dict(sorted(self.gb_ids.items())),
                "serials": dict(sorted(self.serials.items()))}
        return json.dumps(body, indent=1, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Change:
    what: str        # "ip" | "gb_id"
    key: str         # device / channel / alarm point name
    old: str | None
    new: str | None

    @property
    def action(self) -> str:
        return "add" if self.old is None else "release" if self.new is None else "change"

    def __str__(self) -> str:
        sign = {"add": "+", "release": "-", "change": "~"}[self.action]
        if self.action == "change":
            return f"{sign} {self.what} {self.key}: {self.old} -> {self.new}"
        return f"{sign} {self.what} {self.key}: {self.new or self.old}"


def lock_path(deployment: Deployment) -> Path:
    return deployment.root / LOCK_NAME


def read_lock(path: Path) -> Plan:
    if not path.exists():
        return Plan()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PlanError(f"{path}: unreadable plan lock ({e}); restore it from version control") from e
    if not isinstance(raw, dict) or raw.get("version") != LOCK_VERSION:
        raise PlanError(f"{path}: unsupported plan lock version {raw.get('version') if isinstance(raw, dict) else '?'}")
    return Plan(dict(raw.get("ips", {})), dict(raw.get("gb_ids", {})),
                {k: int(v) for k, v in raw.get("serials", {}).items()})


def write_lock(path: Path, plan: Plan) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(plan.to_json(), encoding="utf-8")
    os.replace(tmp, path)


class _Pool:
    """Free addresses of one subnet, lowest first, skipping reserved and taken ones."""

    def __init__(self, subnet: str, reserved: set[str]) -> None:
        self.net = ipaddress.IPv4Network(subnet)
        self.reserved = reserved
        self._first = int(self.net.network_address)
        self._broadcast = int(self.net.broadcast_address)
        self._next = self._first + (0 if self.net.prefixlen >= 31 else 1)
        self._last = self._broadcast - (0 if self.net.prefixlen >= 31 else 1)

    def contains(self, ip: str) -> bool:
        addr = ip_to_int(ip)
        if not self._first <= addr <= self._broadcast or ip in self.reserved:
            return False
        return self.net.prefixlen >= 31 or addr not in (self._first, self._broadcast)

    def take(self, used: set[str]) -> str | None:
        while self._next <= self._last:
            # inet_ntoa: the same dotted quad as str(IPv4Address(n)), without the object.
            ip = socket.inet_ntoa(self._next.to_bytes(4, "big"))
            self._next += 1
            if ip not in used and ip not in self.reserved:
                return ip
        return None


def _industry(deployment: Deployment, site: SiteNode, category: str | None, industry: str | None) -> str:
    if industry:
        return industry
    if category:
        return INDUSTRY_BY_CATEGORY[category]
    d = effective_defaults(deployment, site)
    if d.industry:
        return d.industry
    if d.category:
        return INDUSTRY_BY_CATEGORY[d.category]
    return "00"


def _gb_requests(deployment: Deployment) -> Iterator[tuple[str, str, str, str, set[str], set[str]]]:
    """(key, gb_id or allocate, prefix for a new ID, centre, allowed types, allowed net digits)."""
    extra: dict[str, tuple[str | None, str | None]] = {}
    for d in deployment.devices:
        extra[d.name] = (d.device.category, d.device.industry)
        if isinstance(d.device, Encoder):
            for ch in d.device.channels:
                extra[ch.name] = (ch.category or d.device.category, d.device.industry)
        if isinstance(d.device, AlarmHost):
            for pt in [*d.device.inputs, *d.device.outputs]:
                extra[pt.name] = (d.device.category, d.device.industry)
    # Edition and network are per site; computed once per site, not once per device.
    per_site: dict[int, tuple[set[str], str]] = {}
    types_by_kind = {kind: set(types) for kind, types in TYPE_BY_KIND.items()}
    for key, gb, kind, site, _where in iter_gb_items(deployment):
        if site is None:
            continue
        category, industry = extra.get(key, (None, None))
        cached = per_site.get(id(site))
        if cached is None:
            edition = edition_for(deployment, site.region)
            network = network_for(deployment, site)
            site_digits = set(allowed_network_digits(edition, network))
            cached = per_site[id(site)] = (
                site_digits, default_network_digit(edition, network) if site_digits else "0")
        digits, net_digit = cached
        types = types_by_kind[kind]
        prefix = site.centre_code + _industry(deployment, site, category, industry) + TYPE_BY_KIND[kind][0] + net_digit
        yield key, gb, prefix, site.centre_code, types, digits
    for p in deployment.platform_servers:
        server_gb = p.server.gb_id
        if server_gb is None:
            continue
        roles = [TYPE_BY_PLATFORM_ROLE[r] for r in p.server.roles if r in TYPE_BY_PLATFORM_ROLE]
        if not roles:
            continue
        edition = p.server.gb_edition or deployment.header.gb_edition
        digits = set(allowed_network_digits(edition, deployment.header.network))
        net_digit = default_network_digit(edition, deployment.header.network) if digits else "0"
        prefix = p.region.centre_code + "00" + roles[0] + net_digit
        yield p.name, server_gb, prefix, p.region.centre_code, set(roles), digits


def compute_plan(deployment: Deployment, previous: Plan) -> tuple[Plan, list[Change]]:
    """The plan for the current inventory, reusing ``previous`` wherever still valid."""
    with paused_gc():
        return _compute_plan(deployment, previous)


def _compute_plan(deployment: Deployment, previous: Plan) -> tuple[Plan, list[Change]]:
    plan = Plan(serials=dict(previous.serials))

    # --- addresses ------------------------------------------------------------------------
    explicit: set[str] = set()
    for p in deployment.platform_servers:
        if p.server.ip != ALLOCATE:
            explicit.add(p.server.ip)
    for sw in deployment.switches:
        if sw.switch.ip != ALLOCATE:
            explicit.add(sw.switch.ip)
    for d in deployment.devices:
        if d.device.ip != ALLOCATE:
            explicit.add(d.device.ip)
    used = set(explicit)
    requests: list[tuple[str, _Pool]] = []
    by_site: dict[int, list[str]] = {}
    for d in deployment.devices:
        if d.device.ip == ALLOCATE:
            by_site.setdefault(id(d.site), []).append(d.name)
    sw_by_site: dict[int, list[str]] = {}
    for sw in deployment.switches:
        if sw.switch.ip == ALLOCATE:
            sw_by_site.setdefault(id(sw.site), []).append(sw.name)
    for s in deployment.sites:
        cam_pool = _Pool(s.site.camera_subnet, reserved_addresses(s, "camera"))
        mgmt_pool = _Pool(s.site.mgmt_subnet, reserved_addresses(s, "mgmt"))
        requests += [(name, mgmt_pool) for name in sw_by_site.get(id(s), ())]
        requests += [(name, cam_pool) for name in by_site.get(id(s), ())]
    for r in deployment.regions.values():
        wanting = [p for p in r.platform_servers if p.server.ip == ALLOCATE]
        if wanting:
            if not r.region.platform_subnet:
                raise PlanError(f"{r.file}:{r.line}: region {r.code}: platform servers want an address but the "
                                "region has no platform_subnet")
            pool = _Pool(r.region.platform_subnet, {str(ipaddress.IPv4Network(r.region.platform_subnet).network_address + 1)})
            requests += [(p.name, pool) for p in wanting]
    pending: list[tuple[str, _Pool]] = []
    for name, pool in requests:
        old = previous.ips.get(name)
        if old and old not in used and pool.contains(old):
            plan.ips[name] = old
            used.add(old)
        else:
            pending.append((name, pool))
    for name, pool in pending:
        ip = pool.take(used)
        if ip is None:
            raise PlanError(f"address pool {pool.net} is exhausted while planning {name}")
        plan.ips[name] = ip
        used.add(ip)

    # --- GB/T 28181 IDs --------------------------------------------------------------------
    gb_requests = list(_gb_requests(deployment))
    taken: set[str] = set()
    for _key, gb, _prefix, centre, _t, _n in gb_requests:
        if gb != ALLOCATE:
            taken.add(gb)
            plan.serials[centre] = max(plan.serials.get(centre, 0), int(gb[14:]))
    for gb in previous.gb_ids.values():
        plan.serials[gb[:8]] = max(plan.serials.get(gb[:8], 0), int(gb[14:]))
    new_needed: list[tuple[str, str, str]] = []
    for key, gb, prefix, centre, types, digits in gb_requests:
        if gb != ALLOCATE:
            continue
        old = previous.gb_ids.get(key)
        if old and old not in taken and old[:8] == centre and old[10:13] in types and (not digits or old[13] in digits):
            plan.gb_ids[key] = old
            taken.add(old)
        else:
            new_needed.append((key, prefix, centre))
    for key, prefix, centre in new_needed:
        serial = plan.serials.get(centre, 0) + 1
        while f"{prefix}{serial:06d}" in taken:
            serial += 1
        if serial > 999_999:
            raise PlanError(f"GB/T 28181 serials exhausted for centre code {centre} while planning {key}")
        plan.serials[centre] = serial
        gb = f"{prefix}{serial:06d}"
        plan.gb_ids[key] = gb
        taken.add(gb)
    return plan, diff_plans(previous, plan)


def diff_plans(old: Plan, new: Plan) -> list[Change]:
    changes: list[Change] = []
    for what, a, b in (("ip", old.ips, new.ips), ("gb_id", old.gb_ids, new.gb_ids)):
        for key in sorted(a.keys() | b.keys()):
            if a.get(key) != b.get(key):
                changes.append(Change(what, key, a.get(key), b.get(key)))
    return changes
