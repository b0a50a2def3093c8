"""The batch path: many cameras/encoders provisioned concurrently from one async process.

Per-host Ansible costs ~230 ms of controller CPU per device before any device work
(DOMAIN.md §7); a city is provisioned instead by one process that reads the inventory itself
and runs the same per-device core (``plan_camera`` → ``apply_camera_state``) for every device
with bounded concurrency. One device's failure is one failed ``Result``; the batch never dies
for it. Every applied change goes to the audit log as its device finishes.

``run_provision`` is the body of ``safecity provision``; ``provision_fleet`` is what the
``safecity.devices.camera_batch`` module calls for its shard.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from safecity.aio import run_async
from safecity.errors import InventoryError, Problem, SafecityError
from safecity.inventory.lock_lookup import read_lock_for
from safecity.inventory.profiles import ProfileCatalog
from safecity.inventory.resolve import LAB_ADDRESSES, read_lab_addresses, resolve_hosts
from safecity.inventory.scope import load_scoped
from safecity.provision.audit import AuditLog, who
from safecity.provision.camera import ResolveAddress, apply_camera_state
from safecity.provision.camera_plan import (
    PROVISIONED_KINDS,
    AccountSpec,
    CameraInputs,
    CameraPlan,
    CameraPlanError,
    CameraPolicy,
    plan_camera,
    stream_overrides_of,
)
from safecity.provision.result import BatchReport as SharedBatchReport
from safecity.provision.result import Result

# The per-device work is CPU-bound in this one process (~45 ms of zeep/aiohttp per camera),
# so more devices in flight only queue on the event loop and stretch every request towards
# its timeout; ~50 keeps the loop busy while the devices answer.
DEFAULT_CONCURRENCY = 50
LAB_DIR = ".lab"
# Group-variable files whose ``camera_provision_*`` keys the batch reads, so that the batch
# and the role give a device the same accounts and removals (later files win).
_GROUP_VAR_FILES = ("all.yml", "front_end.yml")


@dataclass
class Fleet:
    """The devices of one scope, ready to be planned."""

    root: Path
    catalog: ProfileCatalog
    inputs: list[CameraInputs]
    port: int
    policy: CameraPolicy
    resolve_address: ResolveAddress | None
    skipped: dict[str, str] = field(default_factory=dict)  # device → why it is not provisioned


class BatchReport(SharedBatchReport):
    """A provisioning run; its results file also records who ran it (as the audit log does)."""

    def to_dict(self, **extra: object) -> dict[str, object]:
        return super().to_dict(who=who(), **extra)


# ---- the concurrent core -------------------------------------------------------------------

async def provision_many(plans: Sequence[CameraPlan], *, check_mode: bool,
                         concurrency: int = DEFAULT_CONCURRENCY,
                         resolve_address: ResolveAddress | None = None,
                         move_timeout: float = 30.0,
                         on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """``apply_camera_state`` for every plan, at most ``concurrency`` at a time, in input order."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    gate = asyncio.Semaphore(concurrency)

    async def one(plan: CameraPlan) -> Result:
        async with gate:
            try:
                result = await apply_camera_state(plan.target, plan.desired, check_mode=check_mode,
                                                  resolve_address=resolve_address,
                                                  move_timeout=move_timeout)
            except Exception as e:  # noqa: BLE001 - a bug for one device must not end the batch
                result = Result(plan.target.name, failed=True,
                                error=f"{plan.target.name}: provision: unexpected "
                                      f"{type(e).__name__}: {e}")
        if on_result is not None:
            on_result(result)
        return result

    return list(await asyncio.gather(*(one(p) for p in plans)))


def audited(root: Path, *, audit: bool,
            on_result: Callable[[Result], None] | None) -> Callable[[Result], None]:
    """Each finished device's result: appended to this run's audit log (when ``audit``), then
    passed to ``on_result`` (progress, tables)."""
    log = AuditLog(root, run=uuid.uuid4().hex[:12]) if audit else None

    def done(result: Result) -> None:
        if log is not None:
            log.append([result])
        if on_result is not None:
            on_result(result)

    return done


def plan_all(fleet: Fleet, secrets: Mapping[str, str], *, timeout: float = 5.0
             ) -> tuple[list[CameraPlan], list[Result]]:
    """Plans of every device, and a failed result for each device that cannot be planned."""
    plans: list[CameraPlan] = []
    failed: list[Result] = []
    for inputs in fleet.inputs:
        try:
            plans.append(plan_camera(inputs, fleet.catalog, secrets, fleet.policy,
                                     port=fleet.port, timeout=timeout))
        except CameraPlanError as e:
            failed.append(Result(inputs.name, failed=True, error=str(e),
                                 evidence={"address": inputs.ip}))
    return plans, failed


# ---- from a deployment directory to a fleet ----------------------------------------------------

def lab_port(root: Path) -> int:
    """The HTTP port the running lab serves ONVIF on (``lab up --http-port``)."""
    path = root / LAB_DIR / "options.json"
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["http_port"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SafecityError(f"{path}: cannot read the lab's options ({e}); is the lab up?") from e


def lab_resolver(root: Path, port: int) -> ResolveAddress:
    # A device that moved gets the loopback address the lab gives a new real address: the
    # same rule and offset the lab worker applies (addressing.AddressMap).
    from safecity.lab.addressing import AddressMap

    amap = AddressMap.load(root / LAB_ADDRESSES)
    return lambda real: (amap.lab(real), port)


def policy_from_group_vars(root: Path, timezone: str) -> CameraPolicy:
    """Fleet policy: the deployment's time zone, and ``camera_provision_accounts`` /
    ``camera_provision_remove_users`` from ``group_vars/{all,front_end}.yml`` if set there
    (the same keys the role reads), else the role's defaults."""
    values: dict[str, Any] = {}
    for name in _GROUP_VAR_FILES:
        path = root / "group_vars" / name
        if path.is_file():
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if isinstance(data, dict):
                values.update({k: v for k, v in data.items() if str(k).startswith("camera_provision_")})
    policy = CameraPolicy(timezone=timezone)
    try:
        if "camera_provision_accounts" in values:
            policy = CameraPolicy(timezone=timezone, accounts=tuple(
                AccountSpec(str(a["username"]), a["level"], str(a["password_var"]))
                for a in values["camera_provision_accounts"] or ()))
        if "camera_provision_remove_users" in values:
            policy = CameraPolicy(timezone=timezone, accounts=policy.accounts, remove_users=tuple(
                str(u) for u in values["camera_provision_remove_users"] or ()))
    except (KeyError, TypeError) as e:
        raise InventoryError([Problem(str(root / "group_vars"), 0, "camera_provision_accounts",
                                      f"each account needs username, level, password_var ({e})",
                                      "group_vars")]) from None
    return policy


def load_fleet(root: Path, *, regions: Sequence[str] | None = None,
               sites: Sequence[str] | None = None, lab: bool = False,
               templates: Path | None = None) -> Fleet:
    """Cameras and encoders of a scope, from the inventory (only the files the scope needs)."""
    root = root.resolve()
    scoped = load_scoped(root, regions=regions, sites=sites, templates=templates)
    if not scoped.ok or scoped.deployment is None or scoped.catalog is None:
        raise InventoryError(scoped.problems or [Problem(str(root), 0, "", "cannot load deployment")])
    deployment = scoped.deployment
    plan = read_lock_for(deployment)
    # Resolved without the lab map: the lab serves no alarm hosts, which the resolver would
    # report as unmapped. The map is applied below the way the resolver applies it (the
    # device's own address and its tier's NTP servers), so both paths plan the same state.
    address_map = read_lab_addresses(root) if lab else None
    hosts = resolve_hosts(deployment, plan, scoped.catalog, regions=regions, sites=sites)
    entries = {d.name: d for d in deployment.devices}
    inputs: list[CameraInputs] = []
    skipped: dict[str, str] = {}
    for h in hosts:
        kind = h.vars.get("safecity_kind")
        if kind not in PROVISIONED_KINDS:
            continue
        if h.vars.get("safecity_status") != "installed":
            skipped[h.name] = f"status {h.vars.get('safecity_status')}"
            continue
        try:
            i = CameraInputs.from_host_vars(h.name, h.vars)
        except CameraPlanError as e:
            skipped[h.name] = str(e)
            continue
        if address_map is not None:
            if i.ip not in address_map:
                skipped[h.name] = f"lab mode: {i.ip} has no lab address in {LAB_ADDRESSES}"
                continue
            i = replace(i, reach=address_map[i.ip],
                        ntp_servers=tuple(address_map.get(s, s) for s in i.ntp_servers))
        if not i.streams and h.name in entries:
            i = replace(i, streams=stream_overrides_of(deployment, entries[h.name]))
        inputs.append(i)
    port = lab_port(root) if lab else deployment.header.http_port
    return Fleet(root=root, catalog=scoped.catalog, inputs=inputs, port=port,
                 policy=policy_from_group_vars(root, deployment.header.timezone),
                 resolve_address=lab_resolver(root, port) if lab else None, skipped=skipped)


async def provision_fleet(fleet: Fleet, secrets: Mapping[str, str], *, check_mode: bool,
                          concurrency: int = DEFAULT_CONCURRENCY, timeout: float = 5.0,
                          audit: bool = True,
                          on_result: Callable[[Result], None] | None = None) -> BatchReport:
    """Plan and provision every device of ``fleet``; applied changes go to the audit log."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    plans, unplanned = plan_all(fleet, secrets, timeout=timeout)
    done = audited(fleet.root, audit=audit and not check_mode, on_result=on_result)
    for r in unplanned:
        done(r)
    results = await provision_many(plans, check_mode=check_mode, concurrency=concurrency,
                                   resolve_address=fleet.resolve_address, on_result=done)
    order = {i.name: n for n, i in enumerate(fleet.inputs)}
    merged = sorted([*unplanned, *results], key=lambda r: order.get(r.device, len(order)))
    return BatchReport(merged, time.perf_counter() - t0, check_mode, started, dict(fleet.skipped))


# ---- the command ------------------------------------------------------------------------------

def read_secrets(root: Path, *, lab: bool, vault: Path | None,
                 vault_password_file: Path | None) -> dict[str, str]:
    """The vault as a plain mapping: the lab's own vault in lab mode, else the given one."""
    from safecity.vault import read_vault

    if lab:
        vault = vault or root / LAB_DIR / "vault.yml"
        vault_password_file = vault_password_file or root / LAB_DIR / "vault-pass"
    if vault is None or vault_password_file is None:
        raise SafecityError("give --vault and --vault-password-file (or --lab for the lab's vault)")
    secrets = read_vault(vault, vault_password_file)
    return {name: secrets.get(name) for name in secrets.names()}


def ensure_lab_account_secrets(root: Path, policy: CameraPolicy) -> list[str]:
    """Add a random password to the lab's vault for each account variable it lacks.

    ``lab up`` generates values for the vault variables the inventory names; the accounts'
    variables come from the provisioning policy, so the lab learns them here. Lab only: a real
    vault is never written. Returns the names added."""
    from safecity.vault import read_vault, strong_password, write_vault

    vault, password_file = root / LAB_DIR / "vault.yml", root / LAB_DIR / "vault-pass"
    secrets = read_vault(vault, password_file)
    missing = sorted({a.password_var for a in policy.accounts} - set(secrets.names()))
    if missing:
        values = {n: secrets.get(n) for n in secrets.names()}
        values.update({n: strong_password() for n in missing})
        write_vault(vault, values, password_file)
    return missing


def default_results_path(root: Path, started: datetime) -> Path:
    return root / "results" / f"provision-{started:%Y%m%dT%H%M%SZ}.json"


def run_provision(deployment: Path, *, regions: Sequence[str] | None = None,
                  sites: Sequence[str] | None = None, check: bool = False,
                  concurrency: int = DEFAULT_CONCURRENCY, results: Path | None = None,
                  lab: bool = False, vault: Path | None = None,
                  vault_password_file: Path | None = None, timeout: float = 5.0,
                  show_progress: bool = True) -> int:
    """``safecity provision``: progress bar, per-device table, JSON results file, audit log.

    Returns the exit status: 0 when every device succeeded (or nothing was in scope), 1 if
    any device failed."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    root = deployment.resolve()
    fleet = load_fleet(root, regions=regions, sites=sites, lab=lab)
    if lab:
        for name in ensure_lab_account_secrets(root, fleet.policy):
            err.print(f"lab vault: generated {name}")
    secrets = read_secrets(root, lab=lab, vault=vault, vault_password_file=vault_password_file)
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(),
                        console=err, transient=True, disable=not show_progress)
    verb = "check" if check else "provision"
    with progress:
        task = progress.add_task(verb, total=len(fleet.inputs), failed=0)
        failures = 0

        def tick(r: Result) -> None:
            nonlocal failures
            failures += r.failed
            progress.update(task, advance=1, failed=failures)

        report = run_async(provision_fleet(fleet, secrets, check_mode=check,
                                           concurrency=concurrency, timeout=timeout,
                                           on_result=tick))
    path = results or default_results_path(root, report.started)
    report.write_json(path, deployment=str(root), regions=list(regions or []),
                      sites=list(sites or []), lab=lab)
    table = Table(title=f"{verb}: {len(report.results)} device(s) in {report.seconds:.1f} s")
    for col in ("device", "result", "changes", "detail"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        state = "FAILED" if r.failed else ("would change" if check else "changed") \
            if r.changed else "ok"
        detail = r.error or ", ".join(sorted({c.setting.split(".")[0] for c in r.diff}))
        table.add_row(r.device, state, str(len(r.diff)), detail)
    out.print(table)
    s = report.summary()
    out.print(f"{s['devices']} device(s): {s['changed']} {'to change' if check else 'changed'}, "
              f"{s['failed']} failed, {s['skipped']} skipped (not installed); results in {path}")
    return 1 if report.failed else 0


__all__ = [
    "DEFAULT_CONCURRENCY",
    "BatchReport",
    "Fleet",
    "ensure_lab_account_secrets", "lab_port", "lab_resolver",
    "load_fleet",
    "plan_all",
    "policy_from_group_vars",
    "provision_fleet",
    "provision_many",
    "read_secrets",
    "run_provision",
]
