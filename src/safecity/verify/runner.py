"""Run every acceptance check of a scope with bounded concurrency; one verdict per host.

Stages: platforms (one ``ul.dump`` each) and switches (one MAC table each) first, since every
device's platform and cabling checks read them; then the devices, at most ``concurrency`` at a
time. Nothing here raises for one device: a bug in a check becomes that check's failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from safecity.drivers.sip import PlatformRegistration
from safecity.enroll.fleet import FleetView
from safecity.enroll.platform_watch import RegistrationWatch
from safecity.provision.camera import ResolveAddress
from safecity.provision.camera_plan import CameraPlan
from safecity.verify.camera_checks import CameraCheckOptions, check_camera
from safecity.verify.evidence import Check, CheckName, DeviceVerdict, Status
from safecity.verify.platform_checks import (
    PlatformCheckOptions,
    check_catalog,
    check_platform,
    check_registered,
)
from safecity.verify.report import AcceptanceReport
from safecity.verify.settings_check import check_settings
from safecity.verify.switch_checks import MacTable, check_switch, check_switch_port
from safecity.verify.targets import FrontEndTarget, VerifyPlan, Where, plan_verification
from safecity.verify.vendor_checks import (
    add_not_applicable_media_checks,
    check_vendor_factory_credentials,
)

C = CheckName
_DEVICE_CHECKS = (C.REACHABLE, C.CLOCK, C.ONVIF_AUTH, C.FACTORY_CREDENTIALS, C.SETTINGS, C.RTSP,
                  C.SNAPSHOT, C.IMAGE, C.SWITCH_PORT, C.REGISTERED, C.CATALOG)
_ALARM_CHECKS = (C.REACHABLE, C.FACTORY_CREDENTIALS, C.SWITCH_PORT, C.REGISTERED, C.CATALOG)


@dataclass(frozen=True)
class VerifyOptions:
    concurrency: int = 32
    switch_concurrency: int = 8
    camera: CameraCheckOptions = field(default_factory=CameraCheckOptions)
    platform: PlatformCheckOptions = field(default_factory=PlatformCheckOptions)
    settings: bool = True


@dataclass
class SettingsPlans:
    """Desired states from the provisioning planner, by device name (or why there is none)."""

    plans: dict[str, CameraPlan] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    resolve_address: ResolveAddress | None = None


def _verdict(name: str, kind: str, where: Where) -> DeviceVerdict:
    return DeviceVerdict(name, kind, where.region_code, where.region_name, where.region_name,
                         where.site)


async def _device(t: FrontEndTarget, o: VerifyOptions, settings: SettingsPlans,
                  dumps: Mapping[str, dict[str, PlatformRegistration] | None],
                  tables: dict[str, MacTable | None], owners: dict[tuple[str, str], str],
                  reach: dict[str, str] | None) -> DeviceVerdict:
    v = _verdict(t.name, t.kind, t.where)
    if t.not_verifiable is not None:
        v.note = t.not_verifiable
        for name in (_DEVICE_CHECKS if t.onvif else _ALARM_CHECKS):
            v.add(Check(name, Status.NOT_VERIFIABLE, detail=t.not_verifiable))
        return v
    assert t.host is not None
    if t.onvif:
        await check_camera(t, o.camera, v)
        reached = v.check(C.ONVIF_AUTH)
        if not o.settings:
            v.add(Check(C.SETTINGS, Status.NOT_APPLICABLE, detail="settings check turned off"))
        elif reached is None or reached.status is not Status.PASS:
            first = next((c for c in v.checks if c.status is Status.FAIL), None)
            v.add(Check(C.SETTINGS, Status.BLOCKED,
                        detail=f"not run: {first.name if first else 'ONVIF'} failed"))
        else:
            await check_settings(t, settings.plans.get(t.name), settings.errors.get(t.name),
                                 settings.resolve_address, v)
    else:
        from safecity.drivers.reachability import tcp_reachable

        rtt = await tcp_reachable(t.host, t.http_port, o.camera.connect_timeout)
        v.add(Check(C.REACHABLE, Status.PASS if rtt is not None else Status.FAIL,
                    {"tcp": t.http_port}, {"rtt_ms": round(rtt * 1000, 2)} if rtt is not None else None))
        await check_vendor_factory_credentials(t, o.camera.request_timeout, v)
        add_not_applicable_media_checks(t, v)
    check_switch_port(t, tables, owners, v)
    if t.enroll is None:
        v.add(Check(C.REGISTERED, Status.FAIL, detail=t.enroll_error or "no enrollment plan"))
        v.add(Check(C.CATALOG, Status.BLOCKED, detail="not run: no enrollment plan"))
        return v
    reg = check_registered(t, dumps.get(t.enroll.platform.server_id), v)
    await check_catalog(t, reg, o.platform, reach, v)
    return v


def _guarded_failure(t: FrontEndTarget, e: Exception) -> DeviceVerdict:
    v = _verdict(t.name, t.kind, t.where)
    v.add(Check(C.REACHABLE, Status.FAIL, detail=f"verification error: {type(e).__name__}: {e}"))
    return v


async def verify_plan(plan: VerifyPlan, o: VerifyOptions, settings: SettingsPlans, *,
                      reach: dict[str, str] | None = None) -> list[DeviceVerdict]:
    watch = RegistrationWatch(timeout=o.platform.rpc_timeout)
    platform_verdicts = [_verdict(p.ref.name, "platform_server", p.where) for p in plan.platforms]
    switch_verdicts = [_verdict(s.name, "switch", s.where) for s in plan.switches]
    sw_gate = asyncio.Semaphore(max(1, o.switch_concurrency))

    async def one_switch(i: int) -> MacTable | None:
        async with sw_gate:
            return await check_switch(plan.switches[i], o.camera.connect_timeout, switch_verdicts[i])

    dumps_list, table_list = await asyncio.gather(
        asyncio.gather(*(check_platform(p, watch, v) for p, v in zip(plan.platforms, platform_verdicts,
                                                                     strict=True))),
        asyncio.gather(*(one_switch(i) for i in range(len(plan.switches)))))
    dumps = {p.ref.server_id: d for p, d in zip(plan.platforms, dumps_list, strict=True)}
    tables = {s.name: t for s, t in zip(plan.switches, table_list, strict=True)}
    owners = {(d.switch, d.switch_port): d.name for d in plan.devices if d.switch and d.switch_port}
    gate = asyncio.Semaphore(max(1, o.concurrency))

    async def one(t: FrontEndTarget) -> DeviceVerdict:
        async with gate:
            try:
                return await _device(t, o, settings, dumps, tables, owners, reach)
            except Exception as e:  # noqa: BLE001 - one device's bug never ends the run
                return _guarded_failure(t, e)

    devices = await asyncio.gather(*(one(t) for t in plan.devices))
    return [*platform_verdicts, *switch_verdicts, *devices]


def settings_plans(view: FleetView, secrets: Mapping[str, str], *,
                   regions: Sequence[str] | None, sites: Sequence[str] | None,
                   timeout: float) -> SettingsPlans:
    """The provisioning planner's desired state of every camera/encoder in scope."""
    from safecity.errors import SafecityError
    from safecity.provision.batch import load_fleet, plan_all

    try:
        fleet = load_fleet(view.root, regions=regions, sites=sites, lab=view.lab)
    except SafecityError as e:
        return SettingsPlans(errors={h.name: f"desired state: {e}" for h in view.hosts})
    plans, unplanned = plan_all(fleet, secrets, timeout=timeout)
    out = SettingsPlans({p.target.name: p for p in plans},
                        {r.device: r.error or "cannot plan" for r in unplanned},
                        fleet.resolve_address)
    for name, why in fleet.skipped.items():
        out.errors.setdefault(name, why)
    return out


async def run_verification(view: FleetView, secrets: Mapping[str, str], *,
                           regions: Sequence[str] | None = None, sites: Sequence[str] | None = None,
                           options: VerifyOptions | None = None) -> AcceptanceReport:
    options = options or VerifyOptions()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    plan = plan_verification(view, secrets, timeout=options.camera.request_timeout)
    settings = settings_plans(view, secrets, regions=regions, sites=sites,
                              timeout=options.camera.request_timeout) if options.settings \
        else SettingsPlans()
    verdicts = await verify_plan(plan, options, settings, reach=view.address_map)
    scope = ",".join([*(regions or []), *(sites or [])]) or "all"
    return AcceptanceReport(
        deployment=str(view.root), title=view.deployment.header.title or view.deployment.header.name,
        scope=scope, lab=view.lab, started=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        seconds=time.perf_counter() - t0, verdicts=verdicts, skipped=dict(plan.skipped))


__all__ = ["SettingsPlans", "VerifyOptions", "run_verification", "settings_plans", "verify_plan"]
