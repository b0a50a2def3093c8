"""Nightly sweep at scale: a synthetic province in the lab, 5 % dead, faults sprinkled.

Targets (2-core machine): the whole sweep (probes + VQD on every camera's snapshot) of 100,000
devices ≤ 5 min; writing the night + roll-ups to SQLite ≤ 5 s (see history_write.py too).
Baselines measured in the same run, printed as ratios:
  (a) per-host Ansible: one ``ansible.builtin.wait_for`` task per device (connection local)
      over the first 200 devices — what "one task per camera" costs;
  (b) the raw-asyncio TCP-connect limit: connect+close to every device, 1,000 in flight.

    .venv/bin/python benchmarks/health_sweep.py --cameras 20000
    .venv/bin/python benchmarks/health_sweep.py --cameras 100000     # ~34 lab worker processes

The lab runs on the same two cores as the sweep, so every figure includes the simulators' own
CPU (HTTP server, JPEG rendering): a real sweep against real cameras is cheaper per device.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safecity.health.models import DeviceResult

REPO = Path(__file__).resolve().parents[1]
PORTS = {"http": 38080, "rtsp": 38554, "ssh": 38022}
OFFSET = 6
IMAGE_FAULTS = ("black", "blurred", "dark", "noisy", "colour_cast", "occluded")
# The fault code the sweep must report for each injected lab fault.
EXPECTED_CODE = {"offline": "unreachable", "clock_skew": "clock_skew", "wrong_credentials": "auth_failed",
                 "black": "vqd_signal_loss", "blurred": "vqd_blur", "dark": "vqd_too_dark",
                 "noisy": "vqd_noise", "colour_cast": "vqd_colour_cast", "occluded": "vqd_occluded"}


def generate(cache: Path, cameras: int) -> Path:
    from safecity.inventory import load_valid_deployment
    from safecity.inventory.plan import compute_plan, lock_path, read_lock, write_lock
    from safecity.inventory.synth import generate_deployment

    root = cache / f"health-{cameras}"
    if not (root / "plan.lock.json").exists():
        if root.exists():
            subprocess.run(["rm", "-rf", str(root)], check=True)
        generate_deployment(root, cameras, seed=1)
        deployment, _ = load_valid_deployment(root)
        plan, _changes = compute_plan(deployment, read_lock(lock_path(deployment)))
        write_lock(lock_path(deployment), plan)
    return root


def _ask(sock: Path, req: dict[str, object]) -> dict[str, object]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(120)
        s.connect(str(sock))
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf or b"{}")  # type: ignore[no-any-return]


def lab_rows(root: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for sock in sorted((root / ".lab").glob("worker-*.sock")):
        rows += _ask(sock, {"op": "status"}).get("devices", [])  # type: ignore[arg-type]
    return rows


def wait_registered(root: Path, timeout: float = 900.0) -> float:
    """Devices register over SIP after lab up; a sweep before that would report not_registered."""
    from safecity.lab.control import lab_summary

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        states = lab_summary(root)["gb28181"]
        waiting = sum(n for s, n in states.items() if s != "registered")
        if not waiting:
            break
        print(f"  registrations: {states}", flush=True)
        time.sleep(5)
    return time.perf_counter() - t0


def lab_cpu_seconds(root: Path) -> float:
    """User+system CPU of the lab worker processes so far (to split the machine's two cores)."""
    total = 0
    for pid_file in (root / ".lab").glob("worker-*.pid"):
        try:
            stat = Path(f"/proc/{int(pid_file.read_text())}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(stat[11]) + int(stat[12])
        except (OSError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def inject_faults(root: Path, dead_share: float, seed: int = 7) -> tuple[dict[str, int], dict[str, str]]:
    """5 % of the ONVIF devices offline, 1 % image faults, 0.5 % clock skew, 0.2 % credentials."""
    lab = root / ".lab"
    rows = lab_rows(root)
    cams = sorted((r for r in rows if r["kind"] in ("ipc", "encoder", "nvr")), key=lambda r: str(r["name"]))
    rng = random.Random(seed)
    rng.shuffle(cams)
    n = len(cams)
    cuts = [int(n * dead_share), int(n * 0.01), int(n * 0.005), int(n * 0.002)]
    plan: list[tuple[dict[str, object], str, str | None]] = []
    i = 0
    for count, (fault, value) in zip(cuts, (("offline", None), ("image", None), ("clock_skew", "30"),
                                             ("wrong_credentials", None)), strict=True):
        for r in cams[i:i + count]:
            plan.append((r, rng.choice(IMAGE_FAULTS) if fault == "image" else fault, value))
        i += count
    for r, fault, value in plan:
        _ask(lab / f"worker-{r['worker']}.sock", {"op": "fault", "device": r["name"], "fault": fault, "value": value})
    return ({"devices": len(rows), "onvif": n, "offline": cuts[0], "image": cuts[1], "clock": cuts[2],
             "credentials": cuts[3]}, {str(r["name"]): fault for r, fault, _ in plan})


def compare_faults(results: list[DeviceResult], injected: dict[str, str]) -> tuple[int, int, int]:
    """(injected devices whose expected fault was reported, injected ones missed, devices with
    a fault nobody injected)."""
    found = missed = unexpected = 0
    for r in results:
        name, faults, status = r.name, r.faults, r.status
        if status == "skipped":
            continue
        want = injected.get(name)
        if want is None:
            unexpected += bool(faults)
        elif EXPECTED_CODE[want] in faults:
            found += 1
        else:
            missed += 1
    return found, missed, unexpected


async def tcp_connect_limit(hosts: list[tuple[str, int]], concurrency: int = 1000, timeout: float = 2.0) -> float:
    """Connect+close to every address; returns connects per second (the raw-asyncio ceiling)."""
    it = iter(hosts)

    async def worker() -> None:
        for host, port in it:
            try:
                async with asyncio.timeout(timeout):
                    _, w = await asyncio.open_connection(host, port)
                w.close()
            except (OSError, TimeoutError):
                pass

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(hosts) / (time.perf_counter() - t0)


def ansible_per_host(hosts: list[tuple[str, str, int]], workdir: Path) -> float:
    """hosts/s of one per-host task (wait_for on the device's port), forks 10, connection local."""
    inv = workdir / "hosts.ini"
    inv.write_text("[cams]\n" + "".join(f"{n} ansible_host={h} port={p}\n" for n, h, p in hosts), encoding="utf-8")
    play = workdir / "per_host.yml"
    play.write_text(
        "- name: Per-host probe (the anti-pattern)\n  hosts: cams\n  gather_facts: false\n"
        "  connection: local\n  tasks:\n    - name: Port answers\n      ansible.builtin.wait_for:\n"
        "        host: \"{{ ansible_host }}\"\n        port: \"{{ port }}\"\n        timeout: 2\n",
        encoding="utf-8")
    env = {**os.environ, "ANSIBLE_FORKS": "10", "ANSIBLE_HOST_KEY_CHECKING": "false",
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_STDOUT_CALLBACK": "default"}
    t0 = time.perf_counter()
    subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inv), str(play)],
                   env=env, check=False, capture_output=True, cwd=workdir)
    return len(hosts) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=20_000)
    ap.add_argument("--dead", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=1000)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "safecity-bench")
    ap.add_argument("--keep-lab", action="store_true", help="leave the lab up afterwards")
    ap.add_argument("--no-rtsp", action="store_true", help="skip the RTSP DESCRIBE probe")
    ap.add_argument("--heartbeat", type=int, default=600,
                    help="lab devices' GB/T 28181 keepalive interval: 100k devices at 60 s are 1,667 "
                         "keepalives/s into one Python registrar on the sweep's two cores")
    ap.add_argument("--reuse-lab", action="store_true",
                    help="use the lab already up for this deployment (e.g. after --keep-lab; faults are re-injected)")
    ap.add_argument("--switch-cli", action="store_true",
                    help="log in to every switch for uplinks/uptime (one SSH session each)")
    args = ap.parse_args()

    from safecity.health.probes import ProbeOptions
    from safecity.health.run import RunConfig, health_run
    from safecity.health.sweep import SweepOptions
    from safecity.lab.control import lab_down, lab_up

    t0 = time.perf_counter()
    root = generate(args.cache, args.cameras)
    print(f"deployment {root} ready in {time.perf_counter() - t0:.1f} s", flush=True)
    from safecity.lab.control import lab_fault, running_pids
    from safecity.lab.session import LabPaths

    if args.reuse_lab and running_pids(LabPaths.of(root)):
        for r in lab_rows(root):
            if r.get("faults"):
                lab_fault(root, str(r["name"]), None)
        print("lab: reusing the running lab, faults cleared", flush=True)
    else:
        lab_down(root)
        # Start every device from the inventory's state: a lab's device state (accounts, GB/T
        # 28181 settings such as the heartbeat) otherwise persists from the last run.
        subprocess.run(["rm", "-rf", str(LabPaths.of(root).state)], check=True)
        t0 = time.perf_counter()
        up = lab_up(root, state="provisioned", http_port=PORTS["http"], rtsp_port=PORTS["rtsp"],
                    ssh_port=PORTS["ssh"], address_offset=OFFSET, timeout=1800, heartbeat_s=args.heartbeat)
        print(f"lab up: {up.devices} devices, {up.workers} workers, {up.seconds:.1f} s", flush=True)
    try:
        print(f"registrations complete after {wait_registered(root):.1f} s", flush=True)
        faults, injected = inject_faults(root, args.dead)
        print(f"faults injected: {faults}", flush=True)
        (root / ".health").mkdir(exist_ok=True)
        db = root / ".health" / "bench.db"
        for p in db.parent.glob("bench.db*"):
            p.unlink()
        cfg = RunConfig(root, history_url=f"sqlite:///{db}", lab=True, night="2025-06-01",
                        options=SweepOptions(probe=ProbeOptions(rtsp=not args.no_rtsp, switch_cli=args.switch_cli,
                                                                request_timeout=30, snapshot_timeout=60),
                                             concurrency=args.concurrency,
                                             keepalive_timeout_s=3.0 * args.heartbeat))
        lab_cpu0 = lab_cpu_seconds(root)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime + resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        t0 = time.perf_counter()
        result = health_run(cfg)
        sweep_s = time.perf_counter() - t0
        lab_cpu = lab_cpu_seconds(root) - lab_cpu0
        cpu = resource.getrusage(resource.RUSAGE_SELF).ru_utime + \
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu0
        night = result.report.night
        checked = sum(1 for r in night.results if r.status != "skipped")
        summary = result.report.summary
        addresses = json.loads((root / ".lab" / "addresses.json").read_text())
        # Baselines over the same lab: every camera address, and Ansible on 200 of them.
        hosts = sorted({(str(v), PORTS["http"]) for v in addresses.values()})
        tcp_rate = asyncio.run(tcp_connect_limit(hosts, args.concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            ans_rate = ansible_per_host([(f"h{i}", h, p) for i, (h, p) in enumerate(hosts[:200])], Path(tmp))
    finally:
        if not args.keep_lab:
            lab_down(root)
    rate = checked / sweep_s
    print()
    print("| figure | value | target |")
    print("|---|---|---|")
    print(f"| devices checked | {checked} ({result.timings.get('images', 0):.0f} snapshots analysed) | |")
    print(f"| whole sweep (probes + VQD + store + reports) | {sweep_s:.1f} s wall, {cpu:.0f} s CPU (sweep side) | ≤ 300 s at 100k |")
    print(f"| CPU per device: sweep side / lab side | {cpu / checked * 1000:.1f} ms / {lab_cpu / checked * 1000:.1f} ms | |")
    print(f"| projected 100k sweep, sweep side alone on 2 cores | {cpu / checked * 100_000 / 2:.0f} s | ≤ 300 s |")
    print(f"| of which probes/VQD | {result.timings['probes_s']:.1f} s + VQD tail {result.timings['vqd_tail_s']:.1f} s | |")
    print(f"| history write (night + roll-ups + VQD memory) | {result.store_seconds:.2f} s | ≤ 5 s |")
    found, missed, unexpected = compare_faults(list(night.results), injected)
    print(f"| faults found | {summary.faulty if summary else '?'} devices | injected {faults} |")
    print(f"| fault list vs injected | {found} found, {missed} missed, {unexpected} devices with a fault not injected | exact |")
    print(f"| probes | RTSP {'off' if args.no_rtsp else 'on'}, switch CLI {'on' if args.switch_cli else 'off'}, "
          f"uptime on, default credentials on | |")
    print()
    print("| method | devices/s | ratio to the sweep |")
    print("|---|---|---|")
    print(f"| safecity health sweep (full checks) | {rate:,.0f} | 1.0 |")
    print(f"| (a) per-host Ansible, 200 devices | {ans_rate:,.1f} | {ans_rate / rate:.4f} (sweep {rate / ans_rate:,.0f}x faster) |")
    print(f"| (b) raw asyncio TCP connect only | {tcp_rate:,.0f} | {tcp_rate / rate:.2f} (sweep at {rate / tcp_rate:.0%} of the connect limit) |")


if __name__ == "__main__":
    main()
