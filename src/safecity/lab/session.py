"""What ``lab up`` prepares before any simulator starts: plan, lab secrets, address map.

Everything lives under ``<deployment>/.lab/`` (git-ignored): the generated vault and its
password file (mode 0600), ``addresses.json`` (real → loopback), per-device state, logs,
worker pid files and control sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from safecity.inventory import load_valid_deployment
from safecity.inventory.loader import Deployment
from safecity.inventory.plan import Plan, compute_plan, lock_path, read_lock
from safecity.inventory.profiles import ProfileCatalog
from safecity.lab.addressing import AddressMap
from safecity.lab.topology import LabOptions, LabTopology, build_topology, credential_names
from safecity.vault import Secrets, new_password_file, read_vault, strong_password, write_vault

LAB_DIR = ".lab"


@dataclass
class LabPaths:
    root: Path

    @classmethod
    def of(cls, deployment_root: Path) -> LabPaths:
        return cls(deployment_root.resolve() / LAB_DIR)

    @property
    def vault(self) -> Path:
        return self.root / "vault.yml"

    @property
    def vault_password(self) -> Path:
        return self.root / "vault-pass"

    @property
    def addresses(self) -> Path:
        return self.root / "addresses.json"

    @property
    def state(self) -> Path:
        return self.root / "state"

    def worker_pid(self, shard: int) -> Path:
        return self.root / f"worker-{shard}.pid"

    def worker_socket(self, shard: int) -> Path:
        return self.root / f"worker-{shard}.sock"

    def worker_ready(self, shard: int) -> Path:
        return self.root / f"worker-{shard}.ready"

    def shard_topology(self, shard: int) -> Path:
        return self.root / f"shard-{shard}.pickle"

    @property
    def scenes(self) -> Path:
        return self.root / "scenes.pickle"

    def worker_log(self, shard: int) -> Path:
        return self.root / f"worker-{shard}.log"

    def worker_pids(self) -> list[Path]:
        return sorted(self.root.glob("worker-*.pid"))


@dataclass
class LabContext:
    deployment: Deployment
    catalog: ProfileCatalog
    plan: Plan
    secrets: Secrets
    paths: LabPaths


def ensure_lab_secrets(deployment: Deployment, paths: LabPaths) -> Secrets:
    """The lab's own vault: random values for every vault variable the inventory names."""
    paths.root.mkdir(parents=True, exist_ok=True)
    if not paths.vault_password.exists():
        new_password_file(paths.vault_password)
    wanted = credential_names(deployment)
    existing = read_vault(paths.vault, paths.vault_password) if paths.vault.exists() else Secrets({})
    missing = wanted - set(existing.names())
    if missing:
        values = {n: existing.get(n) for n in existing.names()}
        values.update({n: strong_password() for n in missing})
        write_vault(paths.vault, values, paths.vault_password)
        return Secrets(values)
    return existing


def prepare(deployment_root: Path) -> LabContext:
    deployment, catalog = load_valid_deployment(deployment_root)
    plan, _changes = compute_plan(deployment, read_lock(lock_path(deployment)))
    paths = LabPaths.of(deployment.root)
    secrets = ensure_lab_secrets(deployment, paths)
    return LabContext(deployment, catalog, plan, secrets, paths)


def topology_for(ctx: LabContext, options: LabOptions, address_offset: int | None = None) -> LabTopology:
    """Specs for every lab device; the address map is reused from the last ``lab up`` unless a
    different offset is asked for."""
    amap = AddressMap.load(ctx.paths.addresses) if ctx.paths.addresses.exists() else None
    if amap is None or (address_offset is not None and amap.offset != address_offset):
        amap = AddressMap(offset=address_offset or 0)
    topo = build_topology(ctx.deployment, ctx.plan, ctx.catalog, ctx.secrets, options, amap)
    topo.address_map.save(ctx.paths.addresses)
    return topo
