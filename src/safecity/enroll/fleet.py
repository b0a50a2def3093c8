"""A scope of the deployment (all, some regions, some sites) as enrollment and verification see
it: resolved hosts, the tier platforms, where each host is reached from here, and the vault.

Lab mode reaches every device at its ``.lab/addresses.json`` loopback address on the lab's
ports (``.lab/options.json``) and reads the lab's own vault; hosts the lab does not simulate
(a model without vendor data) are reported as such, never dialled.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from safecity.enroll.targets import DEFAULT_RPC_PORT, PlatformRef
from safecity.errors import InventoryError, Problem, SafecityError
from safecity.inventory.loader import Deployment
from safecity.inventory.lock_lookup import read_lock_for
from safecity.inventory.models import ALLOCATE
from safecity.inventory.profiles import ProfileCatalog
from safecity.inventory.resolve import HostRecord, read_lab_addresses, resolve_hosts
from safecity.inventory.scope import load_scoped
from safecity.vault import read_vault

LAB_DIR = ".lab"


@dataclass(frozen=True)
class Ports:
    http: int = 80
    rtsp: int = 554
    ssh: int = 22
    rpc: int = DEFAULT_RPC_PORT


@dataclass
class FleetView:
    root: Path
    deployment: Deployment
    catalog: ProfileCatalog
    hosts: list[HostRecord]
    ports: Ports
    lab: bool
    address_map: dict[str, str] | None          # real → loopback (lab mode)
    platforms: dict[str, PlatformRef]            # 20-digit server ID → platform
    region_names: dict[str, str] = field(default_factory=dict)
    simulated: set[str] | None = None            # lab mode: the hosts the lab really serves

    def reach(self, name: str, real: str | None) -> str | None:
        """Where a host is reached from here; None when the lab does not serve it (the lab
        gives every host an address, even devices it does not simulate)."""
        if real is None:
            return None
        if self.address_map is None:
            return real
        if self.simulated is not None and name not in self.simulated:
            return None
        return self.address_map.get(real)


def lab_ports(root: Path) -> Ports:
    path = root / LAB_DIR / "options.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Ports(http=int(raw["http_port"]), rtsp=int(raw["rtsp_port"]), ssh=int(raw["ssh_port"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SafecityError(f"{path}: cannot read the lab's options ({e}); is the lab up?") from e


def _platforms(deployment: Deployment, hosts: Sequence[HostRecord], plan_ids: Mapping[str, str],
               reach: Mapping[str, str] | None, rpc_port: int) -> dict[str, PlatformRef]:
    out: dict[str, PlatformRef] = {}
    for p in deployment.platform_servers:
        if "sip" not in p.server.roles:
            continue
        gb = p.server.gb_id if p.server.gb_id and p.server.gb_id != ALLOCATE else plan_ids.get(p.name)
        ip = p.server.ip if p.server.ip != ALLOCATE else None
        if ip is None:
            ip = next((str(h.vars.get("safecity_ip")) for h in hosts if h.name == p.name), None)
        if gb is None or ip is None:
            continue
        host = reach.get(ip) if reach is not None else ip
        if host is None:
            continue
        out[gb] = PlatformRef(p.name, gb, f"http://{host}:{rpc_port}/RPC")
    return out


def load_fleet_view(root: Path, *, regions: Sequence[str] | None = None,
                    sites: Sequence[str] | None = None, lab: bool = False,
                    rpc_port: int = DEFAULT_RPC_PORT) -> FleetView:
    root = root.resolve()
    scoped = load_scoped(root, regions=regions, sites=sites)
    if not scoped.ok or scoped.deployment is None or scoped.catalog is None:
        raise InventoryError(scoped.problems or [Problem(str(root), 0, "", "cannot load deployment")])
    deployment = scoped.deployment
    plan = read_lock_for(deployment)
    # Resolved with real addresses: devices are configured with the platform's real address;
    # the lab map only decides where safecity itself connects.
    hosts = resolve_hosts(deployment, plan, scoped.catalog, regions=regions, sites=sites)
    address_map = read_lab_addresses(root) if lab else None
    hdr = deployment.header
    ports = Ports(hdr.http_port, hdr.rtsp_port, hdr.ssh_port, rpc_port)
    if lab:
        lp = lab_ports(root)
        ports = Ports(lp.http, lp.rtsp, lp.ssh, rpc_port)
    # Platforms from the whole plan (a device's platform may sit above the scope).
    all_platform_hosts = [h for h in hosts if h.vars.get("safecity_kind") == "platform_server"]
    platforms = _platforms(deployment, all_platform_hosts, plan.gb_ids, address_map, rpc_port)
    if any(p.server.ip == ALLOCATE and p.name not in {h.name for h in all_platform_hosts}
           for p in deployment.platform_servers):
        # Platform servers above the scope: resolve their planned addresses too.
        every = resolve_hosts(deployment, plan, scoped.catalog)
        platforms = _platforms(deployment, [h for h in every if h.vars.get("safecity_kind")
                                            == "platform_server"], plan.gb_ids, address_map, rpc_port)
    names = {code: node.region.name for code, node in deployment.regions.items()}
    simulated = None
    if lab:
        from safecity.lab.control import lab_status

        simulated = {str(r["name"]) for r in lab_status(root)}
    return FleetView(root, deployment, scoped.catalog, hosts, ports, lab, address_map, platforms,
                     names, simulated)


def read_fleet_secrets(root: Path, *, lab: bool, vault: Path | None = None,
                       vault_password_file: Path | None = None) -> dict[str, str]:
    """The vault as a plain mapping: the lab's own vault in lab mode, else the given one."""
    if lab:
        vault = vault or root / LAB_DIR / "vault.yml"
        vault_password_file = vault_password_file or root / LAB_DIR / "vault-pass"
    if vault is None or vault_password_file is None:
        raise SafecityError("give --vault and --vault-password-file (or --lab for the lab's vault)")
    s = read_vault(vault, vault_password_file)
    return {n: s.get(n) for n in s.names()}


__all__ = ["FleetView", "Ports", "lab_ports", "load_fleet_view", "read_fleet_secrets"]
