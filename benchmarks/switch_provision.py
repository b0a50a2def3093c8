"""Benchmark: diff + apply + verify + save on 200 lab switches (mixed vendors, 24–48 ports).

Target (issue "Switch provisioning over Netmiko"): the whole batch in <= 120 s. Also prints,
from the same lab in the same run, the per-switch time of stock netmiko's ``huawei`` class vs
safecity's fixed class (prompt-aware config-mode check) on identical Huawei switches.

The lab runs in a child process so the simulator and the drivers do not share one GIL.
Addresses: 127.36.100.0 – 127.36.101.255 (the switch-provisioning block).

    .venv/bin/python benchmarks/switch_provision.py [--switches 200] [--concurrency 48]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import statistics
import sys
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from safecity.drivers.cli import SwitchTarget
from safecity.provision.result import Result
from safecity.provision.switch import apply_switch_config, apply_switch_configs
from safecity.provision.switch_intent import SwitchIntent, switch_intent_from_vars

USERNAME, PASSWORD = "bench", "Bench-Sw1tch-pw"
SSH_PORT = 22 if os.geteuid() == 0 else 10022
TARGET_SECONDS = 120.0
# (platform, access prefix, uplink prefix, access ports) — the example's models, 24 and 48 ports.
MODELS = [("huawei_vrp", "GigabitEthernet0/0/", "XGigabitEthernet0/0/", 24),
          ("hp_comware", "GigabitEthernet1/0/", "Ten-GigabitEthernet1/0/", 48),
          ("cisco_ios", "GigabitEthernet1/0/", "TenGigabitEthernet1/1/", 24),
          ("huawei_vrp", "GigabitEthernet0/0/", "XGigabitEthernet0/0/", 48),
          ("hp_comware", "GigabitEthernet1/0/", "Ten-GigabitEthernet1/0/", 24),
          ("cisco_ios", "GigabitEthernet1/0/", "TenGigabitEthernet1/1/", 48)]


def switch_vars(i: int, platform: str, access: str, uplink: str, count: int) -> dict[str, Any]:
    """Host variables shaped like ``resolve_hosts`` output for one synthetic switch."""
    rnd = random.Random(i)
    ports = [{"name": f"{access}{n}", "role": "access"} for n in range(1, count + 1)]
    ports += [{"name": f"{uplink}{n}", "role": "uplink"} for n in range(1, 5)]
    cabled = rnd.randint(count * 2 // 3, count - 2)
    cams = [{"port": f"{access}{n}", "device": f"b{i:03d}-cam-{n:02d}",
             "gb_id": f"3401020000132{i:03d}{n:04d}", "vlan": 1000 + i % 50,
             "mac": "44:19:b6:" + ":".join(f"{rnd.randrange(256):02x}" for _ in range(3))}
            for n in range(1, cabled + 1)]
    return {"safecity_platform": platform, "safecity_mgmt_vlan": 100,
            "safecity_camera_vlan": 1000 + i % 50, "safecity_ports": ports,
            "safecity_access_ports": cams, "safecity_uplinks": [{"port": f"{uplink}1", "to": "core"}],
            "safecity_ip": f"10.36.{i // 200}.{i % 200 + 2}", "safecity_prefix": 24,
            "safecity_gateway": f"10.36.{i // 200}.1", "safecity_site": f"bench-site-{i:03d}",
            "safecity_ntp_servers": ["10.34.3.2"], "safecity_syslog_servers": ["10.34.3.2"]}


def host_of(i: int) -> str:
    return f"127.36.{100 + i // 250}.{i % 250 + 1}"


def _serve_lab(plan: list[tuple[str, str, str, int, list[tuple[str, int, str]]]], state: str,
               ready: Event, stop: Event) -> None:
    """Child process: the lab switches, until ``stop``."""
    from safecity.lab.switch import MacEntry, PortSpec, SwitchLab, SwitchSpec

    async def main() -> None:
        specs = []
        for name, platform, host, count, macs in plan:
            access, uplink = next((a, u) for p, a, u, _ in MODELS if p == platform)
            specs.append(SwitchSpec(
                name=name, platform=platform, host=host, port=SSH_PORT, hostname="FACTORY",  # type: ignore[arg-type]
                username=USERNAME, password=PASSWORD,
                ports=[PortSpec(f"{access}{n}") for n in range(1, count + 1)]
                + [PortSpec(f"{uplink}{n}", "uplink") for n in range(1, 5)],
                mac_table=[MacEntry(m, v, p) for m, v, p in macs]))
        lab = await SwitchLab.start(specs, Path(state))
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.2)
        await lab.close()

    try:
        import uvloop
        uvloop.run(main())
    except ImportError:
        asyncio.run(main())


def _summary(results: list[Result]) -> tuple[int, int, int]:
    return (sum(r.changed for r in results), sum(r.failed for r in results),
            sum(len(r.evidence.get("commands", [])) for r in results))  # type: ignore[arg-type]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--switches", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=48)
    ap.add_argument("--compare", type=int, default=3, help="Huawei switches per driver")
    args = ap.parse_args()

    jobs: list[tuple[str, SwitchIntent]] = []
    for i in range(args.switches + 2 * args.compare):
        if i < args.switches:
            platform, access, uplink, count = MODELS[i % len(MODELS)]
        else:  # the comparison switches: identical 24-port Huawei switches
            platform, access, uplink, count = MODELS[0]
        name = f"bench-{i:03d}"
        jobs.append((host_of(i), switch_intent_from_vars(name, switch_vars(i, platform, access,
                                                                             uplink, count))))
    plan = [(intent.name, intent.platform, host, len(intent.interfaces) - 4,
             [(p.mac or "", p.vlan, p.port) for p in intent.access_ports])
            for host, intent in jobs]

    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    with tempfile.TemporaryDirectory(prefix="safecity-bench-") as state:
        lab = ctx.Process(target=_serve_lab, args=(plan, state, ready, stop), daemon=True)
        lab.start()
        try:
            if not ready.wait(180):
                print("lab did not start", file=sys.stderr)
                return 2
            return run(jobs, args)
        finally:
            stop.set()
            lab.join(30)
            if lab.is_alive():
                lab.terminate()


def run(jobs: list[tuple[str, SwitchIntent]], args: argparse.Namespace) -> int:
    def target(host: str, intent: SwitchIntent, driver: str = "safecity") -> SwitchTarget:
        return SwitchTarget(intent.name, intent.platform, host, USERNAME, PASSWORD,
                            port=SSH_PORT, timeout=60.0, driver=driver)  # type: ignore[arg-type]

    batch = [(target(h, i), i) for h, i in jobs[:args.switches]]
    compare = jobs[args.switches:]

    # 1. Same lab, same config, one switch at a time: stock netmiko huawei vs the fixed class.
    per_switch: dict[str, list[float]] = {"stock": [], "safecity": []}
    for n, (host, intent) in enumerate(compare):
        driver = "stock" if n % 2 == 0 else "safecity"
        started = time.monotonic()
        result = apply_switch_config(target(host, intent, driver), intent)
        per_switch[driver].append(time.monotonic() - started)
        if result.failed:
            print(f"compare {intent.name} ({driver}) failed: {result.error}", file=sys.stderr)

    # 2. The batch: first run (full configs), then a second run that must push nothing.
    started = time.monotonic()
    first = apply_switch_configs(batch, concurrency=args.concurrency)
    first_s = time.monotonic() - started
    started = time.monotonic()
    second = apply_switch_configs(batch, concurrency=args.concurrency)
    second_s = time.monotonic() - started

    stock = statistics.mean(per_switch["stock"])
    fixed = statistics.mean(per_switch["safecity"])
    ch1, f1, lines1 = _summary(first)
    ch2, f2, lines2 = _summary(second)
    print(f"\nswitch provisioning benchmark ({len(batch)} lab switches, mixed vendors, "
          f"24-48 ports, concurrency {args.concurrency}, {os.cpu_count()} CPUs)\n")
    print(f"{'measure':<52}{'value':>12}{'ratio':>10}")
    print("-" * 74)
    print(f"{'per Huawei switch, stock netmiko huawei (s)':<52}{stock:>12.2f}{1.0:>10.2f}")
    print(f"{'per Huawei switch, safecity fixed driver (s)':<52}{fixed:>12.2f}"
          f"{fixed / stock:>10.2f}")
    print(f"{'speed-up of the fixed driver':<52}{stock / fixed:>11.1f}x")
    print("-" * 74)
    print(f"{'first run: diff+apply+verify+save, wall (s)':<52}{first_s:>12.1f}"
          f"{first_s / TARGET_SECONDS:>10.2f}  (vs the 120 s target)")
    print(f"{'  switches changed / failed':<52}{f'{ch1} / {f1}':>12}")
    print(f"{'  lines pushed':<52}{lines1:>12}")
    print(f"{'second run (must push nothing), wall (s)':<52}{second_s:>12.1f}"
          f"{second_s / first_s:>10.2f}  (vs the first run)")
    print(f"{'  switches changed / failed / lines pushed':<52}{f'{ch2} / {f2} / {lines2}':>12}")
    for r in [*first, *second]:
        if r.failed:
            print(f"FAILED {r.error}", file=sys.stderr)
    ok = f1 == 0 and f2 == 0 and ch2 == 0 and lines2 == 0 and first_s <= TARGET_SECONDS
    print("\nresult:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
