"""Nightly sweep at scale: a synthetic province in the lab, 5 % dead, faults sprinkled.

Two nights over the same lab: night 1 clean (it records each camera's baseline view and
thumbnail, as a network under nightly watch has them), then faults are injected and night 2 is
judged: its fault list must be exactly the injected faults (occlusion, scene change and freeze
need night 1's pictures) and its "new fault" events exactly the injected devices.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from safecity.health.models import DeviceResult
    from safecity.health.run import RunResult
    from safecity.health.sweep import SweepOptions

REPO = Path(__file__).resolve().parents[1]
PORTS = {"http": 38080, "rtsp": 38554, "ssh": 38022}
OFFSET = 6
IMAGE_FAULTS = ("black", "blurred", "dark", "noisy", "colour_cast", "occluded", "frozen", "scene_change")
# The fault code the sweep must report for each injected lab fault.
EXPECTED_CODE = {"offline": "unreachable", "clock_skew": "clock_skew", "wrong_credentials": "auth_failed",
                 "black": "vqd_signal_loss", "blurred": "vqd_blur", "dark": "vqd_too_dark",
                 "noisy": "vqd_noise", "colour_cast": "vqd_colour_cast", "occluded": "vqd_occluded",
                 "frozen": "vqd_frozen", "scene_change": "vqd_scene_change",
                 "switch_offline": "switch_unreachable", "link_down": "uplink_down"}


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


def _process_cpu(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return 0.0


def lab_cpu_seconds(root: Path) -> float:
    """User+system CPU of the lab worker processes so far (to split the machine's two cores)."""
    return sum(_process_cpu(int(p.read_text())) for p in (root / ".lab").glob("worker-*.pid"))


def machine_cpu_seconds() -> float:
    """Busy CPU of the whole machine so far (/proc/stat: everything but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def switch_uplinks(root: Path) -> dict[str, str]:
    """Each switch's first inventory uplink (the port the sweep checks), by switch name."""
    from safecity.inventory import load_valid_deployment

    deployment, _ = load_valid_deployment(root)
    return {sw.name: sw.switch.uplinks[0].port for sw in deployment.switches if sw.switch.uplinks}


def inject_faults(root: Path, dead_share: float, switch_cli: bool, seed: int = 7
                  ) -> tuple[dict[str, int], dict[str, str]]:
    """5 % of the ONVIF devices offline, 1 % image faults, 0.5 % clock skew, 0.2 % credentials;
    1 % of the switches offline and (with the switch CLI on) 1 % with an uplink down."""
    lab = root / ".lab"
    rows = lab_rows(root)
    cams = sorted((r for r in rows if r["kind"] in ("ipc", "encoder", "nvr")), key=lambda r: str(r["name"]))
    rng = random.Random(seed)
    rng.shuffle(cams)
    n = len(cams)
    cuts = [int(n * dead_share), int(n * 0.01), int(n * 0.005), int(n * 0.002)]
    # (lab device row, lab fault, its value, what the benchmark calls it: EXPECTED_CODE's key)
    plan: list[tuple[dict[str, object], str, str | None, str]] = []
    i = 0
    for count, (fault, value) in zip(cuts, (("offline", None), ("image", None), ("clock_skew", "30"),
                                             ("wrong_credentials", None)), strict=True):
        for r in cams[i:i + count]:
            lab_fault = rng.choice(IMAGE_FAULTS) if fault == "image" else fault
            plan.append((r, lab_fault, value, lab_fault))
        i += count
    switches = sorted((r for r in rows if r["kind"] == "switch"), key=lambda r: str(r["name"]))
    rng.shuffle(switches)
    k = max(1, len(switches) // 100) if switches else 0
    plan += [(r, "offline", None, "switch_offline") for r in switches[:k]]
    links = 0
    if switch_cli and switches:
        uplinks = switch_uplinks(root)
        chosen = [r for r in switches[k:] if str(r["name"]) in uplinks][:k]
        plan += [(r, "link_down", uplinks[str(r["name"])], "link_down") for r in chosen]
        links = len(chosen)
    for r, fault, value, _ in plan:
        _ask(lab / f"worker-{r['worker']}.sock", {"op": "fault", "device": r["name"], "fault": fault, "value": value})
    return ({"devices": len(rows), "onvif": n, "offline": cuts[0], "image": cuts[1], "clock": cuts[2],
             "credentials": cuts[3], "switches": len(switches), "switch_offline": k, "uplink_down": links},
            {str(r["name"]): label for r, _, _, label in plan})


@dataclass
class FaultComparison:
    found: int = 0
    missed: int = 0
    unexpected: int = 0
    by_fault: dict[str, list[int]] = field(default_factory=dict)   # injected fault → [found, missed]
    examples: list[str] = field(default_factory=list)             # a few misses / surprises

    @property
    def exact(self) -> bool:
        return not (self.missed or self.unexpected)


def compare_faults(results: list[DeviceResult], injected: dict[str, str]) -> FaultComparison:
    """Injected devices whose expected fault (and only that) was reported, ones missed, devices
    with a fault nobody injected."""
    c = FaultComparison()
    for r in results:
        name, faults, status = r.name, r.faults, r.status
        if status == "skipped":
            continue
        want = injected.get(name)
        if want is None:
            if faults:
                c.unexpected += 1
                if len(c.examples) < 8:
                    c.examples.append(f"{name}: not injected, reported {sorted(faults)}")
            continue
        tally = c.by_fault.setdefault(want, [0, 0])
        if set(faults) == {EXPECTED_CODE[want]}:
            c.found += 1
            tally[0] += 1
        else:
            c.missed += 1
            tally[1] += 1
            if len(c.examples) < 8:
                c.examples.append(f"{name}: injected {want}, reported {sorted(faults)}")
    return c


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
    ap.add_argument("--snapshot-stream", choices=("sub", "main"), default="sub",
                    help="picture the VQD analyses nightly (sub: the main one at full size on each camera's "
                         "rotation night)")
    ap.add_argument("--switch-cli", action=argparse.BooleanOptionalAction, default=True,
                    help="log in to every switch with uplinks for their link state and uptime (one SSH "
                         "session each; --no-switch-cli: SSH reachability only)")
    args = ap.parse_args()

    from safecity.health.probes import ProbeOptions
    from safecity.health.sweep import SweepOptions
    from safecity.lab.control import lab_down, lab_up

    t0 = time.perf_counter()
    root = generate(args.cache, args.cameras)
    print(f"deployment {root} ready in {time.perf_counter() - t0:.1f} s", flush=True)
    from safecity.lab.control import lab_fault, running_pids
    from safecity.lab.session import LabPaths

    if args.reuse_lab and running_pids(LabPaths.of(root)):
        for r in lab_rows(root):
            if r.get("faults") or r.get("image_fault"):
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
        (root / ".health").mkdir(exist_ok=True)
        db = root / ".health" / "bench.db"
        for p in db.parent.glob("bench.db*"):
            p.unlink()
        options = SweepOptions(probe=ProbeOptions(rtsp=not args.no_rtsp, switch_cli=args.switch_cli,
                                                  snapshot_stream=args.snapshot_stream,
                                                  request_timeout=30, snapshot_timeout=60),
                               concurrency=args.concurrency, keepalive_timeout_s=3.0 * args.heartbeat)
        # Night 1, clean: what a network already under nightly watch has (per-camera baselines,
        # last night's thumbnails). Night 2 carries the injected faults and is the one judged.
        clean = timed_night(root, db, "2025-06-01", options)
        print(f"night 1 (clean): {clean.seconds:.1f} s, {clean.faulty} devices with faults", flush=True)
        faults, injected = inject_faults(root, args.dead, args.switch_cli)
        print(f"faults injected: {faults}", flush=True)
        night2 = timed_night(root, db, "2025-06-02", options)
        addresses = json.loads((root / ".lab" / "addresses.json").read_text())
        # Baselines over the same lab: every camera address, and Ansible on 200 of them.
        hosts = sorted({(str(v), PORTS["http"]) for v in addresses.values()})
        tcp_rate = asyncio.run(tcp_connect_limit(hosts, args.concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            ans_rate = ansible_per_host([(f"h{i}", h, p) for i, (h, p) in enumerate(hosts[:200])], Path(tmp))
    finally:
        if not args.keep_lab:
            lab_down(root)
    result = night2.result
    night = result.report.night
    checked = sum(1 for r in night.results if r.status != "skipped")
    rate = checked / night2.seconds
    cmp = compare_faults(list(night.results), injected)
    new_faults = {e.device for e in result.report.events if e.kind == "new_fault"}
    # Devices the sweep skips by design (e.g. NVRs behind their encoders) have no verdict.
    skipped = {r.name for r in night.results if r.status == "skipped"}
    judged = set(injected) - skipped
    t = result.timings
    print()
    print("| figure | night 1 (clean) | night 2 (faults injected) | target |")
    print("|---|---|---|---|")
    print(f"| devices checked | {clean.checked} ({clean.snapshots()}) | {checked} ({night2.snapshots()}) | 100k |")
    print(f"| whole sweep (probes + VQD + store + reports), wall | {clean.seconds:.1f} s | {night2.seconds:.1f} s | ≤ 300 s at 100k |")
    print(f"| machine CPU busy (of {2 * night2.seconds:.0f} core-s available) | {clean.machine_cpu:.0f} s | "
          f"{night2.machine_cpu:.0f} s | |")
    print(f"| CPU per device: sweep process / VQD pool + kernel / lab workers / sandbox agent (PID 1) | "
          f"{clean.per_device()} | {night2.per_device()} | |")
    print(f"| probes+VQD / VQD tail | {clean.result.timings['probes_s']:.1f} s / {clean.result.timings['vqd_tail_s']:.1f} s | "
          f"{t['probes_s']:.1f} s / {t['vqd_tail_s']:.1f} s | |")
    print(f"| history write: night's results + roll-ups + events | {clean.result.timings['history_write_s']:.2f} s | "
          f"{t['history_write_s']:.2f} s | ≤ 5 s |")
    print(f"| ... and with the VQD memory (thumbnails, new baselines) and the trend read | "
          f"{clean.result.store_seconds:.2f} s | {result.store_seconds:.2f} s | |")
    print(f"| devices with faults | {clean.faulty} | {night2.faulty} (injected {len(injected)}: {faults}) | |")
    print(f"| fault list vs injected | | {cmp.found} exact, {cmp.missed} missed or with extra faults, "
          f"{cmp.unexpected} with a fault not injected | exact |")
    print("| per injected fault (found/missed) | | "
          + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(cmp.by_fault.items())) + " | |")
    print(f"| \"new fault\" events on night 2 | | {len(new_faults)} devices "
          f"({'exactly the injected ones' if new_faults == judged else 'differs from the injected set'}) | the {len(judged)} injected devices the sweep judges |")
    print(f"| probes | RTSP {'off' if args.no_rtsp else 'on'}, switch CLI {'on' if args.switch_cli else 'off'}, "
          f"uptime on, default credentials on, nightly picture: {args.snapshot_stream} stream | | |")
    for line in cmp.examples:
        print(f"  e.g. {line}")
    print()
    print("| method | devices/s | ratio to the sweep |")
    print("|---|---|---|")
    print(f"| safecity health sweep (full checks, night 2) | {rate:,.0f} | 1.0 |")
    print(f"| (a) per-host Ansible, 200 devices | {ans_rate:,.1f} | {ans_rate / rate:.4f} (sweep {rate / ans_rate:,.0f}x faster) |")
    print(f"| (b) raw asyncio TCP connect only | {tcp_rate:,.0f} | {tcp_rate / rate:.2f} (sweep at {rate / tcp_rate:.0%} of the connect limit) |")


@dataclass
class TimedNight:
    result: RunResult
    seconds: float
    cpu: float            # this process: the sweep's event loop, planning, store, reports
    lab_cpu: float        # the lab's worker processes (the devices)
    machine_cpu: float    # everything busy on the machine
    agent_cpu: float      # PID 1 (the sandbox's process agent, not ours), where readable

    @property
    def other_cpu(self) -> float:
        """The VQD pool (forkserver children), kernel softirq for loopback traffic, the rest."""
        return self.machine_cpu - self.cpu - self.lab_cpu - self.agent_cpu

    @property
    def checked(self) -> int:
        return sum(1 for r in self.result.report.night.results if r.status != "skipped")

    @property
    def faulty(self) -> int:
        return sum(1 for r in self.result.report.night.results if r.faults)

    def snapshots(self) -> str:
        t = self.result.timings
        return f"{t.get('images', 0):.0f} snapshots analysed, {t.get('full_images', 0):.0f} of them also at full size"

    def per_device(self) -> str:
        return " / ".join(f"{v / self.checked * 1000:.2f}" for v in
                          (self.cpu, self.other_cpu, self.lab_cpu, self.agent_cpu)) + " ms"


def timed_night(root: Path, db: Path, day: str, options: SweepOptions) -> TimedNight:
    from safecity.health.run import RunConfig, health_run

    last = [time.perf_counter()]
    t_start = last[0]

    def progress(done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] >= 15 or done == total:
            last[0] = now
            print(f"  {day}: {done:,}/{total:,} devices after {now - t_start:.0f} s", flush=True)

    cfg = RunConfig(root, history_url=f"sqlite:///{db}", lab=True, night=day, options=options, progress=progress)
    lab0, cpu0, machine0, agent0 = lab_cpu_seconds(root), _own_cpu(), machine_cpu_seconds(), _process_cpu(1)
    t0 = time.perf_counter()
    result = health_run(cfg)
    return TimedNight(result, time.perf_counter() - t0, _own_cpu() - cpu0, lab_cpu_seconds(root) - lab0,
                      machine_cpu_seconds() - machine0, _process_cpu(1) - agent0)


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


if __name__ == "__main__":
    main()
