"""One lab worker process: serves a shard of the lab's devices and answers its control socket.

Large labs are split across worker processes because every simulated device holds its own
listening sockets and one process may only open 20,000 files here. Worker 0 also serves the
platform peers (SIP registrars), the switches and the alarm hosts — in a lab of more than one
worker, only those (``shard_count``). Control is JSON lines over a Unix socket:
``{"op": "status"}``, ``{"op": "summary"}`` (counts only), ``{"op": "fault", "device", "fault",
"value"}``, ``{"op": "clear", "device"}``, ``{"op": "plug", "device", "plugged"}`` (a staging box on/off the staging port),
``{"op": "shutdown"}``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import pickle
import signal
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from safecity.errors import LabError
from safecity.lab.alarm import AlarmLab
from safecity.lab.media.rtsp_lab import RtspLab
from safecity.lab.media.snapshot_render import SNAPSHOT_FAULTS, preload
from safecity.lab.onvif.lab import OnvifLab
from safecity.lab.session import LabPaths, prepare, topology_for
from safecity.lab.sip.registrar import LabRegistrar
from safecity.lab.switch.lab import SwitchLab
from safecity.lab.topology import LabOptions, LabTopology

log = logging.getLogger("safecity.lab")
# What the lab's registrars comfortably take when a whole lab powers on at once.
REGISTRATIONS_PER_S = 400
FRONT_END_WORKER_NICE = 5
DEVICES_PER_WORKER = 3000   # ~4 descriptors per ONVIF device; the per-process limit here is 20,000


@dataclass
class WorkerOptions:
    state: str = "factory"
    shards: int = 1
    http_port: int = 80
    rtsp_port: int = 554
    ssh_port: int = 22
    scene_pool: int = 0
    onvif_devices: int = 0      # in the whole lab (all workers)
    heartbeat_s: int = 60

    def lab_options(self) -> LabOptions:
        return LabOptions(state=self.state, http_port=self.http_port,  # type: ignore[arg-type]
                          rtsp_port=self.rtsp_port, ssh_port=self.ssh_port,
                          scene_pool=self.scene_pool, heartbeat_s=self.heartbeat_s)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self)) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> WorkerOptions:
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def shard_count(onvif_devices: int) -> int:
    """One worker for a small lab; else worker 0 for the switches, platform peers and alarm
    hosts, plus one per DEVICES_PER_WORKER ONVIF devices. The registrars get a worker of their
    own because a region's devices all talk to them: sharing an event loop with 3,000 devices
    starved both at 100k."""
    onvif_shards = max(1, math.ceil(onvif_devices / DEVICES_PER_WORKER))
    return 1 if onvif_shards == 1 else onvif_shards + 1


def shard_of(topo: LabTopology, shard: int, shards: int) -> LabTopology:
    """Worker ``shard``'s part of the lab. The ONVIF devices are cut into contiguous runs of the
    inventory order (a site's devices share a worker), not dealt round-robin: a sweep or a
    provisioning batch walks the inventory in order, so with contiguous shards its ~1,000
    requests in flight land on one or two workers, which then serve them in batches per
    wake-up. Dealt round-robin, the same load woke all 34 workers of a 100k lab for a few
    requests each (the lab's CPU per swept device, measured: 100k, 3.3 ms round-robin vs
    0.9-1.0 ms contiguous; 3k over 10 workers, 1.53 vs 0.72 ms)."""
    mine = LabTopology(topo.address_map)
    if shards == 1:
        mine.onvif = list(topo.onvif)
    elif shard > 0:
        per = math.ceil(len(topo.onvif) / (shards - 1))
        mine.onvif = topo.onvif[(shard - 1) * per:shard * per]
    mine.snapshots = {s.name: topo.snapshots[s.name] for s in mine.onvif}
    mine.rtsp = [r for r in topo.rtsp if r.name in mine.snapshots]
    if shard == 0:
        mine.alarm = topo.alarm
        mine.switches = topo.switches
        mine.registrars = topo.registrars
    names = {s.name for s in mine.onvif} | {s.name for s in mine.switches} | {r.name for r in mine.registrars} \
        | {a.name for a in mine.alarm}
    mine.devices = {n: d for n, d in topo.devices.items() if n in names}
    return mine


class Worker:
    def __init__(self, topo: LabTopology, paths: LabPaths, shard: int, lab_onvif_devices: int = 0) -> None:
        self.topo = topo
        self.paths = paths
        self.shard = shard
        self.lab_onvif_devices = max(lab_onvif_devices, len(topo.onvif))
        self.onvif: OnvifLab | None = None
        self.switches: SwitchLab | None = None
        self.registrars: dict[str, LabRegistrar] = {}
        self.rtsp: RtspLab | None = None
        self.alarm: AlarmLab | None = None
        self._rtsp_seen: dict[str, tuple[str, str, str]] = {}
        self._rtsp_revision: dict[str, int] = {}
        self._sync_task: asyncio.Task[None] | None = None
        self.stopped = asyncio.Event()

    async def start(self) -> None:
        state = self.paths.state
        for spec in self.topo.registrars:
            self.registrars[spec.name] = await LabRegistrar.start(spec)
        if self.topo.switches:
            self.switches = await SwitchLab.start(self.topo.switches, state / "switches")
        if self.topo.onvif:
            self.onvif = await OnvifLab.start(self.topo.onvif, state / "devices", self.topo.address_map.lab,
                                              register_spread_s=self.register_spread_s())
            self.rtsp = await RtspLab.start(self.topo.rtsp)
            await self.sync_rtsp()
            self._sync_task = asyncio.get_running_loop().create_task(self._sync_forever())
        if self.topo.alarm:
            self.alarm = await AlarmLab.start(self.topo.alarm, state / "alarm_hosts",
                                              self.topo.address_map.lab)

    def register_spread_s(self) -> float:
        """Spread the lab's first registrations over ~1 s per REGISTRATIONS_PER_S devices."""
        n = self.lab_onvif_devices
        return n / REGISTRATIONS_PER_S if n > REGISTRATIONS_PER_S * 2 else 0.0

    async def sync_rtsp(self) -> None:
        """RTSP follows the device: its admin account (provisioning rotates it) and its address
        (SetNetworkInterfaces moves it). Only devices whose state changed since the last pass
        are looked at: a 3,000-device worker polls twice a second."""
        if self.onvif is None or self.rtsp is None:
            return
        for name, dev in self.onvif.devices.items():
            if self._rtsp_revision.get(name) == dev.revision:
                continue
            self._rtsp_revision[name] = dev.revision
            admin = next((u for u in dev.state.users if u.level == "Administrator"), None)
            user, pw = (admin.username, admin.password) if admin else ("", "")
            host = dev.state.listen_host
            seen = self._rtsp_seen.get(name)
            if seen == (user, pw, host):
                continue
            if seen is None or seen[:2] != (user, pw):
                self.rtsp.update_endpoint(name, username=user, password=pw)
            if seen is not None and seen[2] != host:
                try:
                    await self.rtsp.move_endpoint(name, host)
                except LabError:
                    del self._rtsp_revision[name]  # try again on the next pass
                    raise
            self._rtsp_seen[name] = (user, pw, host)

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            try:
                await self.sync_rtsp()
            except LabError as e:  # e.g. a move to an address that is taken: keep serving others
                log.warning("rtsp sync: %s", e)

    async def close(self) -> None:
        if self._sync_task:
            self._sync_task.cancel()
        if self.rtsp:
            await self.rtsp.close()
        if self.onvif:
            await self.onvif.close()
        if self.alarm:
            await self.alarm.close()
        if self.switches:
            await self.switches.close()
        for reg in self.registrars.values():
            await reg.close()

    async def fault(self, device: str, fault: str, value: str | None) -> None:
        if device in self.registrars:
            if fault not in ("down", "offline"):
                raise LabError(f"{device}: a platform peer supports only the 'down' fault")
            self.registrars[device].set_fault("down")
        elif self.switches and device in {s.name for s in self.topo.switches}:
            self.switches.set_fault(device, fault, value)
        elif self.onvif and device in self.topo.snapshots:
            if fault in SNAPSHOT_FAULTS:
                self.onvif.set_image_fault(device, fault, value)
            else:
                self.onvif.set_fault(device, fault, value)
                if self.rtsp and fault in ("offline", "slow"):
                    await self.rtsp.set_fault(device, "slow" if fault == "slow" else "offline",
                                              float(value) if fault == "slow" and value else 2.0)
        elif self.alarm and device in self.alarm.hosts:
            self.alarm.set_fault(device, fault, value)
        else:
            raise KeyError(device)

    async def clear(self, device: str) -> None:
        if device in self.registrars:
            self.registrars[device].set_fault(None)
        elif self.switches and device in {s.name for s in self.topo.switches}:
            self.switches.clear_faults(device)
        elif self.onvif and device in self.topo.snapshots:
            self.onvif.clear_faults(device)
            self.topo.snapshots[device].set_fault(None)
            if self.rtsp:
                await self.rtsp.set_fault(device, None)
        elif self.alarm and device in self.alarm.hosts:
            self.alarm.clear_faults(device)
        else:
            raise KeyError(device)

    def summary(self) -> dict[str, Any]:
        """Counts only (a 3,000-device status listing is ~1 MB of JSON): devices per kind and
        ONVIF devices per GB/T 28181 agent state."""
        kinds: dict[str, int] = {}
        for dev in self.topo.devices.values():
            kinds[dev.kind] = kinds.get(dev.kind, 0) + 1
        gb: dict[str, int] = {}
        for row in self.onvif.status() if self.onvif else []:
            state = str(row.get("gb28181"))
            gb[state] = gb.get(state, 0) + 1
        return {"kinds": kinds, "gb28181": gb}

    def status(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        details: dict[str, dict[str, Any]] = {}
        if self.onvif:
            details.update({str(r.get("name")): r for r in self.onvif.status()})
        if self.switches:
            details.update({str(r.get("name")): r for r in self.switches.status()})
        if self.alarm:
            details.update({str(r.get("name")): r for r in self.alarm.status()})
        for name, reg in self.registrars.items():
            details[name] = {"registered": len(reg.registrations())}
        for name, dev in self.topo.devices.items():
            row = {"name": name, "kind": dev.kind, "real_ip": dev.real_ip, "lab_ip": dev.lab_ip,
                   "ports": dev.ports, "worker": self.shard}
            extra = details.get(name, {})
            row.update({k: v for k, v in extra.items() if k not in row})
            rows.append(row)
        return rows

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            try:
                req = json.loads(line)
                op = req.get("op")
                if op == "status":
                    reply: dict[str, Any] = {"ok": True, "devices": self.status()}
                elif op == "summary":
                    reply = {"ok": True, **self.summary()}
                elif op == "fault":
                    await self.fault(str(req["device"]), str(req["fault"]), req.get("value"))
                    reply = {"ok": True}
                elif op == "clear":
                    await self.clear(str(req["device"]))
                    reply = {"ok": True}
                elif op == "plug":
                    if self.onvif is None or str(req["device"]) not in self.onvif.devices:
                        raise KeyError(str(req["device"]))
                    if req.get("plugged", True):
                        await self.onvif.plug(str(req["device"]))
                    else:
                        await self.onvif.unplug(str(req["device"]))
                    reply = {"ok": True}
                elif op == "shutdown":
                    reply = {"ok": True}
                    self.stopped.set()
                else:
                    reply = {"ok": False, "error": f"unknown op {op!r}"}
            except KeyError as e:
                reply = {"ok": False, "unknown_device": True, "error": f"{e.args[0]}: not served by this worker"}
            except (LabError, ValueError) as e:
                reply = {"ok": False, "error": str(e)}
            writer.write((json.dumps(reply, default=str) + "\n").encode())
            await writer.drain()
        finally:
            writer.close()


def write_shard(paths: LabPaths, shard: int, topo: LabTopology) -> None:
    """``lab up`` builds the topology once and hands each worker its shard: loading and
    validating a 100k-device inventory costs ~18 s, too much to repeat in 30+ workers."""
    path = paths.shard_topology(shard)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as fh:
        pickle.dump(topo, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)


def write_scenes(paths: LabPaths, frames: dict[tuple[int, int, int, str | None, int], bytes]) -> None:
    with open(paths.scenes, "wb", opener=lambda p, f: os.open(p, f, 0o600)) as fh:
        pickle.dump(frames, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load_shard(deployment_root: Path, shard: int) -> tuple[LabTopology, LabPaths, int]:
    paths = LabPaths.of(deployment_root)
    opts = WorkerOptions.load(paths.root / "options.json")
    # The pickles are written by `lab up` (this package), mode 0600, in the lab's own directory.
    if paths.scenes.exists():
        with open(paths.scenes, "rb") as fh:
            preload(pickle.load(fh))
    if paths.shard_topology(shard).exists():
        with open(paths.shard_topology(shard), "rb") as fh:
            topo: LabTopology = pickle.load(fh)
        return topo, paths, opts.onvif_devices
    ctx = prepare(deployment_root)
    return shard_of(topology_for(ctx, opts.lab_options()), shard, opts.shards), ctx.paths, opts.onvif_devices


async def run_worker(deployment_root: Path, shard: int) -> None:
    topo, paths, lab_onvif_devices = _load_shard(deployment_root, shard)
    if not (topo.registrars or topo.switches):
        # Front-end-only workers yield to worker 0: every device of a region talks to its
        # platform peer, and with 30+ busy workers sharing the cores a registrar at equal
        # priority got 1/35 of the CPU and answered too late for anyone to register.
        os.nice(FRONT_END_WORKER_NICE)
    worker = Worker(topo, paths, shard, lab_onvif_devices)
    sock = paths.worker_socket(shard)
    with contextlib.suppress(FileNotFoundError):
        sock.unlink()
    await worker.start()
    server = await asyncio.start_unix_server(worker.handle, path=str(sock))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stopped.set)
    paths.worker_ready(shard).write_text(f"{len(topo.devices)}\n")
    log.info("worker %d serving %d devices", shard, len(topo.devices))
    try:
        await worker.stopped.wait()
    finally:
        server.close()
        await worker.close()
        for p in (sock, paths.worker_ready(shard), paths.worker_pid(shard)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="safecity-lab-worker")
    parser.add_argument("deployment", type=Path)
    parser.add_argument("--shard", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    import uvloop

    try:
        uvloop.run(run_worker(args.deployment, args.shard))
    except Exception as e:  # the log is what `lab up` shows when a worker dies
        log.exception("lab worker %d failed: %s", args.shard, e)
        sys.exit(1)
    os._exit(0)


if __name__ == "__main__":
    main()
