"""Staging: factory-new boxes that all arrive on their vendor's default address, one at a time.

Hikvision-like boxes ship on 192.168.1.64, Dahua-like ones on 192.168.1.108 (``factory.default_ip``
in ``device_templates/vendors/*.yml``); two on one network collide. Devices marked
``staging: true`` in the inventory are therefore onboarded on a staging port, one after the
other (DOMAIN.md §3):

1. already staged? If the device answers at its planned address it is provisioned there like
   any device (its MAC must match): a re-run converges without anyone plugging anything;
2. otherwise it is asked for on the staging port (``StagingHands.plug``: a prompt, the lab, or
   nobody on a bench where boxes are plugged in order) and awaited on the default address;
3. ``apply_camera_state`` runs against the default address with the inventory MAC expected:
   activation, accounts, settings, and the planned address last; the box must be found again
   at the planned address with the same MAC and serial;
4. a box that is still on the staging port afterwards (wrong box, failed before the move) is
   asked off it (``unplug``) and the port must fall silent before the next device.

Nothing here writes the inventory or ``plan.lock.json``: the planned address is the target and
stays the target. A device counts as moved only when it was confirmed at the planned address
(``evidence["address"]``, ``evidence["staging"]["confirmed"]``); results file and audit log
record each run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from safecity.aio import run_async
from safecity.errors import DeviceError, SafecityError
from safecity.netguard import check_target
from safecity.provision.batch import (
    BatchReport,
    Fleet,
    audited,
    ensure_lab_account_secrets,
    load_fleet,
    plan_all,
    read_secrets,
)
from safecity.provision.camera import apply_camera_state
from safecity.provision.camera_plan import CameraPlan
from safecity.provision.result import Change, Result

PROBE_TIMEOUT = 1.0  # one TCP connect: does anything answer there?


@dataclass(frozen=True)
class StagingItem:
    """One box of the queue, as the person (or lab) at the staging port needs to know it."""

    name: str
    model: str
    mac: str
    staging_ip: str  # the vendor's default address, where the box answers from the box
    planned_ip: str


class StagingHands(Protocol):
    """Whoever puts boxes on the staging port and takes them off."""

    async def plug(self, item: StagingItem) -> bool:
        """Put the box on the staging port; False skips this device."""
        ...

    async def unplug(self, item: StagingItem, reason: str) -> None:
        """Take whatever box is on the staging port off it (it stays in its box state)."""
        ...


class BenchHands:
    """Prompt-free (``--yes``): boxes are plugged in inventory order by someone else, or are
    already there; the tool only waits for the staging address to answer or fall silent."""

    async def plug(self, item: StagingItem) -> bool:
        return True

    async def unplug(self, item: StagingItem, reason: str) -> None:
        return None


class PromptHands:
    """Interactive: asks the integrator at the staging port, one box at a time."""

    def __init__(self, say: Callable[[str], None], ask: Callable[[str], str] = input) -> None:
        self.say, self.ask = say, ask

    async def plug(self, item: StagingItem) -> bool:
        answer = await asyncio.to_thread(
            self.ask, f"Plug {item.name} ({item.model}, MAC {item.mac}) into the staging port "
                      f"(it answers on {item.staging_ip}); Enter when done, s to skip: ")
        return answer.strip().lower() not in ("s", "skip")

    async def unplug(self, item: StagingItem, reason: str) -> None:
        self.say(f"{item.name}: {reason}")
        await asyncio.to_thread(self.ask, "Unplug the box from the staging port; Enter when done: ")


class LabHands:
    """The lab plugs the queued box itself (CI and demos: prompt-free)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.plugged: str | None = None

    async def plug(self, item: StagingItem) -> bool:
        from safecity.lab.control import lab_plug

        await asyncio.to_thread(lab_plug, self.root, item.name)
        self.plugged = item.name
        return True

    async def unplug(self, item: StagingItem, reason: str) -> None:
        from safecity.errors import LabError
        from safecity.lab.control import lab_plug

        if self.plugged is not None:
            try:
                await asyncio.to_thread(lab_plug, self.root, self.plugged, plugged=False)
            except LabError:
                pass  # it moved off the staging address after all
            self.plugged = None


async def answers(name: str, host: str, port: int, timeout: float = PROBE_TIMEOUT) -> bool:
    """Does anything accept a TCP connection at ``host:port`` (the device's HTTP port)?"""
    check_target(name, "staging probe", host)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


async def _wait_for(name: str, host: str, port: int, *, present: bool, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        if await answers(name, host, port) == present:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.2)


def _staging_ip(plan: CameraPlan) -> str:
    b = plan.target.profile.behaviour
    if b is None:  # validated away (profiles without vendor data are not planned as cameras)
        raise SafecityError(f"{plan.target.name}: staging: the profile has no factory default_ip")
    return b.factory.default_ip


def _failed(item: StagingItem, operation: str, reason: str, address: str) -> Result:
    return Result(item.name, failed=True, error=str(DeviceError(item.name, operation, reason)),
                  evidence={"address": address, "staging": {
                      "from": item.staging_ip, "to": item.planned_ip, "confirmed": False}})


async def stage_devices(plans: Sequence[CameraPlan], hands: StagingHands, *, check_mode: bool,
                        resolve: Callable[[str], tuple[str, int]], wait_s: float = 300.0,
                        move_timeout: float = 30.0,
                        on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """Onboard ``plans`` one at a time (see the module docstring); one ``Result`` per device.

    ``resolve(real_ip) -> (host, port)`` says where an address is reached from here (the lab's
    loopback map, identity in the field). A staging port that stays occupied stops the queue:
    every remaining device fails with that reason, since plugging another box would collide."""
    results: list[Result] = []

    def done(result: Result) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    blocked: str | None = None
    for plan in plans:
        t = plan.target
        planned = plan.desired.network.ip
        item = StagingItem(t.name, t.profile.key, t.expect_mac or "", _staging_ip(plan), planned)
        if blocked is not None:
            done(_failed(item, "staging", blocked, item.staging_ip))
            continue
        if await answers(t.name, t.host, t.port):
            # Staged before (or never needed it): provision it where it is, identity checked.
            result = await apply_camera_state(t, plan.desired, check_mode=check_mode,
                                              move_timeout=move_timeout, resolve_address=resolve)
            result.evidence["staging"] = {"from": None, "to": planned,
                                          "confirmed": not result.failed,
                                          "note": "answers at its planned address"}
            done(result)
            continue
        if check_mode:
            done(Result(t.name, changed=True, diff=[Change("staging", item.staging_ip, planned)],
                        evidence={"address": item.staging_ip, "staging": {
                            "from": item.staging_ip, "to": planned, "confirmed": False}},
                        warnings=[f"{t.name}: check mode: not asked for on the staging port"]))
            continue
        host, port = resolve(item.staging_ip)
        try:
            if not await hands.plug(item):
                done(Result(t.name, evidence={"address": item.staging_ip},
                            warnings=[f"{t.name}: skipped at the staging port"]))
                continue
        except SafecityError as e:
            done(_failed(item, "staging port", str(e), item.staging_ip))
            continue
        if not await _wait_for(t.name, host, port, present=True, wait_s=wait_s):
            done(_failed(item, "staging port", f"nothing answers on {item.staging_ip} within "
                         f"{wait_s:g} s", item.staging_ip))
            continue
        staged = replace(t, address=item.staging_ip, host=host, port=port)
        result = await apply_camera_state(staged, plan.desired, check_mode=False,
                                          move_timeout=move_timeout, resolve_address=resolve)
        moved = result.evidence.get("address") == planned and not result.failed
        result.evidence["staging"] = {"from": item.staging_ip, "to": planned, "confirmed": moved}
        done(result)
        if await answers(t.name, host, port):
            await hands.unplug(item, f"still on the staging port ({result.error or 'not moved'})")
            if not await _wait_for(t.name, host, port, present=False, wait_s=wait_s):
                blocked = (f"the staging port is still occupied ({item.staging_ip} answers) "
                           f"after {t.name}; clear it and re-run")
    return results


# ---- from a deployment to a staging run ------------------------------------------------------

def staging_fleet(fleet: Fleet) -> Fleet:
    """Only the devices marked ``staging: true``; the others are reported as skipped."""
    skipped = dict(fleet.skipped)
    skipped.update({i.name: "not marked staging" for i in fleet.inputs if not i.staging})
    return replace(fleet, inputs=[i for i in fleet.inputs if i.staging], skipped=skipped)


async def stage_fleet(fleet: Fleet, secrets: Mapping[str, str], hands: StagingHands, *,
                      check_mode: bool, wait_s: float = 300.0, move_timeout: float = 30.0,
                      timeout: float = 5.0, audit: bool = True,
                      on_result: Callable[[Result], None] | None = None) -> BatchReport:
    """Plan every staging device of ``fleet`` and onboard them in inventory order."""
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    plans, unplanned = plan_all(fleet, secrets, timeout=timeout)
    macs = {i.name: i.mac for i in fleet.inputs}
    plans = [CameraPlan(replace(p.target, expect_mac=macs.get(p.target.name) or None), p.desired)
             for p in plans]
    done = audited(fleet.root, audit=audit and not check_mode, on_result=on_result)
    for r in unplanned:
        done(r)
    port = fleet.port
    resolve = fleet.resolve_address or (lambda ip: (ip, port))
    results = await stage_devices(plans, hands, check_mode=check_mode, resolve=resolve,
                                  wait_s=wait_s, move_timeout=move_timeout, on_result=done)
    order = {i.name: n for n, i in enumerate(fleet.inputs)}
    merged = sorted([*unplanned, *results], key=lambda r: order.get(r.device, len(order)))
    return BatchReport(merged, time.perf_counter() - t0, check_mode, started, dict(fleet.skipped))


def run_staging(deployment: Path, *, regions: Sequence[str] | None = None,
                sites: Sequence[str] | None = None, check: bool = False, lab: bool = False,
                prompt: bool = True, results: Path | None = None, vault: Path | None = None,
                vault_password_file: Path | None = None, wait_s: float | None = None,
                move_timeout: float = 30.0, timeout: float = 5.0) -> int:
    """``safecity provision --staging``: the queue, a per-device table, JSON results, audit.

    ``lab``: the lab plugs each box (prompt-free); ``prompt=False``: no questions, the staging
    address is awaited (a bench); else the integrator is asked for each box. Exit 1 if any
    device failed."""
    from rich.console import Console
    from rich.table import Table

    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    root = deployment.resolve()
    fleet = staging_fleet(load_fleet(root, regions=regions, sites=sites, lab=lab))
    if lab:
        for name in ensure_lab_account_secrets(root, fleet.policy):
            err.print(f"lab vault: generated {name}")
    secrets = read_secrets(root, lab=lab, vault=vault, vault_password_file=vault_password_file)
    hands: StagingHands
    if lab:
        hands = LabHands(root)
    elif prompt:
        hands = PromptHands(lambda msg: err.print(msg, markup=False))
    else:
        hands = BenchHands()
    wait = wait_s if wait_s is not None else (30.0 if lab else 300.0)

    def tick(r: Result) -> None:
        state = "FAILED" if r.failed else "changed" if r.changed else "ok"
        err.print(f"{r.device}: {state}" + (f": {r.error}" if r.error else ""), markup=False)

    report = run_async(stage_fleet(fleet, secrets, hands, check_mode=check, wait_s=wait,
                                   move_timeout=move_timeout, timeout=timeout, on_result=tick))
    path = results or root / "results" / f"staging-{report.started:%Y%m%dT%H%M%SZ}.json"
    report.write_json(path, deployment=str(root), regions=list(regions or []),
                      sites=list(sites or []), lab=lab, staging=True)
    verb = "staging check" if check else "staging"
    table = Table(title=f"{verb}: {len(report.results)} device(s) in {report.seconds:.1f} s")
    for col in ("device", "result", "address", "detail"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        state = "FAILED" if r.failed else ("would change" if check else "changed") \
            if r.changed else "ok"
        table.add_row(r.device, state, str(r.evidence.get("address", "")),
                      r.error or "; ".join(r.warnings) or
                      ", ".join(sorted({c.setting.split(".")[0] for c in r.diff})))
    out.print(table)
    s = report.summary()
    moved = sum(1 for r in report.results
                if isinstance(r.evidence.get("staging"), dict)
                and r.evidence["staging"].get("from") and r.evidence["staging"].get("confirmed"))
    out.print(f"{s['devices']} staging device(s): {moved} moved to their planned address, "
              f"{s['changed']} {'to change' if check else 'changed'}, {s['failed']} failed; "
              f"results in {path}")
    return 1 if report.failed else 0


__all__ = ["BenchHands", "LabHands", "PromptHands", "StagingHands", "StagingItem", "answers",
           "run_staging", "stage_devices", "stage_fleet", "staging_fleet"]

