"""The enrollment batch: every camera, encoder and alarm host of a scope, concurrently, from one
process (``safecity enroll`` and the ``safecity.devices.gb_enroll`` module).

One ``Result`` per device; one device's failure never ends the batch. Devices that cannot be
enrolled from here are listed with the reason (not installed, not simulated by the lab, not an
enrolling kind), never silently dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from safecity.enroll.core import enroll_device
from safecity.enroll.fleet import FleetView, load_fleet_view, read_fleet_secrets
from safecity.enroll.platform_watch import RegistrationWatch
from safecity.enroll.targets import (
    ENROLL_KINDS,
    EnrollPlanError,
    EnrollPolicy,
    EnrollTarget,
    plan_enroll_target,
)
from safecity.provision.result import BatchReport, Result

DEFAULT_CONCURRENCY = 100
NOT_IN_LAB = "not simulated by the lab (the lab serves no such device): not verifiable in the lab"


@dataclass
class EnrollPlan:
    targets: list[EnrollTarget]
    unplanned: list[Result]                     # failed before touching the device
    skipped: dict[str, str] = field(default_factory=dict)


# An enrollment run reports exactly like a provisioning run.
EnrollReport = BatchReport


def plan_enrollment(view: FleetView, secrets: Mapping[str, str], *,
                    devices: Collection[str] | None = None, policy: EnrollPolicy | None = None,
                    timeout: float = 5.0) -> EnrollPlan:
    """Targets of every enrolling device of the view (or of ``devices``, by name)."""
    out = EnrollPlan([], [])
    for h in view.hosts:
        hv = h.vars
        kind = str(hv.get("safecity_kind"))
        if kind in ("platform_server", "switch") or (devices is not None and h.name not in devices):
            continue
        if kind not in ENROLL_KINDS:
            out.skipped[h.name] = f"kind {kind}: not enrolled by safecity (recorders stay local)"
            continue
        if hv.get("safecity_status") != "installed":
            out.skipped[h.name] = f"status {hv.get('safecity_status')}"
            continue
        reach = view.reach(h.name, str(hv.get("safecity_ip")))
        if reach is None:
            out.skipped[h.name] = NOT_IN_LAB
            continue
        try:
            out.targets.append(plan_enroll_target(h.name, hv, view.catalog, secrets, view.platforms,
                                                  reach=reach, port=view.ports.http,
                                                  policy=policy or EnrollPolicy(),
                                                  timeout=timeout))
        except EnrollPlanError as e:
            out.unplanned.append(Result(h.name, failed=True, error=str(e),
                                        evidence={"address": hv.get("safecity_ip")}))
    return out


async def enroll_many(targets: Sequence[EnrollTarget], *, check_mode: bool,
                      concurrency: int = DEFAULT_CONCURRENCY, wait_timeout: float = 30.0,
                      rpc_timeout: float = 5.0,
                      on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """``enroll_device`` for every target, at most ``concurrency`` at once, in input order;
    one shared ``RegistrationWatch`` asks each platform once per poll for all its devices."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    gate = asyncio.Semaphore(concurrency)
    watch = RegistrationWatch(timeout=rpc_timeout)

    async def one(t: EnrollTarget) -> Result:
        async with gate:
            try:
                r = await enroll_device(t, watch, check_mode=check_mode, wait_timeout=wait_timeout)
            except Exception as e:  # noqa: BLE001 - a bug for one device must not end the batch
                r = Result(t.name, failed=True, error=f"{t.name}: enroll: unexpected "
                                                      f"{type(e).__name__}: {e}")
        if on_result is not None:
            on_result(r)
        return r

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def enroll_fleet(view: FleetView, secrets: Mapping[str, str], *, check_mode: bool,
                       devices: Collection[str] | None = None,
                       concurrency: int = DEFAULT_CONCURRENCY, wait_timeout: float = 30.0,
                       timeout: float = 5.0,
                       on_result: Callable[[Result], None] | None = None) -> EnrollReport:
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    plan = plan_enrollment(view, secrets, devices=devices, timeout=timeout)
    for r in plan.unplanned:
        if on_result is not None:
            on_result(r)
    results = await enroll_many(plan.targets, check_mode=check_mode, concurrency=concurrency,
                                wait_timeout=wait_timeout, rpc_timeout=timeout,
                                on_result=on_result)
    order = {h.name: n for n, h in enumerate(view.hosts)}
    merged = sorted([*plan.unplanned, *results], key=lambda r: order.get(r.device, len(order)))
    return EnrollReport(merged, time.perf_counter() - t0, check_mode, started, plan.skipped)


def default_results_path(root: Path, started: datetime) -> Path:
    return root / "results" / f"enroll-{started:%Y%m%dT%H%M%SZ}.json"


def run_enroll(deployment: Path, *, regions: Sequence[str] | None = None,
               sites: Sequence[str] | None = None, check: bool = False, lab: bool = False,
               concurrency: int = DEFAULT_CONCURRENCY, wait_timeout: float = 30.0,
               results: Path | None = None, vault: Path | None = None,
               vault_password_file: Path | None = None) -> int:
    """``safecity enroll``: per-device table, JSON results file; exit 1 if any device failed."""
    from rich.console import Console
    from rich.table import Table

    out = Console(highlight=False, soft_wrap=True)
    root = deployment.resolve()
    view = load_fleet_view(root, regions=regions, sites=sites, lab=lab)
    secrets = read_fleet_secrets(root, lab=lab, vault=vault, vault_password_file=vault_password_file)
    report = asyncio.run(enroll_fleet(view, secrets, check_mode=check, concurrency=concurrency,
                                      wait_timeout=wait_timeout))
    path = results or default_results_path(root, report.started)
    report.write_json(path, deployment=str(root), regions=list(regions or []),
                      sites=list(sites or []), lab=lab)
    verb = "check" if check else "enroll"
    table = Table(title=f"{verb}: {len(report.results)} device(s) in {report.seconds:.1f} s")
    for col in ("device", "platform", "result", "detail"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        state = "FAILED" if r.failed else ("would change" if check else "changed") if r.changed \
            else "ok"
        detail = r.error or "; ".join([*(c.setting for c in r.diff), *r.warnings]) or "online"
        table.add_row(r.device, str(r.evidence.get("platform", "")), state, detail)
    for name, why in sorted(report.skipped.items()):
        table.add_row(name, "", "skipped", why)
    out.print(table)
    s = report.summary()
    out.print(f"{s['devices']} device(s): {s['changed']} {'to change' if check else 'changed'}, "
              f"{s['failed']} failed, {s['skipped']} skipped; results in {path}")
    return 1 if report.failed else 0


__all__ = ["DEFAULT_CONCURRENCY", "EnrollPlan", "EnrollReport", "default_results_path",
           "enroll_fleet", "enroll_many", "plan_enrollment", "run_enroll"]
