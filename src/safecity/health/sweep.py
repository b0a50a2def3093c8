"""The nightly sweep engine: one async process, bounded concurrency, a process pool for images.

Flow: platforms first (few; their registration lists answer "is this device enrolled" for every
device below them in one call each) → switches and cameras at the same time, through worker
coroutines pulling from one iterator per lane (switches: as many as ``switch_sessions``; cameras:
the rest of ``concurrency``; no task per device, so 100k targets cost no more memory than
1,000) → snapshots queue to a bounded VQD stage (backpressure: probes wait rather than
buffering gigabytes of JPEGs) → results. The sweep only reads devices; it writes nothing to them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from safecity.drivers.sip.models import PlatformRegistration
from safecity.health.models import DeviceResult, Night
from safecity.health.probes import (
    FULL_SIZE_EVIDENCE,
    ProbeOptions,
    probe_camera,
    probe_platform,
    probe_switch,
)
from safecity.health.targets import CameraTarget, SweepPlan, SwitchTarget
from safecity.health.vqd import VqdThresholds
from safecity.health.vqd_pool import VqdJob, VqdOutcome, analyse_batch

KEEPALIVE_TIMEOUT_S = 180.0      # GB/T 28181: offline after 3 missed 60 s keepalives
PROGRESS_EVERY = 100


@dataclass
class SweepOptions:
    probe: ProbeOptions = field(default_factory=ProbeOptions)
    concurrency: int = 1000
    vqd: bool = True
    vqd_workers: int = max(1, os.cpu_count() or 1)
    vqd_batch: int = 16
    thresholds: VqdThresholds | None = None
    rebaseline: bool = False
    keepalive_timeout_s: float = KEEPALIVE_TIMEOUT_S


@dataclass
class VqdMemory:
    """What the VQD stage needs from earlier nights (from the history store)."""

    thumbnails: Mapping[str, bytes] = field(default_factory=dict)
    baselines: Mapping[str, bytes] = field(default_factory=dict)


@dataclass
class SweepOutcome:
    night: Night
    thumbnails: dict[str, bytes]        # device → tonight's thumbnail (next night's "previous")
    new_baselines: dict[str, bytes]
    timings: dict[str, float]


class _VqdStage:
    def __init__(self, options: SweepOptions, memory: VqdMemory, executor: Executor, night: str) -> None:
        self.o, self.memory, self.executor, self.night = options, memory, executor, night
        self.queue: asyncio.Queue[tuple[VqdJob, DeviceResult] | None] = asyncio.Queue(
            maxsize=options.vqd_batch * options.vqd_workers * 4)
        self.thumbnails: dict[str, bytes] = {}
        self.baselines: dict[str, bytes] = {}
        self.images = 0
        self.full_images = 0     # main pictures checked at full size (rotation nights)

    async def submit(self, result: DeviceResult, jpeg: bytes, full: bytes | None = None) -> None:
        name = result.name
        baseline = None if self.o.rebaseline else self.memory.baselines.get(name)
        await self.queue.put((VqdJob(name, jpeg, self.memory.thumbnails.get(name), baseline, full), result))

    async def consume(self) -> None:
        loop = asyncio.get_running_loop()
        done = False
        while not done:
            item = await self.queue.get()
            if item is None:
                break
            batch = [item]
            while len(batch) < self.o.vqd_batch and not self.queue.empty():
                nxt = self.queue.get_nowait()
                if nxt is None:
                    done = True
                    break
                batch.append(nxt)
            outcomes = await loop.run_in_executor(
                self.executor, analyse_batch, [j for j, _ in batch], self.o.thresholds)
            for (_, result), outcome in zip(batch, outcomes, strict=True):
                self._apply(result, outcome)
        await self.queue.put(None)  # let the next consumer stop too

    def _apply(self, r: DeviceResult, o: VqdOutcome) -> None:
        self.images += 1
        if o.error:
            r.add_fault("snapshot_failed", o.error)
            return
        r.video_checked = True
        r.metrics.update(o.metrics)
        for f in o.faults:
            r.add_fault(f)
        if o.thumbnail:
            self.thumbnails[r.name] = o.thumbnail
        if o.new_baseline:
            self.baselines[r.name] = o.new_baseline
        self.full_images += o.full_checked
        for f in o.full_faults:
            r.add_fault(f, FULL_SIZE_EVIDENCE)
            r.rotating[f] = self.night
        if o.full_error:
            r.add_fault("snapshot_failed", f"{FULL_SIZE_EVIDENCE}: {o.full_error}")
            r.rotating["snapshot_failed"] = self.night


def rotation_due(device: str, night_ordinal: int, nights: int) -> bool:
    """Whether tonight is ``device``'s night in a rotation over ``nights`` nights: a stable hash
    of the name (not Python's salted ``hash``) spreads the devices evenly over the nights."""
    return nights <= 1 or zlib.crc32(device.encode()) % nights == night_ordinal % nights


# What a rotating finding needs tonight to be carried: the device got as far as the check.
def _could_check(fault: str, r: DeviceResult) -> bool:
    if fault.startswith("vqd_") or fault == "snapshot_failed":
        return r.video_checked
    return bool(r.reachable) and not {"auth_failed", "onvif_failed"} & set(r.faults)


def carry_rotation_findings(previous: Night | None, current: Night, nights: int) -> int:
    """Faults that only a rotating check finds (``DeviceResult.rotating``) stand until that check
    runs again: on the nights between, a device that got as far as the check keeps last night's
    finding with its evidence and the night it was found, so the crew's list and the KPIs do not
    flap (found, "recovered" the next night, found again a week later). On the device's rotation
    night the check decides afresh. Returns the number of findings carried."""
    if previous is None or nights <= 1:
        return 0
    before = {r.name: r for r in previous.results if r.rotating}
    if not before:
        return 0
    tonight = date.fromisoformat(current.night).toordinal()
    carried = 0
    for r in current.results:
        prev = before.get(r.name)
        if prev is None or r.status == "skipped" or rotation_due(r.name, tonight, nights):
            continue
        for fault, found in prev.rotating.items():
            if fault not in r.faults and _could_check(fault, r):
                r.add_fault(fault, prev.detail.get(fault, ""))
                r.rotating[fault] = found
                carried += 1
    return carried


def _registration_check(r: DeviceResult, t: CameraTarget,
                        regs_by_platform: Mapping[str, dict[str, PlatformRegistration] | None],
                        o: SweepOptions, now: float) -> None:
    if not t.gb_id or t.platform is None:
        return
    regs = regs_by_platform.get(t.platform)
    if regs is None:
        return        # platform did not answer: unknown, and reported once on the platform
    reg = regs.get(t.gb_id)
    r.registered = reg is not None
    if "unreachable" in r.faults:
        return        # the cause is already reported; not_registered would only repeat it
    if reg is None:
        r.add_fault("not_registered", f"{t.gb_id} has no live registration on {t.platform}")
    elif reg.last_keepalive_message is not None and now - reg.last_keepalive_message > o.keepalive_timeout_s:
        r.add_fault("keepalive_lost", f"last keepalive {now - reg.last_keepalive_message:.0f} s ago")


async def run_sweep(plan: SweepPlan, options: SweepOptions | None = None, *,
                    memory: VqdMemory | None = None, night: str | None = None,
                    deployment: str = "", scope: str = "all",
                    executor: Executor | None = None,
                    progress: Callable[[int, int], None] | None = None) -> SweepOutcome:
    """Probe every target of ``plan`` once. Returns one result per target (skipped ones too).
    ``progress(done, total)`` is called every ``PROGRESS_EVERY`` devices and at the end."""
    o = options or SweepOptions()
    t0 = time.time()
    timings: dict[str, float] = {}
    results: list[DeviceResult] = []
    platform_probes = await asyncio.gather(*(probe_platform(p, o.probe) for p in plan.platforms))
    regs_by_platform = {p.result.name: p.registrations for p in platform_probes}
    results += [p.result for p in platform_probes]
    timings["platforms_s"] = time.time() - t0

    own_pool = executor is None and o.vqd
    pool: Executor | None = executor
    if own_pool:
        # Fresh interpreters (forkserver), not forks of this one: a fork inherits the whole
        # inventory (at 100k devices the forked workers were 0.7 GB each, 40 MB now) and its
        # garbage collector walks all of it again in every worker.
        pool = ProcessPoolExecutor(max_workers=o.vqd_workers, mp_context=multiprocessing.get_context("forkserver"))
    night_name = night or date.today().isoformat()
    stage = _VqdStage(o, memory or VqdMemory(), pool, night_name) if (o.vqd and pool is not None) else None
    consumers = [asyncio.create_task(stage.consume()) for _ in range(o.vqd_workers * 2)] if stage else []
    total = len(plan.switches) + len(plan.cameras)
    switches: Iterator[SwitchTarget] = iter(plan.switches)
    cameras: Iterator[CameraTarget] = iter(plan.cameras)
    now = time.time()
    tonight = date.fromisoformat(night_name).toordinal()

    done = 0

    def finished(r: DeviceResult) -> None:
        nonlocal done
        results.append(r)
        done += 1
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == total):
            progress(done, total)

    async def switch_worker() -> None:
        for t in switches:
            finished(await probe_switch(t, o.probe))

    async def camera_worker() -> None:
        for t in cameras:
            probe = await probe_camera(t, o.probe, rotation_due(t.name, tonight, o.probe.rotation_nights))
            for f in probe.rotation_findings:
                probe.result.rotating[f] = night_name
            _registration_check(probe.result, t, regs_by_platform, o, now)
            finished(probe.result)
            if probe.jpeg is not None and stage is not None:
                await stage.submit(probe.result, probe.jpeg, probe.full_jpeg)

    try:
        t1 = time.time()
        # Switches have a lane of their own as wide as the SSH sessions allowed at once: in the
        # cameras' lane, ~1,000 workers would sit waiting for those few sessions until the last
        # switch was taken, and no camera would be probed meanwhile.
        lane = max(1, min(o.concurrency, o.probe.switch_sessions)) if plan.switches else 0
        await asyncio.gather(*(switch_worker() for _ in range(lane)),
                             *(camera_worker() for _ in range(max(1, o.concurrency - lane))))
        timings["probes_s"] = time.time() - t1
        if stage is not None:
            await stage.queue.put(None)
            await asyncio.gather(*consumers)
        timings["vqd_tail_s"] = time.time() - t1 - timings["probes_s"]
    finally:
        for c in consumers:
            c.cancel()
        if own_pool and pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    for s in plan.skipped:
        results.append(DeviceResult(s.name, s.kind, s.region_code, s.site, status="skipped",
                                    skip_reason=s.reason))
    results.sort(key=lambda r: r.name)
    t_end = time.time()
    timings["total_s"] = t_end - t0
    timings["images"] = float(stage.images) if stage else 0.0
    timings["full_images"] = float(stage.full_images) if stage else 0.0
    return SweepOutcome(
        Night(night_name, t0, t_end, deployment, scope, plan.regions, results),
        stage.thumbnails if stage else {}, stage.baselines if stage else {}, timings)
