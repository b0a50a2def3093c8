"""Virtual device lab at scale: start-up time and memory for 1k and 10k devices, and ONVIF
GetDeviceInformation throughput from one client process.

Targets: `lab up` of a 10,000-camera deployment ≤ 60 s and ≤ 2 GB (all worker processes).
Baselines in the same run: the 1k lab (start-up scales how?), and for throughput a raw-asyncio
anonymous GetSystemDateAndTime POST to the same devices (the cheapest request a device answers),
so the table shows what WS-Security + zeep cost on top.

    .venv/bin/python benchmarks/lab_scale.py                  # 1000 and 10000 cameras
    .venv/bin/python benchmarks/lab_scale.py --sizes 1000 --requests 500

Deployments are generated once (cached in $TMPDIR/safecity-bench-lab). The labs use address
offset 90 and ports 21080/21554/21022 so they don't collide with a developer's lab.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SC = [sys.executable, "-m", "safecity.cli"]
PORTS = ["--address-offset", "90", "--http-port", "21080", "--rtsp-port", "21554", "--ssh-port", "21022"]
HTTP_PORT = 21080

SOAP_TIME = (b'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/'
             b'soap-envelope"><s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
             b'</s:Body></s:Envelope>')


def sc(*args: str) -> str:
    out = subprocess.run([*SC, *args], capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"safecity {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout


def deployment(cameras: int) -> Path:
    root = Path(tempfile.gettempdir()) / "safecity-bench-lab" / f"c{cameras}" / "inventory" / "synthetic"
    if not (root / "plan.lock.json").exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        sc("inventory", "generate", str(root), "--cameras", str(cameras))
        sc("inventory", "plan", str(root), "--write")
    return root


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


async def raw_time_requests(hosts: list[str], n: int, concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    body = SOAP_TIME

    async def one(host: str) -> None:
        async with sem:
            r, w = await asyncio.open_connection(host, HTTP_PORT)
            w.write(b"POST /onvif/device_service HTTP/1.1\r\nHost: " + host.encode() +
                    b"\r\nContent-Type: application/soap+xml\r\nConnection: close\r\nContent-Length: " +
                    str(len(body)).encode() + b"\r\n\r\n" + body)
            await w.drain()
            data = await r.read()
            w.close()
            assert b" 200 " in data.split(b"\r\n", 1)[0], data[:200]

    t0 = time.perf_counter()
    await asyncio.gather(*(one(hosts[i % len(hosts)]) for i in range(n)))
    return n / (time.perf_counter() - t0)


async def onvif_info_requests(hosts: list[str], n: int, concurrency: int) -> float:
    from onvif import ONVIFCamera

    cams: list[Any] = []
    services: list[Any] = []
    for host in hosts[: min(len(hosts), 200)]:
        cam = ONVIFCamera(host, HTTP_PORT, "admin", "admin")
        await cam.update_xaddrs()
        cams.append(cam)
        services.append(await cam.create_devicemgmt_service())
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            info = await services[i % len(services)].GetDeviceInformation()
            assert info.Model

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    rate = n / (time.perf_counter() - t0)
    for cam in cams:
        await cam.close()
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=50)
    args = ap.parse_args()
    os.environ["SAFECITY_LOOPBACK_ONLY"] = "1"
    rows: list[dict[str, Any]] = []
    for size in args.sizes:
        root = deployment(size)
        sc("lab", "down", str(root))
        t0 = time.perf_counter()
        sc("lab", "up", str(root), *PORTS)
        up_s = time.perf_counter() - t0
        try:
            pids = [int(p.read_text()) for p in sorted((root / ".lab").glob("worker-*.pid"))]
            mem = rss_mb(pids)
            status = json.loads(sc("lab", "status", str(root), "--format", "json"))
            onvif = [r for r in status if r["kind"] in ("ipc", "encoder", "nvr")]
            factory_admin = [r["lab_ip"] for r in onvif if not str(r.get("model", "")).startswith("hikvision/")]
            raw = asyncio.run(raw_time_requests(factory_admin, args.requests, args.concurrency))
            zeep = asyncio.run(onvif_info_requests(factory_admin, args.requests, args.concurrency))
        finally:
            sc("lab", "down", str(root))
        rows.append({"devices": len(status), "onvif": len(onvif), "workers": len(pids), "up_s": up_s,
                     "rss_mb": mem, "raw_rps": raw, "zeep_rps": zeep})
    base = rows[0]
    print()
    print(f"{'lab':>22} {'devices':>8} {'workers':>8} {'up s':>7} {'x 1st':>6} {'RSS MB':>8} {'vs 2 GB':>8}"
          f" {'raw req/s':>10} {'GetDevInfo/s':>13} {'zeep/raw':>9}")
    for r in rows:
        print(f"{'synthetic ' + str(r['devices']):>22} {r['devices']:>8} {r['workers']:>8} {r['up_s']:>7.1f} "
              f"{r['up_s'] / base['up_s']:>6.1f} {r['rss_mb']:>8.0f} {r['rss_mb'] / 2048:>8.2f} "
              f"{r['raw_rps']:>10.0f} {r['zeep_rps']:>13.0f} {r['zeep_rps'] / r['raw_rps']:>9.2f}")
    print("targets: lab up of 10k cameras <= 60 s and <= 2048 MB (ratio column 'vs 2 GB' <= 1)")


if __name__ == "__main__":
    main()
