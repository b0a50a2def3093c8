"""``safecity lab up|down|status|fault``: start the lab's worker processes, talk to them, stop them.

Only processes this module started are ever stopped, by the PIDs it recorded.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safecity.errors import LabError
from safecity.lab.media.snapshot_render import prerender
from safecity.lab.session import LabPaths, prepare, topology_for
from safecity.lab.worker import WorkerOptions, shard_count, shard_of, write_scenes, write_shard

# Above this many cameras the lab shares a pool of scenes (drawn once by `lab up`) instead of
# drawing one per camera: 100k distinct scenes would cost the lab ~1,000 CPU-seconds.
OWN_SCENES_UP_TO = 1000
SHARED_SCENES = 32


@dataclass
class LabUpResult:
    devices: int
    workers: int
    seconds: float
    paths: LabPaths


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().split(")")[-1].split()[0] == "Z":
                return False
    return True


def running_pids(paths: LabPaths) -> list[int]:
    pids = []
    for p in paths.worker_pids():
        with contextlib.suppress(ValueError, OSError):
            pid = int(p.read_text().strip())
            if _alive(pid):
                pids.append(pid)
    return pids


def lab_up(deployment_root: Path, *, state: str = "factory", timeout: float = 180.0,
           http_port: int | None = None, rtsp_port: int | None = None, ssh_port: int | None = None,
           address_offset: int = 0, scene_pool: int | None = None,
           heartbeat_s: int = 60) -> LabUpResult:
    """Start the lab's workers. ``scene_pool``: distinct snapshot scenes (0 = one per camera;
    None = one per camera up to OWN_SCENES_UP_TO cameras, else SHARED_SCENES)."""
    t0 = time.monotonic()
    ctx = prepare(deployment_root)
    paths = ctx.paths
    if running_pids(paths):
        raise LabError(f"the lab of {ctx.deployment.root} is already up (safecity lab down first)")
    header = ctx.deployment.header
    if scene_pool is None:
        scene_pool = 0 if len(ctx.deployment.devices) <= OWN_SCENES_UP_TO else SHARED_SCENES
    opts = WorkerOptions(state=state, http_port=http_port or header.http_port,
                         rtsp_port=rtsp_port or header.rtsp_port, ssh_port=ssh_port or header.ssh_port,
                         scene_pool=scene_pool, heartbeat_s=heartbeat_s)
    topo = topology_for(ctx, opts.lab_options(), address_offset)
    opts.shards = shard_count(len(topo.onvif))
    opts.onvif_devices = len(topo.onvif)
    opts.save(paths.root / "options.json")
    for shard in range(opts.shards):
        write_shard(paths, shard, shard_of(topo, shard, opts.shards))
    paths.scenes.unlink(missing_ok=True)
    if scene_pool:
        lab_options = opts.lab_options()
        write_scenes(paths, {**prerender(range(scene_pool), *lab_options.snapshot_size),
                             **prerender(range(scene_pool), *lab_options.sub_snapshot_size)})
    devices = len(topo.devices)
    del topo
    procs: list[subprocess.Popen[bytes]] = []
    for shard in range(opts.shards):
        paths.worker_ready(shard).unlink(missing_ok=True)
        log = paths.worker_log(shard).open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "safecity.lab.worker", str(ctx.deployment.root), "--shard", str(shard)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        paths.worker_pid(shard).write_text(f"{proc.pid}\n")
        procs.append(proc)
    deadline = time.monotonic() + timeout
    try:
        for shard, proc in enumerate(procs):
            while not paths.worker_ready(shard).exists():
                if proc.poll() is not None:
                    tail = paths.worker_log(shard).read_text(errors="replace").splitlines()[-15:]
                    raise LabError(f"lab worker {shard} exited ({proc.returncode}):\n" + "\n".join(tail))
                if time.monotonic() > deadline:
                    raise LabError(f"lab worker {shard} not ready after {timeout:.0f} s; see {paths.worker_log(shard)}")
                time.sleep(0.05)
    except BaseException:
        lab_down(ctx.deployment.root)
        raise
    return LabUpResult(devices, opts.shards, time.monotonic() - t0, paths)


def _request(sock_path: Path, req: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(sock_path))
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
    reply: dict[str, Any] = json.loads(buf or b"{}")
    return reply


def _sockets(paths: LabPaths) -> list[Path]:
    socks = sorted(paths.root.glob("worker-*.sock"))
    if not socks:
        raise LabError(f"the lab is not up ({paths.root}); run: safecity lab up")
    return socks


def lab_status(deployment_root: Path) -> list[dict[str, Any]]:
    paths = LabPaths.of(deployment_root)
    rows: list[dict[str, Any]] = []
    for sock in _sockets(paths):
        reply = _request(sock, {"op": "status"})
        rows.extend(reply.get("devices", []))
    return rows


def lab_summary(deployment_root: Path) -> dict[str, dict[str, int]]:
    """Devices per kind and ONVIF devices per GB/T 28181 agent state, over all workers."""
    total: dict[str, dict[str, int]] = {"kinds": {}, "gb28181": {}}
    for sock in _sockets(LabPaths.of(deployment_root)):
        reply = _request(sock, {"op": "summary"}, timeout=60)
        for part in ("kinds", "gb28181"):
            for key, n in reply.get(part, {}).items():
                total[part][key] = total[part].get(key, 0) + int(n)
    return total


def lab_fault(deployment_root: Path, device: str, fault: str | None, value: str | None = None) -> None:
    """Inject (or with ``fault=None`` clear) a fault on one device, wherever it is served."""
    paths = LabPaths.of(deployment_root)
    req: dict[str, Any] = {"op": "clear", "device": device} if fault is None else \
        {"op": "fault", "device": device, "fault": fault, "value": value}
    for sock in _sockets(paths):
        reply = _request(sock, req)
        if reply.get("ok"):
            return
        if not reply.get("unknown_device"):
            raise LabError(f"{device}: {reply.get('error', 'fault refused')}")
    raise LabError(f"{device}: no such device in the lab")


def lab_plug(deployment_root: Path, device: str, *, plugged: bool = True) -> None:
    """Plug a staging box into the staging port (it answers on its vendor's default address),
    or unplug it; the lab refuses a second box on the same address."""
    paths = LabPaths.of(deployment_root)
    for sock in _sockets(paths):
        reply = _request(sock, {"op": "plug", "device": device, "plugged": plugged})
        if reply.get("ok"):
            return
        if not reply.get("unknown_device"):
            raise LabError(reply.get("error", f"{device}: plug refused"))
    raise LabError(f"{device}: no such ONVIF device in the lab")


def lab_down(deployment_root: Path, timeout: float = 15.0) -> int:
    """Stop the workers this lab started (by their recorded PIDs). Returns how many were running.

    In a multi-worker lab worker 0 holds the SIP registrars the devices of the other workers
    de-register from as they stop, so it stops last (before, their de-registrations waited for
    a registrar that was gone, and every worker ran into the timeout)."""
    paths = LabPaths.of(deployment_root)
    if not paths.root.exists():
        return 0
    pid_files = paths.worker_pids()
    first = [p for p in pid_files if p.name != "worker-0.pid"]
    last = [p for p in pid_files if p.name == "worker-0.pid"]
    stopped = sum(_stop_workers(paths, group, timeout) for group in (first, last) if group)
    for leftover in list(paths.root.glob("worker-*.sock")) + list(paths.root.glob("worker-*.ready")) \
            + list(paths.root.glob("shard-*.pickle")) + list(paths.root.glob("scenes.pickle")):
        leftover.unlink(missing_ok=True)
    return stopped


def _stop_workers(paths: LabPaths, pid_files: list[Path], timeout: float) -> int:
    pids: dict[Path, int] = {}
    for pid_file in pid_files:
        try:
            pids[pid_file] = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            pid_file.unlink(missing_ok=True)
    stopped = sum(1 for pid in pids.values() if _alive(pid))
    for pid_file in pids:
        with contextlib.suppress(OSError, ValueError):
            _request(paths.root / pid_file.name.replace(".pid", ".sock"), {"op": "shutdown"}, timeout=5)
    deadline = time.monotonic() + timeout
    for pid_file, pid in pids.items():
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            time.sleep(1)
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        pid_file.unlink(missing_ok=True)
    return stopped
    return stopped
