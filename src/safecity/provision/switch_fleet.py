"""Every access switch of a shard (regions or sites), read from the inventory, provisioned at once.

The city-scale path next to the per-host Ansible role: one process reads only the shard's
inventory files, builds each switch's intent, and converges them concurrently with
``apply_switch_configs``. A switch whose variables are wrong, or whose password is not given,
gets a failed ``Result`` of its own; the others still run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from safecity.drivers.cli.session import SwitchTarget
from safecity.errors import InventoryError, Problem, SafecityError
from safecity.inventory.lock_lookup import read_lock_for
from safecity.inventory.resolve import LAB_ADDRESSES, read_lab_addresses, resolve_hosts
from safecity.inventory.scope import load_scoped
from safecity.provision.result import Result
from safecity.provision.switch import apply_switch_configs
from safecity.provision.switch_intent import (
    SwitchIntent,
    SwitchIntentError,
    switch_intent_from_vars,
)

LAB_OPTIONS = LAB_ADDRESSES.parent / "options.json"
# Switches still being planned or already removed are not on the network.
PROVISIONED_STATUSES = frozenset({"installed"})


@dataclass(frozen=True)
class SwitchJob:
    """One switch to converge: where the controller reaches it and what it must hold."""

    name: str
    host: str
    credentials: str  # the NAME of the vault variable with the password
    intent: SwitchIntent


@dataclass
class SwitchFleet:
    root: Path
    jobs: list[SwitchJob] = field(default_factory=list)
    invalid: list[Result] = field(default_factory=list)  # variables that make no intent
    skipped: dict[str, str] = field(default_factory=dict)  # name → why (status)


@dataclass
class SwitchFleetReport:
    results: list[Result]
    seconds: float

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.failed]

    @property
    def changed(self) -> list[Result]:
        return [r for r in self.results if r.changed]

    def summary(self, skipped: int = 0) -> dict[str, int]:
        failed = len(self.failed)
        return {"switches": len(self.results), "changed": len(self.changed), "failed": failed,
                "ok": len(self.results) - failed, "skipped": skipped}


def lab_ssh_port(root: Path) -> int:
    """The SSH port the running lab's switches listen on (``lab up --ssh-port``)."""
    path = root / LAB_OPTIONS
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["ssh_port"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SafecityError(f"{path}: cannot read the lab's options ({e}); is the lab up?") from e


def load_switch_fleet(root: Path, *, regions: Sequence[str] | None = None,
                      sites: Sequence[str] | None = None, lab: bool = False,
                      templates: Path | None = None) -> SwitchFleet:
    """The shard's switches with their intents (only the files the shard needs are read)."""
    root = root.resolve()
    scoped = load_scoped(root, regions=regions, sites=sites, templates=templates)
    if not scoped.ok or scoped.deployment is None or scoped.catalog is None:
        raise InventoryError(scoped.problems or [Problem(str(root), 0, "", "cannot load deployment")])
    hosts = resolve_hosts(scoped.deployment, read_lock_for(scoped.deployment), scoped.catalog,
                          regions=regions, sites=sites, kinds={"switch"},
                          address_map=read_lab_addresses(root) if lab else None)
    fleet = SwitchFleet(root)
    for h in hosts:
        status = h.vars.get("safecity_status")
        if status not in PROVISIONED_STATUSES:
            fleet.skipped[h.name] = f"status {status}"
            continue
        try:
            intent = switch_intent_from_vars(h.name, h.vars)
        except SwitchIntentError as e:
            fleet.invalid.append(Result(device=h.name, failed=True, error=str(e)))
            continue
        fleet.jobs.append(SwitchJob(h.name, str(h.vars.get("ansible_host") or h.vars["safecity_ip"]),
                                    str(h.vars.get("safecity_credentials") or ""), intent))
    return fleet


def provision_switch_fleet(fleet: SwitchFleet, secrets: Mapping[str, str], *, username: str,
                           port: int = 22, check_mode: bool = False, concurrency: int = 32,
                           timeout: float = 20.0,
                           templates_root: Path | None = None) -> SwitchFleetReport:
    """Converge every switch of ``fleet``; one ``Result`` per switch (invalid ones included)."""
    started = time.monotonic()
    jobs: list[tuple[SwitchTarget, SwitchIntent]] = []
    unsigned: list[Result] = []
    for job in fleet.jobs:
        password = secrets.get(job.credentials)
        if not password:
            unsigned.append(Result(device=job.name, failed=True,
                                   error=f"{job.name}: credentials: vault variable "
                                         f"{job.credentials or '(none)'} is not given"))
            continue
        jobs.append((SwitchTarget(name=job.name, platform=job.intent.platform, host=job.host,
                                  username=username, password=password, port=port,
                                  timeout=timeout), job.intent))
    applied = apply_switch_configs(jobs, check_mode=check_mode, concurrency=concurrency,
                                   templates_root=templates_root)
    return SwitchFleetReport([*fleet.invalid, *unsigned, *applied],
                             round(time.monotonic() - started, 3))
