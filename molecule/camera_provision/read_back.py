"""Molecule verify: read every camera/encoder of a lab site back over raw ONVIF and compare
with what the inventory says it should be.

Deliberately not safecity's driver or provisioning code: the device is read with
onvif-zeep-async's ``ONVIFCamera`` as a typical script would, signed in with the vault's admin
password. Expected values come from the inventory (planned address, NTP/DNS, names).

    python read_back.py <lab deployment> <site>      exit 1 and one line per mismatch
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from onvif import ONVIFCamera

from safecity.inventory.lock_lookup import read_lock_for
from safecity.inventory.resolve import read_lab_addresses, resolve_hosts
from safecity.inventory.scope import load_scoped
from safecity.vault import read_vault


async def read_device(host: str, port: int, user: str, password: str, media2: bool) -> dict[str, Any]:
    cam = ONVIFCamera(host, port, user, password)
    try:
        await cam.update_xaddrs()
        dev = await cam.create_devicemgmt_service()
        ntp = await dev.GetNTP()
        dns = await dev.GetDNS()
        users = await dev.GetUsers()
        hostname = await dev.GetHostname()
        discovery = await dev.GetDiscoveryMode()
        dt = await dev.GetSystemDateAndTime()
        media = await cam.create_media_service()
        encoders = await media.GetVideoEncoderConfigurations()
        return {
            "hostname": hostname.Name,
            "ntp": [n.IPv4Address or n.DNSname for n in (ntp.NTPManual or [])],
            "dns": [d.IPv4Address for d in (dns.DNSManual or [])],
            "users": {u.Username: u.UserLevel for u in users},
            "discovery": discovery,
            "date_time_type": dt.DateTimeType,
            "encoders": len(encoders),
        }
    finally:
        await cam.close()


async def main(root: Path, site: str) -> int:
    scoped = load_scoped(root, sites=[site])
    assert scoped.deployment is not None and scoped.catalog is not None, scoped.problems
    amap = read_lab_addresses(root)
    hosts = resolve_hosts(scoped.deployment, read_lock_for(scoped.deployment), scoped.catalog,
                          sites=[site])
    port = int(json.loads((root / ".lab" / "options.json").read_text())["http_port"])
    vault = read_vault(root / ".lab" / "vault.yml", root / ".lab" / "vault-pass")
    problems: list[str] = []
    checked = 0
    for h in hosts:
        hv = h.vars
        if hv.get("safecity_kind") not in ("ipc", "encoder"):
            continue
        profile = scoped.catalog.device(hv["safecity_model"])
        assert profile is not None and profile.behaviour is not None
        admin = profile.behaviour.factory.default_username
        got = await read_device(amap[hv["safecity_ip"]], port, admin,
                                vault.get(hv["safecity_credentials"]),
                                profile.behaviour.onvif.media == "media2")
        want = {"hostname": h.name, "ntp": [amap.get(s, s) for s in hv["safecity_ntp_servers"]],
                "dns": hv["safecity_dns"],
                "users": {admin: "Administrator", "operator": "Operator", "viewer": "User"},
                "discovery": "NonDiscoverable", "date_time_type": "NTP"}
        for key, value in want.items():
            if got[key] != value:
                problems.append(f"{h.name}: {key}: read {got[key]!r}, want {value!r}")
        print(f"{h.name}: {json.dumps(got, sort_keys=True)}")
        checked += 1
    for p in problems:
        print(p)
    print(f"{checked} device(s) read back, {len(problems)} mismatch(es)")
    return 1 if problems or not checked else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]), sys.argv[2])))
