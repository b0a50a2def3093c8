"""Provision ONE access switch: read → diff → (check: stop) → push → verify → save, or roll back.

VRP5 access switches have no candidate configuration, so the contract is NAPALM's
load → compare → commit done by hand (DOMAIN.md §4):

1. read the running config; compute, offline, the commands to push and the commands that
   undo them (``switch_diff``); check mode stops here with the diff;
2. push;
3. verify from a FRESH session: the owned part of the new running config must need no further
   command (a desynced or half-applied session cannot vouch for itself);
4. save — only after verification, so the startup config never holds an unverified change;
5. on any failure after the push began: re-read, push what brings the switch back to the
   original, confirm from another fresh session, and report the original error.

A second run against a converged switch pushes nothing (and saves only if the startup config
still lacks the intent, e.g. after a save that failed). Every outcome is a ``Result``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from safecity.drivers.cli.mac_table import MacTableEntry, format_mac, parse_mac_table
from safecity.drivers.cli.platform import PlatformSpec, load_platform
from safecity.drivers.cli.session import SwitchSession, SwitchTarget
from safecity.errors import DeviceError, SafecityError, VerificationFailed
from safecity.provision.result import Result
from safecity.provision.switch_diff import SwitchPlan, plan_switch_change, plan_switch_rollback
from safecity.provision.switch_intent import SwitchIntent
from safecity.provision.switch_render import render_switch_config

__all__ = ["CablingMismatch", "apply_switch_config", "apply_switch_configs", "check_cabling",
           "compare_cabling", "render_switch_config"]


# --- cabling ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CablingMismatch:
    """An inventory device whose MAC the switch does not see on the port the inventory says."""

    switch: str
    device: str
    mac: str
    expected_port: str
    found_ports: tuple[str, ...]  # empty: the MAC is not in the table at all
    kind: Literal["wrong_port", "not_seen"]
    swapped_with: str | None = None  # the device whose port this one is on, and vice versa

    def __str__(self) -> str:
        mac = format_mac(self.mac, "colon")
        if self.kind == "not_seen":
            return (f"{self.switch}: cabling: {self.device} ({mac}) should be on "
                    f"{self.expected_port} but its MAC is not in the MAC table")
        text = (f"{self.switch}: cabling: {self.device} ({mac}) should be on "
                f"{self.expected_port} but is seen on {', '.join(self.found_ports)}")
        if self.swapped_with:
            text += f" (cables of {self.device} and {self.swapped_with} are swapped)"
        return text


def compare_cabling(intent: SwitchIntent, table: Sequence[MacTableEntry]) -> list[CablingMismatch]:
    """Pure: inventory's port per device vs where the switch learned its MAC."""
    seen: dict[str, list[str]] = {}
    for entry in table:
        ports = seen.setdefault(entry.mac, [])
        if entry.interface not in ports:
            ports.append(entry.interface)
    owner = {p.port: p.device for p in intent.access_ports}
    found: dict[str, tuple[str, ...]] = {}
    for p in intent.access_ports:
        if p.mac is not None:
            found[p.device] = tuple(seen.get(p.mac, ()))
    out: list[CablingMismatch] = []
    for p in intent.access_ports:
        if p.mac is None:
            continue
        ports = list(found[p.device])
        if not ports:
            out.append(CablingMismatch(intent.name, p.device, p.mac, p.port, (), "not_seen"))
        elif p.port not in ports:
            other = next((owner[q] for q in ports if q in owner), None)
            swapped = other if other is not None and p.port in found.get(other, ()) else None
            out.append(CablingMismatch(intent.name, p.device, p.mac, p.port, tuple(ports),
                                       "wrong_port", swapped))
    return out


def _read_cabling(session: SwitchSession, intent: SwitchIntent) -> list[CablingMismatch]:
    return compare_cabling(intent, parse_mac_table(session.mac_table_text(), session.platform))


def check_cabling(target: SwitchTarget, intent: SwitchIntent, *,
                  templates_root: Path | None = None) -> list[CablingMismatch]:
    """Read the MAC table and report every device not where the inventory puts it."""
    with SwitchSession(target, platform_root=templates_root) as session:
        return _read_cabling(session, intent)


# --- apply -----------------------------------------------------------------------------------
def _evidence(plan: SwitchPlan, started: float, **more: object) -> dict[str, object]:
    return {"commands": plan.commands, "rollback": plan.rollback, "diff": plan.diff,
            "seconds": round(time.monotonic() - started, 3), **more}


def _rollback(target: SwitchTarget, original: str, intended: str, spec: PlatformSpec,
              root: Path | None) -> str | None:
    """Bring the switch back to ``original``; None when confirmed, else why it is not."""
    try:
        with SwitchSession(target, platform_root=root) as session:
            undo = plan_switch_rollback(session.running_config(), original, intended, spec)
            session.push(undo.commands, "rollback")
        with SwitchSession(target, platform_root=root) as session:
            left = plan_switch_rollback(session.running_config(), original, intended, spec)
        if not left.empty:
            return f"rollback left {len(left.commands)} line(s) different: {left.commands[:3]}"
        return None
    except SafecityError as e:
        return str(e)


def apply_switch_config(target: SwitchTarget, intent: SwitchIntent, *, check_mode: bool = False,
                        templates_root: Path | None = None) -> Result:
    """Converge one switch on ``intent``; never raises for a device problem (see module doc)."""
    started = time.monotonic()
    name = target.name
    result = Result(device=name)
    try:
        spec = load_platform(intent.platform, templates_root)
        intended = render_switch_config(intent, root=templates_root)
    except SafecityError as e:
        return Result(device=name, failed=True, error=f"{name}: render: {e}")

    original = ""
    plan = SwitchPlan([], [])
    stage: Literal["read", "push", "verify", "save"] = "read"
    try:
        with SwitchSession(target, platform_root=templates_root) as session:
            original = session.running_config()
            plan = plan_switch_change(original, intended, spec)
            result.diff = plan.changes
            if check_mode or plan.empty:
                result.warnings = [str(m) for m in _read_cabling(session, intent)]
                unsaved = (not check_mode and plan.empty
                           and not plan_switch_change(session.saved_config(), intended,
                                                      spec).empty)
                if unsaved:
                    # Converged but never saved (a save failed last time): save now.
                    stage = "save"
                    session.save()
                result.changed = bool(plan.commands) or unsaved
                result.evidence = _evidence(plan, started, saved=unsaved, check_mode=check_mode)
                return result
            stage = "push"
            session.push(plan.commands)

        # A fresh session: what the switch really holds now, not what the push session saw.
        stage = "verify"
        with SwitchSession(target, platform_root=templates_root) as verify:
            left = plan_switch_change(verify.running_config(), intended, spec)
            if not left.empty:
                raise VerificationFailed(name, "verify",
                                         f"{len(left.commands)} line(s) still differ after the "
                                         f"push: {left.commands[:4]}")
            stage = "save"  # verified: from here on a failure needs no rollback
            verify.save()
            result.warnings = [str(m) for m in _read_cabling(verify, intent)]
        result.changed = True
        result.evidence = _evidence(plan, started, saved=True)
        return result
    except DeviceError as e:
        result.failed = True
        result.error = str(e)
        rolled_back: bool | None = None
        rollback_error: str | None = None
        if stage in ("push", "verify"):
            rollback_error = _rollback(target, original, intended, spec, templates_root)
            rolled_back = rollback_error is None
            result.error += ("; rolled back to the previous configuration" if rolled_back
                             else f"; rollback failed: {rollback_error}")
            result.changed = not rolled_back
        elif stage == "save":
            result.changed = True  # the running config changed and verified; not yet saved
        result.evidence = _evidence(plan, started, stage=stage, rolled_back=rolled_back,
                                    rollback_error=rollback_error)
        return result


def apply_switch_configs(jobs: Sequence[tuple[SwitchTarget, SwitchIntent]], *,
                         check_mode: bool = False, concurrency: int = 32,
                         templates_root: Path | None = None) -> list[Result]:
    """Many switches at once (bounded thread pool); one ``Result`` per switch, in job order."""
    def one(job: tuple[SwitchTarget, SwitchIntent]) -> Result:
        target, intent = job
        try:
            return apply_switch_config(target, intent, check_mode=check_mode,
                                       templates_root=templates_root)
        except Exception as e:  # noqa: BLE001 - a batch never dies for one switch
            return Result(device=target.name, failed=True,
                          error=f"{target.name}: apply: unexpected {type(e).__name__}: {e}")

    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(jobs))),
                            thread_name_prefix="switch") as pool:
        return list(pool.map(one, jobs))
