"""From resolved inventory hosts to sweep targets: where to connect, with which credentials,
which checks apply. Reads the inventory (``resolve_hosts``) once; never touches a device.

Secrets are resolved here from the vault and kept in fields with ``repr=False``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from safecity.errors import SafecityError
from safecity.health.models import RegionInfo
from safecity.inventory.loader import Deployment
from safecity.inventory.plan import Plan
from safecity.inventory.profiles import ProfileCatalog
from safecity.inventory.resolve import HostRecord, resolve_hosts
from safecity.vault import SecretMissing, Secrets

DEFAULT_RPC_PORT = 5080       # Kamailio jsonrpcs over xhttp, and the lab registrar
ONVIF_KINDS = frozenset({"ipc", "encoder", "nvr"})
SWITCH_USERNAME = "admin"     # switches are staged over the console with this account (the lab's too)


class InventoryScopeError(SafecityError):
    """A shard names a region the deployment does not have."""


def shard_scope(regions: Iterable[str] | None, exclude_regions: Iterable[str] | None = None) -> str:
    """The name a shard's nights are stored and merged under: ``all``, ``340100``,
    ``340000 except 340100,340200``."""
    scope = ",".join(sorted(regions)) if regions else "all"
    excluded = sorted(exclude_regions or ())
    return f"{scope} except {','.join(excluded)}" if excluded else scope


@dataclass(frozen=True)
class Ports:
    http: int = 80
    rtsp: int = 554
    ssh: int = 22
    rpc: int = DEFAULT_RPC_PORT


@dataclass
class CameraTarget:
    name: str
    kind: str
    host: str
    region_code: str
    site: str | None
    http_port: int
    rtsp_port: int
    snapshot_path: str                # the main stream's picture
    rtsp_path: str
    username: str
    password: str = field(repr=False)
    default_password: str | None = field(default=None, repr=False)
    gb_id: str | None = None
    platform: str | None = None       # name of the SIP platform the device enrolls on
    uptime_path: str | None = None    # the vendor's uptime API (vendors/*.yml ``uptime``), if any
    uptime_pattern: re.Pattern[bytes] | None = field(default=None, repr=False)  # shared per vendor
    snapshot_sub_path: str | None = None   # the sub stream's picture, where the vendor has one


@dataclass
class SwitchTarget:
    name: str
    host: str
    region_code: str
    site: str | None
    ssh_port: int
    platform: str | None = None                 # device_templates/switches/<platform>
    username: str | None = None
    password: str | None = field(default=None, repr=False)   # None: reachability only
    uplinks: tuple[str, ...] = ()               # the inventory's uplink ports (full names)


@dataclass
class PlatformTarget:
    name: str
    host: str
    region_code: str
    rpc_url: str


@dataclass
class SkippedTarget:
    name: str
    kind: str
    region_code: str
    site: str | None
    reason: str


@dataclass
class SweepPlan:
    cameras: list[CameraTarget] = field(default_factory=list)
    switches: list[SwitchTarget] = field(default_factory=list)
    platforms: list[PlatformTarget] = field(default_factory=list)
    skipped: list[SkippedTarget] = field(default_factory=list)
    regions: list[RegionInfo] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.cameras) + len(self.switches) + len(self.platforms) + len(self.skipped)


def region_table(deployment: Deployment) -> list[RegionInfo]:
    return [RegionInfo(code, node.region.name, node.region.tier,
                       node.parent.code if node.parent else None)
            for code, node in sorted(deployment.regions.items())]


def read_lab_ports(deployment_root: Path, fallback: Ports) -> Ports:
    """The ports the running lab serves (``lab up --http-port …`` writes them to options.json)."""
    path = deployment_root.resolve() / ".lab" / "options.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return fallback
    return Ports(http=int(raw.get("http_port", fallback.http)), rtsp=int(raw.get("rtsp_port", fallback.rtsp)),
                 ssh=int(raw.get("ssh_port", fallback.ssh)), rpc=fallback.rpc)


def plan_sweep(deployment: Deployment, plan: Plan, catalog: ProfileCatalog, secrets: Secrets, *,
               ports: Ports | None = None, regions: Iterable[str] | None = None,
               exclude_regions: Iterable[str] | None = None,
               address_map: Mapping[str, str] | None = None) -> SweepPlan:
    """Every host of the deployment (or of ``regions``) as a sweep target.

    ``exclude_regions`` leaves out those regions and everything below them: the province's own
    shard is ``regions=[province], exclude_regions=[every city with a runner of its own]``.

    ``address_map`` (lab mode: real → loopback) is applied here rather than in ``resolve_hosts``
    so that hosts the lab does not simulate are skipped with a reason instead of failing the run;
    a host without a lab address is never dialled.
    """
    hdr = deployment.header
    ports = ports or Ports(hdr.http_port, hdr.rtsp_port, hdr.ssh_port)
    hosts = resolve_hosts(deployment, plan, catalog, regions=regions)
    if exclude_regions:
        excluded = set(exclude_regions)
        unknown = sorted(excluded - set(deployment.regions))
        if unknown:
            raise InventoryScopeError(f"exclude_regions: no such region {', '.join(unknown)}")
        hosts = [h for h in hosts
                 if not any(n.code in excluded
                            for n in deployment.regions[str(h.vars["safecity_region_code"])].lineage())]
    if address_map is not None:
        for h in hosts:
            h.vars["ansible_host"] = address_map.get(str(h.vars.get("safecity_ip")))
            sip = h.vars.get("safecity_sip_server_ip")
            h.vars["safecity_sip_server_ip"] = address_map.get(str(sip)) if sip else None
    out = SweepPlan(regions=region_table(deployment))
    platform_by_ip: dict[str, str] = {}
    for h in hosts:
        v = h.vars
        if v["safecity_kind"] == "platform_server" and "sip" in v.get("safecity_platform_roles", []) \
                and v.get("ansible_host"):
            platform_by_ip[str(v["ansible_host"])] = h.name
            out.platforms.append(PlatformTarget(h.name, str(v["ansible_host"]), str(v["safecity_region_code"]),
                                                f"http://{v['ansible_host']}:{ports.rpc}/RPC"))
    for h in hosts:
        _add_host(out, h, catalog, secrets, ports, platform_by_ip)
    return out


def _add_host(out: SweepPlan, h: HostRecord, catalog: ProfileCatalog, secrets: Secrets, ports: Ports,
              platform_by_ip: Mapping[str, str]) -> None:
    v = h.vars
    kind = str(v["safecity_kind"])
    region, site = str(v["safecity_region_code"]), v.get("safecity_site")
    if kind == "platform_server":
        return
    if not v.get("ansible_host"):
        out.skipped.append(SkippedTarget(h.name, kind, region, site, "no address to reach (not in the lab)"))
        return
    if v.get("safecity_status") != "installed":
        out.skipped.append(SkippedTarget(h.name, kind, region, site, f"status {v.get('safecity_status')}"))
        return
    if kind == "switch":
        try:
            switch_password: str | None = secrets.get(str(v["safecity_credentials"]))
        except SecretMissing:
            switch_password = None      # reachability is still checked; uplinks need a login
        out.switches.append(SwitchTarget(
            h.name, str(v["ansible_host"]), region, site, ports.ssh, platform=v.get("safecity_platform"),
            username=SWITCH_USERNAME, password=switch_password,
            uplinks=tuple(str(u["port"]) for u in v.get("safecity_uplinks") or ())))
        return
    profile = catalog.device(str(v["safecity_model"]))
    behaviour = profile.behaviour if profile else None
    if kind not in ONVIF_KINDS or behaviour is None:
        out.skipped.append(SkippedTarget(h.name, kind, region, site, "no network probe for this kind/model"))
        return
    try:
        password = secrets.get(str(v["safecity_credentials"]))
    except SecretMissing as e:
        out.skipped.append(SkippedTarget(h.name, kind, region, site, str(e)))
        return
    factory, uptime = behaviour.factory, behaviour.uptime
    out.cameras.append(CameraTarget(
        name=h.name, kind=kind, host=str(v["ansible_host"]), region_code=region, site=site,
        http_port=ports.http, rtsp_port=ports.rtsp,
        snapshot_path=behaviour.snapshot_path.format(channel=1),
        rtsp_path=behaviour.rtsp.sub_path.format(channel=1),
        username=factory.default_username, password=password,
        default_password=factory.default_password,
        gb_id=v.get("safecity_gb_id"),
        platform=platform_by_ip.get(str(v.get("safecity_sip_server_ip"))),
        uptime_path=uptime.path if uptime else None,
        uptime_pattern=uptime.compiled() if uptime else None,
        snapshot_sub_path=behaviour.snapshot_sub_path.format(channel=1) if behaviour.snapshot_sub_path else None))
